// Softmax followed by cross-entropy against integer labels, averaged over the batch.
// Computed together because the gradient is simply (softmax - one_hot) / batch.
#pragma once

#include <cstdint>
#include <span>

#include "models/dnnl_context.h"

namespace syncbed::models {

class SoftmaxCrossEntropy {
 public:
  // `logits` is a plain N x C matrix. Returns the mean loss and keeps the gradient.
  double forward_backward(const memory& logits, std::span<const std::int32_t> labels);
  const memory& diff_logits() const { return diff_; }

 private:
  memory::desc desc_;
  memory diff_;
};

}  // namespace syncbed::models
