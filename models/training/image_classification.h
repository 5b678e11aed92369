// Training Inception-v1 on a labelled image set (Fashion-MNIST) with SGD + momentum, and
// evaluating its accuracy: the real-data convergence check of the models layer.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "models/data/fashion_mnist.h"
#include "models/inception_v1.h"

namespace syncbed::models {

struct ClassifierScore {
  double accuracy = 0, loss = 0;
  int images = 0;
};

// Accuracy and mean loss of `model` over the first `count` images of `set` (all when
// count <= 0), in evaluation mode, `batch` images at a time.
ClassifierScore evaluate_classifier(InceptionV1& model, const LabelledImages& set, int count, int batch);

struct ImageTrainingOptions {
  int batch = 32;
  int steps = 1000;      // SGD steps; the training images are reshuffled every pass
  int train_images = 0;  // use the first N training images (0 = all)
  int test_images = 0;   // evaluate on the first N test images (0 = all)
  int eval_every = 0;    // also evaluate every K steps (0 = only at the end)
  float learning_rate = 0.03f;
  float momentum = 0.9f;
  std::uint64_t seed = 1;
};

struct TrainingPoint {
  int step = 0;
  double seconds = 0;     // training time so far, evaluation excluded
  double train_loss = 0;  // mean over the steps since the previous point
  ClassifierScore test;
};

// Trains `model` (whose config fixes the input size) on `train` and evaluates on `test`;
// calls `on_point` after every evaluation and `on_step(step, loss)` after every step.
std::vector<TrainingPoint> train_classifier(InceptionV1& model, const LabelledImages& train, const LabelledImages& test,
                                            const ImageTrainingOptions& options,
                                            const std::function<void(const TrainingPoint&)>& on_point = {},
                                            const std::function<void(int, double)>& on_step = {});

}  // namespace syncbed::models
