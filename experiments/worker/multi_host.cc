#include "experiments/worker/multi_host.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "core/atomic_file.h"
#include "core/cpus.h"
#include "core/log.h"
#include "core/transport/tags.h"
#include "experiments/harness/experiment.h"
#include "experiments/harness/host_facts.h"
#include "experiments/harness/output_dir.h"
#include "experiments/harness/progress.h"
#include "experiments/harness/results.h"
#include "experiments/harness/trace_file.h"
#include "experiments/worker/gather.h"
#include "experiments/worker/worker_loop.h"

namespace syncbed::experiments {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kTraceWrittenTag = net::make_tag(net::TagSpace::kWorkerLoop, 5);

// With --trace-dir, every rank has written <trace_dir>/run-K/trace-rank-<r>.json; rank 0
// waits for all of them to say so, then merges what it can see (all of it on one host or
// a shared file system) into <output>/trace.json[.gz]. True once merged.
bool merge_if_all_here(net::Mesh& mesh, const std::string& run_dir, const std::string& output, nlohmann::json& trace) {
  const char written = 1;
  gather_at_rank0(mesh, mesh.size(), kTraceWrittenTag, std::span<const char>(&written, 1), [](int, auto) {});
  if (mesh.rank() != 0) return false;
  for (int rank = 0; rank < mesh.size(); ++rank)
    if (!fs::exists(rank_trace_path(run_dir, rank))) return false;
  merge_rank_traces(run_dir, trace);
  write_merged_trace(output, trace);
  return true;
}

}  // namespace

int run_multi_host(const ExperimentConfig& config, net::Mesh& mesh, const std::string& trace_dir) {
  const bool writer = mesh.rank() == 0;
  const nlohmann::json host = writer ? host_facts() : nlohmann::json();
  std::optional<OutputDir> output;
  if (writer) output.emplace(config.output);
  const std::string scratch = writer ? output->scratch() : "";
  if (writer) {
    std::printf("%s: %zu strategies on %d ranks; results in %s/\n", config.name.c_str(), config.strategies.size(),
                mesh.size(), config.output.c_str());
    std::fflush(stdout);
  }
  if (writer && config.checkpoint_every > 0)
    log_line(
        "checkpoint_every: restarts from checkpoints are `syncbed run`'s; under an external launcher no "
        "checkpoints are written (restart the job to start over)");
  // The CPUs of this host are shared by the job's ranks on it (srun -n 4 on one node):
  // each computes with its share, unless the config says otherwise.
  const int threads = config.threads > 0 ? config.threads : threads_per_local_rank();
  if (writer && config.trace && trace_dir.empty())
    log_line("trace: under an outside launcher, give --trace-dir DIR to record the timeline");
  std::vector<RunSummary> summaries;
  std::vector<nlohmann::json> all_records;
  nlohmann::json trace;
  bool trace_merged = true;
  int skipped = 0;
  for (std::size_t i = 0; i < config.strategies.size(); ++i) {
    const RunSpec run{static_cast<int>(i) + 1, config.strategies[i], mesh.size() - config.strategies[i].extra_ranks()};
    if (run.workers < 1) {
      if (writer)
        log_line("skipping " + run.strategy.label + ": its servers take all " + std::to_string(mesh.size()) + " ranks");
      ++skipped;
      continue;
    }
    // The task model's driver writes the results, and a lost executor must not end the
    // job: only `syncbed run`, whose launcher knows this, runs it for now.
    if (run.strategy.runs_tasks()) {
      if (writer) log_line("skipping " + run.strategy.label + ": execution \"tasks\" runs under `syncbed run` only");
      ++skipped;
      continue;
    }
    const std::string records_path = scratch + "/records.jsonl", info_path = scratch + "/info.json";
    if (writer) fs::remove(records_path);
    WorkerRunOptions options;
    options.records_path = writer ? records_path : "";
    options.info_path = writer ? info_path : "";
    options.threads = threads;
    if (config.trace && !trace_dir.empty()) {
      options.trace_dir = trace_dir + "/run-" + std::to_string(run.index);
      fs::create_directories(options.trace_dir);
    }
    run_worker(config, run, mesh, options);
    if (!options.trace_dir.empty())
      trace_merged = merge_if_all_here(mesh, options.trace_dir, config.output, trace) && trace_merged;
    if (!writer) continue;

    const RunFacts facts = run_facts(config, run);
    auto records = RecordTail(records_path).read_new();
    std::erase_if(records, [](const nlohmann::json& r) { return kind_of(r) == RecordKind::kStart; });
    std::ifstream info_file(info_path);
    summaries.push_back(summarize_run(facts, records, nlohmann::json::parse(info_file), host));
    tag_records(facts, records);
    all_records.insert(all_records.end(), records.begin(), records.end());
    write_results(config.output, config.source, summaries, all_records);
    std::printf("run %d/%zu %s: %.1f %s/s, iteration %.1f ms, sync %.1f ms\n", run.index, config.strategies.size(),
                run.title().c_str(), summaries.back().throughput, summaries.back().item_unit.c_str(),
                summaries.back().iteration_ms, summaries.back().sync_ms);
    std::fflush(stdout);
  }
  if (writer) {
    std::printf("\n%s", comparison_table(summaries).c_str());
    if (!trace_merged)
      log_line("trace: the other hosts' rank files are not in " + trace_dir +
               " here; copy every host's into one directory and run `syncbed trace merge DIR --out " + config.output +
               "`");
  }
  return skipped ? 1 : 0;
}

}  // namespace syncbed::experiments
