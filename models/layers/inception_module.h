// An Inception module: four branches over the same input (1x1; 1x1 -> 3x3; 1x1 -> 5x5;
// 3x3 max pool -> 1x1), their outputs concatenated along channels. Backward splits the
// gradient by channel range and sums the four input gradients in one pass.
#pragma once

#include <array>
#include <string>

#include "models/layers/sequential.h"
#include "models/parameter_block.h"

namespace syncbed::models {

struct InceptionWidths {
  int conv1x1, reduce3x3, conv3x3, reduce5x5, conv5x5, pool_proj;
  int output_channels() const { return conv1x1 + conv3x3 + conv5x5 + pool_proj; }
};

class InceptionModule : public Layer {
 public:
  // `winograd`: the 3x3 convolution uses Winograd kernels where available (ConvShape).
  InceptionModule(std::string name, int in_channels, InceptionWidths widths, ParameterBlock& params,
                  bool winograd = false);

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;
  double forward_flops() const override;
  std::uint64_t activation_pattern() const override;

 private:
  std::string name_, concat_name_, sum_name_;
  std::array<Sequential, 4> branches_;
  memory::desc src_desc_;
  bool needs_diff_src_ = false;
  dnnl::concat concat_;
  dnnl::sum sum_;
  memory dst_, diff_src_;
  std::array<memory, 4> branch_dst_, branch_diff_;
  std::array<memory::desc, 4> branch_grad_views_;  // channel slices of the output gradient
  std::array<CachedReorder, 4> split_;
};

}  // namespace syncbed::models
