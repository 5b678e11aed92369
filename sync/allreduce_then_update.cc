#include "sync/allreduce_then_update.h"

#include <stdexcept>

#include "core/clock.h"
#include "core/state_bytes.h"
#include "core/trace.h"

namespace syncbed::sync {

AllreduceThenUpdate::AllreduceThenUpdate(std::string name, int workers, const SyncOptions& options)
    : name_(std::move(name)),
      workers_(workers),
      optimizer_(options.optimizer, options.parameters),
      buckets_(buckets(options.parameters, options.overlap)) {}

void AllreduceThenUpdate::step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) {
  begin_step(weights, grads);
  for (std::size_t bucket = 0; bucket < buckets_.size(); ++bucket) sync_bucket(bucket, times);
}

void AllreduceThenUpdate::begin_step(std::span<float> weights, std::span<float> grads) {
  if (weights.size() != optimizer_.size() || grads.size() != optimizer_.size())
    throw std::invalid_argument(name_ + ": a step of " + std::to_string(grads.size()) + " gradients and " +
                                std::to_string(weights.size()) + " weights, built for " +
                                std::to_string(optimizer_.size()));
  weights_ = weights;
  grads_ = grads;
  optimizer_.begin_step();
}

void AllreduceThenUpdate::sync_bucket(std::size_t bucket, PhaseTimes& times) {
  const ShardRange range = buckets_.at(bucket);
  trace::PhaseScope phase("allreduce");
  Stopwatch watch;
  sum(grads_, range);
  times.add("allreduce", trace::lap(watch, "allreduce"));
  optimizer_.update(range.begin, weights_.subspan(range.begin, range.size), grads_.subspan(range.begin, range.size));
  times.add("update", trace::lap(watch, "update"));
}

void AllreduceThenUpdate::allreduce_sum(std::span<float> data, PhaseTimes& times) {
  trace::PhaseScope phase("allreduce");
  Stopwatch watch;
  sum(data, {0, data.size()});
  times.add("allreduce", trace::lap(watch, "allreduce"));
}

std::vector<std::byte> AllreduceThenUpdate::save_state() {
  StateWriter out;
  out.optimizer(optimizer_);
  return out.take();
}

void AllreduceThenUpdate::restore_state(std::span<const std::byte> state) {
  StateReader in(state, name_ + " state");
  in.optimizer(optimizer_, "optimizer");
  in.finish();
}

}  // namespace syncbed::sync
