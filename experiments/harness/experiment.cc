#include "experiments/harness/experiment.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/cpus.h"
#include "core/units.h"
#include "experiments/harness/host_facts.h"
#include "experiments/harness/launcher.h"
#include "experiments/harness/output_dir.h"
#include "experiments/harness/progress.h"
#include "experiments/harness/restart_policy.h"
#include "experiments/harness/results.h"
#include "experiments/harness/trace_file.h"
#include "experiments/netemu/netns_cluster.h"
#include "experiments/workloads/registry.h"

namespace syncbed::experiments {
namespace fs = std::filesystem;
namespace {

// The root cause first: the rendezvous's failure, then processes that failed on their own
// in the order they failed, then those whose error came from the transport (they usually
// only report losing another), and last the ranks the launcher itself stopped. With a
// supervisor (the task driver), the run failed only if the supervisor did, and its own
// error comes first; executors it lost along the way are in its results.
std::string failure_reason(const LaunchOutcome& outcome, int supervisor) {
  std::vector<WorkerExit> exits = outcome.exits;
  if (outcome.rendezvous_error.empty() && supervisor >= 0 && exits[supervisor].exit_code == 0) return "";
  std::stable_sort(exits.begin(), exits.end(),
                   [](const WorkerExit& a, const WorkerExit& b) { return a.seconds < b.seconds; });
  std::stable_partition(exits.begin(), exits.end(),
                        [](const WorkerExit& e) { return e.exit_code != kTransportFailureExitCode; });
  std::stable_partition(exits.begin(), exits.end(), [](const WorkerExit& e) { return !e.killed_by_launcher; });
  std::stable_partition(exits.begin(), exits.end(), [&](const WorkerExit& e) { return e.rank == supervisor; });
  std::string reason = outcome.rendezvous_error.empty() ? "" : "rendezvous failed: " + outcome.rendezvous_error;
  for (const auto& exit : exits) {
    if (exit.exit_code == 0) continue;
    std::string part = exit.describe();
    if (exit.killed_by_launcher) part += " by the launcher, after the failure";
    if (!exit.last_error.empty()) part += ": " + exit.last_error;
    reason += (reason.empty() ? "" : "; ") + part;
  }
  return reason;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("rank 0 left no " + fs::path(path).filename().string());
  return nlohmann::json::parse(in);
}

std::string python_with_matplotlib() {
  for (const char* python : {"/usr/bin/python3", "python3"})
    if (run_program({python, "-c", "import matplotlib"}, true) == 0) return python;
  return "";
}

// Removes an earlier sweep's logs/run-K folders: those syncbed made, nothing else.
void remove_earlier_logs(const std::string& output) {
  static const std::regex ours(R"(run-\d{1,9})");
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(fs::path(output) / "logs", ignored))
    if (std::regex_match(entry.path().filename().string(), ours)) fs::remove_all(entry.path(), ignored);
}

// Keeps the non-empty rank logs of a run (its errors, refused connections) in
// output/logs/run-K/.
void keep_logs(const std::string& run_dir, const std::string& output, int run_index) {
  const fs::path kept = fs::path(output) / "logs" / ("run-" + std::to_string(run_index));
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(run_dir, ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("rank", 0) != 0 || entry.path().extension() != ".log" || fs::file_size(entry.path(), ignored) == 0)
      continue;
    fs::create_directories(kept, ignored);
    fs::copy_file(entry.path(), kept / name, fs::copy_options::overwrite_existing, ignored);
  }
}

// One finished run in a line: throughput, where the time went, and what was learned.
std::string run_line(const RunSummary& s) {
  char text[512];
  std::snprintf(text, sizeof text,
                "%.1f %s/s, iteration %.1f ms (compute %.1f, sync %.1f, exposed %.1f), exposed sync/compute %.0f%%",
                s.throughput, s.item_unit.c_str(), s.iteration_ms, s.compute_ms, s.sync_ms, s.exposed_sync_ms,
                100 * s.sync_overhead);
  std::string line = text;
  if (s.effective_throughput && *s.effective_throughput < s.throughput)
    line +=
        ", " + format_number(*s.effective_throughput) + " " + s.item_unit + "/s used (the rest dropped or discarded)";
  if (s.hit_rate) line += ", HR@10 " + format_number(*s.hit_rate);
  if (s.redone_iterations)
    line += ", restarted " + std::to_string(s.restarts.size()) + "x from checkpoints (" +
            std::to_string(*s.redone_iterations) + " iterations redone)";
  return line;
}

class Sweep {
 public:
  explicit Sweep(ExperimentConfig config) : config_(std::move(config)), runs_(sweep(config_)), host_(host_facts()) {}

