// Starts N local worker processes of this executable and supervises them: the launcher
// hosts the rendezvous coordinator, gives every worker RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT and a fresh SYNCBED_TOKEN, and waits. When one worker fails the others
// get a grace period to report their own errors, then are killed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace syncbed::experiments {

struct LaunchOptions {
  int workers = 1;
  std::vector<std::string> worker_args;  // argv after the executable name
  std::chrono::milliseconds rendezvous_timeout{60'000};
  std::chrono::seconds grace{30};
  bool quiet = false;  // no per-rank summary when all succeed
};

struct WorkerExit {
  int rank = 0;
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string describe() const;
};

// Returns each worker's exit, ordered by rank. Throws if a worker cannot be started.
std::vector<WorkerExit> launch_local(const LaunchOptions& options);

// A random 128-bit job token in hex.
std::string make_job_token();

}  // namespace syncbed::experiments
