// NCF evaluation: the fast ranker agrees with the model's own forward pass, HR@K and
// NDCG@K follow from the ranks (ties against the held-out item), and training on
// synthetic feedback lifts HR@10 far above random ranking.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "models/data/synthetic_feedback.h"
#include "models/ncf_ranking.h"
#include "models/training/recommendation.h"

namespace syncbed::models {
namespace {

NcfConfig small_config() {
  NcfConfig c;
  c.users = 20;
  c.items = 50;
  c.mf_dim = 8;
  c.mlp_embedding = 8;
  c.mlp = {16, 8, 4};
  c.seed = 5;
  return c;
}

std::span<float> tensor(Ncf& model, const std::string& name) {
  for (const auto& entry : model.parameter_block().entries())
    if (entry.name == name) return model.parameters().subspan(entry.offset, entry.count);
  throw std::logic_error("no tensor " + name);
}

TEST(NcfRanker, MatchesThePredictPass) {
  Ncf model(small_config());
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  for (float& w : model.parameters()) w = normal(rng);
  const NcfRanker ranker(model);
  std::vector<std::int32_t> items(50);
  std::iota(items.begin(), items.end(), 0);
  std::vector<float> logits(items.size());
  for (std::int32_t user : {0, 7, 19}) {
    ranker.score(user, items, logits);
    InteractionBatch batch;
    for (auto item : items) batch.add(user, item, 0.0f);
    const auto expected = model.predict(batch);
    for (std::size_t i = 0; i < items.size(); ++i)
      EXPECT_NEAR(logits[i], expected[i], 1e-4f * (1 + std::abs(expected[i]))) << "user " << user << " item " << i;
  }
  EXPECT_THROW(ranker.score(20, items, logits), std::out_of_range);
}

// A model whose logit for any user is item_score[item]: everything zero except one GMF
// coordinate (user side 1, item side the score) and its head weight (1).
void score_items_by(Ncf& model, const std::vector<float>& item_score) {
  std::fill(model.parameters().begin(), model.parameters().end(), 0.0f);
  const int mf = model.config().mf_dim;
  auto users = tensor(model, "mf_user_embedding");
  for (int u = 0; u < model.config().users; ++u) users[std::size_t(u) * mf] = 1.0f;
  auto items = tensor(model, "mf_item_embedding");
  for (int i = 0; i < model.config().items; ++i) items[std::size_t(i) * mf] = item_score[i];
  tensor(model, "head.weight")[0] = 1.0f;
}

TEST(EvaluateRanking, HitRateAndNdcgFollowTheRanks) {
  Ncf model(small_config());
  UserHistories histories;
  histories.users = 20;
  histories.items = 50;
  std::mt19937 rng(9);
  for (int u = 0; u < 20; ++u) {
    std::vector<std::int32_t> items(50);
    std::iota(items.begin(), items.end(), 0);
    std::shuffle(items.begin(), items.end(), rng);
    histories.sequence.insert(histories.sequence.end(), items.begin(), items.begin() + 3);
    histories.offsets.push_back(histories.sequence.size());
  }
  const LeaveOneOutData data = split_leave_one_out(histories, 30, 4);
  std::vector<float> score(50);
  std::iota(score.begin(), score.end(), 0.0f);  // item i scores i
  score_items_by(model, score);

  const int k = 5;
  double hits = 0, ndcg = 0;
  for (int u = 0; u < 20; ++u) {
    int rank = 0;
    for (auto item : data.negatives_of(u)) rank += item >= data.test_items[u];
    if (rank < k) {
      hits += 1;
      ndcg += 1 / std::log2(rank + 2.0);
    }
  }
  ASSERT_GT(hits, 0) << "the case should contain hits";
  ASSERT_LT(hits, 20) << "and misses";
  const RankingMetrics metrics = evaluate_ranking(model, data, k);
  EXPECT_EQ(metrics.users, 20);
  EXPECT_NEAR(metrics.hit_rate, hits / 20, 1e-12);
  EXPECT_NEAR(metrics.ndcg, ndcg / 20, 1e-12);

  // A model that scores everything the same ranks no held-out item first.
  score_items_by(model, std::vector<float>(50, 1.0f));
  EXPECT_EQ(evaluate_ranking(model, data, k).hit_rate, 0.0);
  EXPECT_THROW(evaluate_ranking(model, data, 0), std::invalid_argument);
}

TEST(TrainNcf, RaisesHitRateFarAboveRandomRanking) {
  SyntheticFeedbackConfig feedback;
  feedback.users = 1500;
  feedback.items = 1000;
  const LeaveOneOutData data = split_leave_one_out(generate_synthetic_feedback(feedback), 99, 1);
  NcfConfig config;  // NeuMF at a quarter of MLPerf's widths, for speed
  config.users = data.users;
  config.items = data.items;
  config.mf_dim = 16;
  config.mlp_embedding = 32;
  config.mlp = {64, 32, 16};
  Ncf model(config);
  NcfTrainingOptions options;
  options.epochs = 3;
  options.lazy_adam = true;
  options.learning_rate = 0.002f;
  const auto points = train_ncf(model, data, options);
  ASSERT_EQ(points.size(), 4u);
  for (const auto& p : points)
    std::printf("epoch %d: loss %.4f HR@10 %.4f NDCG@10 %.4f\n", p.epoch, p.train_loss, p.eval.hit_rate, p.eval.ndcg);
  // Random ranking of 1 held-out item among 100 candidates: HR@10 = 0.1.
  EXPECT_LT(points[0].eval.hit_rate, 0.2);
  EXPECT_GT(points.back().eval.hit_rate, 0.3);  // 0.44 measured
  EXPECT_LT(points.back().train_loss, points[1].train_loss);
}

}  // namespace
}  // namespace syncbed::models
