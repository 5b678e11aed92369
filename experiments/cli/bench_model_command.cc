// `syncbed bench-model`: single-process training throughput of a model on synthetic
// data (forward + backward + optimizer update per step), with an optional per-layer
// time breakdown.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/optimizer.h"
#include "core/options.h"
#include "experiments/cli/commands.h"
#include "models/data/synthetic_images.h"
#include "models/dnnl_context.h"
#include "models/inception_v1.h"
#include "models/ncf.h"
#include "models/profile.h"

namespace syncbed::cli {

namespace {

struct StepTimes {
  std::vector<double> seconds;
  double median() const {
    auto s = seconds;
    std::sort(s.begin(), s.end());
    return s.empty() ? 0 : s[s.size() / 2];
  }
};

nlohmann::json bench_inception(const Options& options, int batch, int steps, int warmup, models::Profile* profile) {
  models::InceptionConfig config;
  config.classes = static_cast<int>(options.get_int("classes", 1, 100'000));
  config.image_size = static_cast<int>(options.get_int("image-size", 48, 1024));
  const std::string conv = options.get("conv");
  if (conv != "winograd" && conv != "direct")
    throw std::invalid_argument("--conv: unknown algorithm '" + conv + "' (winograd, direct)");
  config.winograd = conv == "winograd";
  models::InceptionV1 model(config);
  OptimizerConfig sgd;
  sgd.learning_rate = 0.01f;
  sgd.momentum = 0.9f;
  Optimizer optimizer(sgd, model.parameters().size());
  models::SyntheticImages data(config.channels, config.image_size, config.classes, 7);
  models::ImageBatch images;
  data.next(batch, images);

  const double train_gflop = 3.0 * model.forward_flops_per_image() / 1e9;
  std::printf(
      "inception_v1: %zu parameters, %d classes, %dx%d input, %.2f GFLOP forward per image (x3 = %.2f "
      "per training image)\n",
      model.parameters().size(), config.classes, config.image_size, config.image_size, train_gflop / 3, train_gflop);
  StepTimes times;
  for (int step = 0; step < warmup + steps; ++step) {
    const bool timed = step >= warmup;
    if (timed && profile) models::set_active_profile(profile);
    Stopwatch watch;
    const float loss = model.forward_backward(images);
    {
      static const std::string kName = "sgd update";
      models::ProfileScope scope(kName, "optimizer", models::Phase::kUpdate);
      optimizer.step(model.parameters(), model.gradients());
    }
    const double seconds = watch.lap();
    models::set_active_profile(nullptr);
    if (timed) {
      times.seconds.push_back(seconds);
      if (profile) profile->add_total(seconds, 1);
    }
    std::printf("  step %3d%s  loss %.4f  %.1f ms  %.1f images/s\n", step + 1, timed ? "" : " (warm-up)", loss,
                seconds * 1e3, batch / seconds);
    std::fflush(stdout);
  }
  const double median = times.median();
  const double images_per_s = batch / median;
  // Winograd multiplies less than the direct algorithm: the rate counts direct FLOPs.
  std::printf("median step %.1f ms: %.1f images/s, %.1f GFLOP/s%s\n", median * 1e3, images_per_s,
              images_per_s * train_gflop, config.winograd ? " (direct-convolution FLOPs: effective rate)" : "");
  return {{"model", "inception_v1"},
          {"batch", batch},
          {"image_size", config.image_size},
          {"classes", config.classes},
          {"conv", conv},
          {"parameters", model.parameters().size()},
          {"median_step_ms", median * 1e3},
          {"images_per_s", images_per_s},
          {"gflop_per_s", images_per_s * train_gflop}};
}

nlohmann::json bench_ncf(const Options& options, int batch, int steps, int warmup, models::Profile* profile) {
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
  StepTimes times;
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
      times.seconds.push_back(seconds);
      if (profile) profile->add_total(seconds, 1);
    }
    if (step < warmup + 3 || step + 1 == warmup + steps || (step + 1) % 100 == 0)
      std::printf("  step %4d%s  loss %.4f  %.2f ms (model %.2f)  %.0f samples/s\n", step + 1,
                  timed ? "" : " (warm-up)", loss, seconds * 1e3, compute * 1e3, batch / seconds);
    std::fflush(stdout);
    models::set_active_profile(step + 1 >= warmup && profile ? profile : nullptr);
  }
  models::set_active_profile(nullptr);
  const double median = times.median();
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

}  // namespace

int bench_model_command(const std::vector<std::string>& args) {
  Options options(
      "bench-model",
      "Training throughput of one model in one process on synthetic data: forward, backward and "
      "optimizer update per step; the median step is reported.",
      {{"model", "NAME", "inception_v1 or ncf", "inception_v1"},
       {"batch", "N", "examples per step (default: 32 for inception_v1, 2048 for ncf)", ""},
       {"threads", "T", "compute threads (0 = OpenMP default)", "0"},
       {"steps", "K", "timed steps", "10"},
       {"warmup", "K", "untimed steps first (primitive creation, page faults)", "2"},
       {"classes", "C", "inception_v1: output classes", "1000"},
       {"image-size", "S", "inception_v1: square input size", "224"},
       {"conv", "ALGO", "inception_v1: winograd (3x3 convolutions on Winograd kernels where oneDNN has them) or direct",
        "winograd"},
       {"users", "U", "ncf: users", "138493"},
       {"items", "I", "ncf: items", "26744"},
       {"optimizer", "NAME", "ncf: adam (dense, the reference) or lazy-adam (touched rows only)", "adam"},
       {"profile", "", "print a per-layer time breakdown", ""},
       {"json", "FILE", "also write the result as JSON (a file is replaced atomically; - prints it)", ""}});
  if (!options.parse(args)) return 0;
  const std::string model = options.get("model");
  if (model != "inception_v1" && model != "ncf")
    throw std::invalid_argument("--model: unknown model '" + model + "' (inception_v1, ncf)");
  if (!options.get("json").empty()) check_writable(options.get("json"));  // now, not after the run
  const int threads = static_cast<int>(options.get_int("threads", 0, 1024));
  const int steps = static_cast<int>(options.get_int("steps", 1, 1'000'000));
  const int warmup = static_cast<int>(options.get_int("warmup", 0, 1'000'000));
  const int batch = options.get("batch").empty() ? (model == "ncf" ? 2048 : 32)
                                                 : static_cast<int>(options.get_int("batch", 1, 1 << 24));
  models::set_compute_threads(threads);
  std::printf("bench-model: %s, batch %d, %d threads\n", model.c_str(), batch, models::compute_threads());

  models::Profile profile;
  models::Profile* active = options.has("profile") ? &profile : nullptr;
  nlohmann::json result = model == "ncf" ? bench_ncf(options, batch, steps, warmup, active)
                                         : bench_inception(options, batch, steps, warmup, active);
  result["threads"] = models::compute_threads();
  if (active) profile.print(std::cout);
  if (!options.get("json").empty()) write_file_atomically(options.get("json"), result.dump(2) + "\n");
  return 0;
}

}  // namespace syncbed::cli
