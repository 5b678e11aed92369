#include "experiments/harness/trace_file.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/trace.h"

namespace syncbed::experiments {

std::string rank_trace_path(const std::string& run_dir, int rank) {
  return run_dir + "/trace-rank-" + std::to_string(rank) + ".json";
}

void write_rank_trace(const std::string& run_dir, int rank, const ClockOffset& offset) {
  const nlohmann::json file{
      {"rank", rank},
      {"offset_ns", offset.offset_ns},
      {"offset_error_ns", offset.error_ns},
      {"events", trace::chrome_events(trace::events(), trace::thread_names(), rank, "rank " + std::to_string(rank),
                                      offset.offset_ns, trace::messages())}};
  write_file_atomically(rank_trace_path(run_dir, rank), file.dump() + "\n");
}

void merge_rank_traces(const std::string& run_dir, const std::string& title, int ranks, nlohmann::json& trace) {
  if (!trace.contains("traceEvents"))
    trace = {{"traceEvents", nlohmann::json::array()},
             {"displayTimeUnit", "ms"},
             {"syncbed", {{"runs", nlohmann::json::array()}}}};
  // Pids go on from the largest so far: runs never share a process row.
  int next_pid = 1;
  for (const auto& event : trace["traceEvents"]) next_pid = std::max(next_pid, event.value("pid", 0) + 1);
  nlohmann::json offsets = nlohmann::json::array();
  for (int rank = 0; rank < ranks; ++rank) {
    const std::string path = rank_trace_path(run_dir, rank);
    std::ifstream in(path);
    if (!in) throw std::runtime_error("trace: rank " + std::to_string(rank) + " wrote no " + path);
    const nlohmann::json file = nlohmann::json::parse(in);
    const int pid = next_pid + rank;
    const std::string run_prefix = "run" + std::to_string(trace["syncbed"]["runs"].size()) + ".";
    for (nlohmann::json event : file.at("events")) {
      event["pid"] = pid;
      // Message ids (async slices, flow arrows) repeat from run to run: keep runs apart.
      if (event.contains("id")) event["id"] = run_prefix + event["id"].get<std::string>();
      if (event["ph"] == "M" && event["name"] == "process_name")
        event["args"]["name"] = title + ": rank " + std::to_string(rank);
      trace["traceEvents"].push_back(std::move(event));
    }
    offsets.push_back({{"rank", rank},
                       {"pid", pid},
                       {"offset_ns", file.at("offset_ns")},
                       {"offset_error_ns", file.at("offset_error_ns")}});
  }
  trace["syncbed"]["runs"].push_back({{"title", title}, {"ranks", offsets}});
}

}  // namespace syncbed::experiments
