// 2-D convolution with bias and an optional fused ReLU, on oneDNN primitives. The weights
// live in the model's flat buffer in plain OIHW order; the primitives get them in the
// layout they chose (format `any`) through cached reorders, one per step.
#pragma once

#include <string>

#include "models/layers/layer.h"
#include "models/layers/plain_weights.h"
#include "models/parameter_block.h"

namespace syncbed::models {

struct ConvShape {
  int in_channels, out_channels, kernel, stride = 1, pad = 0;
  bool relu = true;
  // Use oneDNN's Winograd F(4x4, 3x3) kernels where they exist (3x3, stride 1, AVX-512):
  // 2.25x fewer multiplies than direct convolution, at a slightly larger float rounding
  // error. Other shapes, and CPUs without them, run the direct algorithm.
  bool winograd = false;
};

// Whether this CPU has oneDNN Winograd kernels (tried on a typical 3x3 shape): without
// them every ConvShape::winograd convolution runs the direct algorithm.
bool winograd_available();

class Conv2d : public Layer {
 public:
  Conv2d(std::string name, ConvShape shape, ParameterBlock& params);

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;
  double forward_flops() const override { return flops_; }
  std::uint64_t activation_pattern() const override;
  // Whether the prepared primitives run Winograd (false before prepare()).
  bool uses_winograd() const { return uses_winograd_; }

 private:
  std::string name_;
  ConvShape shape_;
  PlainWeights weights_;

  memory::desc src_desc_;
  bool needs_diff_src_ = false;
  bool uses_winograd_ = false;
  double flops_ = 0;

  dnnl::convolution_forward forward_;
  dnnl::convolution_backward_weights backward_weights_;
  dnnl::convolution_backward_data backward_data_;
  dnnl::eltwise_backward relu_backward_;

  memory src_, dst_, diff_pre_relu_, diff_src_;
};

}  // namespace syncbed::models
