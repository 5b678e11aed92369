#include "models/parameter_block.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace syncbed::models {

ParameterView ParameterBlock::add(const std::string& name, std::size_t count, Init init) {
  if (allocated_) throw std::logic_error("parameter '" + name + "' registered after allocation");
  entries_.push_back({name, size_, count, init});
  ParameterView view(this, size_, count);
  size_ += count;
  return view;
}

void ParameterBlock::allocate(std::uint64_t seed) {
  if (allocated_) throw std::logic_error("parameters allocated twice");
  weights_ = AlignedBuffer<float>(size_);
  gradients_ = AlignedBuffer<float>(size_);
  std::fill_n(gradients_.data(), size_, 0.0f);
  allocated_ = true;
  initialize(seed);
}

void ParameterBlock::initialize(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (const Entry& e : entries_) {
    float* w = weights_.data() + e.offset;
    switch (e.init.kind) {
      case Init::Kind::kConstant:
        std::fill_n(w, e.count, e.init.value);
        break;
      case Init::Kind::kXavierUniform:
      case Init::Kind::kUniform: {
        const double half =
            e.init.kind == Init::Kind::kUniform ? e.init.value : std::sqrt(6.0 / (e.init.fan_in + e.init.fan_out));
        std::uniform_real_distribution<float> dist(static_cast<float>(-half), static_cast<float>(half));
        for (std::size_t i = 0; i < e.count; ++i) w[i] = dist(rng);
        break;
      }
      case Init::Kind::kNormal: {
        std::normal_distribution<float> dist(0.0f, e.init.value);
        for (std::size_t i = 0; i < e.count; ++i) w[i] = dist(rng);
        break;
      }
    }
  }
}

}  // namespace syncbed::models
