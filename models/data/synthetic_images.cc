#include "models/data/synthetic_images.h"

namespace syncbed::models {

SyntheticImages::SyntheticImages(int channels, int image_size, int classes, std::uint64_t seed)
    : channels_(channels), image_size_(image_size), classes_(classes), rng_(seed) {}

void SyntheticImages::next(int size, ImageBatch& batch) {
  batch.resize(size, channels_, image_size_, image_size_);
  std::normal_distribution<float> pixel(0.0f, 1.0f);
  std::uniform_int_distribution<std::int32_t> label(0, classes_ - 1);
  for (float& p : batch.pixels) p = pixel(rng_);
  for (auto& l : batch.labels) l = label(rng_);
}

}  // namespace syncbed::models
