// `syncbed run CONFIG`, `syncbed worker CONFIG --run K` and `syncbed compare DIR`: the
// experiment harness (experiments/harness/experiment.h) on the command line.
#include <cstdio>
#include <stdexcept>

#include "core/log.h"
#include "experiments/cli/commands.h"
#include "experiments/cli/worker_setup.h"
#include "experiments/harness/experiment.h"
#include "experiments/harness/results.h"
#include "experiments/worker/multi_host.h"
#include "experiments/worker/worker_loop.h"

namespace syncbed::cli {
namespace {

const OptionSpec kSetOption{"set", "KEY=VALUE",
                            "override a config field before validation, e.g. workers=[1,2] or "
                            "model.batch=16 (repeatable; VALUE is JSON, or else a string)",
                            ""};

}  // namespace

int run_command(const std::vector<std::string>& args) {
  Options options("run",
                  "Run an experiment: every sync strategy x every worker count of the config, each run with N local "
                  "worker processes; results (JSON lines and CSV per iteration and per run) go to the config's output "
                  "directory (default results/<name>/), written atomically after every run. Ctrl-C stops the workers "
                  "and keeps the finished runs.",
                  {kSetOption, {"no-plot", "", "do not call scripts/plot.py at the end", ""}});
  options.with_positional("CONFIG", "the experiment config (JSON; see configs/README.md)");
  if (!options.parse(args)) return 0;
  auto config = experiments::load_experiment_config(options.positional(), options.get_all("set"));
  experiments::SweepOptions sweep;
  sweep.plot = !options.has("no-plot");
  return experiments::run_experiment(std::move(config), sweep);
}

int worker_command(const std::vector<std::string>& args) {
  auto specs = worker_option_specs("0");
  specs.push_back(kSetOption);
  specs.push_back({"run", "K",
                   "be a rank of this one run of the config's sweep (1-based: strategies x worker counts, in order), "
                   "as `syncbed run` starts it; without --run: every strategy at N = the job's world size, results "
                   "written by rank 0",
                   ""});
  specs.push_back({"records", "FILE", "with --run: rank 0 appends its per-iteration records here (JSON lines)", ""});
  specs.push_back({"info", "FILE", "with --run: rank 0 writes the run's facts here at the end", ""});
  specs.push_back({"checkpoints", "DIR",
                   "with --run and the config's checkpoint_every: every rank writes its checkpoints here", ""});
  specs.push_back({"resume-step", "S", "with --checkpoints: resume from every rank's checkpoint after step S", "0"});
  specs.push_back(
      {"attempt", "A", "with --run: which attempt of the run this is (fault injection fires in the first)", "1"});
  specs.push_back({"trace-dir", "DIR",
                   "with the config's \"trace\": every rank writes its timeline here (trace-rank-<r>.json, on rank "
                   "0's clock; without --run in run-K/ per run, merged by rank 0 into the results when it sees every "
                   "rank's file, else by `syncbed trace merge`)",
                   ""});
  Options options("worker",
                  "Be one rank of an experiment. Under Slurm (`srun syncbed worker CONFIG`) or in a Kubernetes "
                  "Indexed Job, start one per host: the rank and coordinator come from SLURM_PROCID/SLURM_NTASKS/"
                  "SLURM_LAUNCH_NODE_IPADDR or RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT; use --bind 0.0.0.0. "
                  "`syncbed run` starts these itself with --run.",
                  specs);
  options.with_positional("CONFIG", "the experiment config (JSON)");
  if (!options.parse(args)) return 0;
  auto config = experiments::load_experiment_config(options.positional(), options.get_all("set"));
  experiments::resolve_compute(config);
  if (options.get("run").empty()) {
    if (auto code = launch_if_requested(options, 0)) return *code;
    auto mesh = connect_worker(options);
    return telling_peers(*mesh, [&] { return experiments::run_multi_host(config, *mesh, options.get("trace-dir")); });
  }
  const auto runs = experiments::sweep(config);
  const int index = static_cast<int>(options.get_int("run", 1, static_cast<long long>(runs.size())));
  const auto& run = runs[index - 1];
  if (auto code = launch_if_requested(options, run.strategy.extra_ranks())) return *code;
  auto mesh = connect_worker(options);
  experiments::WorkerRunOptions run_options;
  run_options.records_path = options.get("records");
  run_options.info_path = options.get("info");
  run_options.checkpoint_dir = options.get("checkpoints");
  run_options.resume_step = options.get_int("resume-step", 0, 1'000'000'000);
  run_options.attempt = static_cast<int>(options.get_int("attempt", 1, 1000));
  if (config.trace) run_options.trace_dir = options.get("trace-dir");
  if (run_options.resume_step > 0 && run_options.checkpoint_dir.empty())
    throw std::invalid_argument("worker: --resume-step needs --checkpoints");
  telling_peers(*mesh, [&] { experiments::run_worker(config, run, *mesh, run_options); });
  return 0;
}

int compare_command(const std::vector<std::string>& args) {
  Options options("compare",
                  "Print the comparison table of a results directory: per strategy and worker count the throughput, "
                  "scaling efficiency against the same strategy's N=1, sync time as a fraction of compute time, and "
                  "the median time of each sync phase.",
                  {{"plot", "", "also (re)draw the plots with scripts/plot.py", ""}});
  options.with_positional("DIR", "a results directory, e.g. results/quickstart");
  if (!options.parse(args)) return 0;
  const auto summaries = experiments::read_summaries(options.positional());
  std::printf("%s", experiments::comparison_table(summaries).c_str());
  if (options.has("plot") && !experiments::plot_results(options.positional())) return 1;
  return 0;
}

}  // namespace syncbed::cli
