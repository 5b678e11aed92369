#include "sync/ring_strategy.h"

#include "core/clock.h"

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

}  // namespace syncbed::sync
