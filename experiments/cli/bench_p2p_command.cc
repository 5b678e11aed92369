// `syncbed bench-p2p`: one-way TCP throughput between two worker processes, or with
// --pingpong their message latency.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/median.h"
#include "experiments/bench/p2p_bench.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/worker_setup.h"

namespace syncbed::cli {
namespace {

constexpr const char* kThroughputSizes = "4K,64K,1M,4M,28M,128M";
constexpr const char* kLatencySizes = "8,64,512,4K,16K,64K";
constexpr int kLatencyRoundTrips = 10'000;

// Rank 0's half of the throughput benchmark: the median of `iters` batches per size.
nlohmann::json measure_throughput(net::Mesh& mesh, const std::vector<std::uint64_t>& sizes, int iters) {
  experiments::P2pSender sender(mesh, *std::max_element(sizes.begin(), sizes.end()));
  nlohmann::json rows = nlohmann::json::array();
  std::printf("%12s %10s %14s %12s\n", "size(B)", "count", "time/msg(us)", "GB/s");
  for (const auto size : sizes) {
    const auto count = experiments::p2p_batch_count(size);
    sender.run_batch(size, count, true);  // warm-up, checked in full: windows, page faults
    std::vector<double> rates;
    for (int i = 0; i < iters; ++i) rates.push_back(sender.run_batch(size, count).gbytes_per_second());
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
  experiments::stop_p2p_receiver(mesh);
  return rows;
}

// Rank 0's half of --pingpong, in osu_latency's terms: one-way latency = half a round
// trip; the median, the fastest and the mean of `round_trips` per size.
nlohmann::json measure_latency(net::Mesh& mesh, const std::vector<std::uint64_t>& sizes, int round_trips) {
  nlohmann::json rows = nlohmann::json::array();
  std::printf("%12s %12s %12s %12s %12s\n", "size(B)", "round trips", "latency(us)", "min(us)", "mean(us)");
  for (const auto size : sizes) {
    const auto result = experiments::run_pingpong(mesh, size, std::max(10, round_trips / 10), round_trips);
    std::vector<double> one_way_us;
    for (const double seconds : result.round_trip_s) one_way_us.push_back(seconds / 2 * 1e6);
    const double median = median_of(one_way_us);
    const double fastest = *std::min_element(one_way_us.begin(), one_way_us.end());
    const double mean = std::accumulate(one_way_us.begin(), one_way_us.end(), 0.0) / one_way_us.size();
    std::printf("%12llu %12d %12.2f %12.2f %12.2f\n", static_cast<unsigned long long>(size), round_trips, median,
                fastest, mean);
    std::fflush(stdout);
    rows.push_back(
        {{"size", size}, {"round_trips", round_trips}, {"latency_us", median}, {"min_us", fastest}, {"mean_us", mean}});
  }
  experiments::stop_p2p_receiver(mesh);
  return rows;
}

}  // namespace

int bench_p2p_command(const std::vector<std::string>& args) {
  auto specs = worker_option_specs("2");
  specs.push_back({"sizes", "LIST",
                   std::string("message sizes, comma-separated (K, M, G suffixes); default ") + kThroughputSizes +
                       ", with --pingpong " + kLatencySizes,
                   ""});
  specs.push_back({"iters", "K",
                   "timed batches per size (each moves >= 64 MiB; the median is reported), with --pingpong timed "
                   "round trips per size (default 10 and " +
                       std::to_string(kLatencyRoundTrips) + ")",
                   ""});
  specs.push_back({"pingpong", "", "measure latency instead: rank 1 returns each message to rank 0 (osu_latency)", ""});
  specs.push_back({"json", "FILE", "also write the results as JSON (a file is replaced atomically; - prints it)", ""});
  Options options("bench-p2p",
                  "Point-to-point throughput from rank 0 to rank 1 over the syncbed transport, or (--pingpong) the "
                  "one-way latency of a message between them.",
                  specs);
  if (!options.parse(args)) return 0;
  const bool pingpong = options.has("pingpong");
  const auto sizes = options.get_sizes("sizes", pingpong ? kLatencySizes : kThroughputSizes);
  const int iters = options.has("iters") ? static_cast<int>(options.get_int("iters", 1, 10'000'000))
                    : pingpong           ? kLatencyRoundTrips
                                         : 10;
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
  if (mesh->rank() == 1) {
    experiments::run_p2p_receiver(*mesh, *std::max_element(sizes.begin(), sizes.end()));
    return 0;
  }
  const nlohmann::json rows = pingpong ? measure_latency(*mesh, sizes, iters) : measure_throughput(*mesh, sizes, iters);
  if (!options.get("json").empty())
    write_file_atomically(
        options.get("json"),
        nlohmann::json{{"benchmark", pingpong ? "p2p-latency" : "p2p"}, {"results", rows}}.dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
