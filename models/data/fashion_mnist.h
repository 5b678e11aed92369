// Fashion-MNIST (Zalando's 28x28 grey clothing images, 10 classes) from the IDX files of
// Debian's dataset-fashion-mnist package, and batches of it shaped for a model's input.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/image_batch.h"

namespace syncbed::models {

struct LabelledImages {
  int count = 0, rows = 0, cols = 0, classes = 0;
  std::vector<std::uint8_t> pixels;  // count x rows x cols
  std::vector<std::uint8_t> labels;
};

// Where dataset-fashion-mnist installs its files.
inline const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Loads the "train" (60,000 images) or "t10k" (10,000) split from `dir`. Throws
// std::runtime_error naming the file and the reason (and the package to install when
// the files are missing).
LabelledImages load_fashion_mnist(const std::string& dir, const std::string& split);

// Fills `batch` with the images `indices` of `set` as 1 x size x size inputs: each image is
// scaled up by the largest whole factor that fits (nearest neighbour), centred, and the
// border padded with background; pixels are standardised with the dataset's mean and
// standard deviation. Requires size >= the image size.
void fill_image_batch(const LabelledImages& set, std::span<const std::int32_t> indices, int size, ImageBatch& batch);

}  // namespace syncbed::models
