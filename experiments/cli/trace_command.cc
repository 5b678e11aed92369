// `syncbed trace`: what the merged timeline of a traced experiment ("trace": true) says:
// exposed communication, whom the median iteration waited for, the slowest rank per phase.
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/harness/trace_analysis.h"
#include "experiments/harness/trace_file.h"

namespace syncbed::cli {

namespace {

// `syncbed trace merge DIR`: the rank files of ranks an outside launcher started.
int trace_merge_command(const std::vector<std::string>& args) {
  Options options("trace merge",
                  "Merge the per-rank timeline files (trace-rank-<r>.json) of traced runs into one Chrome trace, as "
                  "`syncbed run` does for its own ranks: for `syncbed worker --trace-dir` under Slurm or "
                  "Kubernetes, and `syncbed bench-allreduce --trace` under an outside launcher. Copy every host's "
                  "files into one directory first.",
                  {{"out", "DIR", "write DIR/trace.json (trace.json.gz from 4 MB on); default: the merged DIR", ""}});
  options.with_positional("DIR", "a run's directory of rank files, or one holding such directories (run-1, ...)");
  if (!options.parse(args)) return 0;
  const nlohmann::json trace = experiments::merge_trace_dir(options.positional());
  const std::string out = options.get("out").empty() ? options.positional() : options.get("out");
  if (std::filesystem::exists(out) && !std::filesystem::is_directory(out))
    throw std::invalid_argument("--out " + out + " exists and is not a directory");
  std::filesystem::create_directories(out);
  experiments::write_merged_trace(out, trace);
  std::printf("trace merge: %zu runs into %s (analyze with `syncbed trace %s`)\n", trace["syncbed"]["runs"].size(),
              out.c_str(), out.c_str());
  return 0;
}

}  // namespace

int trace_command(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "merge") return trace_merge_command({args.begin() + 1, args.end()});
  Options options(
      "trace",
      "Analyze the timeline of a traced experiment (a config with \"trace\": true writes "
      "<output>/trace.json, which Perfetto and chrome://tracing also open): per run, the communication "
      "not hidden behind the same rank's compute, the rank the median iteration waited for, and the "
      "slowest rank in each phase, and with messages traced the bytes and bandwidth per pair of ranks. "
      "`syncbed trace merge DIR` merges the rank files of ranks an outside launcher started.",
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
