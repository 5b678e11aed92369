// `syncbed train --model inception_v1`: Inception-v1 on Fashion-MNIST to a test accuracy.
#include <algorithm>
#include <cstdio>

#include "experiments/workloads/inception_v1/inception_v1.h"
#include "models/data/fashion_mnist.h"
#include "models/training/image_classification.h"

namespace syncbed::experiments {

std::vector<cli::OptionSpec> inception_v1_train_options() {
  return {{"dir", "DIR", "inception_v1 on fashion-mnist: directory of the IDX files", models::kFashionMnistDir},
          {"steps", "K", "inception_v1: SGD steps (momentum 0.9)", "1000"},
          {"image-size", "S", "inception_v1: input size; images are scaled by a whole factor and padded", "48"},
          {"train-images", "N", "inception_v1: train on the first N images (0 = all 60,000)", "0"},
          {"test-images", "N", "inception_v1: evaluate on the first N test images (0 = all 10,000)", "0"},
          {"eval-every", "K", "inception_v1: also evaluate every K steps (0 = at the end only)", "0"}};
}

nlohmann::json train_inception_v1(const cli::Options& options, int batch) {
  if (!options.get("data").empty() && options.get("data") != "fashion-mnist")
    throw std::invalid_argument("--data: inception_v1 trains on fashion-mnist, not '" + options.get("data") + "'");
  models::ImageTrainingOptions training;
  training.batch = batch;
  training.steps = static_cast<int>(options.get_int("steps", 1, 10'000'000));
  training.train_images = static_cast<int>(options.get_int("train-images", 0, 1 << 30));
  training.test_images = static_cast<int>(options.get_int("test-images", 0, 1 << 30));
  training.eval_every = static_cast<int>(options.get_int("eval-every", 0, 10'000'000));
  training.learning_rate = options.get("lr").empty() ? 0.03f : float(options.get_double("lr", 1e-9, 10));
  training.seed = static_cast<std::uint64_t>(options.get_int("seed", 0, 1LL << 62));

  const std::string dir = options.get("dir").empty() ? models::kFashionMnistDir : options.get("dir");
  const models::LabelledImages train = models::load_fashion_mnist(dir, "train");
  const models::LabelledImages test = models::load_fashion_mnist(dir, "t10k");
  models::InceptionConfig config;
  config.classes = train.classes;
  config.channels = 1;
  config.image_size = static_cast<int>(options.get_int("image-size", 48, 1024));
  config.seed = training.seed;
  models::InceptionV1 model(config);
  std::printf(
      "inception_v1 on fashion-mnist: %d training and %d test images of %dx%d, input %dx%d, batch %d, "
      "%d steps, SGD lr %g momentum %g\n",
      training.train_images ? std::min(training.train_images, train.count) : train.count,
      training.test_images ? std::min(training.test_images, test.count) : test.count, train.rows, train.cols,
      config.image_size, config.image_size, training.batch, training.steps, training.learning_rate, training.momentum);
  std::fflush(stdout);

  double window = 0;
  int window_steps = 0;
  auto on_step = [&](int step, double loss) {
    window += loss;
    if (++window_steps == 50 || step == training.steps) {
      std::printf("  step %6d  loss %.4f (mean of last %d)\n", step, window / window_steps, window_steps);
      std::fflush(stdout);
      window = 0;
      window_steps = 0;
    }
  };
  nlohmann::json curve = nlohmann::json::array();
  auto on_point = [&](const models::TrainingPoint& p) {
    std::printf("eval step %6d  %.1f s training  train loss %.4f  test accuracy %.2f%%  test loss %.4f (%d images)\n",
                p.step, p.seconds, p.train_loss, 100 * p.test.accuracy, p.test.loss, p.test.images);
    std::fflush(stdout);
    curve.push_back({{"step", p.step},
                     {"training_seconds", p.seconds},
                     {"train_loss", p.train_loss},
                     {"test_accuracy", p.test.accuracy},
                     {"test_loss", p.test.loss},
                     {"test_images", p.test.images}});
  };
  const auto points = models::train_classifier(model, train, test, training, on_point, on_step);
  std::printf("final test accuracy %.2f%% after %d steps (%.1f s of training; chance is %.0f%%)\n",
              100 * points.back().test.accuracy, training.steps, points.back().seconds, 100.0 / train.classes);
  return {{"model", "inception_v1"},
          {"data", "fashion-mnist"},
          {"image_size", config.image_size},
          {"batch", training.batch},
          {"steps", training.steps},
          {"learning_rate", training.learning_rate},
          {"momentum", training.momentum},
          {"seed", training.seed},
          {"test_accuracy", points.back().test.accuracy},
          {"training_seconds", points.back().seconds},
          {"curve", curve}};
}

}  // namespace syncbed::experiments
