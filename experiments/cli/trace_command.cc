// `syncbed trace`: what the merged timeline of a traced experiment ("trace": true) says:
// exposed communication, whom the median iteration waited for, the slowest rank per phase.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/harness/trace_analysis.h"
#include "experiments/harness/trace_file.h"

namespace syncbed::cli {

int trace_command(const std::vector<std::string>& args) {
  Options options(
      "trace",
      "Analyze the timeline of a traced experiment (a config with \"trace\": true writes "
      "<output>/trace.json, which Perfetto and chrome://tracing also open): per run, the communication "
      "not hidden behind the same rank's compute, the rank the median iteration waited for, and the "
      "slowest rank in each phase.",
      {{"json", "FILE", "also write the analysis as JSON (a file is replaced atomically; - prints it)", ""}});
  options.with_positional("DIR", "a results directory with trace.json (or trace.json.gz), or a trace file");
  if (!options.parse(args)) return 0;
  const auto runs = experiments::analyze_trace(experiments::read_merged_trace(options.positional()));
  if (!options.get("json").empty()) check_writable(options.get("json"));
  if (options.get("json") != "-") std::printf("%s", experiments::timeline_report(runs).c_str());
  if (!options.get("json").empty())
    write_file_atomically(options.get("json"), experiments::timeline_json(runs).dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
