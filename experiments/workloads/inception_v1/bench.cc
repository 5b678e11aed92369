// `syncbed bench-model --model inception_v1`: training throughput on synthetic images, with
// an optional per-layer time breakdown.
#include <cstdio>

#include "core/clock.h"
#include "core/median.h"
#include "core/optimizer.h"
#include "experiments/workloads/inception_v1/inception_v1.h"
#include "models/data/synthetic_images.h"
#include "models/inception_v1.h"
#include "models/layers/conv2d.h"

namespace syncbed::experiments {

std::vector<cli::OptionSpec> inception_v1_bench_options() {
  return {
      {"classes", "C", "inception_v1: output classes", "1000"},
      {"image-size", "S", "inception_v1: square input size", "224"},
      {"conv", "ALGO", "inception_v1: winograd (3x3 convolutions on Winograd kernels where oneDNN has them) or direct",
       "winograd"}};
}

nlohmann::json bench_inception_v1(const cli::Options& options, int batch, int steps, int warmup,
                                  models::Profile* profile) {
  models::InceptionConfig config;
  config.classes = static_cast<int>(options.get_int("classes", 1, 100'000));
  config.image_size = static_cast<int>(options.get_int("image-size", 48, 1024));
  const std::string conv = options.get("conv");
  if (conv != "winograd" && conv != "direct")
    throw std::invalid_argument("--conv: unknown algorithm '" + conv + "' (winograd, direct)");
  config.winograd = conv == "winograd";
  const bool winograd = config.winograd && models::winograd_available();
  if (config.winograd && !winograd)
    std::printf("--conv winograd: this CPU has no oneDNN Winograd kernels; every convolution runs direct\n");
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
  std::vector<double> times;
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
      times.push_back(seconds);
      if (profile) profile->add_total(seconds, 1);
    }
    std::printf("  step %3d%s  loss %.4f  %.1f ms  %.1f images/s\n", step + 1, timed ? "" : " (warm-up)", loss,
                seconds * 1e3, batch / seconds);
    std::fflush(stdout);
  }
  const double median = median_of(times);
  const double images_per_s = batch / median;
  // Winograd multiplies less than the direct algorithm: the rate counts direct FLOPs.
  std::printf("median step %.1f ms: %.1f images/s, %.1f GFLOP/s%s\n", median * 1e3, images_per_s,
              images_per_s * train_gflop, winograd ? " (direct-convolution FLOPs: effective rate)" : "");
  return {{"model", "inception_v1"},
          {"batch", batch},
          {"image_size", config.image_size},
          {"classes", config.classes},
          {"conv", conv},
          {"winograd_used", winograd},
          {"parameters", model.parameters().size()},
          {"median_step_ms", median * 1e3},
          {"images_per_s", images_per_s},
          {"gflop_per_s", images_per_s * train_gflop}};
}

}  // namespace syncbed::experiments