  int run(const SweepOptions& options) {
    output_.emplace(config_.output);
    remove_earlier_logs(config_.output);
    std::printf("%s: %zu runs (%zu strategies x workers", config_.name.c_str(), runs_.size(),
                config_.strategies.size());
    for (std::size_t i = 0; i < config_.workers.size(); ++i) std::printf("%s%d", i ? "," : " ", config_.workers[i]);
    std::printf("), model %s, batch %d per worker, %s compute; results in %s/\n", config_.model.name.c_str(),
                config_.model.batch,
                config_.compute.emulated() ? ("emulated " + format_number(config_.compute.emulated_ms) + " ms").c_str()
                                           : "real",
                config_.output.c_str());
    std::fflush(stdout);

    InterruptScope interrupts;
    if (config_.network.kind == NetworkSpec::Kind::kNetns) {
      int hosts = 0;
      for (const RunSpec& run : runs_) hosts = std::max(hosts, run.workers + run.strategy.extra_ranks());
      cluster_.emplace(hosts, config_.network);
      std::printf("emulated cluster %s: %d hosts (network namespaces %s-h0..), links of %s, delay %s, loss %s\n",
                  cluster_->name().c_str(), hosts, cluster_->name().c_str(), config_.network.rate.c_str(),
                  config_.network.delay.c_str(), config_.network.loss.c_str());
      std::fflush(stdout);
    }
    SweepProgress progress(static_cast<int>(runs_.size()), stderr);
    int failed = 0;
    for (const RunSpec& run : runs_) {
      if (InterruptScope::interrupted()) break;
      const bool ok = run_one(run, progress);
      failed += !ok;
    }
    if (InterruptScope::interrupted()) {
      std::printf("interrupted: kept %zu finished run(s) in %s/\n", summaries_.size(), config_.output.c_str());
      return 130;
    }
    std::printf("\n%s", comparison_table(summaries_).c_str());
    if (options.plot && failed < static_cast<int>(runs_.size())) plot_results(config_.output);
    if (failed)
      std::printf("%d of %zu runs failed (see the error column of %s/summary.csv)\n", failed, runs_.size(),
                  config_.output.c_str());
    return failed ? 1 : 0;
  }

 private:
  LaunchOptions launch_options(const RunSpec& run, const std::string& dir) const {
    LaunchOptions launch;
    launch.workers = run.workers + run.strategy.extra_ranks();
    launch.worker_args = {
        "worker", dir + "/config.json", "--run",        std::to_string(run.index),
        "--info", dir + "/info.json",   "--timeout-ms", std::to_string(static_cast<long>(config_.timeout_s * 1000))};
    launch.rendezvous_timeout = std::chrono::milliseconds(static_cast<long>(config_.timeout_s * 1000));
    launch.grace = std::chrono::seconds(10);
    launch.log_dir = dir;
    if (config_.trace) launch.worker_args.insert(launch.worker_args.end(), {"--trace-dir", dir});
    if (run.strategy.runs_tasks()) launch.supervisor = run.workers;  // the driver
    if (cluster_) {  // rank r on host r; rank 0 hosts the rendezvous, as on real machines
      launch.wrap = [this](int rank) {
        return std::vector<std::string>{"ip", "netns", "exec", cluster_->namespace_of(rank)};
      };
      launch.master_addr = cluster_->address_of(0);
      launch.worker_args.insert(launch.worker_args.end(), {"--bind", "0.0.0.0"});
    }
    if (config_.threads_for(run.workers) * run.workers > usable_cpus())
      launch.extra_env.push_back("OMP_WAIT_POLICY=PASSIVE");
    return launch;
  }

  // A run's scratch directory, with the config its workers read.
  std::string prepare_run_dir(const RunSpec& run) {
    const std::string dir = output_->scratch() + "/run-" + std::to_string(run.index);
    fs::create_directories(dir);
    nlohmann::json worker_config = config_.source;
    worker_config["name"] = config_.name;
    if (config_.compute.emulated()) worker_config["compute"] = config_.compute.emulation_json();
    write_file_atomically(dir + "/config.json", worker_config.dump(2) + "\n");
    return dir;
  }

