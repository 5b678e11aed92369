#include "models/ncf.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/trace.h"
#include "models/gemm.h"
#include "models/profile.h"

namespace syncbed::models {

namespace {

const std::string kGather = "embedding gather", kMlpForward = "mlp forward", kHead = "head and loss",
                  kMlpBackward = "mlp backward", kScatter = "embedding scatter", kClear = "clear gradient rows";

// Stable log(1 + exp(-|z|)) form of binary cross-entropy on a logit.
double bce_with_logit(float z, float y) {
  return std::max(double(z), 0.0) - double(z) * y + std::log1p(std::exp(-std::abs(double(z))));
}

void add_bias_relu(float* y, const float* bias, long rows, long width) {
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) {
    float* row = y + r * width;
    for (long c = 0; c < width; ++c) row[c] = std::max(row[c] + bias[c], 0.0f);
  }
}

}  // namespace

Ncf::Ncf(const NcfConfig& config) : config_(config) {
  if (config.users < 1 || config.items < 1) throw std::invalid_argument("ncf: users and items must be at least 1");
  if (config.mf_dim < 1 || config.mlp_embedding < 1 || config.mlp.empty())
    throw std::invalid_argument("ncf: embedding sizes and MLP widths must be positive");
  const std::size_t users = config.users, items = config.items;
  // MLPerf's reference initialises embeddings from N(0, 0.01) and dense layers Glorot-uniform.
  mf_user_ = params_.add("mf_user_embedding", users * config.mf_dim, Init::normal(0.01f));
  mf_item_ = params_.add("mf_item_embedding", items * config.mf_dim, Init::normal(0.01f));
  mlp_user_ = params_.add("mlp_user_embedding", users * config.mlp_embedding, Init::normal(0.01f));
  mlp_item_ = params_.add("mlp_item_embedding", items * config.mlp_embedding, Init::normal(0.01f));
  int in = 2 * config.mlp_embedding;
  auto add_dense = [&](const std::string& name, int out) {
    layers_.push_back({params_.add(name + ".weight", std::size_t(in) * out, Init::xavier(in, out)),
                       params_.add(name + ".bias", out, Init::constant(0.0f)), in, out});
    in = out;
  };
  for (std::size_t l = 0; l < config.mlp.size(); ++l) add_dense("mlp" + std::to_string(l), config.mlp[l]);
  in = config.mf_dim + config.mlp.back();
  add_dense("head", 1);
  params_.allocate(config.seed);
  hidden_.resize(config.mlp.size());
}

void Ncf::check_batch(const InteractionBatch& batch) const {
  const std::size_t n = batch.users.size();
  if (batch.items.size() != n) throw std::invalid_argument("ncf: users and items differ in length");
  for (std::size_t b = 0; b < n; ++b) {
    if (batch.users[b] < 0 || batch.users[b] >= config_.users)
      throw std::invalid_argument("ncf: user id " + std::to_string(batch.users[b]) + " outside 0.." +
                                  std::to_string(config_.users - 1));
    if (batch.items[b] < 0 || batch.items[b] >= config_.items)
      throw std::invalid_argument("ncf: item id " + std::to_string(batch.items[b]) + " outside 0.." +
                                  std::to_string(config_.items - 1));
  }
}

