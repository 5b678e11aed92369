// Emulated compute: the worker sleeps for the calibrated compute time of one iteration
// instead of computing, so N can exceed the cores while the gradients (the model's real
// size) are still synchronized for real.
#include <chrono>
#include <cstring>
#include <thread>

#include "core/buffer.h"
#include "experiments/workloads/emulated_workload.h"

namespace syncbed::experiments {
namespace {

class EmulatedWorkload : public Workload {
 public:
  EmulatedWorkload(std::unique_ptr<Workload> model, double milliseconds, int rank, int batch)
      : model_(std::move(model)),
        duration_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double, std::milli>(milliseconds))),
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

  double compute(long) override {
    const auto until = std::chrono::steady_clock::now() + duration_;
    // The strategy may have overwritten the gradient: restore this worker's.
    std::memcpy(model_->gradients().data(), pattern_.data(), pattern_.size() * sizeof(float));
    std::this_thread::sleep_until(until);
    return 0;
  }

 private:
  std::unique_ptr<Workload> model_;
  std::chrono::steady_clock::duration duration_;
  int batch_;
  AlignedBuffer<float> pattern_;
};

}  // namespace

std::unique_ptr<Workload> make_emulated_workload(std::unique_ptr<Workload> model, double milliseconds, int rank,
                                                 int batch) {
  return std::make_unique<EmulatedWorkload>(std::move(model), milliseconds, rank, batch);
}

}  // namespace syncbed::experiments
