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
#include <string_view>
#include <thread>

#include "core/log.h"
#include "core/transport/coordinator.h"
#include "core/transport/rendezvous.h"
#include "experiments/harness/stall_summary.h"

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
  // Reads what is there without blocking; each complete new line goes to `on_line`.
  template <typename OnLine>
  void drain(OnLine on_line) {
    char buffer[4096];
    for (ssize_t n; read_end_ >= 0 && (n = read(read_end_, buffer, sizeof buffer)) > 0;) {
      if (log_ >= 0 && write(log_, buffer, n) != n) {
        close(log_);  // a full disk: keep only what is in memory
        log_ = -1;
      }
      tail_.append(buffer, n);
      if (tail_.size() > kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
      split_lines(std::string_view(buffer, n), on_line);
    }
  }
  template <typename OnLine>
  void split_lines(std::string_view bytes, OnLine& on_line) {
    for (std::size_t newline; (newline = bytes.find('\n')) != std::string_view::npos;) {
      partial_.append(bytes.substr(0, newline));
      on_line(partial_);
      partial_.clear();
      bytes.remove_prefix(newline + 1);
    }
    partial_.append(bytes);
    if (partial_.size() > kTailBytes) partial_.clear();  // no report is that long
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
  std::string tail_, partial_;
};

// One local job: its workers started, watched and reaped, stopped when one fails (or,
// with a supervisor, when the supervisor ends), when the rendezvous fails or on Ctrl-C.
class LocalJob {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LocalJob(const LaunchOptions& options)
      : options_(options),
        token_(make_job_token()),
        self_(std::filesystem::read_symlink("/proc/self/exe").string()),
        pids_(options.workers, -1),
        captures_(options.workers) {
    // A one-rank job never registers (its mesh needs no rendezvous): a coordinator would
    // time out while it trains.
    if (options.master_addr.empty() && options.workers > 1)
      coordinator_.emplace(net::Endpoint{"127.0.0.1", 0}, options.workers, token_, options.rendezvous_timeout);
    outcome_.exits.resize(options.workers);
  }

  LaunchOutcome run() {
    for (int rank = 0; rank < options_.workers; ++rank) start(rank);
    launched_ = Clock::now();
    auto next_poll = Clock::now();
    while (running_ > 0) {
      drain_all();
      int status = 0;
      if (const pid_t pid = waitpid(-1, &status, WNOHANG); pid > 0) {
        reaped(pid, status);
        continue;
      }
      watch_interrupt_and_rendezvous();
      kill_overdue();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (options_.poll && Clock::now() >= next_poll) {
        next_poll = Clock::now() + std::chrono::milliseconds(100);
        options_.poll();
      }
    }
    drain_all();
    for (int rank = 0; rank < options_.workers; ++rank)
      if (captures_[rank]) outcome_.exits[rank].last_error = captures_[rank]->last_line();
    return std::move(outcome_);
  }

 private:
  std::vector<std::string> environment_of(int rank) const {
    const std::string master_addr = options_.master_addr.empty() ? "127.0.0.1" : options_.master_addr;
    const std::uint16_t port = coordinator_ ? coordinator_->port() : net::kDefaultMasterPort;
    auto env = worker_environment(rank, options_.workers, master_addr, port, token_, coordinator_.has_value());
    env.insert(env.end(), options_.extra_env.begin(), options_.extra_env.end());
    env.push_back(std::string(kLauncherPidVariable) + "=" + std::to_string(getpid()));
    if (!options_.wrap) env.push_back("SYNCBED_LOCAL_RANKS=" + std::to_string(options_.workers));  // all here
    return env;
  }

  void start(int rank) {
    std::vector<std::string> args = options_.wrap ? options_.wrap(rank) : std::vector<std::string>{};
    args.push_back(options_.wrap ? self_ : "syncbed");
    args.insert(args.end(), options_.worker_args.begin(), options_.worker_args.end());
    auto env = environment_of(rank);
    auto argv = pointers(args);
    auto envp = pointers(env);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!options_.log_dir.empty()) {
      captures_[rank] = std::make_unique<StderrCapture>(options_.log_dir + "/rank" + std::to_string(rank) + ".log");
      posix_spawn_file_actions_adddup2(&actions, captures_[rank]->child_end(), STDERR_FILENO);
    }
    // A worker inherits stdin, stdout and stderr only: not the coordinator's listening
    // socket (which would outlive us) nor any file we have open.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    const int rc = options_.wrap
                       ? posix_spawnp(&pids_[rank], args[0].c_str(), &actions, nullptr, argv.data(), envp.data())
                       : posix_spawn(&pids_[rank], "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (captures_[rank]) captures_[rank]->started();
    if (rc != 0) {
      for (pid_t pid : pids_)
        if (pid > 0) kill(pid, SIGKILL);
      throw std::runtime_error(std::string("cannot start worker process: ") + std::strerror(rc));
    }
    outcome_.exits[rank].rank = rank;
    ++running_;
  }

  // Reads the workers' logs; their stall reports are summarized by the rank waited on.
  void drain_all() {
    const auto now = Clock::now();
    for (int rank = 0; rank < options_.workers; ++rank)
      if (captures_[rank]) captures_[rank]->drain([&](const std::string& line) { stalls_.add(rank, line, now); });
    for (const std::string& line : stalls_.take(now)) log_line("launcher: " + line);
  }

  // A worker exited: record how; a failure (or the supervisor's end) starts the grace
  // period the others get before they are killed.
  void reaped(pid_t pid, int status) {
    const auto rank = std::find(pids_.begin(), pids_.end(), pid) - pids_.begin();
    if (rank == static_cast<long>(pids_.size())) return;
    pids_[rank] = -1;
    --running_;
    WorkerExit& exit = outcome_.exits[rank];
    exit.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    exit.seconds = std::chrono::duration<double>(Clock::now() - launched_).count();
    exit.killed_by_launcher = signalled_;
    const bool supervised = options_.supervisor >= 0;
    if (supervised && rank != options_.supervisor && exit.exit_code != 0)
      log_line("launcher: " + exit.describe() + "; rank " + std::to_string(options_.supervisor) +
               " decides whether the job goes on");
    const bool ends_job = supervised ? rank == options_.supervisor : exit.exit_code != 0;
    if (ends_job && !kill_at_ && running_ > 0) {
      if (exit.exit_code != 0)
        log_line("launcher: " + exit.describe() + "; waiting up to " + std::to_string(options_.grace.count()) +
                 " s for the other workers");
      kill_at_ = Clock::now() + options_.grace;
    }
  }

  void stop_workers(std::chrono::seconds within) {
    signalled_ = true;  // from here on, exits are our doing, not causes
    for (pid_t p : pids_)
      if (p > 0) kill(p, SIGTERM);
    kill_at_ = Clock::now() + within;
  }

  void watch_interrupt_and_rendezvous() {
    if (interrupt_flag && !forwarded_interrupt_) {
      forwarded_interrupt_ = true;
      log_line("launcher: interrupted, stopping the workers");
      stop_workers(std::chrono::seconds(5));
    }
    if (coordinator_ && outcome_.rendezvous_error.empty()) {
      outcome_.rendezvous_error = coordinator_->failure();
      if (!outcome_.rendezvous_error.empty()) {
        log_line("launcher: the rendezvous failed: " + outcome_.rendezvous_error + "; stopping the workers");
        stop_workers(std::chrono::seconds(2));
      }
    }
  }

  void kill_overdue() {
    if (!kill_at_ || killed_ || Clock::now() < *kill_at_) return;
    killed_ = signalled_ = true;  // SIGKILL cannot be ignored: from here on we only reap
    for (int rank = 0; rank < options_.workers; ++rank)
      if (pids_[rank] > 0) {
        log_line("launcher: killing rank " + std::to_string(rank) + ", which did not exit in time");
        kill(pids_[rank], SIGKILL);
      }
  }

  const LaunchOptions& options_;
  const std::string token_, self_;
  std::optional<net::Coordinator> coordinator_;
  InterruptScope interrupt_scope_;
  std::vector<pid_t> pids_;
  std::vector<std::unique_ptr<StderrCapture>> captures_;
  LaunchOutcome outcome_;
  StallSummary stalls_;
  int running_ = 0;
  Clock::time_point launched_;
  std::optional<Clock::time_point> kill_at_;  // set once a worker failed or we were interrupted
  bool forwarded_interrupt_ = false, signalled_ = false, killed_ = false;
};

}  // namespace

LaunchOutcome launch_local(const LaunchOptions& options) {
  if (options.workers < 1) throw std::invalid_argument("at least one worker is needed");
  return LocalJob(options).run();
}

}  // namespace syncbed::experiments
