// Options every distributed subcommand shares: run N local workers (--workers), or be
// one rank of a job whose rank and coordinator come from the environment or flags.
#pragma once

#include <memory>
#include <vector>

#include "core/options.h"
#include "core/transport/mesh.h"

namespace syncbed::cli {

std::vector<OptionSpec> worker_option_specs(const std::string& default_workers);

// With --workers N: launches N (+ extra_ranks, e.g. separate parameter servers) copies
// of this command locally, waits, prints failures and returns the exit code. Returns
// nullopt when this process is itself one of the ranks.
std::optional<int> launch_if_requested(const Options& options, int extra_ranks = 0);

// Rendezvous (env, then flags) and full-mesh connect, with mesh options from flags.
// Without SYNCBED_TOKEN, the job token is derived from the command line and the config
// file, so a job started differently on the same port cannot join this one.
std::unique_ptr<net::Mesh> connect_worker(const Options& options);

// Refuses (std::invalid_argument, with the figures) a job whose ranks on this machine
// would need more than its available memory: `bytes_per_rank` is what one rank needs at
// least. Ranks: --workers (plus extra_ranks) when launching, else this process alone.
void check_memory(const Options& options, std::uint64_t bytes_per_rank, int extra_ranks = 0);

// Runs work(); if it throws, every peer is told this rank's error (Mesh::abort) before
// the exception leaves, so they name it instead of "the peer closed the connection".
template <typename Work>
auto telling_peers(net::Mesh& mesh, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const std::exception& e) {
    mesh.abort(e.what());
    throw;
  }
}

}  // namespace syncbed::cli
