// How a process learns its rank, the world size and where the coordinator is, and how
// it registers there. Sources, first match wins: RANK/WORLD_SIZE (torchrun, Kubernetes
// Indexed Jobs), SLURM_PROCID/SLURM_NTASKS (srun), then command-line flags.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/transport/tcp/messages.h"

namespace syncbed::net {

inline constexpr std::uint16_t kDefaultMasterPort = 29500;

struct RendezvousInfo {
  int rank = 0;
  int world_size = 1;
  Endpoint master{"127.0.0.1", kDefaultMasterPort};
  std::string token;  // SYNCBED_TOKEN: peers without it are refused
  // Rank 0 runs the coordinator unless a launcher already does
  // (SYNCBED_COORDINATOR=external).
  bool host_coordinator = true;
};

// Values given on the command line; env variables take precedence.
struct RendezvousFlags {
  std::optional<int> rank;
  std::optional<int> world_size;
  std::optional<std::string> master_addr;
  std::optional<int> master_port;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_env();

// Throws std::invalid_argument naming the variable or flag that is missing or bad.
RendezvousInfo resolve_rendezvous(const EnvLookup& env, const RendezvousFlags& flags);

}  // namespace syncbed::net
