// Runs N ranks as threads in one process, each with a real Mesh over loopback TCP and a
// coordinator hosted by the test, the way Gloo's tests run ranks over an in-memory store.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/transport/coordinator.h"
#include "core/transport/mesh.h"

namespace syncbed::testing {

inline constexpr char kTestToken[] = "test-token-5f1c";

inline net::RendezvousInfo rank_info(int rank, int world, std::uint16_t port) {
  net::RendezvousInfo info;
  info.rank = rank;
  info.world_size = world;
  info.master = {"127.0.0.1", port};
  info.token = kTestToken;
  info.host_coordinator = false;
  return info;
}

// fn runs on every rank's thread; returns each rank's error ("" if it finished). A rank
// whose fn throws has its mesh destroyed by the exception, as a worker's would be.
// options_for(rank) may tune each rank's mesh.
inline std::vector<std::string> rank_errors(
    int world, const std::function<void(net::Mesh&)>& fn,
    const std::function<net::MeshOptions(int)>& options_for = [](int) { return net::MeshOptions{}; }) {
  std::optional<net::Coordinator> coordinator;
  std::uint16_t port = 0;
  if (world > 1) {
    coordinator.emplace(net::Endpoint{"127.0.0.1", 0}, world, kTestToken, std::chrono::seconds(30));
    port = coordinator->port();
  }
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        auto mesh = net::Mesh::connect(rank_info(rank, world, port), options_for(rank));
        fn(*mesh);
      } catch (const std::exception& e) {
        errors[rank] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (coordinator) coordinator->wait();
  return errors;
}

// As rank_errors; an exception on any rank fails the test with its message.
inline void run_ranks(
    int world, const std::function<void(net::Mesh&)>& fn,
    const std::function<net::MeshOptions(int)>& options_for = [](int) { return net::MeshOptions{}; }) {
  const std::vector<std::string> errors = rank_errors(world, fn, options_for);
  for (int rank = 0; rank < world; ++rank) EXPECT_EQ(errors[rank], "") << "rank " << rank << " failed";
}

}  // namespace syncbed::testing
