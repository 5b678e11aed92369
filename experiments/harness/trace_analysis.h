// What a merged trace (harness/trace_file.h) says about each run: how much of the
// communication was exposed (not hidden behind the same rank's compute), whom the median
// iteration waited for, and which rank was slowest in each phase.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace syncbed::experiments {

struct PhaseLeader {
  std::string phase;
  int rank = 0;             // the rank with the longest median time in this phase
  double median_ms = 0;     // its median per iteration
  double all_ranks_ms = 0;  // the median over every rank's medians
};

// What one rank sent another over the timed iterations ("trace": "messages").
struct PeerTraffic {
  int source = 0, destination = 0;  // ranks
  double megabytes = 0;             // 10^6 bytes
  double gbytes_per_s = 0;          // the bytes over the time at least one send to that peer was in flight
};

struct RunTimeline {
  std::string title;
  int ranks = 0;
  int iterations = 0;                 // timed (not warm-up) iterations every rank recorded
  std::vector<double> exposed_ms;     // per iteration: communication not under compute, mean over ranks
  double exposed_total_ms = 0;        // their sum
  double communication_total_ms = 0;  // the same for all communication, hidden or not
  long median_iteration = 0;          // the iteration of median length (first compute start to last sync end)
  double median_iteration_ms = 0;
  int waited_for_rank = -1;          // in it, the rank whose compute ended last (-1: no compute traced)
  double waited_ms = 0;              // how long after the first rank's its compute ended
  std::vector<PhaseLeader> slowest;  // per phase
  std::vector<PeerTraffic> traffic;  // per (source, destination) that exchanged messages, if traced
};

// Throws std::invalid_argument if `trace` is not a merged syncbed trace.
std::vector<RunTimeline> analyze_trace(const nlohmann::json& trace);

std::string timeline_report(const std::vector<RunTimeline>& runs);
nlohmann::json timeline_json(const std::vector<RunTimeline>& runs);

}  // namespace syncbed::experiments
