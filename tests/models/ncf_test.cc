// NCF (NeuMF): MLPerf's parameter count, finite-difference gradients on a tiny problem,
// and lazy (touched rows only) against dense Adam.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "models/ncf.h"
#include "tests/models/gradient_check.h"

namespace syncbed::models {
namespace {

NcfConfig tiny() {
  NcfConfig c;
  c.users = 7;
  c.items = 9;
  c.mf_dim = 4;
  c.mlp_embedding = 4;
  c.mlp = {8, 4, 2};
  c.seed = 3;
  return c;
}

InteractionBatch random_batch(const NcfConfig& c, int size, unsigned seed) {
  std::mt19937 rng(seed);
  InteractionBatch batch;
  for (int b = 0; b < size; ++b)
    batch.add(std::int32_t(rng() % c.users), std::int32_t(rng() % c.items), b % 5 == 0 ? 1.0f : 0.0f);
  return batch;
}

TEST(Ncf, ParameterCountAtMl20mShape) {
  Ncf model(NcfConfig{});
  EXPECT_EQ(model.parameters().size(), 31'832'577u);
}

TEST(Ncf, GradientMatchesFiniteDifferences) {
  Ncf model(tiny());
  // Embeddings of N(0, 0.01) make every gradient tiny; larger values exercise the math.
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  for (float& w : model.parameters()) w = dist(rng);
  const InteractionBatch batch = random_batch(tiny(), 12, 9);
  model.forward_backward(batch);
  const std::vector<float> grads(model.gradients().begin(), model.gradients().end());
  std::vector<float*> coords;
  std::vector<double> analytic;
  for (std::size_t i = 0; i < grads.size(); ++i) {
    coords.push_back(model.parameters().data() + i);
    analytic.push_back(grads[i]);
  }
  const auto check = testing::check_gradients([&] { return model.loss(batch); }, coords, analytic, 2e-3f);
  testing::expect_good(check, "ncf");
}

TEST(Ncf, OnlyTouchedRowsCarryGradients) {
  Ncf model(tiny());
  InteractionBatch first, second;
  first.add(1, 2, 1.0f);
  first.add(1, 5, 0.0f);
  second.add(4, 3, 1.0f);
  model.forward_backward(first);
  model.forward_backward(second);  // must clear the rows of user 1 and items 2, 5
  const auto& touched = model.touched();
  std::vector<bool> in_range(model.parameters().size(), false);
  for (const auto& r : touched)
    for (std::size_t i = r.offset; i < r.offset + r.count; ++i) in_range[i] = true;
  for (std::size_t i = 0; i < in_range.size(); ++i) {
    if (!in_range[i]) {
      ASSERT_EQ(model.gradients()[i], 0.0f) << "stale gradient at " << i;
    }
  }
  EXPECT_EQ(touched.size(), 5u);  // one row per embedding table, plus the dense block
}

// Overlap: the head and MLP are reported final before the embedding rows, and what was
// reported final does not change afterwards; reporting changes nothing.
TEST(Ncf, GradientsReportedFinalDuringBackwardAreFinal) {
  Ncf plain(tiny()), reporting(tiny());
  const InteractionBatch batch = random_batch(tiny(), 12, 9);
  const double loss = plain.forward_backward(batch);
  std::vector<std::size_t> begins;
  std::vector<std::vector<float>> snapshots;
  const double reported_loss = reporting.forward_backward(batch, [&](std::size_t begin) {
    begins.push_back(begin);
    snapshots.emplace_back(reporting.gradients().begin() + begin, reporting.gradients().end());
  });
  EXPECT_EQ(reported_loss, loss);
  const std::size_t total = plain.gradients().size();
  ASSERT_EQ(std::memcmp(reporting.gradients().data(), plain.gradients().data(), total * sizeof(float)), 0);
  ASSERT_EQ(begins.size(), 2u);
  EXPECT_GT(begins[0], 0u);
  EXPECT_LT(begins[0], total);
  EXPECT_EQ(begins[1], 0u);
  for (std::size_t k = 0; k < begins.size(); ++k)
    EXPECT_EQ(
        std::memcmp(snapshots[k].data(), plain.gradients().data() + begins[k], snapshots[k].size() * sizeof(float)), 0)
        << "gradients from " << begins[k] << " changed after they were reported final";
}

TEST(Ncf, LazyAdamEqualsDenseAdamWhenEveryRowIsTouched) {
  const NcfConfig c = tiny();
  Ncf lazy(c), dense(c);
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  adam.learning_rate = 0.05f;
  Optimizer lazy_opt(adam, lazy.parameters().size()), dense_opt(adam, dense.parameters().size());
  // Every user and every item in every batch.
  InteractionBatch batch;
  for (int k = 0; k < 63; ++k) batch.add(k % c.users, k % c.items, k % 4 == 0 ? 1.0f : 0.0f);
  const double first = lazy.loss(batch);
  for (int step = 0; step < 20; ++step) {
    lazy.forward_backward(batch);
    lazy.lazy_update(lazy_opt);
    dense.forward_backward(batch);
    dense_opt.step(dense.parameters(), dense.gradients());
  }
  ASSERT_TRUE(std::equal(lazy.parameters().begin(), lazy.parameters().end(), dense.parameters().begin()));
  EXPECT_LT(lazy.loss(batch), first * 0.8);
}

TEST(Ncf, LazyAdamLeavesUntouchedRowsAlone) {
  const NcfConfig c = tiny();
  Ncf lazy(c), dense(c);
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  Optimizer lazy_opt(adam, lazy.parameters().size()), dense_opt(adam, dense.parameters().size());
  InteractionBatch all, user0;
  for (int k = 0; k < 63; ++k) all.add(k % c.users, k % c.items, k % 4 == 0 ? 1.0f : 0.0f);
  user0.add(0, 0, 1.0f);
  for (Ncf* m : {&lazy, &dense}) m->forward_backward(all);
  lazy.lazy_update(lazy_opt);
  dense_opt.step(dense.parameters(), dense.gradients());
  const std::vector<float> before(lazy.parameters().begin(), lazy.parameters().end());
  for (Ncf* m : {&lazy, &dense}) m->forward_backward(user0);
  lazy.lazy_update(lazy_opt);
  dense_opt.step(dense.parameters(), dense.gradients());
  // User 3's GMF row: untouched by the second batch. Lazy keeps it; dense Adam's momentum moves it.
  const std::size_t row = 3 * c.mf_dim;
  for (int k = 0; k < c.mf_dim; ++k) EXPECT_EQ(lazy.parameters()[row + k], before[row + k]);
  EXPECT_NE(dense.parameters()[row], before[row]);
}

TEST(Ncf, RefusesIdsOutsideTheTables) {
  Ncf model(tiny());
  InteractionBatch batch;
  batch.add(7, 0, 1.0f);
  EXPECT_THROW(model.forward_backward(batch), std::invalid_argument);
  batch.clear();
  batch.add(0, -1, 1.0f);
  EXPECT_THROW(model.loss(batch), std::invalid_argument);
}

}  // namespace
}  // namespace syncbed::models
