// NCF on uniformly drawn interactions ("synthetic") or on leave-one-out data (MovieLens
// or synthetic ml-20m-shaped): each epoch's sample stream is cut into global batches of
// batch x workers samples, and this worker takes its slice of each.
#include <random>

#include "core/log.h"
#include "experiments/workloads/ncf/ncf.h"
#include "models/data/implicit_feedback.h"
#include "models/data/movielens.h"
#include "models/data/synthetic_feedback.h"
#include "models/ncf.h"
#include "models/ncf_ranking.h"

namespace syncbed::experiments {
namespace {

models::UserHistories load_histories(const DataSpec& data, std::uint64_t seed) {
  if (data.kind == "movielens") return models::load_movielens_ratings(data.path).histories;
  models::SyntheticFeedbackConfig config;
  config.users = data.users;
  config.items = data.items;
  config.seed = seed;
  return models::generate_synthetic_feedback(config);
}

models::NcfConfig ncf_config(int users, int items, std::uint64_t seed) {
  models::NcfConfig c;
  c.users = users;
  c.items = items;
  c.seed = seed;
  return c;
}

class NcfWorkload : public Workload {
 public:
  NcfWorkload(const WorkloadSpec& workload, int rank, int workers, bool load_data)
      : batch_(workload.model.batch), rank_(rank), workers_(workers), seed_(workload.seed * 1'000'003 + rank) {
    const DataSpec& spec = workload.data;
    const std::uint64_t seed = workload.seed;
    if (!spec.ranked || (!load_data && spec.kind != "movielens")) {
      model_ = std::make_unique<models::Ncf>(ncf_config(spec.users, spec.items, seed));
      return;
    }
    const models::UserHistories histories = load_histories(spec, seed);
    data_ =
        std::make_unique<models::LeaveOneOutData>(models::split_leave_one_out(histories, spec.eval_negatives, seed));
    model_ = std::make_unique<models::Ncf>(ncf_config(data_->users, data_->items, seed));
    samples_ = std::make_unique<models::TrainingSamples>(*data_, spec.negatives, seed);
    const std::size_t global_batch = std::size_t(batch_) * workers;
    iterations_per_epoch_ = static_cast<long>(samples_->size() / global_batch);
    if (workload.iterations > 0) iterations_per_epoch_ = std::min(iterations_per_epoch_, workload.iterations);
    if (iterations_per_epoch_ == 0)
      throw std::invalid_argument("ncf: an epoch of " + std::to_string(samples_->size()) +
                                  " samples is smaller than one global batch of " + std::to_string(global_batch));
  }

  std::span<float> weights() override { return model_->parameters(); }
  std::span<float> gradients() override { return model_->gradients(); }
  int items_per_iteration() const override { return batch_; }
  const char* item_unit() const override { return "samples"; }
  long iterations_per_epoch() const override { return iterations_per_epoch_; }
  bool evaluates_ranking() const override { return data_ != nullptr; }
  std::vector<ParameterLayer> parameter_layers() const override { return layers_of(model_->parameter_block()); }

  double compute(long iteration) override { return model_->forward_backward(next_batch(iteration)); }
  double compute_overlapped(long iteration, const GradientsReady& ready) override {
    return model_->forward_backward(next_batch(iteration), ready);
  }

  RankingSums evaluate(int part, int parts) override {
    const int users = data_->users;
    const int begin = static_cast<int>(std::int64_t(users) * part / parts);
    const int end = static_cast<int>(std::int64_t(users) * (part + 1) / parts);
    const models::RankingMetrics m = models::evaluate_ranking(*model_, *data_, 10, begin, end);
    return {m.hit_rate * m.users, m.ndcg * m.users, double(m.users)};
  }

 private:
  // This worker's batch of the iteration, with the gradient buffer cleared for it.
  const models::InteractionBatch& next_batch(long iteration) {
    batch_data_.clear();
    if (samples_) {
      const int epoch = static_cast<int>(iteration / iterations_per_epoch_);
      if (epoch != epoch_) samples_->start_epoch(epoch_ = epoch);
      const std::size_t step = iteration % iterations_per_epoch_;
      samples_->fill((step * workers_ + rank_) * batch_, batch_, batch_data_);
    } else {
      // A function of (rank, iteration) alone, so a task that recomputes this batch on
      // another executor gets the same one.
      const auto& c = model_->config();
      std::mt19937_64 rng(seed_ + static_cast<std::uint64_t>(iteration) * 0x9E3779B97F4A7C15ull);
      for (int k = 0; k < batch_; ++k)
        batch_data_.add(std::int32_t(rng() % c.users), std::int32_t(rng() % c.items), k % 5 == 0 ? 1.0f : 0.0f);
    }
    // The model clears only the gradient rows it wrote last time, but the sync step may
    // have written anywhere in the buffer (a ring sum carries every worker's rows).
    const std::span<float> grads = model_->gradients();
    const std::size_t n = grads.size();
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < n; ++i) grads[i] = 0;
    return batch_data_;
  }

  int batch_, rank_, workers_;
  std::unique_ptr<models::LeaveOneOutData> data_;
  std::unique_ptr<models::Ncf> model_;
  std::unique_ptr<models::TrainingSamples> samples_;
  long iterations_per_epoch_ = 0;
  int epoch_ = -1;
  std::uint64_t seed_;
  models::InteractionBatch batch_data_;
};

}  // namespace

std::unique_ptr<Workload> make_ncf_workload(const WorkloadSpec& spec, int rank, int workers, bool load_data) {
  return std::make_unique<NcfWorkload>(spec, rank, workers, load_data);
}

}  // namespace syncbed::experiments
