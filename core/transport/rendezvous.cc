#include "core/transport/rendezvous.h"

#include <cstdlib>
#include <stdexcept>

namespace syncbed::net {
namespace {

int parse_int(const std::string& text, const std::string& source) {
  std::size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) throw std::invalid_argument(source + " is not an integer: '" + text + "'");
  return value;
}

struct Source {
  std::optional<std::string> value;
  std::string name;
};

Source first_of(const EnvLookup& env, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (auto value = env(name)) return {value, name};
  return {};
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

RendezvousInfo resolve_rendezvous(const EnvLookup& env, const RendezvousFlags& flags) {
  RendezvousInfo info;
  const auto rank = env("RANK");
  const auto world = env("WORLD_SIZE");
  const auto slurm_rank = env("SLURM_PROCID");
  const auto slurm_world = env("SLURM_NTASKS");
  if (rank || world) {
    if (!rank || !world) throw std::invalid_argument("RANK and WORLD_SIZE must be set together");
    info.rank = parse_int(*rank, "RANK");
    info.world_size = parse_int(*world, "WORLD_SIZE");
  } else if (slurm_rank || slurm_world) {
    if (!slurm_rank || !slurm_world) throw std::invalid_argument("SLURM_PROCID and SLURM_NTASKS must be set together");
    info.rank = parse_int(*slurm_rank, "SLURM_PROCID");
    info.world_size = parse_int(*slurm_world, "SLURM_NTASKS");
  } else {
    info.rank = flags.rank.value_or(0);
    info.world_size = flags.world_size.value_or(1);
  }
  if (info.world_size < 1)
    throw std::invalid_argument("world size must be at least 1, got " + std::to_string(info.world_size));
  if (info.rank < 0 || info.rank >= info.world_size)
    throw std::invalid_argument("rank " + std::to_string(info.rank) + " is outside 0.." +
                                std::to_string(info.world_size - 1));

  if (auto addr = first_of(env, {"MASTER_ADDR", "SLURM_LAUNCH_NODE_IPADDR"}); addr.value)
    info.master.host = *addr.value;
  else if (flags.master_addr)
    info.master.host = *flags.master_addr;
  if (info.master.host.empty()) throw std::invalid_argument("the coordinator address (MASTER_ADDR) is empty");

  int port = kDefaultMasterPort;
  if (auto text = env("MASTER_PORT"))
    port = parse_int(*text, "MASTER_PORT");
  else if (flags.master_port)
    port = *flags.master_port;
  if (port < 1 || port > 65535)
    throw std::invalid_argument("coordinator port " + std::to_string(port) + " is outside 1..65535");
  info.master.port = static_cast<std::uint16_t>(port);

  info.token = env("SYNCBED_TOKEN").value_or("");
  info.host_coordinator = info.rank == 0 && env("SYNCBED_COORDINATOR").value_or("") != "external";
  return info;
}

}  // namespace syncbed::net
