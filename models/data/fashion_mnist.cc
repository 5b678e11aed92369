#include "models/data/fashion_mnist.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "models/data/idx_file.h"

namespace syncbed::models {

namespace {

// Fashion-MNIST's pixel mean and standard deviation over the training set, on a 0..1 scale.
constexpr float kMean = 0.2860f, kStd = 0.3530f;
constexpr int kClasses = 10;

}  // namespace

LabelledImages load_fashion_mnist(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "t10k")
    throw std::invalid_argument("fashion-mnist: unknown split '" + split + "' (train, t10k)");
  const std::string images_path = dir + "/" + split + "-images-idx3-ubyte.gz";
  const std::string labels_path = dir + "/" + split + "-labels-idx1-ubyte.gz";
  for (const auto& path : {images_path, labels_path})
    if (!std::filesystem::exists(path))
      throw std::runtime_error(path + ": not found (install Debian's dataset-fashion-mnist: scripts/setup.sh does)");
  IdxArray images = read_idx_bytes(images_path);
  IdxArray labels = read_idx_bytes(labels_path);
  if (images.dims.size() != 3) throw std::runtime_error(images_path + ": expected 3 dimensions (count, rows, cols)");
  if (labels.dims.size() != 1) throw std::runtime_error(labels_path + ": expected 1 dimension (count)");
  if (images.dims[0] != labels.dims[0])
    throw std::runtime_error(images_path + ": " + std::to_string(images.dims[0]) + " images but " +
                             std::to_string(labels.dims[0]) + " labels");
  for (std::uint8_t label : labels.values)
    if (label >= kClasses) throw std::runtime_error(labels_path + ": label " + std::to_string(label) + " out of 0..9");
  LabelledImages set;
  set.count = static_cast<int>(images.dims[0]);
  set.rows = static_cast<int>(images.dims[1]);
  set.cols = static_cast<int>(images.dims[2]);
  set.classes = kClasses;
  set.pixels = std::move(images.values);
  set.labels = std::move(labels.values);
  return set;
}

void fill_image_batch(const LabelledImages& set, std::span<const std::int32_t> indices, int size, ImageBatch& batch) {
  if (size < set.rows || size < set.cols)
    throw std::invalid_argument("image size " + std::to_string(size) + " is smaller than the dataset's " +
                                std::to_string(set.rows) + "x" + std::to_string(set.cols));
  const int scale = std::min(size / set.rows, size / set.cols);
  const int top = (size - set.rows * scale) / 2, left = (size - set.cols * scale) / 2;
  const float background = (0.0f - kMean) / kStd;
  float lookup[256];
  for (int v = 0; v < 256; ++v) lookup[v] = (float(v) / 255.0f - kMean) / kStd;

  const int n = static_cast<int>(indices.size());
  batch.resize(n, 1, size, size);
  for (int b = 0; b < n; ++b) {
    const std::int32_t index = indices[b];
    if (index < 0 || index >= set.count)
      throw std::out_of_range("image index " + std::to_string(index) + " out of range");
    const std::uint8_t* image = set.pixels.data() + std::size_t(index) * set.rows * set.cols;
    float* out = batch.pixels.data() + std::size_t(b) * size * size;
    std::fill_n(out, std::size_t(size) * size, background);
    for (int y = 0; y < set.rows * scale; ++y)
      for (int x = 0; x < set.cols * scale; ++x)
        out[(top + y) * size + left + x] = lookup[image[(y / scale) * set.cols + x / scale]];
    batch.labels[b] = set.labels[index];
  }
}

}  // namespace syncbed::models
