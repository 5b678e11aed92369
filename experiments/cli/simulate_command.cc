// `syncbed simulate CONFIG`: the config's sweep predicted by the cluster model
// (experiments/sim/simulator.h), calibrated by `syncbed calibrate`, next to measured results
// of the same config (if any) and to the config's reference values (if any).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/harness/experiment.h"
#include "experiments/harness/results.h"
#include "experiments/sim/scheduler_profile.h"
#include "experiments/sim/simulator.h"
#include "experiments/workloads/emulated_workload.h"
#include "experiments/workloads/registry.h"

namespace syncbed::cli {
namespace {

using experiments::ClusterModel;
using experiments::ExperimentConfig;
using experiments::SimulatedRun;

// When the model's backward releases its layers' gradients, as fractions of compute time:
// the schedule emulated compute follows, from the calibration's forward and per-layer
// backward times (the real Inception-v1 releases them at the same points).
std::vector<std::pair<std::size_t, double>> backward_releases(const ExperimentConfig& config,
                                                              const nlohmann::json& calibration) {
  const auto model = experiments::find_model(config.model.name).make(config.workload(), 0, 1, false);
  experiments::EmulatedCompute compute;
  compute.total_ms = calibration.at("compute_ms").get<double>();
  compute.forward_ms = calibration.value("forward_ms", -1.0);
  compute.layer_backward_ms = calibration.value("layer_backward_ms", std::map<std::string, double>());
  std::vector<std::pair<std::size_t, double>> releases;
  for (const auto& release : experiments::release_schedule(model->parameter_layers(), compute))
    releases.emplace_back(release.begin, release.at_ms / compute.total_ms);
  return releases;
}

ClusterModel cluster_model(const ExperimentConfig& config, const nlohmann::json& calibration) {
  if (config.network.kind == experiments::NetworkSpec::Kind::kLoopback)
    throw std::invalid_argument(
        "config: network: simulate needs links to model: give network kind \"netns\" or \"hosts\" with a rate");
  if (!calibration.contains("machine"))
    throw std::invalid_argument(experiments::calibration_path(config) +
                                " has no machine probe; run `syncbed calibrate` on this config again");
  ClusterModel cluster;
  cluster.machine = experiments::MachineProbe::from_json(calibration["machine"]);
  cluster.link_bytes_per_s = config.network.rate_bits / 8;
  cluster.latency_s = config.network.delay_s + cluster.machine.message_us * 1e-6;
  cluster.shared_machine = config.network.kind == experiments::NetworkSpec::Kind::kNetns;
  cluster.driver_task_s = config.simulate.driver_task_ms * 1e-3;
  cluster.scheduler = config.simulate.scheduler;
  if (calibration.contains("scheduler"))
    cluster.measured_scheduler = experiments::SchedulerFit::from_json(calibration["scheduler"]);
  cluster.serial_put_s = config.simulate.serial_put_ms * 1e-3;
  cluster.fetch_concurrency = config.simulate.fetch_concurrency;
  cluster.compute_items = config.model.batch;
  if (config.compute.mode == experiments::ComputeSpec::Mode::kEmulated) {
    cluster.compute_s = config.compute.emulated_ms * 1e-3;  // a sleep: no spread
    return cluster;
  }
  // Measured compute: its spread relative to its median carries over.
  const auto samples = calibration["compute_ms_each"].get<std::vector<double>>();
  const double median = calibration["compute_ms"].get<double>();
  double mean = 0, square = 0;
  for (double s : samples) mean += s / samples.size();
  for (double s : samples) square += (s - mean) * (s - mean) / std::max<std::size_t>(1, samples.size() - 1);
  cluster.compute_s = median * 1e-3;
  cluster.compute_sd_s = std::sqrt(square) / median * cluster.compute_s;
  return cluster;
}

// Items per worker and iteration: model.batch (weak scaling), or the global batch at N
// split over the N workers (strong scaling).
long items_per_worker(const ExperimentConfig& config, int n) {
  return config.simulate.global_batch ? config.simulate.batch_at(n) / n : config.model.batch;
}

// Every task-model strategy's scheduler profile must have a curve for its grouping.
void check_scheduler(const ExperimentConfig& config, const ClusterModel& cluster) {
  bool any = false;
  for (const auto& strategy : config.strategies) {
    if (!strategy.options.task_model.enabled) continue;
    any = true;
    try {
      experiments::scheduler_of(cluster, strategy);
    } catch (const std::invalid_argument& e) {
      const std::string field = strategy.scheduler.empty() ? "simulate.scheduler" : "strategies";
      throw std::invalid_argument("config: " + field + ": " + strategy.label + ": " + e.what());
    }
  }
  if (!any && !config.simulate.scheduler.empty())
    throw std::invalid_argument(
        "config: simulate.scheduler: applies to strategies with \"execution\": \"tasks\"; the config has none");
}

// With an anchor, the compute time is the one that makes the first strategy's simulated
// throughput at that N equal the reference's (the rest of the model is calibrated here).
void apply_anchor(const ExperimentConfig& config, std::size_t parameters, ClusterModel& cluster) {
  const int n = config.simulate.anchor;
  if (n == 0) return;
  const double spread = cluster.compute_s > 0 ? cluster.compute_sd_s / cluster.compute_s : 0;
  const long items = items_per_worker(config, n);
  ClusterModel probe = cluster;
  probe.compute_s = probe.compute_sd_s = 0;
  const auto bare = experiments::simulate_run(probe, config.strategies[0], n, parameters, items);
  const double target_iteration = double(items) * n / config.simulate.reference.at(n);
  const double compute =
      (target_iteration - bare.sync_s - bare.driver_s) / (1 + experiments::expected_max_of_normals(n) * spread);
  if (compute <= 0)
    throw std::invalid_argument("config: simulate.anchor: the reference at N=" + std::to_string(n) +
                                " is faster than synchronization alone allows");
  // Solved for `items` per worker; the model keeps it per compute_items.
  cluster.compute_s = compute * double(cluster.compute_items) / double(items);
  cluster.compute_sd_s = cluster.compute_s * spread;
}

// What each scheduler costs, said once: which chart or fit, and where it is extrapolated.
void print_schedulers(const ExperimentConfig& config, const ClusterModel& cluster) {
  std::set<std::string> printed;
  for (const auto& strategy : config.strategies) {
    if (!strategy.options.task_model.enabled) continue;
    const auto profile = experiments::scheduler_of(cluster, strategy);
    if (!profile || !printed.insert(profile->label()).second) continue;
    std::printf("scheduler %s, per job:", profile->label().c_str());
    for (int n : config.workers)
      std::printf(" %d: %.1f ms%s", n, profile->job_seconds(n) * 1e3,
                  profile->extrapolated(n) ? " (extrapolated)" : "");
    std::printf("\n");
  }
}

std::map<std::pair<std::string, int>, double> measured_throughputs(const std::string& dir) {
  std::map<std::pair<std::string, int>, double> out;
  if (!std::filesystem::exists(dir + "/summary.jsonl")) return out;
  for (const auto& s : experiments::read_summaries(dir))
    if (s.ok()) out[{s.strategy, s.workers}] = s.throughput;
  return out;
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.1f%%", 100 * fraction);
  return text;
}

}  // namespace

int simulate_command(const std::vector<std::string>& args) {
  Options options("simulate",
                  "Predict the config's sweep (strategies x worker counts, N up to 1024) with a calibrated model of "
                  "the cluster: link rate and delay from \"network\", sum/optimizer/message costs and compute time "
                  "from `syncbed calibrate CONFIG` (run it first). Prints simulated throughput and scaling "
                  "efficiency next to measured results in the output directory (if `syncbed run` wrote any) and "
                  "the config's \"simulate\".\"reference\" values; writes simulated.jsonl/.csv there.",
                  {{"set", "KEY=VALUE", "override a config field, as in `syncbed run` (repeatable)", ""},
                   {"no-plot", "", "do not call scripts/plot.py", ""}});
  options.with_positional("CONFIG", "the experiment config (JSON)");
  if (!options.parse(args)) return 0;
  auto config = experiments::load_experiment_config(options.positional(), options.get_all("set"));
  const auto calibration = experiments::read_calibration(config, "simulate");
  experiments::resolve_compute(config);
  const std::size_t parameters = calibration.at("parameters").get<std::size_t>();
  ClusterModel cluster = cluster_model(config, calibration);
  check_scheduler(config, cluster);
  cluster.releases = backward_releases(config, calibration);
  apply_anchor(config, parameters, cluster);
  const auto measured = measured_throughputs(config.output);
  const auto& reference = config.simulate.reference;

  std::printf("%s: %zu parameters, compute %.1f ms (sd %.1f), links %s, latency %.1f us, %s\n", config.name.c_str(),
              parameters, cluster.compute_s * 1e3, cluster.compute_sd_s * 1e3, config.network.rate.c_str(),
              cluster.latency_s * 1e6, cluster.shared_machine ? "hosts share this machine's cores" : "one host each");
  if (config.simulate.global_batch)
    std::printf("strong scaling: global batch %ld, rounded up per N to a multiple of N x %d cores\n",
                config.simulate.global_batch, config.simulate.cores_per_node);
  print_schedulers(config, cluster);
  std::printf("%-22s %5s %7s %12s %9s %9s %9s %9s %8s %12s %8s %12s %8s %8s\n", "strategy", "N", "batch", "sim items/s",
              "iter ms", "sync ms", "exposed", "sched ms", "effic.", "measured", "diff", "reference", "ref eff",
              "eff diff");
  std::vector<nlohmann::json> rows;
  for (const auto& strategy : config.strategies) {
    double base = 0, reference_base = 0;
    for (int n : config.workers) {
      const long items = items_per_worker(config, n);
      const SimulatedRun run = experiments::simulate_run(cluster, strategy, n, parameters, items);
      if (base == 0) base = run.throughput / n;
      const double efficiency = run.throughput / n / base;
      nlohmann::json row{{"strategy", strategy.label},
                         {"workers", n},
                         {"throughput", run.throughput},
                         {"iteration_ms", run.iteration_s * 1e3},
                         {"compute_ms", run.compute_s * 1e3},
                         {"sync_ms", run.sync_s * 1e3},
                         {"exposed_sync_ms", run.exposed_sync_s * 1e3},
                         {"driver_ms", run.driver_s * 1e3},
                         {"global_batch", items * n},
                         {"efficiency", efficiency}};
      row["experiment"] = config.name;
      row["network"] = config.network.to_json();
      for (const auto& [phase, seconds] : run.phases_s) row["phases_ms"][phase] = seconds * 1e3;
      std::string measured_text = "", diff_text = "", reference_text = "", ref_eff_text = "", eff_diff_text = "";
      if (auto it = measured.find({strategy.label, n}); it != measured.end()) {
        row["measured"] = it->second;
        row["measured_diff"] = run.throughput / it->second - 1;
        measured_text = std::to_string(static_cast<long>(std::lround(it->second)));
        diff_text = percent(row["measured_diff"]);
      }
      if (&strategy == &config.strategies[0] && reference.count(n)) {
        if (reference_base == 0) reference_base = reference.begin()->second / reference.begin()->first;
        const double ref_eff = reference.at(n) / n / reference_base;
        // Efficiencies against each one's own smallest N.
        const double sim_eff = run.throughput / n / base;
        row["reference"] = reference.at(n);
        row["reference_label"] = config.simulate.reference_label;
        row["reference_efficiency"] = ref_eff;
        row["efficiency_diff"] = sim_eff - ref_eff;
        reference_text = std::to_string(static_cast<long>(std::lround(reference.at(n))));
        ref_eff_text = std::to_string(static_cast<int>(std::lround(100 * ref_eff))) + "%";
        char pp[32];
        std::snprintf(pp, sizeof pp, "%+.1fpp", 100 * (sim_eff - ref_eff));
        eff_diff_text = pp;
      }
      std::printf("%-22s %5d %7ld %12.1f %9.1f %9.1f %9.1f %9.1f %7.1f%% %12s %8s %12s %8s %8s\n",
                  strategy.label.c_str(), n, items * n, run.throughput, run.iteration_s * 1e3, run.sync_s * 1e3,
                  run.exposed_sync_s * 1e3, run.driver_s * 1e3, 100 * efficiency, measured_text.c_str(),
                  diff_text.c_str(), reference_text.c_str(), ref_eff_text.c_str(), eff_diff_text.c_str());
      rows.push_back(std::move(row));
    }
  }
  std::filesystem::create_directories(config.output);
  write_file_atomically(config.output + "/simulated.jsonl", experiments::to_jsonl(rows));
  write_file_atomically(config.output + "/simulated.csv",
                        experiments::to_csv(rows, {"strategy", "workers", "throughput"}));
  std::printf("written to %s/simulated.jsonl and simulated.csv\n", config.output.c_str());
  if (!options.has("no-plot")) experiments::plot_results(config.output);
  return 0;
}

}  // namespace syncbed::cli
