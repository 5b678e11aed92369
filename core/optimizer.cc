#include "core/optimizer.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace syncbed {

std::string OptimizerConfig::describe() const {
  if (kind == Kind::kAdam)
    return "adam(lr=" + std::to_string(learning_rate) + ", b1=" + std::to_string(beta1) +
           ", b2=" + std::to_string(beta2) + ", wd=" + std::to_string(weight_decay) + ")";
  return "sgd(lr=" + std::to_string(learning_rate) + ", momentum=" + std::to_string(momentum) +
         ", wd=" + std::to_string(weight_decay) + ")";
}

Optimizer::Optimizer(const OptimizerConfig& config, std::size_t size) : config_(config), size_(size) {
  const bool needs_first = config.kind == OptimizerConfig::Kind::kAdam || config.momentum != 0.0f;
  if (needs_first) {
    first_ = AlignedBuffer<float>(size);
    if (size) std::memset(first_.data(), 0, size * sizeof(float));
  }
  if (config.kind == OptimizerConfig::Kind::kAdam) {
    second_ = AlignedBuffer<float>(size);
    if (size) std::memset(second_.data(), 0, size * sizeof(float));
  }
}

void Optimizer::step(std::span<float> weights, std::span<const float> gradient) {
  if (weights.size() != size_ || gradient.size() != size_)
    throw std::invalid_argument("optimizer step on " + std::to_string(weights.size()) + " weights and " +
                                std::to_string(gradient.size()) + " gradients; its state holds " +
                                std::to_string(size_));
  begin_step();
  update(0, weights, gradient);
}

void Optimizer::save_state(std::span<float> out) const {
  if (out.size() != state_size())
    throw std::invalid_argument("optimizer state is " + std::to_string(state_size()) + " floats, not " +
                                std::to_string(out.size()));
  if (first_.size()) std::memcpy(out.data(), first_.data(), first_.size() * sizeof(float));
  if (second_.size()) std::memcpy(out.data() + first_.size(), second_.data(), second_.size() * sizeof(float));
}

void Optimizer::load_state(std::span<const float> in, long steps) {
  if (in.size() != state_size())
    throw std::invalid_argument("optimizer state is " + std::to_string(state_size()) + " floats, not " +
                                std::to_string(in.size()));
  if (first_.size()) std::memcpy(first_.data(), in.data(), first_.size() * sizeof(float));
  if (second_.size()) std::memcpy(second_.data(), in.data() + first_.size(), second_.size() * sizeof(float));
  steps_ = steps;
}

void Optimizer::begin_step() {
  ++steps_;
  // Once per step, not per update() call: a lazy optimizer calls update() per touched row.
  correction1_ = 1.0 - std::pow(double(config_.beta1), double(steps_));
  correction2_ = 1.0 - std::pow(double(config_.beta2), double(steps_));
}

void Optimizer::prefetch(std::size_t offset, std::size_t count) const {
  constexpr std::size_t kLine = 64 / sizeof(float);
  for (const AlignedBuffer<float>* state : {&first_, &second_}) {
    if (state->size() < offset + count) continue;  // no such state (plain SGD)
    for (std::size_t k = 0; k < count; k += kLine) __builtin_prefetch(state->data() + offset + k, 1);
  }
}

void Optimizer::update(std::size_t offset, std::span<float> weights, std::span<const float> gradient) {
  const std::size_t n = weights.size();
  if (gradient.size() != n || offset + n > size_)
    throw std::invalid_argument("optimizer update of [" + std::to_string(offset) + ", +" + std::to_string(n) +
                                ") with " + std::to_string(gradient.size()) + " gradients; its state holds " +
                                std::to_string(size_));
  float* w = weights.data();
  const float* g = gradient.data();
  const float lr = config_.learning_rate;
  const float wd = config_.weight_decay;
  if (config_.kind == OptimizerConfig::Kind::kSgd) {
    if (first_.size() == 0) {
      for (std::size_t i = 0; i < n; ++i) w[i] -= lr * (g[i] + wd * w[i]);
      return;
    }
    float* v = first_.data() + offset;
    const float momentum = config_.momentum;
    for (std::size_t i = 0; i < n; ++i) {
      v[i] = momentum * v[i] + (g[i] + wd * w[i]);
      w[i] -= lr * v[i];
    }
    return;
  }
  float* m = first_.data() + offset;
  float* v = second_.data() + offset;
  const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon;
  // Rounded to float once here: each is within 2^-24 of the exact 1/correction.
  const float inverse1 = float(1.0 / correction1_), inverse2 = float(1.0 / correction2_);
  for (std::size_t i = 0; i < n; ++i) {
    const float grad = g[i] + wd * w[i];
    m[i] = b1 * m[i] + (1.0f - b1) * grad;
    v[i] = b2 * v[i] + (1.0f - b2) * grad * grad;
    w[i] -= lr * (m[i] * inverse1) / (std::sqrt(v[i] * inverse2) + eps);
  }
}

}  // namespace syncbed