void Ncf::forward(const InteractionBatch& batch) {
  check_batch(batch);
  const long n = batch.size(), mf = config_.mf_dim, e = config_.mlp_embedding;
  batch_ = static_cast<int>(n);
  gmf_.resize(n * mf);
  mlp_in_.resize(n * 2 * e);
  std::optional<ProfileScope> scope(std::in_place, kGather, "embedding", Phase::kForward);
  const float *mfu = mf_user_.weights(), *mfi = mf_item_.weights();
  const float *mlpu = mlp_user_.weights(), *mlpi = mlp_item_.weights();
#pragma omp parallel for schedule(static)
  for (long b = 0; b < n; ++b) {
    const float* u = mfu + std::size_t(batch.users[b]) * mf;
    const float* i = mfi + std::size_t(batch.items[b]) * mf;
    for (long k = 0; k < mf; ++k) gmf_[b * mf + k] = u[k] * i[k];
    std::copy_n(mlpu + std::size_t(batch.users[b]) * e, e, &mlp_in_[b * 2 * e]);
    std::copy_n(mlpi + std::size_t(batch.items[b]) * e, e, &mlp_in_[b * 2 * e + e]);
  }
  scope.emplace(kMlpForward, "mlp", Phase::kForward);
  const float* x = mlp_in_.data();
  for (std::size_t l = 0; l < hidden_.size(); ++l) {
    const Dense& d = layers_[l];
    hidden_[l].resize(n * d.out);
    gemm(false, true, n, d.out, d.in, 1.0f, x, d.in, d.weight.weights(), d.in, 0.0f, hidden_[l].data(), d.out);
    add_bias_relu(hidden_[l].data(), d.bias.weights(), n, d.out);
    x = hidden_[l].data();
  }
  const Dense& head = layers_.back();
  const float* w = head.weight.weights();
  const long last = layers_[hidden_.size() - 1].out;
  logits_.resize(n);
  scope.emplace(kHead, "head", Phase::kForward);
#pragma omp parallel for schedule(static)
  for (long b = 0; b < n; ++b) {
    float z = head.bias.weights()[0];
    for (long k = 0; k < mf; ++k) z += gmf_[b * mf + k] * w[k];
    for (long k = 0; k < last; ++k) z += hidden_.back()[b * last + k] * w[mf + k];
    logits_[b] = z;
  }
}

void Ncf::check_labels(const InteractionBatch& batch) const {
  if (batch.labels.size() != batch.users.size()) throw std::invalid_argument("ncf: labels and users differ in length");
}

double Ncf::loss(const InteractionBatch& batch) {
  check_labels(batch);
  forward(batch);
  double total = 0;
  for (int b = 0; b < batch_; ++b) total += bce_with_logit(logits_[b], batch.labels[b]);
  return batch_ ? total / batch_ : 0.0;
}

std::span<const float> Ncf::predict(const InteractionBatch& batch) {
  forward(batch);
  return logits_;
}

double Ncf::forward_backward(const InteractionBatch& batch) { return forward_backward(batch, {}); }

