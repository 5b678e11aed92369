#include "experiments/harness/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
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

const char* const kOwnedVariables[] = {
    "RANK",         "WORLD_SIZE",   "MASTER_ADDR",         "MASTER_PORT",       "SYNCBED_TOKEN", "SYNCBED_COORDINATOR",
    "SLURM_PROCID", "SLURM_NTASKS", "SYNCBED_LOCAL_RANKS", kLauncherPidVariable};

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

int run_program(const std::vector<std::string>& argv, bool quiet) {
  std::vector<std::string> args = argv;
  auto pointer_args = pointers(args);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0].c_str(), &actions, nullptr, pointer_args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string make_job_token() {
  std::random_device device;
  char text[33];
  std::snprintf(text, sizeof text, "%08x%08x%08x%08x", device(), device(), device(), device());
  return text;
}

void die_with_launcher() {
  const char* launcher = std::getenv(kLauncherPidVariable);
  if (!launcher) return;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The launcher may have died before the line above: then we were re-parented already.
  if (std::to_string(getppid()) != launcher) {
    log_line("the launcher (pid " + std::string(launcher) + ") is gone; exiting");
    std::_Exit(1);
  }
}

namespace {

// A worker's stderr, read by the launcher through a pipe: copied to its log file (best
// effort: the disk may be full) and its last line kept in memory.
class StderrCapture {
 public:
  explicit StderrCapture(const std::string& log_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("cannot create a pipe: ") + strerror(errno));
    read_end_ = fds[0];
    write_end_ = fds[1];
    fcntl(read_end_, F_SETFL, O_NONBLOCK);
    log_ = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  ~StderrCapture() {
    for (int fd : {read_end_, write_end_, log_})
      if (fd >= 0) close(fd);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  int child_end() const { return write_end_; }
  void started() {  // the child holds the write end now
    close(write_end_);
    write_end_ = -1;
  }
  // Reads what is there without blocking.
  void drain() {
    char buffer[4096];
    for (ssize_t n; read_end_ >= 0 && (n = read(read_end_, buffer, sizeof buffer)) > 0;) {
      if (log_ >= 0 && write(log_, buffer, n) != n) {
        close(log_);  // a full disk: keep only what is in memory
        log_ = -1;
      }
      tail_.append(buffer, n);
      if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
    }
  }
  std::string last_line() const {
    const std::size_t end = tail_.find_last_not_of(" \t\r\n");
    if (end == std::string::npos) return "";
    const std::size_t newline = tail_.rfind('\n', end);
    const std::size_t begin = newline == std::string::npos ? 0 : newline + 1;
    return tail_.substr(begin, end + 1 - begin);
  }

 private:
  static constexpr std::size_t kTailBytes = 16384;
  int read_end_ = -1, write_end_ = -1, log_ = -1;
  std::string tail_;
};

}  // namespace

LaunchOutcome launch_local(const LaunchOptions& options) {
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
  LaunchOutcome outcome;
  std::vector<WorkerExit>& exits = outcome.exits;
  exits.resize(options.workers);
  std::vector<std::unique_ptr<StderrCapture>> captures(options.workers);
  int running = 0;
  for (int rank = 0; rank < options.workers; ++rank) {
    std::vector<std::string> args = options.wrap ? options.wrap(rank) : std::vector<std::string>{};
    args.push_back(options.wrap ? self : "syncbed");
    args.insert(args.end(), options.worker_args.begin(), options.worker_args.end());
    auto env = worker_environment(rank, options.workers, master_addr, port, token, coordinator.has_value());
    env.insert(env.end(), options.extra_env.begin(), options.extra_env.end());
    env.push_back(std::string(kLauncherPidVariable) + "=" + std::to_string(getpid()));
    if (!options.wrap) env.push_back("SYNCBED_LOCAL_RANKS=" + std::to_string(options.workers));  // all on this machine
    auto argv = pointers(args);
    auto envp = pointers(env);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!options.log_dir.empty()) {
      captures[rank] = std::make_unique<StderrCapture>(options.log_dir + "/rank" + std::to_string(rank) + ".log");
      posix_spawn_file_actions_adddup2(&actions, captures[rank]->child_end(), STDERR_FILENO);
    }
    // A worker inherits stdin, stdout and stderr only: not the coordinator's listening
    // socket (which would outlive us) nor any file we have open.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    const int rc = options.wrap
                       ? posix_spawnp(&pids[rank], args[0].c_str(), &actions, nullptr, argv.data(), envp.data())
                       : posix_spawn(&pids[rank], "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (captures[rank]) captures[rank]->started();
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
  bool signalled = false;  // from here on, exits are our doing, not causes
  bool killed = false;
  auto next_poll = Clock::now();
  auto drain_all = [&] {
    for (auto& capture : captures)
      if (capture) capture->drain();
  };
  auto stop_workers = [&](std::chrono::seconds within) {
    signalled = true;
    for (pid_t p : pids)
      if (p > 0) kill(p, SIGTERM);
    kill_at = Clock::now() + within;
  };
  while (running > 0) {
    drain_all();
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
        exits[rank].killed_by_launcher = signalled;
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
      stop_workers(std::chrono::seconds(5));
    }
    if (coordinator && outcome.rendezvous_error.empty()) {
      outcome.rendezvous_error = coordinator->failure();
      if (!outcome.rendezvous_error.empty()) {
        log_line("launcher: the rendezvous failed: " + outcome.rendezvous_error + "; stopping the workers");
        stop_workers(std::chrono::seconds(2));
      }
    }
    if (kill_at && !killed && Clock::now() >= *kill_at) {
      killed = signalled = true;  // SIGKILL cannot be ignored: from here on we only reap
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
  drain_all();
  for (int rank = 0; rank < options.workers; ++rank)
    if (captures[rank]) exits[rank].last_error = captures[rank]->last_line();
  return outcome;
}

}  // namespace syncbed::experiments
