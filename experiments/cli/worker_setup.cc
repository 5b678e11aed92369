#include "experiments/cli/worker_setup.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>

#include "core/hash.h"
#include "core/log.h"
#include "experiments/harness/launcher.h"

namespace syncbed::cli {

std::vector<OptionSpec> worker_option_specs(const std::string& default_workers) {
  return {
      {"workers", "N",
       "start N local worker processes; 0 = this process is one rank (RANK/WORLD_SIZE, SLURM_* or flags)",
       default_workers},
      {"rank", "R", "this process's rank when no RANK/SLURM_PROCID is set", "0"},
      {"world-size", "N", "number of ranks when no WORLD_SIZE/SLURM_NTASKS is set", "1"},
      {"master-addr", "HOST", "coordinator address when MASTER_ADDR is not set", "127.0.0.1"},
      {"master-port", "PORT", "coordinator port when MASTER_PORT is not set", "29500"},
      {"bind", "ADDR", "address to listen on for peers (0.0.0.0 for multi-host)", "127.0.0.1"},
      {"socket-buffer", "BYTES", "SO_SNDBUF and SO_RCVBUF of peer sockets; 0 keeps the kernel's autotuning", "0"},
      {"timeout-ms", "MS",
       "deadline of every wait on a peer and of the rendezvous; a peer silent for half of it is declared lost",
       "60000"},
  };
}

namespace {

std::size_t socket_buffer_bytes(const Options& options) {
  const auto bytes = parse_size(options.get("socket-buffer"));
  if (bytes > (1u << 30)) throw std::invalid_argument("--socket-buffer must be at most 1G");
  return bytes;
}

std::chrono::milliseconds timeout_of(const Options& options) {
  return std::chrono::milliseconds(options.get_int("timeout-ms", 1, 86'400'000));
}

// The same for every rank of one job started the same way: the command line without what
// differs per rank, the config file's contents, and the Slurm job step if there is one.
std::string derived_job_token(const Options& options) {
  std::string identity = options.command();
  for (const auto& arg : options.args_without({"rank", "workers", "bind"})) identity += '\0' + arg;
  if (!options.positional().empty()) {
    std::ifstream config(options.positional(), std::ios::binary);
    identity += '\0' + std::string(std::istreambuf_iterator<char>(config), {});
  }
  for (const char* variable : {"SLURM_JOB_ID", "SLURM_STEP_ID", "TORCHELASTIC_RUN_ID"})
    if (const char* value = std::getenv(variable)) identity += '\0' + std::string(variable) + "=" + value;
  char text[24];
  std::snprintf(text, sizeof text, "job-%016llx",
                static_cast<unsigned long long>(fnv1a64(std::as_bytes(std::span(identity)))));
  return text;
}

// MemAvailable from /proc/meminfo, in bytes; 0 if unknown.
std::uint64_t available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemAvailable:") return kib * 1024;
    meminfo.ignore(1 << 10, '\n');
  }
  return 0;
}

// The options connect_worker reads, checked where a launcher can refuse them once instead
// of every worker once each.
void check_worker_options(const Options& options) {
  socket_buffer_bytes(options);
  timeout_of(options);
  options.get_int("rank", 0, 1 << 20);
  options.get_int("world-size", 1, 1 << 20);
  options.get_int("master-port", 1, 65535);
  if (options.get("bind").empty())
    throw std::invalid_argument("--bind: give an address to listen on (127.0.0.1, or 0.0.0.0 for every interface)");
  if (options.get("master-addr").empty()) throw std::invalid_argument("--master-addr must not be empty");
}

}  // namespace

void check_memory(const Options& options, std::uint64_t bytes_per_rank, int extra_ranks) {
  const long long workers = options.get_int("workers", 0, 1024);
  const std::uint64_t ranks = workers > 0 ? workers + extra_ranks : 1;
  const std::uint64_t available = available_memory();
  const long double needed = static_cast<long double>(bytes_per_rank) * ranks;
  if (available == 0 || needed <= available) return;
  char text[256];
  std::snprintf(text, sizeof text,
                "needs at least %.1f GiB of memory (%llu ranks x %.2f GiB), but this machine has %.1f GiB available",
                double(needed / (1ull << 30)), static_cast<unsigned long long>(ranks),
                double(bytes_per_rank) / (1ull << 30), double(available) / (1ull << 30));
  throw std::invalid_argument(text);
}

std::optional<int> launch_if_requested(const Options& options, int extra_ranks) {
  check_worker_options(options);
  const int workers = static_cast<int>(options.get_int("workers", 0, 1024));
  if (workers == 0) return std::nullopt;
  experiments::LaunchOptions launch;
  launch.workers = workers + extra_ranks;
  launch.worker_args = {options.command()};
  for (auto& arg : options.args_without({"workers"})) launch.worker_args.push_back(arg);
  launch.worker_args.push_back("--workers=0");
  launch.rendezvous_timeout = timeout_of(options);
  const auto outcome = experiments::launch_local(launch);
  if (!outcome.rendezvous_error.empty())
    std::cerr << "syncbed: rendezvous failed: " << outcome.rendezvous_error << "\n";
  int failed = 0, stopped = 0;  // stopped: by the launcher, after the first failure
  for (const auto& exit : outcome.exits) {
    if (exit.exit_code == 0) continue;
    ++failed;
    if (exit.killed_by_launcher)
      ++stopped;
    else
      std::cerr << "syncbed: " << exit.describe() << "\n";
  }
  if (failed)
    std::cerr << "syncbed: " << failed << " of " << launch.workers << " processes failed"
              << (stopped ? " (" + std::to_string(stopped) + " of them stopped by the launcher after the failure)" : "")
              << "\n";
  return failed || !outcome.rendezvous_error.empty() ? 1 : 0;
}

std::unique_ptr<net::Mesh> connect_worker(const Options& options) {
  net::RendezvousFlags flags;
  flags.rank = static_cast<int>(options.get_int("rank", 0, 1 << 20));
  flags.world_size = static_cast<int>(options.get_int("world-size", 1, 1 << 20));
  flags.master_addr = options.get("master-addr");
  flags.master_port = static_cast<int>(options.get_int("master-port", 1, 65535));
  auto info = net::resolve_rendezvous(net::process_env(), flags);
  set_log_prefix("rank " + std::to_string(info.rank));
  if (info.token.empty()) {
    info.token = derived_job_token(options);
    if (info.world_size > 1 && info.rank == 0)
      log_line("note: SYNCBED_TOKEN is not set; this job's token (" + info.token +
               ") is derived from its command line and config, so a job started the same way on the same port "
               "could still collide with it (two claims of one rank then fail both); set SYNCBED_TOKEN to a "
               "secret per job to be sure");
  }

  net::MeshOptions mesh_options;
  mesh_options.bind_address = options.get("bind");
  mesh_options.send_buffer_bytes = mesh_options.recv_buffer_bytes = static_cast<int>(socket_buffer_bytes(options));
  const auto timeout = timeout_of(options);
  mesh_options.rendezvous_timeout = timeout;
  mesh_options.op_timeout = timeout;
  mesh_options.peer_silence_timeout = timeout / 2;
  return net::Mesh::connect(info, mesh_options);
}

}  // namespace syncbed::cli
