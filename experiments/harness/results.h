// Results of a sweep (DESIGN.md "Results"): one JSON-lines record per (run, iteration)
// and per evaluation, one summary record per run, the same as CSV, all rewritten
// atomically after every run so an interrupted sweep keeps its finished runs.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/harness/records.h"

namespace syncbed::experiments {

struct RunFacts {  // what the launcher knows about a run, whatever its outcome
  std::string experiment, config_hash, strategy, strategy_name;
  int run = 0, workers = 0;
  int servers = 0, driver = 0;  // ranks besides the workers: separate ps servers, the task driver
  bool emulated = false;
  double emulated_ms = 0;
  std::string model;
  int batch_per_worker = 0;
  nlohmann::json network;  // {"kind", "rate", "delay", "loss"}
};

// A finished run: `records` are rank 0's iteration and evaluation records, `info` the
// facts it wrote at the end. Throws std::runtime_error if the records are incomplete.
RunSummary summarize_run(const RunFacts& facts, const std::vector<nlohmann::json>& records, const nlohmann::json& info,
                         const nlohmann::json& host);
RunSummary failed_run(const RunFacts& facts, const std::string& error, const nlohmann::json& host);

// Adds the run's identity to each of its records.
void tag_records(const RunFacts& facts, std::vector<nlohmann::json>& records);

// Writes config.json, summary.jsonl, summary.csv, records.jsonl and records.csv into
// `dir` as one set: all of them are written in full before any replaces its old version,
// so a failed write (a full disk) leaves the previous set whole.
void write_results(const std::string& dir, const nlohmann::json& config, const std::vector<RunSummary>& summaries,
                   const std::vector<nlohmann::json>& records);

// One JSON document per line.
std::string to_jsonl(const std::vector<nlohmann::json>& records);

// One CSV row per record, `leading` columns first; nested objects (phases) become
// "name.key" columns, arrays are left out.
std::string to_csv(const std::vector<nlohmann::json>& records, const std::vector<std::string>& leading);

// Reads dir/summary.jsonl. Throws naming the file and line when it cannot.
std::vector<RunSummary> read_summaries(const std::string& dir);

// The table strategy x N: throughput, scaling efficiency vs the same strategy's smallest
// N (normally 1),
// sync overhead, per-phase medians (and HR@10 where evaluated).
std::string comparison_table(const std::vector<RunSummary>& summaries);

}  // namespace syncbed::experiments
