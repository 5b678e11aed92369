// N x C x H x W in any layout -> a plain row-major N x (C*H*W) matrix, for the layers
// after the convolutions (dropout, inner product, loss), and back for the gradient.
#pragma once

#include <string>

#include "models/layers/layer.h"

namespace syncbed::models {

class Flatten : public Layer {
 public:
  explicit Flatten(std::string name) : name_(std::move(name)) {}

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;

 private:
  std::string name_;
  memory::desc src_desc_;
  bool needs_diff_src_ = false;
  CachedReorder to_plain_, from_plain_;
  memory plain_4d_, dst_, diff_plain_4d_, diff_src_;
};

}  // namespace syncbed::models
