// Fully connected layer y = x W^T + b on oneDNN's inner product, plain row-major input and
// output; weights in the flat buffer as plain (out, in).
#pragma once

#include <string>

#include "models/layers/layer.h"
#include "models/layers/plain_weights.h"
#include "models/parameter_block.h"

namespace syncbed::models {

class InnerProduct : public Layer {
 public:
  InnerProduct(std::string name, int inputs, int outputs, ParameterBlock& params);

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;
  double forward_flops() const override { return flops_; }

 private:
  std::string name_;
  int inputs_, outputs_;
  PlainWeights weights_;
  memory::desc src_desc_;
  bool needs_diff_src_ = false;
  double flops_ = 0;
  dnnl::inner_product_forward forward_;
  dnnl::inner_product_backward_weights backward_weights_;
  dnnl::inner_product_backward_data backward_data_;
  memory src_, dst_, diff_src_;
};

}  // namespace syncbed::models
