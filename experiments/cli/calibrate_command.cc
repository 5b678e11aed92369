// `syncbed calibrate CONFIG`: the config's model computing on this machine (one worker,
// all cores, its real data), timed per iteration. The median becomes the emulated
// compute time of configs with "compute": {"from_calibration": true}; the machine probe
// (sums, optimizer, messages) calibrates `syncbed simulate`; with --scheduler, so does a
// fit of syncbed's own driver's cost per job.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/cpus.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/harness/experiment_config.h"
#include "experiments/harness/host_facts.h"
#include "experiments/sim/machine_probe.h"
#include "experiments/sim/scheduler_calibration.h"
#include "experiments/worker/make_workload.h"
#include "models/dnnl_context.h"
#include "models/profile.h"

namespace syncbed::cli {
namespace {

// The "syncbed" scheduler fit of the calibration at `path`, if it has one.
nlohmann::json earlier_scheduler_fit(const std::string& path) {
  std::ifstream in(path);
  const auto earlier = nlohmann::json::parse(in, nullptr, false);
  return earlier.is_object() ? earlier.value("scheduler", nlohmann::json()) : nlohmann::json();
}

}  // namespace

int calibrate_command(const std::vector<std::string>& args) {
  Options options(
      "calibrate",
      "Measure the per-iteration compute time (forward + backward of one worker's batch) of a config's "
      "model on this machine, with one worker using all cores, and write it to <output>/calibration.json "
      "for \"compute\": {\"from_calibration\": true}; also measure summation, optimizer and message costs for "
      "`syncbed simulate`.",
      {{"iterations", "K", "timed iterations", "10"},
       {"warmup", "K", "untimed iterations first", "3"},
       {"threads", "T", "compute threads (0 = all cores)", "0"},
       {"scheduler", "",
        "also measure syncbed's driver on a near-empty task-model job at 2, 4, 8 and 16 executors (about a "
        "minute; runs kept in <output>/scheduler/) and fit its cost per job as a + b N: the \"syncbed\" "
        "scheduler profile of `syncbed simulate` (without this, an earlier calibration's fit is kept)",
        ""},
       {"set", "KEY=VALUE", "override a config field, as in `syncbed run` (repeatable)", ""}});
  options.with_positional("CONFIG", "the experiment config (JSON)");
  if (!options.parse(args)) return 0;
  const auto config = experiments::load_experiment_config(options.positional(), options.get_all("set"));
  const int iterations = static_cast<int>(options.get_int("iterations", 1, 100'000));
  const int warmup = static_cast<int>(options.get_int("warmup", 0, 100'000));
  int threads = static_cast<int>(options.get_int("threads", 0, 1024));
  if (threads == 0) threads = usable_cpus();
  models::set_compute_threads(threads);

  auto workload = experiments::make_real_workload(config, 0, 1);
  std::printf("calibrate %s: model %s, batch %d, %zu parameters, %d threads\n", config.name.c_str(),
              config.model.name.c_str(), config.model.batch, workload->weights().size(), threads);
  std::vector<double> times;
  models::Profile profile;  // per layer, for when backward finishes each (overlap)
  for (int i = 0; i < warmup + iterations; ++i) {
    if (i == warmup) models::set_active_profile(&profile);
    Stopwatch watch;
    workload->compute(i);
    const double seconds = watch.lap();
    if (i >= warmup) times.push_back(seconds * 1e3);
    std::printf("  iteration %d%s: %.1f ms\n", i + 1, i < warmup ? " (warm-up)" : "", seconds * 1e3);
    std::fflush(stdout);
  }
  std::printf("probing summation, the optimizer and the transport for `syncbed simulate`...\n");
  std::fflush(stdout);
  const auto machine = experiments::probe_machine(config.optimizer);
  std::printf("  sum %.2f GB/s, optimizer %.2f ns/parameter, message %.1f us one way, stream %.2f GB/s\n",
              machine.reduce_gbytes_per_s, machine.optimizer_ns_per_parameter, machine.message_us,
              machine.stream_gbytes_per_s);
  models::set_active_profile(nullptr);
  auto sorted = times;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  // Forward's share of the profiled time, applied to the median; each layer's backward.
  const double profiled = profile.seconds(models::Phase::kForward) + profile.seconds(models::Phase::kBackward);
  const double forward_ms = profiled > 0 ? median * profile.seconds(models::Phase::kForward) / profiled : median / 3;
  std::map<std::string, double> layer_backward_ms;
  for (const auto& layer : workload->parameter_layers())
    layer_backward_ms[layer.name] = profile.seconds(layer.name, models::Phase::kBackward) * 1e3 / iterations;
  nlohmann::json calibration{{"model", config.source.value("model", nlohmann::json())},
                             {"data", config.source.value("data", nlohmann::json())},
                             {"compute_ms", median},
                             {"compute_ms_each", times},
                             {"forward_ms", forward_ms},
                             {"layer_backward_ms", layer_backward_ms},
                             {"threads", threads},
                             {"parameters", workload->weights().size()},
                             {"machine", machine.to_json()},
                             {"host", experiments::host_facts()}};
  std::filesystem::create_directories(config.output);
  const std::string path = experiments::calibration_path(config);
  if (options.has("scheduler")) {
    std::printf("measuring syncbed's driver for the \"syncbed\" scheduler profile...\n");
    std::fflush(stdout);
    const auto fit = experiments::measure_syncbed_scheduler(config.output + "/scheduler", {2, 4, 8, 16});
    for (const auto& [n, ms] : fit.ms_at) std::printf("  %d executors: %.2f ms per job\n", n, ms);
    std::printf("  fit: %.2f + %.3f N ms per job, rms error %.2f ms\n", fit.a_ms, fit.b_ms, fit.rms_ms);
    calibration["scheduler"] = fit.to_json();
  } else if (const auto earlier = earlier_scheduler_fit(path); !earlier.is_null()) {
    calibration["scheduler"] = earlier;
  }
  write_file_atomically(path, calibration.dump(2) + "\n");
  std::printf("median compute %.1f ms per iteration (%.1f %s/s on one worker); written to %s\n", median,
              config.model.batch / median * 1e3, workload->item_unit(), path.c_str());
  return 0;
}

}  // namespace syncbed::cli
