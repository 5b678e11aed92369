#include "sync/ring_strategy.h"

#include "core/clock.h"
#include "core/state_bytes.h"

namespace syncbed::sync {

RingStrategy::RingStrategy(net::Mesh& mesh, const SyncOptions& options)
    : workers_(mesh.size()),
      ring_(mesh, options.parameters, {options.segment_bytes}),
      optimizer_(options.optimizer, options.parameters) {}

void RingStrategy::step(std::span<float> weights, std::span<float> grads, PhaseTimes& times) {
  Stopwatch watch;
  ring_.sum(grads);
  times.add("allreduce", watch.lap());
  optimizer_.step(weights, grads);
  times.add("update", watch.lap());
}

void RingStrategy::allreduce_sum(std::span<float> data, PhaseTimes& times) {
  Stopwatch watch;
  ring_.sum(data);
  times.add("allreduce", watch.lap());
}

// Every worker holds the whole (replicated) optimizer state.
std::vector<std::byte> RingStrategy::save_state() {
  StateWriter out;
  out.optimizer(optimizer_);
  return out.take();
}

void RingStrategy::restore_state(std::span<const std::byte> state) {
  StateReader in(state, "ring state");
  in.optimizer(optimizer_, "optimizer");
  in.finish();
}

}  // namespace syncbed::sync
