#include "models/training/image_classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "core/clock.h"
#include "core/optimizer.h"

namespace syncbed::models {

ClassifierScore evaluate_classifier(InceptionV1& model, const LabelledImages& set, int count, int batch) {
  count = count <= 0 ? set.count : std::min(count, set.count);
  const int size = model.config().image_size;
  const int classes = model.config().classes;
  ImageBatch images;
  std::vector<std::int32_t> indices;
  ClassifierScore score;
  double correct = 0, loss = 0;
  for (int begin = 0; begin < count; begin += batch) {
    const int n = std::min(batch, count - begin);
    indices.resize(n);
    std::iota(indices.begin(), indices.end(), begin);
    fill_image_batch(set, indices, size, images);
    const std::span<const float> logits = model.predict(images);
    for (int b = 0; b < n; ++b) {
      const float* row = logits.data() + std::size_t(b) * classes;
      const int best = static_cast<int>(std::max_element(row, row + classes) - row);
      correct += best == images.labels[b];
      // Cross-entropy from the logits (log-sum-exp around the maximum).
      double sum = 0;
      for (int c = 0; c < classes; ++c) sum += std::exp(double(row[c]) - row[best]);
      loss += std::log(sum) - (double(row[images.labels[b]]) - row[best]);
    }
  }
  score.images = count;
  score.accuracy = count ? correct / count : 0;
  score.loss = count ? loss / count : 0;
  return score;
}

std::vector<TrainingPoint> train_classifier(InceptionV1& model, const LabelledImages& train, const LabelledImages& test,
                                            const ImageTrainingOptions& options,
                                            const std::function<void(const TrainingPoint&)>& on_point,
                                            const std::function<void(int, double)>& on_step) {
  if (model.config().channels != 1 || model.config().classes != train.classes)
    throw std::invalid_argument("train_classifier: the model must take 1 channel and have " +
                                std::to_string(train.classes) + " classes");
  const int pool = options.train_images <= 0 ? train.count : std::min(options.train_images, train.count);
  if (options.batch < 1 || options.batch > pool)
    throw std::invalid_argument("train_classifier: batch must be between 1 and the number of training images");

  OptimizerConfig sgd;
  sgd.learning_rate = options.learning_rate;
  sgd.momentum = options.momentum;
  Optimizer optimizer(sgd, model.parameters().size());
  std::mt19937_64 rng(options.seed);
  std::vector<std::int32_t> order(pool);
  std::iota(order.begin(), order.end(), 0);
  std::size_t next = order.size();  // forces a shuffle before the first step

  std::vector<TrainingPoint> points;
  ImageBatch images;
  double seconds = 0, loss_sum = 0;
  int loss_steps = 0;
  auto evaluate = [&](int step) {
    TrainingPoint point{step, seconds, loss_steps ? loss_sum / loss_steps : 0.0,
                        evaluate_classifier(model, test, options.test_images, 256)};
    loss_sum = 0;
    loss_steps = 0;
    points.push_back(point);
    if (on_point) on_point(point);
  };
  for (int step = 1; step <= options.steps; ++step) {
    if (next + options.batch > order.size()) {
      std::shuffle(order.begin(), order.end(), rng);
      next = 0;
    }
    Stopwatch watch;
    fill_image_batch(train, std::span(order).subspan(next, options.batch), model.config().image_size, images);
    next += options.batch;
    const double loss = model.forward_backward(images);
    optimizer.step(model.parameters(), model.gradients());
    seconds += watch.lap();
    if (!std::isfinite(loss))
      throw std::runtime_error("training diverged at step " + std::to_string(step) + " (loss " + std::to_string(loss) +
                               "): lower the learning rate");
    loss_sum += loss;
    ++loss_steps;
    if (on_step) on_step(step, loss);
    if (step == options.steps || (options.eval_every > 0 && step % options.eval_every == 0)) evaluate(step);
  }
  return points;
}

}  // namespace syncbed::models