double Ncf::forward_backward(const InteractionBatch& batch, const std::function<void(std::size_t)>& ready) {
  check_labels(batch);
  std::optional<trace::Scope> pass(std::in_place, "forward", "model");
  forward(batch);
  pass.emplace("backward", "model");
  std::optional<ProfileScope> scope(std::in_place, kClear, "embedding", Phase::kBackward);
  if (!touched_cleared_) clear_touched_rows();
  touched_cleared_ = false;
  scope.emplace(kHead, "head", Phase::kBackward);
  const long n = batch_, mf = config_.mf_dim, e = config_.mlp_embedding;
  const Dense& head = layers_.back();
  const long last = layers_[hidden_.size() - 1].out;
  const float* wh = head.weight.weights();

  // d loss / d logit = (sigmoid(z) - y) / n.
  double total = 0;
  std::vector<float>& dz = grad_logits_;
  dz.resize(n);
  for (long b = 0; b < n; ++b) {
    total += bce_with_logit(logits_[b], batch.labels[b]);
    dz[b] = (1.0f / (1.0f + std::exp(-logits_[b])) - batch.labels[b]) / float(n);
  }

  // Head: weights over [gmf, last hidden], bias.
  float* dwh = head.weight.gradients();
  std::fill_n(dwh, mf + last, 0.0f);
  float dbh = 0;
  for (long b = 0; b < n; ++b) {
    for (long k = 0; k < mf; ++k) dwh[k] += dz[b] * gmf_[b * mf + k];
    for (long k = 0; k < last; ++k) dwh[mf + k] += dz[b] * hidden_.back()[b * last + k];
    dbh += dz[b];
  }
  head.bias.gradients()[0] = dbh;

  grad_gmf_.resize(n * mf);
  grad_a_.resize(n * last);
#pragma omp parallel for schedule(static)
  for (long b = 0; b < n; ++b) {
    for (long k = 0; k < mf; ++k) grad_gmf_[b * mf + k] = dz[b] * wh[k];
    for (long k = 0; k < last; ++k)
      grad_a_[b * last + k] = hidden_.back()[b * last + k] > 0 ? dz[b] * wh[mf + k] : 0.0f;
  }

  scope.emplace(kMlpBackward, "mlp", Phase::kBackward);
  // MLP layers from the top: grad_a_ holds d loss / d pre-activation of layer l.
  for (long l = static_cast<long>(hidden_.size()) - 1; l >= 0; --l) {
    const Dense& d = layers_[l];
    const float* x = l > 0 ? hidden_[l - 1].data() : mlp_in_.data();
    gemm(true, false, d.out, d.in, n, 1.0f, grad_a_.data(), d.out, x, d.in, 0.0f, d.weight.gradients(), d.in);
    ones_.resize(n, 1.0f);  // bias gradient = column sums, as a GEMM
    gemm(true, false, d.out, 1, n, 1.0f, grad_a_.data(), d.out, ones_.data(), 1, 0.0f, d.bias.gradients(), 1);
    grad_b_.resize(n * d.in);
    gemm(false, false, n, d.in, d.out, 1.0f, grad_a_.data(), d.out, d.weight.weights(), d.in, 0.0f, grad_b_.data(),
         d.in);
    if (l > 0) {
      const float* below = hidden_[l - 1].data();
#pragma omp parallel for schedule(static)
      for (long i = 0; i < n * d.in; ++i)
        if (below[i] <= 0) grad_b_[i] = 0.0f;
    }
    std::swap(grad_a_, grad_b_);
  }
  // grad_a_ is now d loss / d MLP input (n x 2e).
  if (ready) ready(layers_.front().weight.offset());

  scope.emplace(kScatter, "embedding", Phase::kBackward);
  // Embedding rows: GMF rows get the other side's row times the GMF gradient.
  const float *mfu = mf_user_.weights(), *mfi = mf_item_.weights();
  std::vector<float>&user_rows = user_rows_, &item_rows = item_rows_;
  user_rows.resize(n * mf);
  item_rows.resize(n * mf);
#pragma omp parallel for schedule(static)
  for (long b = 0; b < n; ++b) {
    const float* u = mfu + std::size_t(batch.users[b]) * mf;
    const float* i = mfi + std::size_t(batch.items[b]) * mf;
    for (long k = 0; k < mf; ++k) {
      user_rows[b * mf + k] = grad_gmf_[b * mf + k] * i[k];
      item_rows[b * mf + k] = grad_gmf_[b * mf + k] * u[k];
    }
  }
  touched_.clear();
  const RowGroups by_user = group_by_id(batch.users), by_item = group_by_id(batch.items);
  scatter_rows(mf_user_, int(mf), batch.users, by_user, user_rows.data(), int(mf), touched_);
  scatter_rows(mf_item_, int(mf), batch.items, by_item, item_rows.data(), int(mf), touched_);
  scatter_rows(mlp_user_, int(e), batch.users, by_user, grad_a_.data(), int(2 * e), touched_);
  scatter_rows(mlp_item_, int(e), batch.items, by_item, grad_a_.data() + e, int(2 * e), touched_);
  const std::size_t dense_begin = layers_.front().weight.offset();
  touched_.push_back({dense_begin, params_.size() - dense_begin});
  if (ready) ready(0);
  return n ? total / n : 0.0;
}