  // Launches one attempt and collects rank 0's records into `records` as they come.
  LaunchOutcome launch_attempt(LaunchOptions launch, const std::string& dir, int attempt, long resume,
                               RestartPolicy& policy, SweepProgress& progress, std::vector<nlohmann::json>& records) {
    // Each attempt its own record file: a rank killed mid-line must not garble the next.
    const std::string records_path = dir + "/records-" + std::to_string(attempt) + ".jsonl";
    launch.worker_args.insert(launch.worker_args.end(),
                              {"--records", records_path, "--attempt", std::to_string(attempt)});
    if (policy.restartable())
      launch.worker_args.insert(launch.worker_args.end(),
                                {"--checkpoints", policy.checkpoint_dir(), "--resume-step", std::to_string(resume)});
    // The tail that feeds the progress line also collects rank 0's records for the results.
    RecordTail tail(records_path);
    Stopwatch since_launch;
    auto follow = [&] {
      auto fresh = tail.read_new();
      progress.update(fresh);
      if (attempt > 1 && std::any_of(fresh.begin(), fresh.end(),
                                     [](const nlohmann::json& r) { return kind_of(r) == RecordKind::kIteration; }))
        policy.training_again(since_launch.elapsed());
      records.insert(records.end(), fresh.begin(), fresh.end());
    };
    launch.poll = follow;
    const LaunchOutcome outcome = launch_local(launch);
    follow();
    return outcome;
  }

  void announce_restart(const RunSpec& run, int attempt, const std::string& error, long resume,
                        const RestartPolicy& policy, SweepProgress& progress) const {
    progress.clear_line();
    const std::string from = resume > 0 ? "the checkpoint after iteration " + std::to_string(resume)
                                        : std::string("the start (no checkpoint every rank wrote yet)");
    const long redo = policy.restarts().back()["redone_iterations"].get<long>();
    std::printf(
        "run %d/%zu %s: attempt %d failed: %s\n  restarting from %s (%ld iterations to redo; restart %d of at most "
        "%d)\n",
        run.index, runs_.size(), run.title().c_str(), attempt - 1, error.c_str(), from.c_str(), redo, attempt - 1,
        config_.max_restarts);
    std::fflush(stdout);
    progress.restart(attempt, resume);
  }

  // Launches the run, restarting it as the policy allows; returns the error (empty: it
  // succeeded) and leaves rank 0's records of the attempts that count in `records`.
  std::string launch_with_restarts(const RunSpec& run, const std::string& dir, RestartPolicy& policy,
                                   SweepProgress& progress, std::vector<nlohmann::json>& records) {
    const LaunchOptions base = launch_options(run, dir);
    std::string error;
    for (int attempt = 1;; ++attempt) {
      long resume = 0;
      if (attempt > 1) {
        resume = policy.prepare(attempt, error, records);
        announce_restart(run, attempt, error, resume, policy, progress);
      }
      const LaunchOutcome outcome = launch_attempt(base, dir, attempt, resume, policy, progress, records);
      if (InterruptScope::interrupted()) return "interrupted";
      error = failure_reason(outcome, base.supervisor);
      if (!policy.retry(attempt, outcome, error)) return error;
    }
  }

  // The run's summary from rank 0's records and info.json, or its failure.
  RunSummary summarize(const RunSpec& run, const std::string& dir, std::string& error,
                       std::vector<nlohmann::json>& records) const {
    const RunFacts facts = run_facts(config_, run);
    std::erase_if(records, [](const nlohmann::json& r) { return kind_of(r) == RecordKind::kStart; });
    if (!error.empty()) records.clear();  // a crashed run's partial records are not results
    if (error.empty()) {
      try {
        return summarize_run(facts, records, read_json(dir + "/info.json"), host_);
      } catch (const std::exception& e) {
        error = std::string("incomplete results: ") + e.what();
      }
    }
    return failed_run(facts, error, host_);
  }

  // With "trace": the run's rank timelines join <output>/trace.json[.gz] (a failed run's ranks
  // may have written none); without, a trace.json of an earlier sweep is not left beside
  // this one's results.
  void write_trace(const std::string& dir, const std::string& error) {
    if (!config_.trace) return remove_merged_trace(config_.output);
    if (!error.empty()) return;
    merge_rank_traces(dir, trace_);
    write_merged_trace(config_.output, trace_);
  }

