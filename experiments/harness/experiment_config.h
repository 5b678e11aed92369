// The experiment config (configs/*.json) as typed, validated structs. Everything is
// checked before anything starts; errors name the field path and the reason.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/optimizer.h"
#include "experiments/netemu/network_spec.h"
#include "experiments/workloads/model_spec.h"
#include "sync/registry.h"

namespace syncbed::experiments {

struct StrategySpec {
  std::string label;  // unique within the config, e.g. "sharded" or "sharded-bf16"
  std::string name;   // registry name
  sync::SyncOptions options;
  // `syncbed simulate` only: the task model's scheduler profile for this strategy, instead
  // of simulate.scheduler (a run's task model has syncbed's own driver).
  std::string scheduler;
  // Ranks besides the workers: ps's separate servers, or the task model's driver.
  int extra_ranks() const { return sync::extra_ranks(options); }
  bool runs_tasks() const { return options.task_model.enabled; }
};

struct ComputeSpec {
  enum class Mode { kReal, kEmulated, kFromCalibration } mode = Mode::kReal;
  double emulated_ms = 0;  // kEmulated; kFromCalibration once resolved
  // How backward spends it, for overlap (EmulatedCompute); from the calibration or given.
  double forward_ms = -1;
  std::map<std::string, double> layer_backward_ms;
  bool emulated() const { return mode != Mode::kReal; }
  EmulatedCompute emulation() const { return {emulated_ms, forward_ms, layer_backward_ms}; }
  // The emulated times as the "compute" object of a config.
  nlohmann::json emulation_json() const;
};

struct KillFault {  // test hook: a worker kills itself with SIGKILL (or fails, or freezes)
  enum class How { kSignal, kError, kStop };
  int run = 0;    // 1-based index in the sweep; 0 = every run
  int rank = -1;  // -1 = none
  long iteration = 0;
  int job = 1;  // execution "tasks": during job 1 (forward-backward) or job 2 (parameter sync)
  // kError: the worker throws an ordinary error instead of dying by SIGKILL (long-running
  // workers), to test that every other rank then names it as the root cause. kStop: it
  // stops itself with SIGSTOP, like a hung machine, to test stall reports and deadlines.
  How how = How::kSignal;
  bool kills(int run_index, int worker_rank) const { return worker_rank == rank && (run == 0 || run == run_index); }
};

// Fault injection: one worker's compute takes `slowdown` times as long in every run (the
// extra as a wait after computing, which a task model's drop threshold can cut short).
struct StragglerFault {
  int rank = -1;  // -1: none
  double slowdown = 1;
  bool slows(int worker_rank) const { return worker_rank == rank && slowdown > 1; }
};

// The "simulate" section, read by `syncbed simulate` only.
struct SimulateSpec {
  std::string reference_label;      // e.g. "BigDL paper, Fig. 7"
  std::map<int, double> reference;  // N -> throughput (items/s) to compare against
  int anchor = 0;                   // > 0: compute time chosen so the first strategy matches the reference at this N
  double driver_task_ms = 0;        // a fit: per task, two jobs of N tasks per iteration (BigDL's driver)
  // A published scheduler's cost per job for the task model's strategies, e.g. "spark-2017"
  // (experiments/sim/scheduler_profile.h); empty: none.
  std::string scheduler;
  // Strong scaling: the global batch, split over the workers (rounded up per N to a
  // multiple of N x cores_per_node, BigDL's rule: one replica per core). 0: weak scaling,
  // model.batch per worker (which must then be a multiple of cores_per_node).
  long global_batch = 0;
  int cores_per_node = 1;
  // BigDL 0.2.0's putGradients: each node puts its N gradient blocks one after another,
  // each costing this (0: 0.3.0's parallel puts, priced as transfers).
  double serial_put_ms = 0;
  // The task model's tasks fetch their N blocks this many at a time (BigDL's
  // bigdl.Parameter.syncPoolSize, default 4): one message latency per further round.
  int fetch_concurrency = 4;
  // The global batch at N workers.
  long batch_at(int workers) const;
};

struct ExperimentConfig {
  std::string name;
  ModelSpec model;
  DataSpec data;
  OptimizerConfig optimizer;
  std::vector<StrategySpec> strategies;
  std::vector<int> workers;
  long iterations = 0;  // timed iterations per run (or per epoch cap when epochs > 0)
  long warmup = 0;      // untimed iterations first
  int epochs = 0;       // ranked data: whole epochs with evaluation after each
  std::uint64_t seed = 1;
  int threads = 0;  // per worker; 0 = cores / workers, at least 1
  ComputeSpec compute;
  NetworkSpec network;
  SimulateSpec simulate;
  std::string output;  // results directory
  double timeout_s = 120;
  // Long-running strategies: every rank checkpoints its state every this many iterations
  // (0: never), and `syncbed run` restarts a failed run from the newest complete
  // checkpoint, up to max_restarts times. The task model recovers without checkpoints.
  long checkpoint_every = 0;
  int max_restarts = 3;
  // "trace": true or "phases": every rank records a timeline of its phases; the launcher merges them into
  // <output>/trace.json (Chrome trace format). Each rank keeps the first and the last
  // trace_keep iterations of a run.
  bool trace = false;
  bool trace_messages = false;  // "trace": "messages" or "all": every transport message too
  bool trace_layers = false;    // "trace": "layers" or "all": every model layer's forward and backward too
  long trace_keep = 50;
  KillFault kill;
  StragglerFault straggler;
  nlohmann::json source;  // the effective JSON (after overrides), for the record

  // The hash of `source`, 16 hex digits: which config produced a result.
  std::string hash() const;
  int threads_for(int workers) const;
  // What a worker's workload is built from.
  WorkloadSpec workload() const { return {model, data, seed, iterations}; }
};

struct RunSpec {
  int index = 0;  // 1-based position in the sweep
  StrategySpec strategy;
  int workers = 0;
  std::string title() const;  // "ring, 4 workers"
};

// `base_name` names the experiment when the config has no "name" (the file's stem).
ExperimentConfig parse_experiment_config(const nlohmann::json& json, const std::string& base_name);

// Reads and parses the file; `overrides` are "a.b=JSON" edits applied before validation
// (a value that is not valid JSON is taken as a string).
ExperimentConfig load_experiment_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The sweep: every strategy x every worker count, in config order.
std::vector<RunSpec> sweep(const ExperimentConfig& config);

// Where `syncbed calibrate` writes and from_calibration reads.
std::string calibration_path(const ExperimentConfig& config);

}  // namespace syncbed::experiments
