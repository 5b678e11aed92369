// A batch of images for the convolutional models: plain N x C x H x W floats and one class
// label per image.
#pragma once

#include <cstdint>
#include <vector>

namespace syncbed::models {

struct ImageBatch {
  int size = 0, channels = 0, height = 0, width = 0;
  std::vector<float> pixels;
  std::vector<std::int32_t> labels;

  void resize(int n, int c, int h, int w) {
    size = n;
    channels = c;
    height = h;
    width = w;
    pixels.resize(std::size_t(n) * c * h * w);
    labels.resize(n);
  }
};

}  // namespace syncbed::models
