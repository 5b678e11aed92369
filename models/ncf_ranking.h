// Leave-one-out ranking evaluation of NCF: for every user, the held-out item is scored
// against the user's sampled negatives; HR@K counts users whose held-out item ranks in
// the top K, NDCG@K weights a hit at rank r (0-based) by 1 / log2(r + 2). Ties count
// against the held-out item, so a model scoring everything equally gets HR 0, not 1.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/data/implicit_feedback.h"
#include "models/ncf.h"

namespace syncbed::models {

// Scores many (user, item) pairs fast with a snapshot of the model's weights: the item
// half of the first MLP layer and the item side of the GMF product with the head weights
// are computed once for all items, so a user's candidates cost only the upper MLP layers.
class NcfRanker {
 public:
  explicit NcfRanker(const Ncf& model);
  // Logits of `items` for `user`; safe to call from several threads at once.
  void score(std::int32_t user, std::span<const std::int32_t> items, std::span<float> logits) const;

 private:
  struct Layer {
    const float *weight, *bias;
    int in, out;
  };
  const Ncf& model_;
  int first_width_ = 0;
  std::vector<float> item_first_;  // items x first layer width: item half of layer 1
  std::vector<float> item_gmf_;    // items x mf_dim: GMF item row times the head's GMF weights
  std::vector<Layer> upper_;       // MLP layers after the first
  const float* head_mlp_ = nullptr;
  float head_bias_ = 0;
};

struct RankingMetrics {
  int k = 10;
  double hit_rate = 0, ndcg = 0;
  int users = 0;
  double seconds = 0;
};

// HR@k and NDCG@k over users [begin_user, end_user) of `data` (end -1: all users), users in
// parallel (OpenMP). Distributed evaluation gives each worker a slice and weighs the
// results by `users`.
RankingMetrics evaluate_ranking(const Ncf& model, const LeaveOneOutData& data, int k = 10, int begin_user = 0,
                                int end_user = -1);

}  // namespace syncbed::models
