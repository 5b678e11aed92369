// Emulated compute: the worker sleeps for the calibrated compute time of one iteration
// instead of computing, so N can exceed the cores while the gradients (the model's real
// size) are still synchronized for real.
#include "experiments/workloads/emulated_workload.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "core/buffer.h"

namespace syncbed::experiments {
namespace {

using Clock = std::chrono::steady_clock;

Clock::duration milliseconds(double ms) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

class EmulatedWorkload : public Workload {
 public:
  EmulatedWorkload(std::unique_ptr<Workload> model, const EmulatedCompute& compute, int rank, int batch)
      : model_(std::move(model)),
        duration_(milliseconds(compute.total_ms)),
        releases_(release_schedule(model_->parameter_layers(), compute)),
        batch_(batch),
        pattern_(model_->gradients().size()) {
    // Small, rank- and index-dependent values: the weights drift slowly and stay finite.
    for (std::size_t i = 0; i < pattern_.size(); ++i)
      pattern_[i] = 1e-4f * static_cast<float>(int((i * 2654435761u + rank * 40503u) % 2001) - 1000) / 1000;
  }

  std::span<float> weights() override { return model_->weights(); }
  std::span<float> gradients() override { return model_->gradients(); }
  int items_per_iteration() const override { return batch_; }
  const char* item_unit() const override { return model_->item_unit(); }
  std::vector<ParameterLayer> parameter_layers() const override { return model_->parameter_layers(); }

  double compute(long) override {
    const auto until = Clock::now() + duration_;
    restore_gradient();
    std::this_thread::sleep_until(until);
    return 0;
  }

  double compute_overlapped(long, const GradientsReady& ready) override {
    const auto start = Clock::now();
    restore_gradient();
    for (const GradientRelease& release : releases_) {
      std::this_thread::sleep_until(start + milliseconds(release.at_ms));
      ready(release.begin);
    }
    return 0;
  }

 private:
  // The strategy may have overwritten the gradient: restore this worker's.
  void restore_gradient() { std::memcpy(model_->gradients().data(), pattern_.data(), pattern_.size() * sizeof(float)); }

  std::unique_ptr<Workload> model_;
  Clock::duration duration_;
  std::vector<GradientRelease> releases_;
  int batch_;
  AlignedBuffer<float> pattern_;
};

}  // namespace

std::vector<GradientRelease> release_schedule(const std::vector<ParameterLayer>& layers,
                                              const EmulatedCompute& compute) {
  const double forward =
      compute.forward_ms >= 0 ? std::min(compute.forward_ms, compute.total_ms) : compute.total_ms / 3;
  // Each layer's weight in backward: its calibrated time, or else its parameter count.
  std::vector<double> weights;
  double total_weight = 0;
  for (const auto& layer : layers) {
    const auto it = compute.layer_backward_ms.find(layer.name);
    weights.push_back(it != compute.layer_backward_ms.end() ? it->second : 0);
    total_weight += weights.back();
  }
  if (total_weight <= 0) {
    total_weight = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) total_weight += weights[i] = static_cast<double>(layers[i].size);
  }
  std::vector<GradientRelease> releases;
  double spent = 0;
  for (std::size_t i = layers.size(); i-- > 1;) {
    spent += total_weight > 0 ? weights[i] / total_weight : 0;
    releases.push_back({layers[i].begin, forward + spent * (compute.total_ms - forward)});
  }
  releases.push_back({0, compute.total_ms});  // the first layer, and whatever precedes it
  return releases;
}

std::unique_ptr<Workload> make_emulated_workload(std::unique_ptr<Workload> model, const EmulatedCompute& compute,
                                                 int rank, int batch) {
  return std::make_unique<EmulatedWorkload>(std::move(model), compute, rank, batch);
}

}  // namespace syncbed::experiments
