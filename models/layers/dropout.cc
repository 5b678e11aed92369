#include "models/layers/dropout.h"

#include <stdexcept>

#include "models/profile.h"

namespace syncbed::models {

Dropout::Dropout(std::string name, float drop_probability, std::uint64_t seed)
    : name_(std::move(name)), p_(drop_probability), rng_(static_cast<std::uint32_t>(seed)) {
  if (p_ < 0 || p_ >= 1) throw std::invalid_argument(name_ + ": drop probability must be in [0, 1)");
}

memory::desc Dropout::prepare(const memory::desc& src, bool) {
  if (src == desc_ && dst_) return desc_;
  if (src.dims().size() != 2) throw std::invalid_argument(name_ + ": expects a plain 2-D input");
  desc_ = src;
  dst_ = memory(src, cpu_engine());
  diff_src_ = memory(src, cpu_engine());
  mask_.assign(src.get_size() / sizeof(float), 0.0f);
  return desc_;
}

const memory& Dropout::forward(const memory& src, bool training) {
  active_ = training && enabled_ && p_ > 0;
  if (!active_) return src;
  ProfileScope scope(name_, "dropout", Phase::kForward);
  const float keep_scale = 1.0f / (1.0f - p_);
  std::bernoulli_distribution keep(1.0 - p_);
  const float* x = static_cast<const float*>(src.get_data_handle());
  float* y = static_cast<float*>(dst_.get_data_handle());
  for (std::size_t i = 0; i < mask_.size(); ++i) {
    mask_[i] = keep(rng_) ? keep_scale : 0.0f;
    y[i] = x[i] * mask_[i];
  }
  return dst_;
}

const memory& Dropout::backward(const memory& diff_dst) {
  if (!active_) return diff_dst;
  ProfileScope scope(name_, "dropout", Phase::kBackward);
  const float* g = static_cast<const float*>(diff_dst.get_data_handle());
  float* out = static_cast<float*>(diff_src_.get_data_handle());
  for (std::size_t i = 0; i < mask_.size(); ++i) out[i] = g[i] * mask_[i];
  return diff_src_;
}

}  // namespace syncbed::models