  bool run_one(const RunSpec& run, SweepProgress& progress) {
    const std::string dir = prepare_run_dir(run);
    // The task model recovers from a lost executor itself; long-running runs restart.
    RestartPolicy policy(config_.checkpoint_every > 0 && !run.strategy.runs_tasks(), config_.max_restarts,
                         dir + "/checkpoints", run.workers + run.strategy.extra_ranks());
    // With epochs the count depends on the data; rank 0's first record tells.
    progress.start_run(run.index, run.title(), config_.epochs > 0 ? 0 : config_.warmup + config_.iterations,
                       long(config_.model.batch) * run.workers, find_model(config_.model.name).item_unit);
    Stopwatch wall;
    std::vector<nlohmann::json> records;  // rank 0's, of every attempt, redone ones dropped
    std::string error = launch_with_restarts(run, dir, policy, progress, records);
    progress.finish_run();
    if (InterruptScope::interrupted()) return false;

    RunSummary summary = summarize(run, dir, error, records);
    summary.wall_s = wall.elapsed();  // launch to end, restarts included
    if (!policy.restarts().empty()) {
      summary.restarts = policy.restarts();
      summary.redone_iterations = policy.redone_iterations();
    }
    tag_records(run_facts(config_, run), records);
    summaries_.push_back(summary);
    records_.insert(records_.end(), records.begin(), records.end());
    write_results(config_.output, config_.source, summaries_, records_);
    write_trace(dir, error);
    keep_logs(dir, config_.output, run.index);
    fs::remove_all(dir);

    std::printf("run %d/%zu %s: %s\n", run.index, runs_.size(), run.title().c_str(),
                error.empty() ? run_line(summary).c_str() : ("FAILED: " + error).c_str());
    std::fflush(stdout);
    return error.empty();
  }

  ExperimentConfig config_;
  std::vector<RunSpec> runs_;
  nlohmann::json host_;
  std::vector<RunSummary> summaries_;
  std::vector<nlohmann::json> records_;
  nlohmann::json trace_;                 // the runs' merged timelines, with "trace"
  std::optional<NetnsCluster> cluster_;  // removed when the sweep ends, however it ends
  std::optional<OutputDir> output_;      // locked and with its scratch from run() on
};

}  // namespace

RunFacts run_facts(const ExperimentConfig& config, const RunSpec& run) {
  return {config.name,
          config.hash(),
          run.strategy.label,
          run.strategy.name,
          run.index,
          run.workers,
          run.strategy.options.ps.extra_ranks(),
          run.strategy.runs_tasks() ? 1 : 0,
          config.compute.emulated(),
          config.compute.emulated_ms,
          config.model.name,
          config.model.batch,
          config.network.to_json()};
}

nlohmann::json read_calibration(const ExperimentConfig& config, const std::string& field) {
  const std::string path = calibration_path(config);
  std::ifstream in(path);
  if (!in)
    throw std::invalid_argument("config: " + field + ": " + path +
                                " does not exist; run `syncbed calibrate` on this config first");
  auto calibration = nlohmann::json::parse(in, nullptr, false);
  if (calibration.is_discarded() || !calibration.contains("compute_ms"))
    throw std::invalid_argument(path + ": not a calibration file; run `syncbed calibrate` again");
  if (calibration.value("model", nlohmann::json()) != config.source.value("model", nlohmann::json()) ||
      calibration.value("data", nlohmann::json()) != config.source.value("data", nlohmann::json()))
    throw std::invalid_argument(path + " was measured for a different model or data; run `syncbed calibrate` again");
  return calibration;
}

void resolve_compute(ExperimentConfig& config) {
  if (config.compute.mode != ComputeSpec::Mode::kFromCalibration) return;
  const auto calibration = read_calibration(config, "compute.from_calibration");
  config.compute.emulated_ms = calibration["compute_ms"].get<double>();
  // Calibrations from before overlap lack the split; emulation then assumes one.
  config.compute.forward_ms = calibration.value("forward_ms", -1.0);
  config.compute.layer_backward_ms = calibration.value("layer_backward_ms", std::map<std::string, double>());
}

int run_experiment(ExperimentConfig config, const SweepOptions& options) {
  if (config.network.kind == NetworkSpec::Kind::kHosts)
    throw std::invalid_argument(
        "config: network.kind: \"hosts\" means real machines, which `syncbed run` cannot start; start one "
        "`syncbed worker CONFIG` per host with srun or a Kubernetes Indexed Job (README, \"Multi-host\"), or "
        "predict them with `syncbed simulate CONFIG`");
  for (const auto& strategy : config.strategies)
    if (!strategy.scheduler.empty())
      throw std::invalid_argument("config: strategies: " + strategy.label +
                                  ": \"scheduler\" prices a scheduler in `syncbed simulate`; a run's task model "
                                  "has syncbed's own driver");
  resolve_compute(config);
  return Sweep(std::move(config)).run(options);
}

bool plot_results(const std::string& dir) {
  const std::string script = SYNCBED_SOURCE_DIR "/scripts/plot.py";
  const std::string python = python_with_matplotlib();
  if (python.empty() || !fs::exists(script)) {
    std::fprintf(stderr, "plots skipped: %s\n",
                 python.empty() ? "no python3 with matplotlib (scripts/setup.sh installs python3-matplotlib)"
                                : (script + " is missing").c_str());
    return false;
  }
  return run_program({python, script, dir}) == 0;
}

}  // namespace syncbed::experiments
