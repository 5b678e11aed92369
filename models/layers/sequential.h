// Layers applied in order; gradients flow back in reverse.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/layers/layer.h"

namespace syncbed::models {

class Sequential : public Layer {
 public:
  explicit Sequential(std::string name) : name_(std::move(name)) {}

  template <typename L, typename... Args>
  L& add(Args&&... args) {
    auto layer = std::make_unique<L>(std::forward<Args>(args)...);
    L& ref = *layer;
    layers_.push_back(std::move(layer));
    return ref;
  }

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;
  // The same, calling after_layer(i) once layer i's backward is done (last layer first).
  const memory& backward(const memory& diff_dst, const std::function<void(std::size_t)>& after_layer);
  double forward_flops() const override;
  std::uint64_t activation_pattern() const override;

  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

 private:
  std::string name_;
  std::vector<std::unique_ptr<Layer>> layers_;
};

}  // namespace syncbed::models
