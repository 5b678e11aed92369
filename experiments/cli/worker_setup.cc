#include "experiments/cli/worker_setup.h"

#include <iostream>

#include "core/log.h"
#include "experiments/launcher.h"

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

std::optional<int> launch_if_requested(const Options& options, int extra_ranks) {
  const int workers = static_cast<int>(options.get_int("workers", 0, 1024));
  if (workers == 0) return std::nullopt;
  experiments::LaunchOptions launch;
  launch.workers = workers + extra_ranks;
  launch.worker_args = {options.command()};
  for (auto& arg : options.args_without({"workers"})) launch.worker_args.push_back(arg);
  launch.worker_args.push_back("--workers=0");
  launch.rendezvous_timeout = std::chrono::milliseconds(options.get_int("timeout-ms", 1, 86'400'000));
  const auto exits = experiments::launch_local(launch);
  int failed = 0;
  for (const auto& exit : exits)
    if (exit.exit_code != 0) {
      std::cerr << "syncbed: " << exit.describe() << "\n";
      ++failed;
    }
  if (failed) std::cerr << "syncbed: " << failed << " of " << launch.workers << " processes failed\n";
  return failed ? 1 : 0;
}

std::unique_ptr<net::Mesh> connect_worker(const Options& options) {
  net::RendezvousFlags flags;
  flags.rank = static_cast<int>(options.get_int("rank", 0, 1 << 20));
  flags.world_size = static_cast<int>(options.get_int("world-size", 1, 1 << 20));
  flags.master_addr = options.get("master-addr");
  flags.master_port = static_cast<int>(options.get_int("master-port", 1, 65535));
  const auto info = net::resolve_rendezvous(net::process_env(), flags);
  set_log_prefix("rank " + std::to_string(info.rank));
  if (info.token.empty() && info.world_size > 1)
    log_line("warning: SYNCBED_TOKEN is not set; any process that reaches this job's ports may join it");

  net::MeshOptions mesh_options;
  mesh_options.bind_address = options.get("bind");
  const auto socket_buffer = parse_size(options.get("socket-buffer"));
  if (socket_buffer > (1u << 30)) throw std::invalid_argument("--socket-buffer must be at most 1G");
  mesh_options.send_buffer_bytes = mesh_options.recv_buffer_bytes = static_cast<int>(socket_buffer);
  const auto timeout = std::chrono::milliseconds(options.get_int("timeout-ms", 1, 86'400'000));
  mesh_options.rendezvous_timeout = timeout;
  mesh_options.op_timeout = timeout;
  mesh_options.peer_silence_timeout = timeout / 2;
  return net::Mesh::connect(info, mesh_options);
}

}  // namespace syncbed::cli
