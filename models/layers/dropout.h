// Inverted dropout on a plain matrix: in training each element is kept with probability
// 1-p and scaled by 1/(1-p); at evaluation it is the identity. The mask comes from a
// seeded generator, so a run is reproducible.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "models/layers/layer.h"

namespace syncbed::models {

class Dropout : public Layer {
 public:
  Dropout(std::string name, float drop_probability, std::uint64_t seed);

  const std::string& name() const override { return name_; }
  memory::desc prepare(const memory::desc& src, bool needs_diff_src) override;
  const memory& forward(const memory& src, bool training) override;
  const memory& backward(const memory& diff_dst) override;

  // Turned off, training passes values through unchanged (the gradient checks need a
  // deterministic function).
  void set_enabled(bool enabled) { enabled_ = enabled; }

 private:
  std::string name_;
  float p_;
  bool enabled_ = true;
  bool active_ = false;  // whether the last forward applied a mask
  std::mt19937 rng_;
  std::vector<float> mask_;
  memory::desc desc_;
  memory src_, dst_, diff_src_;
};

}  // namespace syncbed::models