Ncf::RowGroups Ncf::group_by_id(std::span<const std::int32_t> ids) {
  // Samples sorted by id (ties in sample order), so each row is written by one thread.
  // Sorting (id, index) keys as plain integers is several times faster than an indirect sort.
  std::vector<std::uint64_t> keys(ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) keys[k] = std::uint64_t(std::uint32_t(ids[k])) << 32 | k;
  std::sort(keys.begin(), keys.end());
  RowGroups groups;
  groups.order.resize(ids.size());
  for (std::size_t k = 0; k < keys.size(); ++k) {
    groups.order[k] = static_cast<std::int32_t>(keys[k] & 0xffffffffu);
    if (k == 0 || keys[k] >> 32 != keys[k - 1] >> 32) groups.starts.push_back(k);
  }
  groups.starts.push_back(groups.order.size());
  return groups;
}

void Ncf::scatter_rows(const ParameterView& table, int width, std::span<const std::int32_t> ids,
                       const RowGroups& groups, const float* rows, int row_stride,
                       std::vector<ParameterRange>& ranges) {
  const auto& order = groups.order;
  const auto& starts = groups.starts;
  const long count = static_cast<long>(starts.size()) - 1;
  float* grads = table.gradients();
  constexpr long kAhead = 4;  // rows are scattered: request a later row's lines early
#pragma omp parallel for schedule(static)
  for (long g = 0; g < count; ++g) {
    if (g + kAhead < count) {
      const float* later = grads + std::size_t(ids[order[starts[g + kAhead]]]) * width;
      for (int c = 0; c < width; c += 16) __builtin_prefetch(later + c, 1);
    }
    float* out = grads + std::size_t(ids[order[starts[g]]]) * width;
    std::copy_n(rows + std::size_t(order[starts[g]]) * row_stride, width, out);
    for (std::size_t k = starts[g] + 1; k < starts[g + 1]; ++k) {
      const float* row = rows + std::size_t(order[k]) * row_stride;
      for (int c = 0; c < width; ++c) out[c] += row[c];
    }
  }
  for (long g = 0; g < count; ++g) {
    const std::size_t offset = table.offset() + std::size_t(ids[order[starts[g]]]) * width;
    if (!ranges.empty() && ranges.back().offset + ranges.back().count == offset)
      ranges.back().count += width;  // neighbouring rows: one range
    else
      ranges.push_back({offset, std::size_t(width)});
  }
}

void Ncf::clear_touched_rows() {
  float* grads = params_.gradients().data();
  for (const ParameterRange& r : touched_) std::fill_n(grads + r.offset, r.count, 0.0f);
}

void Ncf::lazy_update(Optimizer& optimizer) {
  if (optimizer.size() != params_.size()) throw std::invalid_argument("ncf: optimizer size differs from the model");
  optimizer.begin_step();
  const auto w = params_.weights();
  const auto g = params_.gradients();
  const long count = static_cast<long>(touched_.size());
  // Embedding rows are scattered over hundreds of MB: each range's loads miss the cache,
  // so the data of a range a few ahead is requested before it is needed.
  constexpr long kAhead = 4;
#pragma omp parallel for schedule(dynamic, 64)
  for (long r = 0; r < count; ++r) {
    if (r + kAhead < count) {
      const ParameterRange& next = touched_[r + kAhead];
      if (next.count <= 1024) {
        optimizer.prefetch(next.offset, next.count);
        for (std::size_t k = 0; k < next.count; k += 16) {
          __builtin_prefetch(w.data() + next.offset + k, 1);
          __builtin_prefetch(g.data() + next.offset + k, 1);
        }
      }
    }
    const ParameterRange& range = touched_[r];
    const auto gradient = g.subspan(range.offset, range.count);
    optimizer.update(range.offset, w.subspan(range.offset, range.count), gradient);
    std::fill(gradient.begin(), gradient.end(), 0.0f);  // still in cache: cheaper than clearing later
  }
  touched_cleared_ = true;
}

}  // namespace syncbed::models
