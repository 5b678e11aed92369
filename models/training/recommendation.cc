#include "models/training/recommendation.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/clock.h"
#include "core/optimizer.h"

namespace syncbed::models {

std::vector<EpochPoint> train_ncf(Ncf& model, const LeaveOneOutData& data, const NcfTrainingOptions& options,
                                  const std::function<void(const EpochPoint&)>& on_epoch,
                                  const std::function<void(int, std::size_t, std::size_t, double)>& on_progress) {
  if (options.batch < 1 || options.epochs < 0) throw std::invalid_argument("train_ncf: batch >= 1 and epochs >= 0");
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  adam.learning_rate = options.learning_rate;
  Optimizer optimizer(adam, model.parameters().size());
  TrainingSamples samples(data, options.negatives, options.seed);
  constexpr int kProgressEvery = 200;  // steps

  std::vector<EpochPoint> points;
  auto finish = [&](EpochPoint point) {
    point.eval = evaluate_ranking(model, data, options.k);
    points.push_back(point);
    if (on_epoch) on_epoch(point);
  };
  finish(EpochPoint{});
  InteractionBatch batch;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    samples.start_epoch(epoch);
    EpochPoint point;
    point.epoch = epoch;
    double loss_sum = 0;
    int steps = 0;
    Stopwatch watch;
    for (std::size_t begin = 0; begin < samples.size(); begin += options.batch) {
      samples.fill(begin, std::min<std::size_t>(options.batch, samples.size() - begin), batch);
      const double loss = model.forward_backward(batch);
      if (!std::isfinite(loss))
        throw std::runtime_error("training diverged in epoch " + std::to_string(epoch) + ": lower the learning rate");
      if (options.lazy_adam)
        model.lazy_update(optimizer);
      else
        optimizer.step(model.parameters(), model.gradients());
      loss_sum += loss;
      ++steps;
      point.samples += batch.size();
      if (on_progress && steps % kProgressEvery == 0)
        on_progress(epoch, point.samples, samples.size(), loss_sum / steps);
    }
    point.seconds = watch.lap();
    point.train_loss = steps ? loss_sum / steps : 0;
    finish(point);
  }
  return points;
}

}  // namespace syncbed::models
