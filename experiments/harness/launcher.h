// Starts N local worker processes of this executable and supervises them: the launcher
// hosts the rendezvous coordinator (or leaves it to rank 0), gives every worker RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT and a fresh SYNCBED_TOKEN, and waits. When one worker fails (or the
// supervisor, if there is one, exits) the others get a grace period to report their
// own errors, then are killed.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace syncbed::experiments {

struct LaunchOptions {
  int workers = 1;
  std::vector<std::string> worker_args;  // argv after the executable name
  std::chrono::milliseconds rendezvous_timeout{60'000};
  std::chrono::seconds grace{30};
  bool quiet = false;  // no per-rank summary when all succeed
  // If set, rank r's stderr goes to log_dir/rank<r>.log, through the launcher, which also
  // keeps its last lines (so the cause of a failure survives a full disk).
  std::string log_dir;
  std::vector<std::string> extra_env;  // NAME=VALUE for every worker
  std::function<void()> poll;          // called about every 100 ms while the workers run
  // Rank r runs as `wrap(r)... <this executable> worker_args...`, e.g. {"ip", "netns",
  // "exec", "sb1-h3"}; wrap(r)[0] is looked up in PATH.
  std::function<std::vector<std::string>(int rank)> wrap;
  // Empty: the launcher hosts the rendezvous coordinator on 127.0.0.1. Otherwise rank 0
  // hosts it at this address, for workers that cannot reach this process's loopback.
  std::string master_addr;
  // >= 0: the job lives and dies with this rank (the task model's driver). Another
  // rank's failure is the supervisor's to handle; the grace period starts when the
  // supervisor exits.
  int supervisor = -1;
};

// While one exists, SIGINT and SIGTERM set a flag instead of killing this process;
// launch_local() then stops its workers and returns. Nests; restores the old handlers.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  static bool interrupted();  // a signal arrived since the outermost scope began

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

struct WorkerExit {
  int rank = 0;
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  double seconds = 0;               // since the launch
  bool killed_by_launcher = false;  // a consequence, not a cause: it outlived the grace period
  std::string last_error;           // with log_dir: the last line it wrote to stderr
  std::string describe() const;
};

struct LaunchOutcome {
  std::vector<WorkerExit> exits;  // ordered by rank
  std::string rendezvous_error;   // the launcher's coordinator failed (e.g. out of file descriptors)
};

// Workers exit with this code when they fail in a way a restart cannot cure (the disk
// is full): the sweep does not retry them.
inline constexpr int kPermanentFailureExitCode = 3;
// Workers exit with this code when their error came from the transport (a peer failed,
// went silent or refused them): usually a consequence of another rank's failure.
inline constexpr int kTransportFailureExitCode = 4;

// The environment variable through which a worker learns its launcher's pid; a worker
// that has it dies with its launcher (see die_with_launcher).
inline constexpr const char* kLauncherPidVariable = "SYNCBED_LAUNCHER_PID";

// Called first thing in every syncbed process: if a launcher started it, make the kernel
// kill it when the launcher dies (PR_SET_PDEATHSIG), and exit at once if it already has.
void die_with_launcher();

// Throws if a worker cannot be started.
LaunchOutcome launch_local(const LaunchOptions& options);

// Runs a program with exactly these arguments, no shell in between (argv[0] is looked up
// in PATH), and waits for it; `quiet` sends its output to /dev/null. Returns its exit
// status, or -1 if it could not start or died by a signal.
int run_program(const std::vector<std::string>& argv, bool quiet = false);

// A random 128-bit job token in hex.
std::string make_job_token();

}  // namespace syncbed::experiments
