// The timeline files of a traced run (core/trace.h): each rank writes its events, on
// rank 0's clock, to <run dir>/trace-rank-<r>.json; the launcher merges a run's files
// into one Chrome trace (Perfetto, chrome://tracing), one process per rank.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace syncbed::experiments {

struct ClockOffset {
  std::int64_t offset_ns = 0;  // this rank's steady clock minus rank 0's
  std::int64_t error_ns = 0;   // |true offset - offset_ns| <= error_ns (half the best round trip)
};

std::string rank_trace_path(const std::string& run_dir, int rank);

// Writes this process's recorded events (atomically): {"rank", "offset_ns",
// "offset_error_ns", "events": [Chrome trace events, pid = rank, on rank 0's clock]}.
void write_rank_trace(const std::string& run_dir, int rank, const ClockOffset& offset);

// Merges the rank files of one run into `trace` (a Chrome trace JSON object with
// "traceEvents", created when empty): each rank becomes a process named
// "<title>: rank r", with a pid unique across the runs merged so far; "syncbed.runs"
// records each rank's clock offset and its error bound.
void merge_rank_traces(const std::string& run_dir, const std::string& title, int ranks, nlohmann::json& trace);

}  // namespace syncbed::experiments
