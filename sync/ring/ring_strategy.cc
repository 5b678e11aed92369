#include "sync/ring/ring_strategy.h"

namespace syncbed::sync {

RingStrategy::RingStrategy(net::Mesh& mesh, const SyncOptions& options)
    : AllreduceThenUpdate("ring", mesh.size(), options),
      ring_(mesh, options.parameters, {segment_bytes_or(options, kOneMiBSegment)}) {}

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
