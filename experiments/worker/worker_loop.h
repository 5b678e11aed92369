// One worker's part of one run: per iteration, compute this worker's gradient, then one
// sync step; rank 0 appends a record per iteration (and per evaluation) to a JSON-lines
// file the launcher tails for progress and turns into results.
#pragma once

#include <span>
#include <string>

#include "core/transport/mesh.h"
#include "experiments/harness/experiment_config.h"
#include "experiments/harness/records.h"

namespace syncbed::experiments {

struct WorkerRunOptions {
  std::string records_path;  // rank 0 appends here
  std::string info_path;     // rank 0 writes the run's facts here at the end (atomically)
  int threads = 0;           // compute threads; 0 = the config's share of this machine
  // With the config's checkpoint_every: where every rank writes its checkpoints (empty:
  // none), and the step to resume from (0: the start).
  std::string checkpoint_dir;
  long resume_step = 0;
  int attempt = 1;        // a restarted run's attempts count on; fault injection fires in the first
  std::string trace_dir;  // every rank writes its timeline here at the end (empty: no trace)
};

// fnv1a64 of the weights' bytes, 16 hex digits: runs that must agree bitwise compare it.
std::string weights_hash(std::span<const float> weights);

class Workload;
struct RankingSums;
// The facts of a finished run that its recording rank writes to info.json.
nlohmann::json run_info(const net::Mesh& mesh, std::span<const float> weights, const Workload& workload,
                        long iterations, long warmup, long iterations_per_epoch);

// The data epochs `iterations` iterations have begun (what an end-of-run evaluation is labelled).
int epochs_begun(const Workload& workload, long iterations);

// The record of one HR@10 / NDCG@10 evaluation of every user, after `iteration` iterations.
EvaluationRecord evaluation_record(int epoch, long iteration, const RankingSums& all, double seconds);

// Runs `run` on this rank of `mesh` (ranks past run.workers serve, for ps with separate
// servers). Throws on any failure; at the end, checks that every worker holds the same
// weights.
void run_worker(const ExperimentConfig& config, const RunSpec& run, net::Mesh& mesh, const WorkerRunOptions& options);

}  // namespace syncbed::experiments
