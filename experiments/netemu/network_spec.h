// Where an experiment's workers run and what links join them: the config's "network".
//   "loopback" (default)  all workers on this machine, over 127.0.0.1
//   {"kind": "netns", "rate": "1gbit", "delay": "0", "loss": "0"}
//                         each rank in its own network namespace of an emulated cluster
//                         (scripts/netns_cluster.sh): real packets over shaped links
//   {"kind": "hosts", "rate": "10gbit", "delay": "50us"}
//                         real machines (srun / Kubernetes start the workers); the rate
//                         and delay describe their network for `syncbed simulate`
#pragma once

#include <string>

#include "core/config.h"

namespace syncbed::experiments {

struct NetworkSpec {
  enum class Kind { kLoopback, kNetns, kHosts } kind = Kind::kLoopback;
  std::string rate;      // tc syntax, e.g. "10gbit"; empty on loopback
  double rate_bits = 0;  // per second
  std::string delay = "0";
  double delay_s = 0;  // one way, per link
  std::string loss = "0";
  double loss_fraction = 0;
  std::string kind_name() const;
  nlohmann::json to_json() const;  // for the results: {"kind", "rate", "delay", "loss"}
};

NetworkSpec parse_network(const ConfigNode& node);

// "10gbit", "500mbit", "1.5gbit", "100kbit", "800bit" -> bits per second. Throws.
double parse_rate_bits(const std::string& text);
// "50us", "1ms", "0.2s", "0" -> seconds. Throws.
double parse_duration_s(const std::string& text);

}  // namespace syncbed::experiments
