// Inception-v1 on synthetic ImageNet-shaped images or on this worker's share of
// Fashion-MNIST (images i with i % workers == rank, reshuffled every pass).
#include <algorithm>
#include <numeric>
#include <random>

#include "experiments/workloads/inception_v1/inception_v1.h"
#include "models/data/fashion_mnist.h"
#include "models/data/synthetic_images.h"
#include "models/inception_v1.h"

namespace syncbed::experiments {
namespace {

class ImageWorkload : public Workload {
 public:
  ImageWorkload(const WorkloadSpec& spec, int rank, int workers, bool load_data)
      : model_(inception_config(spec)), batch_(spec.model.batch) {
    if (!load_data) return;
    const std::uint64_t seed = spec.seed * 1'000'003 + rank;
    if (spec.data.kind == "synthetic") {
      // Drawn once and cycled: generating 4.8M normal pixels per batch would cost as much
      // as a tenth of the step it feeds.
      models::SyntheticImages generator(model_.config().channels, model_.config().image_size, model_.config().classes,
                                        seed);
      synthetic_.resize(kSyntheticBatches);
      for (auto& batch : synthetic_) generator.next(batch_, batch);
      return;
    }
    images_ = models::load_fashion_mnist(spec.data.path, "train");
    for (int i = rank; i < images_.count; i += workers) order_.push_back(i);
    if (static_cast<int>(order_.size()) < batch_)
      throw std::invalid_argument("fashion-mnist: " + std::to_string(order_.size()) + " images per worker are fewer " +
                                  "than the batch of " + std::to_string(batch_));
    rng_.seed(seed);
    next_ = order_.size();
  }

  std::span<float> weights() override { return model_.parameters(); }
  std::span<float> gradients() override { return model_.gradients(); }
  int items_per_iteration() const override { return batch_; }
  const char* item_unit() const override { return "images"; }
  std::vector<ParameterLayer> parameter_layers() const override { return layers_of(model_.parameter_block()); }

  double compute(long iteration) override { return model_.forward_backward(next_batch(iteration)); }
  double compute_overlapped(long iteration, const GradientsReady& ready) override {
    return model_.forward_backward(next_batch(iteration), ready);
  }

 private:
  const models::ImageBatch& next_batch(long iteration) {
    if (!synthetic_.empty()) return synthetic_[iteration % synthetic_.size()];
    if (next_ + batch_ > order_.size()) {
      std::shuffle(order_.begin(), order_.end(), rng_);
      next_ = 0;
    }
    models::fill_image_batch(images_, std::span(order_).subspan(next_, batch_), model_.config().image_size,
                             batch_data_);
    next_ += batch_;
    return batch_data_;
  }

  static models::InceptionConfig inception_config(const WorkloadSpec& spec) {
    models::InceptionConfig c;
    c.classes = spec.model.classes;
    c.image_size = spec.model.image_size;
    c.channels = spec.data.kind == "fashion-mnist" ? 1 : 3;
    c.winograd = spec.model.winograd;
    c.seed = spec.seed;
    return c;
  }

  models::InceptionV1 model_;
  int batch_;
  static constexpr int kSyntheticBatches = 4;
  std::vector<models::ImageBatch> synthetic_;
  models::LabelledImages images_;
  std::vector<std::int32_t> order_;
  std::size_t next_ = 0;
  std::mt19937_64 rng_;
  models::ImageBatch batch_data_;
};

}  // namespace

std::unique_ptr<Workload> make_inception_v1_workload(const WorkloadSpec& spec, int rank, int workers, bool load_data) {
  return std::make_unique<ImageWorkload>(spec, rank, workers, load_data);
}

}  // namespace syncbed::experiments
