// `syncbed bench-p2p`: one-way TCP throughput between two worker processes.
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "experiments/bench/p2p_bench.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/worker_setup.h"

namespace syncbed::cli {

int bench_p2p_command(const std::vector<std::string>& args) {
  auto specs = worker_option_specs("2");
  specs.push_back({"sizes", "LIST", "message sizes, comma-separated (K, M, G suffixes)", "4K,64K,1M,4M,28M,128M"});
  specs.push_back({"iters", "K", "timed batches per size (each moves >= 64 MiB); the median is reported", "10"});
  specs.push_back({"json", "FILE", "also write the results as JSON (a file is replaced atomically; - prints it)", ""});
  Options options("bench-p2p", "Point-to-point throughput from rank 0 to rank 1 over the syncbed transport.", specs);
  if (!options.parse(args)) return 0;
  const auto sizes = options.get_sizes("sizes");
  const int iters = static_cast<int>(options.get_int("iters", 1, 100'000));
  if (options.has("workers") && options.get_int("workers", 0, 2) == 1)
    throw std::invalid_argument("bench-p2p: --workers must be 2 (or 0 under an external launcher)");
  for (auto size : sizes)
    if (size == 0) throw std::invalid_argument("--sizes: a message of 0 bytes moves nothing to measure; use 1 or more");
  if (!options.get("json").empty()) check_writable(options.get("json"));
  check_memory(options, *std::max_element(sizes.begin(), sizes.end()));
  if (auto code = launch_if_requested(options)) return *code;

  auto mesh = connect_worker(options);
  if (mesh->size() != 2)
    throw std::invalid_argument("bench-p2p needs exactly 2 ranks, got " + std::to_string(mesh->size()));
  const std::uint64_t largest = *std::max_element(sizes.begin(), sizes.end());
  if (mesh->rank() == 1) {
    experiments::run_p2p_receiver(*mesh, largest);
    return 0;
  }

  experiments::P2pSender sender(*mesh, largest);
  nlohmann::json rows = nlohmann::json::array();
  std::printf("%12s %10s %14s %12s\n", "size(B)", "count", "time/msg(us)", "GB/s");
  for (const auto size : sizes) {
    const auto count = experiments::p2p_batch_count(size);
    sender.run_batch(size, count, true);  // warm-up, checked in full: windows, page faults
    std::vector<double> rates;
    double seconds = 0;
    for (int i = 0; i < iters; ++i) {
      const auto batch = sender.run_batch(size, count);
      rates.push_back(batch.gbytes_per_second());
      seconds += batch.seconds;
    }
    std::sort(rates.begin(), rates.end());
    const double median = rates[rates.size() / 2];
    const double per_message_us = size / (median * 1e9) * 1e6;
    std::printf("%12llu %10llu %14.2f %12.3f\n", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(count), per_message_us, median);
    std::fflush(stdout);
    rows.push_back({{"size", size},
                    {"count", count},
                    {"time_us", per_message_us},
                    {"gbytes_per_s", median},
                    {"min_gbytes_per_s", rates.front()},
                    {"max_gbytes_per_s", rates.back()},
                    {"iters", iters}});
  }
  sender.stop();
  if (!options.get("json").empty())
    write_file_atomically(options.get("json"), nlohmann::json{{"benchmark", "p2p"}, {"results", rows}}.dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
