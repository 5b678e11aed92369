#include "models/layers/plain_weights.h"

namespace syncbed::models {

void PlainWeights::prepare(const memory::desc& plain, const memory::desc& bias, const memory::desc& forward,
                           const memory::desc& gradient) {
  plain_ = memory(plain, cpu_engine(), weights_.weights());
  plain_gradient_ = memory(plain, cpu_engine(), weights_.gradients());
  bias_mem_ = memory(bias, cpu_engine(), bias_.weights());
  bias_gradient_ = memory(bias, cpu_engine(), bias_.gradients());
  for_forward_.prepare(plain, forward);
  gradient_to_plain_.prepare(gradient, plain);
  gradient_ = gradient_to_plain_.is_identity() ? plain_gradient_ : memory(gradient, cpu_engine());
}

void PlainWeights::store_gradient() {
  if (!gradient_to_plain_.is_identity()) gradient_to_plain_.run_into(gradient_, plain_gradient_);
}

}  // namespace syncbed::models
