// `syncbed bench-model`: single-process training throughput of a registered model on
// synthetic data (forward + backward + optimizer update per step), with an optional
// per-layer time breakdown. The model's own options and loop are its registry row's.
#include <iostream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "experiments/workloads/registry.h"
#include "models/dnnl_context.h"
#include "models/profile.h"

namespace syncbed::cli {
namespace {

std::vector<OptionSpec> bench_model_options() {
  std::string names, batches;
  for (const auto& entry : experiments::model_entries()) {
    names += (names.empty() ? "" : " or ") + entry.name;
    batches += (batches.empty() ? "" : ", ") + std::to_string(entry.default_batch) + " for " + entry.name;
  }
  std::vector<OptionSpec> specs{{"model", "NAME", names, experiments::model_entries().front().name},
                                {"batch", "N", "examples per step (default: " + batches + ")", ""},
                                {"threads", "T", "compute threads (0 = OpenMP default)", "0"},
                                {"steps", "K", "timed steps", "10"},
                                {"warmup", "K", "untimed steps first (primitive creation, page faults)", "2"}};
  for (const auto& entry : experiments::model_entries())
    specs.insert(specs.end(), entry.bench_options.begin(), entry.bench_options.end());
  specs.push_back({"profile", "", "print a per-layer time breakdown (with --json, its per-kind sums too)", ""});
  specs.push_back({"json", "FILE", "also write the result as JSON (a file is replaced atomically; - prints it)", ""});
  return specs;
}

}  // namespace

int bench_model_command(const std::vector<std::string>& args) {
  Options options("bench-model",
                  "Training throughput of one model in one process on synthetic data: forward, backward and "
                  "optimizer update per step; the median step is reported.",
                  bench_model_options());
  if (!options.parse(args)) return 0;
  const experiments::ModelEntry* model = &experiments::model_from_options(options);
  if (!options.get("json").empty()) check_writable(options.get("json"));  // now, not after the run
  const int threads = static_cast<int>(options.get_int("threads", 0, 1024));
  const int steps = static_cast<int>(options.get_int("steps", 1, 1'000'000));
  const int warmup = static_cast<int>(options.get_int("warmup", 0, 1'000'000));
  const int batch = experiments::batch_from_options(options, *model);
  models::set_compute_threads(threads);
  std::printf("bench-model: %s, batch %d, %d threads\n", model->name.c_str(), batch, models::compute_threads());

  models::Profile profile;
  models::Profile* active = options.has("profile") ? &profile : nullptr;
  nlohmann::json result = model->bench(options, batch, steps, warmup, active);
  result["threads"] = models::compute_threads();
  if (active) {
    profile.print(std::cout);
    result["profile_ms_per_step"] = profile.kind_ms_per_step();
  }
  if (!options.get("json").empty()) write_file_atomically(options.get("json"), result.dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
