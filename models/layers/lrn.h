// Local response normalisation across channels, as BigDL's SpatialCrossMapLRN(5, 1e-4,
// 0.75, 1): x / (k + alpha/size * sum of x^2 over `size` neighbouring channels)^beta.
#pragma once

#include <string>

#include "models/layers/layer.h"

namespace syncbed::models {

struct LrnShape {
  int size = 5;
  float alpha = 1e-4f, beta = 0.75f, k = 1.0f;
};

class Lrn : public Layer {
 public:
  Lrn(std::string name, LrnShape shape) : name_(std::move(name)), shape_(shape) {}

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;

 private:
  std::string name_;
  LrnShape shape_;
  memory::desc src_desc_;
  bool needs_diff_src_ = false;
  dnnl::lrn_forward forward_;
  dnnl::lrn_backward backward_;
  memory src_, dst_, workspace_, diff_src_;
};

}  // namespace syncbed::models
