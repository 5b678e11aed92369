// The real-data convergence check: Inception-v1 trained briefly on Fashion-MNIST (padded
// to 48x48) classifies held-out images far better than chance (10%).
#include <gtest/gtest.h>

#include "models/training/image_classification.h"

namespace syncbed::models {
namespace {

TEST(ImageTraining, InceptionLearnsFashionMnist) {
  const LabelledImages train = load_fashion_mnist(kFashionMnistDir, "train");
  const LabelledImages test = load_fashion_mnist(kFashionMnistDir, "t10k");
  InceptionConfig config;
  config.classes = 10;
  config.channels = 1;
  config.image_size = 48;
  InceptionV1 model(config);
  const ClassifierScore before = evaluate_classifier(model, test, 1000, 250);
  ImageTrainingOptions options;
  options.steps = 400;
  options.test_images = 1000;
  const auto points = train_classifier(model, train, test, options);
  ASSERT_EQ(points.size(), 1u);
  std::printf("test accuracy %.1f%% before, %.1f%% after %d steps (%.1f s)\n", 100 * before.accuracy,
              100 * points.back().test.accuracy, options.steps, points.back().seconds);
  EXPECT_LT(before.accuracy, 0.2);
  EXPECT_GT(points.back().test.accuracy, 0.35);
  EXPECT_LT(points.back().test.loss, before.loss);
}

TEST(ImageTraining, RefusesAModelThatDoesNotFitTheData) {
  LabelledImages set;
  set.count = 4;
  set.rows = set.cols = 28;
  set.classes = 10;
  set.pixels.resize(4 * 28 * 28);
  set.labels = {0, 1, 2, 3};
  InceptionConfig config;  // 3 channels, 1000 classes
  config.image_size = 48;
  InceptionV1 model(config);
  EXPECT_THROW(train_classifier(model, set, set, ImageTrainingOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace syncbed::models
