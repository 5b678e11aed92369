#include <gtest/gtest.h>

#include <map>

#include "core/transport/rendezvous.h"

namespace syncbed::net {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string error_of(std::map<std::string, std::string> vars, RendezvousFlags flags = {}) {
  try {
    resolve_rendezvous(env_of(std::move(vars)), flags);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(RendezvousEnv, TorchrunVariablesWin) {
  const auto info = resolve_rendezvous(env_of({{"RANK", "3"},
                                               {"WORLD_SIZE", "8"},
                                               {"MASTER_ADDR", "10.0.0.1"},
                                               {"MASTER_PORT", "1234"},
                                               {"SYNCBED_TOKEN", "abc"},
                                               {"SLURM_PROCID", "5"},
                                               {"SLURM_NTASKS", "6"}}),
                                       {1, 2, "flag-host", 99});
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.world_size, 8);
  EXPECT_EQ(info.master, (Endpoint{"10.0.0.1", 1234}));
  EXPECT_EQ(info.token, "abc");
  EXPECT_FALSE(info.host_coordinator);
}

TEST(RendezvousEnv, SlurmVariablesAndLaunchNodeAddress) {
  const auto info = resolve_rendezvous(
      env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "16"}, {"SLURM_LAUNCH_NODE_IPADDR", "192.0.2.7"}}), {});
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.world_size, 16);
  EXPECT_EQ(info.master, (Endpoint{"192.0.2.7", kDefaultMasterPort}));
  EXPECT_TRUE(info.host_coordinator);
}

TEST(RendezvousEnv, FlagsWhenNoEnvironmentAndExternalCoordinator) {
  const auto info = resolve_rendezvous(env_of({{"SYNCBED_COORDINATOR", "external"}}), {0, 2, "h", 4000});
  EXPECT_EQ(info.world_size, 2);
  EXPECT_EQ(info.master, (Endpoint{"h", 4000}));
  EXPECT_FALSE(info.host_coordinator);
  const auto defaults = resolve_rendezvous(env_of({}), {});
  EXPECT_EQ(defaults.world_size, 1);
  EXPECT_EQ(defaults.master, (Endpoint{"127.0.0.1", kDefaultMasterPort}));
}

TEST(RendezvousEnv, RejectionsNameTheVariable) {
  EXPECT_EQ(error_of({{"RANK", "1"}}), "RANK and WORLD_SIZE must be set together");
  EXPECT_EQ(error_of({{"SLURM_NTASKS", "4"}}), "SLURM_PROCID and SLURM_NTASKS must be set together");
  EXPECT_EQ(error_of({{"RANK", "x1"}, {"WORLD_SIZE", "2"}}), "RANK is not an integer: 'x1'");
  EXPECT_EQ(error_of({{"RANK", "1 "}, {"WORLD_SIZE", "2"}}), "RANK is not an integer: '1 '");
  EXPECT_EQ(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), "rank 2 is outside 0..1");
  EXPECT_EQ(error_of({{"RANK", "0"}, {"WORLD_SIZE", "0"}}), "world size must be at least 1, got 0");
  EXPECT_EQ(error_of({{"MASTER_PORT", "70000"}}), "coordinator port 70000 is outside 1..65535");
  EXPECT_EQ(error_of({{"MASTER_PORT", ""}}), "MASTER_PORT is not an integer: ''");
  EXPECT_EQ(error_of({{"MASTER_ADDR", ""}}), "the coordinator address (MASTER_ADDR) is empty");
}

}  // namespace
}  // namespace syncbed::net
