#include "models/ncf_ranking.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/clock.h"
#include "models/gemm.h"

namespace syncbed::models {

NcfRanker::NcfRanker(const Ncf& model) : model_(model) {
  const NcfConfig& c = model.config_;
  const auto& layers = model.layers_;
  const auto& first = layers.front();
  first_width_ = first.out;
  const long items = c.items, e = c.mlp_embedding, mf = c.mf_dim;
  // Layer 1 sees [user row, item row]: its item half is items x e times the right half of
  // the weights (out x 2e, row-major), transposed.
  item_first_.resize(std::size_t(items) * first.out);
  gemm(false, true, items, first.out, e, 1.0f, model.mlp_item_.weights(), e, first.weight.weights() + e, first.in, 0.0f,
       item_first_.data(), first.out);
  const Ncf::Dense& head = layers.back();
  const float* head_weights = head.weight.weights();
  item_gmf_.resize(std::size_t(items) * mf);
  const float* mf_items = model.mf_item_.weights();
#pragma omp parallel for schedule(static)
  for (long i = 0; i < items; ++i)
    for (long k = 0; k < mf; ++k) item_gmf_[i * mf + k] = mf_items[i * mf + k] * head_weights[k];
  for (std::size_t l = 1; l + 1 < layers.size(); ++l)
    upper_.push_back({layers[l].weight.weights(), layers[l].bias.weights(), layers[l].in, layers[l].out});
  head_mlp_ = head_weights + mf;
  head_bias_ = head.bias.weights()[0];
}

void NcfRanker::score(std::int32_t user, std::span<const std::int32_t> items, std::span<float> logits) const {
  const NcfConfig& c = model_.config_;
  if (user < 0 || user >= c.users) throw std::out_of_range("ncf ranker: user id out of range");
  if (logits.size() < items.size()) throw std::invalid_argument("ncf ranker: logits span too small");
  const long n = static_cast<long>(items.size()), e = c.mlp_embedding, mf = c.mf_dim;
  const auto& first = model_.layers_.front();

  // The user half of layer 1, plus its bias.
  thread_local std::vector<float> user_first, a, b;
  user_first.assign(first.bias.weights(), first.bias.weights() + first_width_);
  const float* user_row = model_.mlp_user_.weights() + std::size_t(user) * e;
  for (int o = 0; o < first_width_; ++o) {
    const float* w = first.weight.weights() + std::size_t(o) * first.in;
    float sum = 0;
    for (long k = 0; k < e; ++k) sum += w[k] * user_row[k];
    user_first[o] += sum;
  }
  a.resize(std::size_t(n) * first_width_);
  for (long r = 0; r < n; ++r) {
    if (items[r] < 0 || items[r] >= c.items) throw std::out_of_range("ncf ranker: item id out of range");
    const float* item = item_first_.data() + std::size_t(items[r]) * first_width_;
    float* out = a.data() + r * first_width_;
    for (int o = 0; o < first_width_; ++o) out[o] = std::max(item[o] + user_first[o], 0.0f);
  }
  int width = first_width_;
  for (const Layer& layer : upper_) {
    b.resize(std::size_t(n) * layer.out);
    gemm(false, true, n, layer.out, layer.in, 1.0f, a.data(), layer.in, layer.weight, layer.in, 0.0f, b.data(),
         layer.out);
    for (long r = 0; r < n; ++r)
      for (int o = 0; o < layer.out; ++o) b[r * layer.out + o] = std::max(b[r * layer.out + o] + layer.bias[o], 0.0f);
    std::swap(a, b);
    width = layer.out;
  }
  const float* mf_user = model_.mf_user_.weights() + std::size_t(user) * mf;
  for (long r = 0; r < n; ++r) {
    const float* gmf = item_gmf_.data() + std::size_t(items[r]) * mf;
    const float* hidden = a.data() + r * width;
    float z = head_bias_;
    for (long k = 0; k < mf; ++k) z += mf_user[k] * gmf[k];
    for (int k = 0; k < width; ++k) z += hidden[k] * head_mlp_[k];
    logits[r] = z;
  }
}

RankingMetrics evaluate_ranking(const Ncf& model, const LeaveOneOutData& data, int k, int begin_user, int end_user) {
  if (data.users != model.config().users || data.items != model.config().items)
    throw std::invalid_argument("evaluate_ranking: the data's users and items differ from the model's");
  if (k < 1) throw std::invalid_argument("evaluate_ranking: k must be at least 1");
  if (end_user < 0) end_user = data.users;
  if (begin_user < 0 || begin_user > end_user || end_user > data.users)
    throw std::invalid_argument("evaluate_ranking: users [" + std::to_string(begin_user) + ", " +
                                std::to_string(end_user) + ") are not within the data's users");
  Stopwatch watch;
  const NcfRanker ranker(model);
  double hits = 0, ndcg = 0;
#pragma omp parallel reduction(+ : hits, ndcg)
  {
    std::vector<std::int32_t> candidates(data.eval_negatives + 1);
    std::vector<float> logits(candidates.size());
#pragma omp for schedule(dynamic, 64)
    for (int u = begin_user; u < end_user; ++u) {
      candidates[0] = data.test_items[u];
      const auto negatives = data.negatives_of(u);
      std::copy(negatives.begin(), negatives.end(), candidates.begin() + 1);
      ranker.score(u, candidates, logits);
      const float held_out = logits[0];
      int rank = 0;  // negatives scoring at least as high as the held-out item
      for (std::size_t j = 1; j < logits.size(); ++j) rank += logits[j] >= held_out;
      if (rank < k) {
        hits += 1;
        ndcg += 1.0 / std::log2(rank + 2.0);
      }
    }
  }
  RankingMetrics metrics;
  metrics.k = k;
  metrics.users = end_user - begin_user;
  metrics.hit_rate = metrics.users ? hits / metrics.users : 0;
  metrics.ndcg = metrics.users ? ndcg / metrics.users : 0;
  metrics.seconds = watch.lap();
  return metrics;
}

}  // namespace syncbed::models
