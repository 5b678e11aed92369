// A strategy's cost model, for `syncbed simulate`: what one synchronization step costs
// on a modelled cluster, phase by phase. The cluster (experiments/sim/simulator.h)
// prices moving bytes, latencies and CPU work; each strategy says how much of each its
// algorithm needs, next to its code.
#pragma once

#include <map>
#include <string>

namespace syncbed::sync {

// Seconds per named phase of one step.
using PhaseCosts = std::map<std::string, double>;

class ClusterCosts {
 public:
  virtual ~ClusterCosts() = default;
  int workers = 1;
  double parameters = 0;
  double wire_bytes = 0;   // the vector as sent (bf16 halves it)
  double float_bytes = 0;  // the vector as summed (fp32)

  // A phase in which every host sends `per_host_out` and receives `per_host_in` bytes,
  // `total_bytes` over the whole cluster: as long as its busiest port.
  virtual double traffic(double per_host_out, double per_host_in, double total_bytes) const = 0;
  // One way, per message that waits for the one before it.
  virtual double latency_s() const = 0;
  // CPU work of `seconds` that `busy` hosts do at the same time.
  virtual double cpu(double seconds, int busy) const = 0;
  // Summing `bytes` of floats into another vector; running the optimizer on `parameters`.
  virtual double sum_s(double bytes) const = 0;
  virtual double update_s(double parameters) const = 0;
};

}  // namespace syncbed::sync
