#include "sync/ring/ring_strategy.h"

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

// Reduce-scatter then allgather around the ring: 2(N-1) steps of 1/N of the vector, each
// waiting for the previous one's message; then every worker runs the whole optimizer.
PhaseCosts RingStrategy::costs(const ClusterCosts& c, const SyncOptions&) {
  const double steps = 2.0 * (c.workers - 1);
  const double chunk = c.wire_bytes / c.workers;
  PhaseCosts phases;
  phases["allreduce"] = c.workers > 1 ? steps * (c.traffic(chunk, chunk, c.workers * chunk) + c.latency_s()) +
                                            c.cpu(c.sum_s((c.workers - 1.0) / c.workers * c.float_bytes), c.workers)
                                      : 0;
  phases["update"] = c.cpu(c.update_s(c.parameters), c.workers);
  return phases;
}

}  // namespace syncbed::sync
