// The shortest correct use of syncbed as a library: N ranks as threads of one process,
// each with its own mesh over loopback TCP, take one synchronized SGD step with a
// registered strategy and check that every rank ends with the same, expected weights.
//
//   threads_step [STRATEGY] [RANKS] [PARAMETERS]      (defaults: ring 4 1000000)
//
// A multi-process job does the same with one rank per process: rank 0 hosts the
// coordinator (RendezvousInfo::host_coordinator) at a port every rank is told.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/transport/coordinator.h"
#include "core/transport/mesh.h"
#include "sync/registry.h"

using namespace syncbed;

int main(int argc, char** argv) {
  const std::string strategy = argc > 1 ? argv[1] : "ring";
  const int ranks = argc > 2 ? std::atoi(argv[2]) : 4;
  const std::size_t parameters = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 1'000'000;
  if (ranks < 1 || parameters < 1) {
    std::fprintf(stderr, "usage: threads_step [STRATEGY] [RANKS >= 1] [PARAMETERS >= 1]\n");
    return 2;
  }

  sync::SyncOptions options;
  options.parameters = parameters;  // required: every rank's vectors have this many elements
  options.optimizer.learning_rate = 0.01f;
  try {
    sync::check_parameter_sync(strategy, options, ranks);  // refuses bad input before any thread starts
  } catch (const std::exception& e) {
    std::fprintf(stderr, "threads_step: %s\n", e.what());
    return 2;
  }

  // This process hosts the rendezvous (port 0 picks a free port); a world of one has none.
  const std::string token = "threads-step-example";
  std::optional<net::Coordinator> coordinator;
  if (ranks > 1) coordinator.emplace(net::Endpoint{"127.0.0.1", 0}, ranks, token, std::chrono::seconds(30));

  std::vector<std::vector<float>> weights(ranks);
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        net::RendezvousInfo info;
        info.rank = rank;
        info.world_size = ranks;
        info.master = {"127.0.0.1", coordinator ? coordinator->port() : std::uint16_t{0}};
        info.token = token;
        info.host_coordinator = false;  // this process hosts it above
        auto mesh = net::Mesh::connect(info);
        // The strategy uses the mesh: it must be destroyed first (declared after it here).
        auto sync = sync::make_parameter_sync(strategy, *mesh, options);
        weights[rank].assign(parameters, 1.0f);                    // identical on every rank
        std::vector<float> gradient(parameters, float(rank + 1));  // this rank's; step may overwrite it
        sync::PhaseTimes times;                                    // where the step's phases were spent
        sync->step(weights[rank], gradient, times);
      } catch (const std::exception& e) {
        errors[rank] = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  // Gradients are summed over ranks: w = 1 - lr * (1 + 2 + ... + N).
  const float expected = 1.0f - options.optimizer.learning_rate * float(ranks * (ranks + 1) / 2);
  int failed = 0;
  for (int rank = 0; rank < ranks; ++rank) {
    if (!errors[rank].empty()) {
      std::fprintf(stderr, "rank %d: %s\n", rank, errors[rank].c_str());
      ++failed;
    } else if (weights[rank] != weights[0] || std::abs(weights[rank][0] - expected) > 1e-6f) {
      std::fprintf(stderr, "rank %d: weight %g, expected %g on every rank\n", rank, weights[rank][0], expected);
      ++failed;
    }
  }
  if (failed) return 1;
  std::printf("%s, %d ranks, %zu parameters: every rank's weights are %g after one step (expected %g)\n",
              strategy.c_str(), ranks, parameters, weights[0][0], expected);
  return 0;
}
