// `syncbed bench-model --model ncf`: training throughput on uniformly drawn interactions,
// with dense or lazy Adam.
#include <cstdio>
#include <random>

#include "core/clock.h"
#include "core/median.h"
#include "core/optimizer.h"
#include "experiments/workloads/ncf/ncf.h"
#include "models/ncf.h"

namespace syncbed::experiments {

std::vector<cli::OptionSpec> ncf_bench_options() {
  return {{"users", "U", "ncf: users", "138493"},
          {"items", "I", "ncf: items", "26744"},
          {"optimizer", "NAME", "ncf: adam (dense, the reference) or lazy-adam (touched rows only)", "adam"}};
}

nlohmann::json bench_ncf(const cli::Options& options, int batch, int steps, int warmup, models::Profile* profile) {
  models::NcfConfig config;
  config.users = static_cast<int>(options.get_int("users", 1, 100'000'000));
  config.items = static_cast<int>(options.get_int("items", 1, 100'000'000));
  models::Ncf model(config);
  const std::string kind = options.get("optimizer");
  if (kind != "adam" && kind != "lazy-adam")
    throw std::invalid_argument("--optimizer: unknown optimizer '" + kind + "' (adam, lazy-adam)");
  const bool lazy = kind == "lazy-adam";
  OptimizerConfig adam;
  adam.kind = OptimizerConfig::Kind::kAdam;
  adam.learning_rate = 0.0005f;
  Optimizer optimizer(adam, model.parameters().size());
  std::printf("ncf: %zu parameters, %d users x %d items, %s\n", model.parameters().size(), config.users, config.items,
              lazy ? "lazy Adam (touched rows only)" : "dense Adam");

  // A few uniformly drawn batches with one positive in five, reused round robin.
  std::mt19937_64 rng(7);
  std::vector<models::InteractionBatch> batches(8);
  for (auto& b : batches)
    for (int k = 0; k < batch; ++k)
      b.add(std::int32_t(rng() % config.users), std::int32_t(rng() % config.items), k % 5 == 0 ? 1.0f : 0.0f);

  static const std::string kUpdate = "adam update";
  std::vector<double> times;
  for (int step = 0; step < warmup + steps; ++step) {
    const bool timed = step >= warmup;
    Stopwatch watch;
    const double loss = model.forward_backward(batches[step % batches.size()]);
    const double compute = watch.lap();
    {
      models::ProfileScope scope(kUpdate, "optimizer", models::Phase::kUpdate);
      if (lazy)
        model.lazy_update(optimizer);
      else
        optimizer.step(model.parameters(), model.gradients());
    }
    const double seconds = compute + watch.lap();
    if (timed) {
      times.push_back(seconds);
      if (profile) profile->add_total(seconds, 1);
    }
    if (step < warmup + 3 || step + 1 == warmup + steps || (step + 1) % 100 == 0)
      std::printf("  step %4d%s  loss %.4f  %.2f ms (model %.2f)  %.0f samples/s\n", step + 1,
                  timed ? "" : " (warm-up)", loss, seconds * 1e3, compute * 1e3, batch / seconds);
    std::fflush(stdout);
    models::set_active_profile(step + 1 >= warmup && profile ? profile : nullptr);
  }
  models::set_active_profile(nullptr);
  const double median = median_of(times);
  std::printf("median step %.2f ms: %.0f samples/s\n", median * 1e3, batch / median);
  return {{"model", "ncf"},
          {"batch", batch},
          {"users", config.users},
          {"items", config.items},
          {"optimizer", kind},
          {"parameters", model.parameters().size()},
          {"median_step_ms", median * 1e3},
          {"samples_per_s", batch / median}};
}

}  // namespace syncbed::experiments
