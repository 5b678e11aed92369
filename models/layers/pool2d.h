// Max or average pooling. `ceil` rounds the output size up like Torch's :ceil() (which
// BigDL's Inception-v1 uses), implemented as extra padding on the bottom/right that the
// kernel never reads beyond the input.
#pragma once

#include <string>

#include "models/layers/layer.h"

namespace syncbed::models {

struct PoolShape {
  enum class Kind { kMax, kAverage };
  Kind kind = Kind::kMax;
  int kernel = 3, stride = 2, pad = 0;
  bool ceil = true;
  bool global = false;  // kernel = the whole input (an average pool at any input size)
};

class Pool2d : public Layer {
 public:
  Pool2d(std::string name, PoolShape shape) : name_(std::move(name)), shape_(shape) {}

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;
  std::uint64_t activation_pattern() const override;

  // Output size of one spatial dimension, as prepare() computes it.
  static long output_size(long in, int kernel, int stride, int pad, bool ceil);

 private:
  std::string name_;
  PoolShape shape_;
  memory::desc src_desc_;
  bool needs_diff_src_ = false;
  dnnl::pooling_forward forward_;
  dnnl::pooling_backward backward_;
  memory dst_, workspace_, diff_src_;
};

}  // namespace syncbed::models
