// Training NCF on leave-one-out implicit-feedback data with Adam (dense, or lazy over the
// rows a batch touched), evaluating HR@K and NDCG@K before training and after every epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "models/data/implicit_feedback.h"
#include "models/ncf.h"
#include "models/ncf_ranking.h"

namespace syncbed::models {

struct NcfTrainingOptions {
  int batch = 2048;  // samples (positives and negatives) per step
  int epochs = 3;
  int negatives = 4;  // sampled per training positive
  float learning_rate = 0.0005f;
  bool lazy_adam = false;
  int k = 10;
  std::uint64_t seed = 1;
};

struct EpochPoint {
  int epoch = 0;          // 0: before training
  double seconds = 0;     // training time of this epoch, evaluation excluded
  double train_loss = 0;  // mean over the epoch's steps
  std::size_t samples = 0;
  RankingMetrics eval;
};

// Calls `on_epoch` after each evaluation and `on_progress(epoch, samples done, samples in
// the epoch, mean loss so far)` every few steps.
std::vector<EpochPoint> train_ncf(Ncf& model, const LeaveOneOutData& data, const NcfTrainingOptions& options,
                                  const std::function<void(const EpochPoint&)>& on_epoch = {},
                                  const std::function<void(int, std::size_t, std::size_t, double)>& on_progress = {});

}  // namespace syncbed::models
