// `syncbed trace`: what the merged timeline of a traced experiment ("trace": true) says:
// exposed communication, whom the median iteration waited for, the slowest rank per phase.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/harness/trace_analysis.h"

namespace syncbed::cli {

int trace_command(const std::vector<std::string>& args) {
  Options options(
      "trace",
      "Analyze the timeline of a traced experiment (a config with \"trace\": true writes "
      "<output>/trace.json, which Perfetto and chrome://tracing also open): per run, the communication "
      "not hidden behind the same rank's compute, the rank the median iteration waited for, and the "
      "slowest rank in each phase.",
      {{"json", "FILE", "also write the analysis as JSON (a file is replaced atomically; - prints it)", ""}});
  options.with_positional("DIR", "a results directory with trace.json, or a trace file");
  if (!options.parse(args)) return 0;
  std::string path = options.positional();
  if (std::filesystem::is_directory(path)) path += "/trace.json";
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read " + path + " (run a config with \"trace\": true first)");
  nlohmann::json trace;
  try {
    trace = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + " is not JSON: " + e.what());
  }
  const auto runs = experiments::analyze_trace(trace);
  if (!options.get("json").empty()) check_writable(options.get("json"));
  if (options.get("json") != "-") std::printf("%s", experiments::timeline_report(runs).c_str());
  if (!options.get("json").empty())
    write_file_atomically(options.get("json"), experiments::timeline_json(runs).dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
