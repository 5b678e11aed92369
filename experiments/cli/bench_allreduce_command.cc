// `syncbed bench-allreduce`: sum-allreduce throughput of a sync strategy, printed in
// nccl-tests columns, and what an allreduce costs the workers in CPU time and context
// switches. Per size: one verified warm-up, then K timed iterations; an iteration's time
// is the slowest rank's, its cost the sum over the workers, and the medians over the
// iterations are reported.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/buffer.h"
#include "core/clock.h"
#include "core/trace.h"
#include "core/transport/tags.h"
#include "experiments/bench/allreduce_report.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/worker_setup.h"
#include "experiments/harness/trace_file.h"
#include "experiments/worker/clock_offset.h"
#include "experiments/worker/gather.h"
#include "sync/registry.h"

namespace syncbed::cli {
namespace {

constexpr std::uint64_t kTimesTag = net::make_tag(net::TagSpace::kBench, 1);

// bf16: each piece and the published sum lose < 2^-7 relative each.
constexpr float kBf16Tolerance = 1.0f / 64;

// Rank 0 gets, for every iteration, the slowest worker's time and the cost summed over
// the workers (separate ps servers are not counted).
experiments::IterationLog combine_workers(net::Mesh& mesh, int workers, const experiments::IterationLog& mine) {
  std::vector<double> flat = mine.seconds;
  flat.insert(flat.end(), mine.cpu_seconds.begin(), mine.cpu_seconds.end());
  flat.insert(flat.end(), mine.context_switches.begin(), mine.context_switches.end());
  experiments::IterationLog all = mine;
  const std::size_t n = mine.seconds.size();
  experiments::gather_at_rank0(mesh, workers, kTimesTag, std::span<const double>(flat),
                               [&](int, std::span<const double> theirs) {
                                 for (std::size_t i = 0; i < n; ++i) {
                                   all.seconds[i] = std::max(all.seconds[i], theirs[i]);
                                   all.cpu_seconds[i] += theirs[n + i];
                                   all.context_switches[i] += theirs[2 * n + i];
                                 }
                               });
  return all;
}

std::vector<OptionSpec> bench_allreduce_options() {
  auto specs = worker_option_specs("2");
  std::string names;
  for (const auto& entry : sync::strategy_entries())
    names += (names.empty() ? "" : "; ") + entry.name + (entry.bf16 ? " (also bf16)" : "");
  specs.push_back({"strategy", "NAME", "sync strategy: " + names, "ring"});
  specs.push_back({"compression", "KIND", "none or bf16 (strategies that support it)", "none"});
  specs.push_back(
      {"segment", "BYTES", "pipelining segment size; 0 = the strategy's own (sharded 4M, the others 1M)", "0"});
  specs.push_back({"ps-servers", "S", "ps: number of servers; 0 = one per worker, co-located", "0"});
  specs.push_back({"ps-separate", "", "ps: run the servers as S extra processes instead of on workers", ""});
  specs.push_back(
      {"sizes", "LIST", "vector sizes in bytes, comma-separated (K, M, G suffixes)", "4K,64K,1M,4M,28M,128M"});
  specs.push_back({"iters", "K", "timed iterations per size, after one verified warm-up", "10"});
  specs.push_back({"json", "FILE", "also write the results as JSON (a file is replaced atomically; - prints it)", ""});
  specs.push_back({"trace", "DIR",
                   "record every rank's timeline (each strategy phase of every iteration; iteration 0 is the verified "
                   "warm-up) to DIR/size-<bytes>/trace-rank-<r>.json; with --workers merged into DIR/trace.json "
                   "(`syncbed trace DIR` analyzes it), else by `syncbed trace merge DIR`",
                   ""});
  specs.push_back({"trace-messages", "", "with --trace: also every transport message (send, receive, bytes)", ""});
  return specs;
}

// The strategy's options from the command line, checked against the registry.
sync::SyncOptions strategy_options(const Options& options) {
  sync::SyncOptions choice;
  choice.compression = sync::parse_compression(options.get("compression"));
  choice.segment_bytes = parse_size(options.get("segment"));
  if (choice.segment_bytes != 0 &&
      (choice.segment_bytes < sizeof(float) || choice.segment_bytes > (std::size_t{1} << 30)))
    throw std::invalid_argument("--segment must be 0 (the strategy's own) or between 4 bytes and 1G");
  choice.ps.servers = static_cast<int>(options.get_int("ps-servers", 0, 1024));
  choice.ps.separate_servers = options.has("ps-separate");
  sync::check_parameter_sync(options.get("strategy"), choice, static_cast<int>(options.get_int("workers", 0, 1024)));
  return choice;
}

// Where --trace puts one size's rank files.
std::string size_trace_dir(const std::string& trace_dir, std::size_t bytes) {
  return trace_dir + "/size-" + std::to_string(bytes);
}

// With --trace, one size's timeline: recording starts afresh, and ends in this rank's file.
class SizeTrace {
 public:
  SizeTrace(const Options& options, const experiments::ClockOffset& offset, net::Mesh& mesh, std::size_t bytes,
            int world)
      : dir_(options.get("trace").empty() ? "" : size_trace_dir(options.get("trace"), bytes)),
        offset_(offset),
        rank_(mesh.rank()),
        ranks_(mesh.size()),
        title_(options.get("strategy") + " " + std::to_string(bytes) + " B, " + std::to_string(world) + " workers") {
    if (dir_.empty()) return;
    std::filesystem::create_directories(dir_);
    trace::enable({50, 50, options.has("trace-messages")});
    trace::name_thread(rank_ >= world ? "server" : "main");
  }
  ~SizeTrace() { trace::disable(); }
  SizeTrace(const SizeTrace&) = delete;
  SizeTrace& operator=(const SizeTrace&) = delete;

