// Seeded ImageNet-shaped batches (standard-normal pixels, uniform labels) for throughput
// runs, where the data must cost nothing and convergence is not measured.
#pragma once

#include <cstdint>
#include <random>

#include "models/image_batch.h"

namespace syncbed::models {

class SyntheticImages {
 public:
  SyntheticImages(int channels, int image_size, int classes, std::uint64_t seed);
  // Fills `batch` with the next `size` images.
  void next(int size, ImageBatch& batch);

 private:
  int channels_, image_size_, classes_;
  std::mt19937_64 rng_;
};

}  // namespace syncbed::models
