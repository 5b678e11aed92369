// Options every distributed subcommand shares: run N local workers (--workers), or be
// one rank of a job whose rank and coordinator come from the environment or flags.
#pragma once

#include <memory>
#include <vector>

#include "core/transport/mesh.h"
#include "experiments/cli/options.h"

namespace syncbed::cli {

std::vector<OptionSpec> worker_option_specs(const std::string& default_workers);

// With --workers N: launches N (+ extra_ranks, e.g. separate parameter servers) copies
// of this command locally, waits, prints failures and returns the exit code. Returns
// nullopt when this process is itself one of the ranks.
std::optional<int> launch_if_requested(const Options& options, int extra_ranks = 0);

// Rendezvous (env, then flags) and full-mesh connect, with mesh options from flags.
std::unique_ptr<net::Mesh> connect_worker(const Options& options);

}  // namespace syncbed::cli
