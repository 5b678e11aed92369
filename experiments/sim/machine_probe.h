// What the simulator needs to know about this machine besides compute time, measured
// by `syncbed calibrate`: how fast it sums gradients, how long the optimizer takes per
// parameter, what one small message costs end to end, and how fast the transport
// streams bytes between two local processes' worth of sockets (the CPU cost of TCP).
#pragma once

#include <nlohmann/json.hpp>

#include "core/optimizer.h"

namespace syncbed::experiments {

struct MachineProbe {
  double reduce_gbytes_per_s = 0;         // a[i] += b[i], bytes of b per second
  double optimizer_ns_per_parameter = 0;  // the config's optimizer, one step
  double message_us = 0;                  // one-way time of a 64-byte message (half a round trip)
  double stream_gbytes_per_s = 0;         // 4 MiB messages one way over loopback TCP
  int cores = 1;
  nlohmann::json to_json() const;
  static MachineProbe from_json(const nlohmann::json& json);  // throws if a field is missing
};

// Takes a few seconds: every figure is the median of repeated measurements.
MachineProbe probe_machine(const OptimizerConfig& optimizer);

}  // namespace syncbed::experiments
