#include "experiments/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include "core/log.h"
#include "core/transport/coordinator.h"
#include "core/transport/rendezvous.h"

extern char** environ;

namespace syncbed::experiments {
namespace {

volatile sig_atomic_t interrupt_flag = 0;
int interrupt_scopes = 0;
void on_interrupt(int) { interrupt_flag = 1; }

const char* const kOwnedVariables[] = {"RANK",          "WORLD_SIZE",          "MASTER_ADDR",  "MASTER_PORT",
                                       "SYNCBED_TOKEN", "SYNCBED_COORDINATOR", "SLURM_PROCID", "SLURM_NTASKS"};

// Built before any fork: the child only calls exec.
std::vector<std::string> worker_environment(int rank, int world, const std::string& master_addr, std::uint16_t port,
                                            const std::string& token, bool external_coordinator) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    bool owned = false;
    for (const char* name : kOwnedVariables) {
      const std::size_t len = std::strlen(name);
      owned = owned || (std::strncmp(*e, name, len) == 0 && (*e)[len] == '=');
    }
    if (!owned) env.emplace_back(*e);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + std::to_string(world));
  env.push_back("MASTER_ADDR=" + master_addr);
  env.push_back("MASTER_PORT=" + std::to_string(port));
  env.push_back("SYNCBED_TOKEN=" + token);
  if (external_coordinator) env.push_back("SYNCBED_COORDINATOR=external");
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

InterruptScope::InterruptScope() {
  if (interrupt_scopes++ == 0) interrupt_flag = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigaction(SIGINT, &action, &old_int_);
  sigaction(SIGTERM, &action, &old_term_);
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  --interrupt_scopes;
}

bool InterruptScope::interrupted() { return interrupt_flag; }

std::string WorkerExit::describe() const {
  if (signal != 0)
    return "rank " + std::to_string(rank) + " was killed by signal " + std::to_string(signal) + " (" +
           strsignal(signal) + ")";
  return "rank " + std::to_string(rank) + " exited with status " + std::to_string(exit_code);
}

std::string make_job_token() {
  std::random_device device;
  char text[33];
  std::snprintf(text, sizeof text, "%08x%08x%08x%08x", device(), device(), device(), device());
  return text;
}

std::vector<WorkerExit> launch_local(const LaunchOptions& options) {
  if (options.workers < 1) throw std::invalid_argument("at least one worker is needed");
  const std::string token = make_job_token();
  std::optional<net::Coordinator> coordinator;
  if (options.master_addr.empty())
    coordinator.emplace(net::Endpoint{"127.0.0.1", 0}, options.workers, token, options.rendezvous_timeout);
  const std::string master_addr = coordinator ? "127.0.0.1" : options.master_addr;
  const std::uint16_t port = coordinator ? coordinator->port() : net::kDefaultMasterPort;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();

  InterruptScope interrupt_scope;

  std::vector<pid_t> pids(options.workers, -1);
  std::vector<WorkerExit> exits(options.workers);
  int running = 0;
  for (int rank = 0; rank < options.workers; ++rank) {
    std::vector<std::string> args = options.wrap ? options.wrap(rank) : std::vector<std::string>{};
    args.push_back(options.wrap ? self : "syncbed");
    args.insert(args.end(), options.worker_args.begin(), options.worker_args.end());
    auto env = worker_environment(rank, options.workers, master_addr, port, token, coordinator.has_value());
    env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
    auto argv = pointers(args);
    auto envp = pointers(env);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = options.log_dir + "/rank" + std::to_string(rank) + ".log";
    if (!options.log_dir.empty())
      posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = options.wrap ? posix_spawnp(&pids[rank], args[0].c_str(), &actions, nullptr, argv.data(), envp.data())
                                : posix_spawn(&pids[rank], "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      for (pid_t pid : pids)
        if (pid > 0) kill(pid, SIGKILL);
      throw std::runtime_error(std::string("cannot start worker process: ") + std::strerror(rc));
    }
    exits[rank].rank = rank;
    ++running;
  }

  using Clock = std::chrono::steady_clock;
  const auto launched = Clock::now();
  std::optional<Clock::time_point> kill_at;  // set once a worker failed or we were interrupted
  bool forwarded_interrupt = false;
  bool killed = false;
  auto next_poll = Clock::now();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int rank = 0; rank < options.workers; ++rank) {
        if (pids[rank] != pid) continue;
        pids[rank] = -1;
        --running;
        exits[rank].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        exits[rank].signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        exits[rank].seconds = std::chrono::duration<double>(Clock::now() - launched).count();
        const bool supervised = options.supervisor >= 0;
        if (supervised && rank != options.supervisor && exits[rank].exit_code != 0)
          log_line("launcher: " + exits[rank].describe() + "; rank " + std::to_string(options.supervisor) +
                   " decides whether the job goes on");
        const bool ends_job = supervised ? rank == options.supervisor : exits[rank].exit_code != 0;
        if (ends_job && !kill_at && running > 0) {
          if (exits[rank].exit_code != 0)
            log_line("launcher: " + exits[rank].describe() + "; waiting up to " +
                     std::to_string(options.grace.count()) + " s for the other workers");
          kill_at = Clock::now() + options.grace;
        }
      }
      continue;
    }
    if (interrupt_flag && !forwarded_interrupt) {
      forwarded_interrupt = true;
      log_line("launcher: interrupted, stopping the workers");
      for (pid_t p : pids)
        if (p > 0) kill(p, SIGTERM);
      kill_at = Clock::now() + std::chrono::seconds(5);
    }
    if (kill_at && !killed && Clock::now() >= *kill_at) {
      killed = true;  // SIGKILL cannot be ignored: from here on we only reap
      for (int rank = 0; rank < options.workers; ++rank)
        if (pids[rank] > 0) {
          log_line("launcher: killing rank " + std::to_string(rank) + ", which did not exit in time");
          kill(pids[rank], SIGKILL);
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (options.poll && Clock::now() >= next_poll) {
      next_poll = Clock::now() + std::chrono::milliseconds(100);
      options.poll();
    }
  }
  return exits;
}

}  // namespace syncbed::experiments