  // After the strategy is gone (a co-located server's thread has recorded its last).
  void write() const {
    if (!dir_.empty())
      experiments::write_rank_trace(dir_, rank_, offset_, {title_, ranks_, 1}, "rank " + std::to_string(rank_));
  }

 private:
  const std::string dir_;
  const experiments::ClockOffset offset_;
  const int rank_, ranks_;
  const std::string title_;
};

// One size: a verified warm-up, `iters` timed sums; rank 0 gets the row (the median of
// the slowest rank's times). A serving rank serves instead and gets nothing.
std::optional<experiments::AllreduceRow> measure(net::Mesh& mesh, const std::string& strategy,
                                                 sync::SyncOptions options, std::span<float> vector, int world,
                                                 int iters, std::size_t& wrong) {
  options.parameters = vector.size();
  auto sync = sync::make_parameter_sync(strategy, mesh, options);
  if (sync->serves_only()) {
    sync->serve();
    return std::nullopt;
  }
  const float tolerance = options.compression == sync::Compression::kBf16 ? kBf16Tolerance : 0.0f;
  experiments::IterationLog log;
  std::size_t wrong_here = 0;
  for (int it = -1; it < iters; ++it) {
    experiments::fill_allreduce_input(mesh.rank(), vector);
    trace::set_iteration(it + 1);
    sync::PhaseTimes phases;
    const auto cost_before = experiments::process_cost();
    Stopwatch watch;
    sync->allreduce_sum(vector, phases);
    const double elapsed = trace::lap(watch, "sync", "sync");
    if (it >= 0) log.add(elapsed, experiments::process_cost() - cost_before);
    if (it == -1 || it == iters - 1) wrong_here += experiments::count_wrong_sums(vector, world, tolerance);
  }
  wrong += wrong_here;
  const auto all = combine_workers(mesh, world, log);
  if (mesh.rank() != 0) return std::nullopt;
  return all.summarize(vector.size_bytes(), world, wrong_here);
}

// With --workers, the launcher merges every size's rank files into DIR/trace.json.
void merge_size_traces(const std::string& trace_dir, const std::vector<std::size_t>& sizes) {
  nlohmann::json trace;
  for (const auto size : sizes) experiments::merge_rank_traces(size_trace_dir(trace_dir, size), trace);
  experiments::write_merged_trace(trace_dir, trace);
  std::printf("# timeline of every rank in %s (syncbed trace %s)\n", trace_dir.c_str(), trace_dir.c_str());
}

nlohmann::json row_json(const experiments::AllreduceRow& row) {
  return {{"size", row.bytes},
          {"count", row.bytes / sizeof(float)},
          {"type", "float"},
          {"redop", "sum"},
          {"time_us", row.seconds * 1e6},
          {"algbw_gbytes_per_s", row.algbw()},
          {"busbw_gbytes_per_s", row.busbw()},
          {"wrong", row.wrong},
          {"cpu_ms_all_ranks", row.cost.cpu_seconds * 1e3},
          {"context_switches_all_ranks", row.cost.context_switches}};
}

}  // namespace

int bench_allreduce_command(const std::vector<std::string>& args) {
  Options options("bench-allreduce",
                  "Sum-allreduce throughput of a sync strategy, in nccl-tests columns, then the CPU milliseconds and "
                  "context switches one allreduce costs all workers together (process CPU clock and getrusage, "
                  "every thread).",
                  bench_allreduce_options());
  if (!options.parse(args)) return 0;
  const auto sizes = options.get_sizes("sizes");
  const int iters = static_cast<int>(options.get_int("iters", 1, 100'000));
  for (auto size : sizes)
    if (size % sizeof(float) != 0) throw std::invalid_argument("bench-allreduce: sizes must be multiples of 4 bytes");
  const sync::SyncOptions choice = strategy_options(options);
  const std::string strategy = options.get("strategy");
  if (!options.get("json").empty()) check_writable(options.get("json"));
  if (options.has("trace-messages") && options.get("trace").empty())
    throw std::invalid_argument("bench-allreduce: --trace-messages needs --trace DIR");
  if (!options.get("trace").empty()) std::filesystem::create_directories(options.get("trace"));
  // The vector and the strategy's buffers for it: at least twice the largest size.
  const int extra_ranks = sync::extra_ranks(choice);
  const std::size_t largest = *std::max_element(sizes.begin(), sizes.end());
  check_memory(options, 2 * largest, extra_ranks);
  if (auto code = launch_if_requested(options, extra_ranks)) {
    if (*code == 0 && !options.get("trace").empty()) merge_size_traces(options.get("trace"), sizes);
    return *code;
  }

  auto mesh = connect_worker(options);
  const auto offset =
      options.get("trace").empty() ? experiments::ClockOffset{} : experiments::measure_clock_offset(*mesh);
  AlignedBuffer<float> data(largest / sizeof(float));
  const bool lead = mesh->rank() == 0;
  const int world = mesh->size() - extra_ranks;  // workers
  if (lead) {
    std::printf("# syncbed bench-allreduce: strategy %s, compression %s, %d workers%s, %d iterations per size\n",
                strategy.c_str(), options.get("compression").c_str(), world,
                extra_ranks ? (" + " + std::to_string(extra_ranks) + " servers").c_str() : "", iters);
    experiments::print_allreduce_header();
  }
  nlohmann::json rows = nlohmann::json::array();
  std::size_t wrong = 0;
  for (const auto size : sizes) {
    SizeTrace trace(options, offset, *mesh, size, world);
    const auto row = measure(*mesh, strategy, choice, data.span().first(size / sizeof(float)), world, iters, wrong);
    trace.write();
    if (!row) continue;
    experiments::print_allreduce_row(*row);
    rows.push_back(row_json(*row));
  }
  if (lead && !options.get("json").empty())
    write_file_atomically(options.get("json"), nlohmann::json{{"benchmark", "allreduce"},
                                                              {"strategy", strategy},
                                                              {"compression", options.get("compression")},
                                                              {"world_size", world},
                                                              {"ps_servers", choice.ps.servers},
                                                              {"ps_separate_servers", choice.ps.separate_servers},
                                                              {"iters", iters},
                                                              {"results", rows}}
                                                       .dump(2) +
                                                   "\n");
  if (wrong) throw std::runtime_error(std::to_string(wrong) + " wrong elements in verified iterations");
  return 0;
}

}  // namespace syncbed::cli
