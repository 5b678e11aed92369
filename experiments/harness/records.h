// The result schema (DESIGN.md "Results"), in one place: the records rank 0 writes while a
// run goes (one JSON line each, tailed by the launcher), and the summary of a run. Every
// reader and writer goes through these structs; scripts/plot.py and the README's results
// section use the same field names.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace syncbed::experiments {

enum class RecordKind { kStart, kIteration, kEvaluation, kCheckpoint, kOther };
// The record's "kind" field.
RecordKind kind_of(const nlohmann::json& record);

// {"kind": "start"}: what the run will do; the first record of every attempt.
struct StartRecord {
  long iterations = 0;            // warm-up included
  long iterations_per_epoch = 0;  // 0: not training in epochs
  nlohmann::json to_json() const;
  static StartRecord from_json(const nlohmann::json& json);
};

// The task model's straggler drop in one iteration.
struct DropRecord {
  double time_limit_s = 0;   // the forward-backward tasks' limit; 0: none yet
  std::vector<int> dropped;  // partitions whose forward-backward task was cancelled at its limit
  long replicas = 0;         // gradients that made the update
  bool discarded = false;    // too few replicas: weights carried over unchanged
};

// {"kind": "iteration"}: one training iteration, seen from rank 0 (the task model: the driver).
struct IterationRecord {
  long iteration = 0;  // 0-based, warm-up included
  int epoch = 0;       // 1-based; 0 (field left out): not training in epochs
  bool warmup = false;
  double seconds = 0;    // compute_s + exposed_sync_s (the task model: the driver's whole iteration)
  double compute_s = 0;  // forward and backward
  // Communication: with overlap the communication thread's busy time over all buckets,
  // which runs partly during compute; without, the time of the step after compute.
  double sync_s = 0;
  double exposed_sync_s = 0;   // the part of sync not hidden behind compute: seconds - compute_s
  nlohmann::json buckets;      // overlap: per bucket begin, size, ready_ms, start_ms, end_ms from the step's start
  std::optional<double> loss;  // none: every replica dropped
  std::vector<std::pair<std::string, double>> phases;  // seconds per phase, in the order they ran
  nlohmann::json jobs;                                 // the task model: per-job task timings
  std::optional<DropRecord> drop;                      // the task model only
  nlohmann::json to_json() const;
  static IterationRecord from_json(const nlohmann::json& json);
};

// {"kind": "evaluation"}: HR@10 and NDCG@10 over `users` (NCF on ranked data).
struct EvaluationRecord {
  int epoch = 0;
  long iteration = 0;  // iterations trained before it
  long users = 0;
  double hit_rate = 0, ndcg = 0, seconds = 0;
  nlohmann::json to_json() const;
  static EvaluationRecord from_json(const nlohmann::json& json);
};

// {"kind": "checkpoint"}: every rank saved its state after `iteration` iterations.
struct CheckpointRecord {
  long iteration = 0;
  double seconds = 0;
  nlohmann::json to_json() const;
  static CheckpointRecord from_json(const nlohmann::json& json);
};

// One line of summary.jsonl. The identity fields come first; a failed run has only them,
// its status "failed" and its error. Optional blocks are left out where they do not apply.
struct RunSummary {
  // Identity, also on every record of the run.
  std::string experiment, config_hash;
  int run = 0;
  std::string strategy;  // the label, e.g. "sharded-bf16"
  int workers = 0;
  bool emulated = false;

  std::string status = "ok";  // "ok" or "failed"
  std::string error;          // failed runs
  std::string strategy_name;  // registry name, e.g. "sharded"
  int servers = 0;            // separate parameter-server ranks
  int driver = 0;             // the task model's driver rank (0 or 1)
  std::string model;
  int batch_per_worker = 0;
  std::string item_unit;  // "images" or "samples"
  long parameters = 0;
  int threads_per_worker = 0;
  long iterations = 0;  // timed
  long warmup = 0;
  long items = 0;  // items of the timed iterations, over all workers
  double seconds = 0, throughput = 0;
  double iteration_ms = 0, compute_ms = 0, sync_ms = 0, exposed_sync_ms = 0;  // medians
  double sync_overhead = 0;                 // exposed sync / compute, summed over timed iterations
  std::map<std::string, double> phases_ms;  // medians
  std::optional<double> loss_last;          // mean of the last 10; none when emulated
  std::optional<double> emulated_ms;
  std::optional<double> wall_s;  // launch to end, restarts included
  std::optional<std::string> weights_hash;
  std::optional<double> hit_rate, ndcg;  // the last evaluation's
  nlohmann::json evaluations;            // every evaluation: epoch, hit_rate, ndcg, seconds
  // The task model: scheduling / compute, its counters, and what dropping left learned.
  std::optional<double> scheduling_overhead, used_items, effective_throughput;
  nlohmann::json tasks;
  nlohmann::json checkpoints;  // count, median_ms, total_s
  nlohmann::json restarts;     // per restart: attempt, error, stopped_s, resumed_from, redone_iterations, restart_s
  std::optional<long> redone_iterations;
  nlohmann::json host, network, endpoints;  // facts, as given

  bool ok() const { return status == "ok"; }
  nlohmann::json to_json() const;
  static RunSummary from_json(const nlohmann::json& json);
};

}  // namespace syncbed::experiments
