// The timeline files of a traced run (core/trace.h): each rank writes its events, on
// rank 0's clock, to <run dir>/trace-rank-<r>.json; the launcher (or `syncbed trace
// merge`, for ranks an outside launcher started) merges a run's files into one Chrome
// trace (Perfetto, chrome://tracing), one process per rank.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace syncbed::experiments {

struct ClockOffset {
  std::int64_t offset_ns = 0;  // this rank's steady clock minus rank 0's
  std::int64_t error_ns = 0;   // |true offset - offset_ns| <= error_ns (half the best round trip)
};

// What each rank file says of its run, so the files alone can be merged.
struct TracedRun {
  std::string title;  // "run 2 sharded, 4 workers"
  int ranks = 0;      // how many rank files make the run
  long warmup = 0;    // iterations the analysis leaves out
};

std::string rank_trace_path(const std::string& run_dir, int rank);

// Writes this process's recorded events (atomically): {"rank", "offset_ns",
// "offset_error_ns", "title", "ranks", "warmup", "events": [Chrome trace events, pid =
// rank, on rank 0's clock]}; the process is named `process` ("rank 3", "driver").
void write_rank_trace(const std::string& run_dir, int rank, const ClockOffset& offset, const TracedRun& run,
                      const std::string& process);

// Merges the rank files of one run into `trace` (a Chrome trace JSON object with
// "traceEvents", created when empty): each rank becomes a process named
// "<title>: <process>", with a pid unique across the runs merged so far; "syncbed.runs"
// records the run's warm-up iterations and each rank's clock offset and error bound.
// Throws naming the first rank file that is missing or not one.
void merge_rank_traces(const std::string& run_dir, nlohmann::json& trace);

// `syncbed trace merge`: `dir` is a run's (it holds trace-rank-0.json) or holds run
// directories (merged in name order, run-2 before run-10). Throws if none is found.
nlohmann::json merge_trace_dir(const std::string& dir);

// The merged trace goes to <output>/trace.json, or gzipped to trace.json.gz from 4 MB on
// (Perfetto and chrome://tracing open both); the other name is removed, so a results
// directory holds one trace. Written to a temporary file first, then renamed.
void write_merged_trace(const std::string& output_dir, const nlohmann::json& trace);
// Removes <output>/trace.json and trace.json.gz.
void remove_merged_trace(const std::string& output_dir);
// Reads a merged trace: a file (plain or gzipped), or a results directory's trace.
// Throws std::invalid_argument saying what is missing or malformed.
nlohmann::json read_merged_trace(const std::string& path);

}  // namespace syncbed::experiments
