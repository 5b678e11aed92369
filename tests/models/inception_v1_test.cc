// Inception-v1: the exact parameter count and FLOPs of BigDL's version, seeded
// initialisation, and a finite-difference check of the whole model on a tiny input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "models/data/synthetic_images.h"
#include "models/inception_v1.h"
#include "tests/models/gradient_check.h"

namespace syncbed::models {
namespace {

TEST(InceptionV1, ParameterCountAndFlopsAtImageNetShape) {
  InceptionV1 model(InceptionConfig{});
  EXPECT_EQ(model.parameters().size(), 6'998'552u);
  EXPECT_NEAR(model.forward_flops_per_image() / 1e9, 3.17, 0.01);
  // Every tensor is registered once, back to back, covering the whole buffer.
  std::size_t next = 0;
  for (const auto& entry : model.parameter_block().entries()) {
    EXPECT_EQ(entry.offset, next) << entry.name;
    next += entry.count;
  }
  EXPECT_EQ(next, model.parameters().size());
}

TEST(InceptionV1, ClassCountOnlyChangesTheClassifier) {
  InceptionConfig config;
  config.classes = 10;
  InceptionV1 model(config);
  EXPECT_EQ(model.parameters().size(), 6'998'552u - 990u * 1025u);
}

TEST(InceptionV1, InitialisationIsSeeded) {
  InceptionConfig config;
  config.classes = 10;
  config.image_size = 48;
  InceptionV1 a(config), b(config);
  config.seed = 2;
  InceptionV1 c(config);
  ASSERT_EQ(a.parameters().size(), c.parameters().size());
  EXPECT_TRUE(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
  EXPECT_FALSE(std::equal(a.parameters().begin(), a.parameters().end(), c.parameters().begin()));
}

TEST(InceptionV1, RefusesMismatchedImages) {
  InceptionConfig config;
  config.image_size = 48;
  InceptionV1 model(config);
  ImageBatch batch;
  batch.resize(1, 3, 64, 64);
  EXPECT_THROW(model.forward_backward(batch), std::invalid_argument);
  config.image_size = 47;
  EXPECT_THROW(InceptionV1{config}, std::invalid_argument);
}

TEST(InceptionV1, TinyModelGradientMatchesFiniteDifferences) {
  InceptionConfig config;
  config.classes = 5;
  config.image_size = 48;
  config.channels = 1;
  InceptionV1 model(config);
  model.disable_dropout();
  SyntheticImages data(1, 48, 5, 3);
  ImageBatch batch;
  data.next(2, batch);
  const float initial_loss = model.forward_backward(batch);
  EXPECT_NEAR(initial_loss, std::log(5.0), 1.0);  // near chance at initialisation

  const std::vector<float> analytic_all(model.gradients().begin(), model.gradients().end());
  // A few coordinates of every tensor, so each layer's backward is exercised.
  std::vector<float*> coords;
  std::vector<double> analytic;
  unsigned seed = 1;
  for (const auto& entry : model.parameter_block().entries()) {
    for (std::size_t i : testing::sample_indices(entry.count, 2, seed++)) {
      coords.push_back(model.parameters().data() + entry.offset + i);
      analytic.push_back(analytic_all[entry.offset + i]);
    }
  }
  // A wider step than the layer tests: the loss of a deep float32 network is noisier.
  const auto check = testing::check_gradients([&] { return model.loss(batch); }, coords, analytic, 1e-2f,
                                              [&] { return model.activation_pattern(); });
  // A network of ~10^5 ReLUs has kinks everywhere: a step that moves any ReLU or max-pool
  // choice is skipped, and what remains lies on one linear piece.
  testing::expect_good(check, "inception_v1 (48x48, 5 classes)", 1e-3, 60, 0.7);
}

TEST(InceptionV1, PredictReturnsOneRowPerImage) {
  InceptionConfig config;
  config.classes = 7;
  config.image_size = 50;
  InceptionV1 model(config);
  SyntheticImages data(3, 50, 7, 5);
  ImageBatch batch;
  data.next(3, batch);
  const auto scores = model.predict(batch);
  ASSERT_EQ(scores.size(), 21u);
  for (float s : scores) EXPECT_TRUE(std::isfinite(s));
}

// Overlap relies on this: when backward reports gradients[begin, end) final, they are
// the values the pass ends with, and reporting changes nothing.
TEST(InceptionV1, GradientsReportedFinalDuringBackwardAreFinal) {
  InceptionConfig config;
  config.classes = 5;
  config.image_size = 48;
  config.channels = 1;
  InceptionV1 plain(config), reporting(config);
  plain.disable_dropout();
  reporting.disable_dropout();
  SyntheticImages data(1, 48, 5, 3);
  ImageBatch batch;
  data.next(2, batch);
  const float loss = plain.forward_backward(batch);
  const std::size_t total = reporting.gradients().size();
  std::vector<std::size_t> begins;
  std::vector<std::vector<float>> snapshots;  // gradients[begin, end) at each report
  const float reported_loss = reporting.forward_backward(batch, [&](std::size_t begin) {
    begins.push_back(begin);
    snapshots.emplace_back(reporting.gradients().begin() + begin, reporting.gradients().end());
  });
  EXPECT_EQ(reported_loss, loss);
  ASSERT_EQ(std::memcmp(reporting.gradients().data(), plain.gradients().data(), total * sizeof(float)), 0);
  EXPECT_EQ(begins.back(), 0u);
  EXPECT_GT(std::set<std::size_t>(begins.begin(), begins.end()).size(), 10u) << "one report per parameterized layer";
  for (std::size_t k = 0; k < begins.size(); ++k) {
    if (k > 0) {
      EXPECT_LE(begins[k], begins[k - 1]);
    }
    EXPECT_EQ(
        std::memcmp(snapshots[k].data(), plain.gradients().data() + begins[k], snapshots[k].size() * sizeof(float)), 0)
        << "gradients from " << begins[k] << " changed after they were reported final";
  }
}

}  // namespace
}  // namespace syncbed::models
