// A layer's weights and bias as they live in the flat buffer (plain order), handed to
// oneDNN primitives in the layouts they chose and, for the gradient, brought back. Each
// direction goes through a cached reorder that is skipped when the layouts agree.
#pragma once

#include "models/dnnl_context.h"
#include "models/parameter_block.h"

namespace syncbed::models {

class PlainWeights {
 public:
  PlainWeights() = default;
  PlainWeights(ParameterView weights, ParameterView bias) : weights_(weights), bias_(bias) {}

  // `plain` and `bias` describe the buffer's layout; `forward` and `gradient` the layouts
  // the forward and backward-weights primitives chose.
  void prepare(const memory::desc& plain, const memory::desc& bias, const memory::desc& forward,
               const memory::desc& gradient);
  void prepare_backward_data(const memory::desc& layout) { for_backward_data_.prepare(plain_.get_desc(), layout); }

  const memory& for_forward() { return for_forward_.run(plain_); }
  const memory& for_backward_data() { return for_backward_data_.run(plain_); }
  const memory& bias() const { return bias_mem_; }
  const memory& bias_gradient() const { return bias_gradient_; }
  // Where backward-weights writes; store_gradient() then moves it into the flat buffer.
  const memory& gradient() const { return gradient_; }
  void store_gradient();

 private:
  ParameterView weights_, bias_;
  memory plain_, plain_gradient_, gradient_, bias_mem_, bias_gradient_;
  CachedReorder for_forward_, for_backward_data_, gradient_to_plain_;
};

}  // namespace syncbed::models
