// Optimizers that update a *slice* of the weights with slice-sized state, so the same
// code serves replicated use (ring: every worker updates everything) and sharded use
// (BigDL, parameter server: each owner updates its shard, like ZeRO-1).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "core/buffer.h"

namespace syncbed {

struct OptimizerConfig {
  enum class Kind { kSgd, kAdam };
  Kind kind = Kind::kSgd;
  float learning_rate = 0.01f;
  float momentum = 0.0f;      // SGD
  float weight_decay = 0.0f;  // L2, added to the gradient (both kinds)
  float beta1 = 0.9f;         // Adam
  float beta2 = 0.999f;
  float epsilon = 1e-8f;

  std::string describe() const;
};

class Optimizer {
 public:
  // State for `size` parameters, allocated once and zeroed.
  Optimizer(const OptimizerConfig& config, std::size_t size);

  // One step: weights -= f(gradient, state). Both spans have the constructed size.
  // SGD:  g += wd*w; v = momentum*v + g; w -= lr*v   (no v when momentum is 0)
  // Adam: g += wd*w; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
  //       w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
  void step(std::span<float> weights, std::span<const float> gradient);

  // The same step in pieces, so an owner can update each segment as soon as its sum is
  // complete: begin_step() once, then update() on disjoint ranges that together cover
  // the slice, `offset` being where the range starts within it. Bitwise equal to step().
  void begin_step();
  void update(std::size_t offset, std::span<float> weights, std::span<const float> gradient);

  // Hints that update() will soon touch [offset, offset + count): asks the CPU to start
  // loading the state, so updates of scattered small ranges overlap their cache misses.
  void prefetch(std::size_t offset, std::size_t count) const;
  std::size_t size() const { return size_; }
  long steps() const { return steps_; }

  // The whole state as one flat array (velocity or m, then v) plus the step count, so it
  // can live outside the optimizer between steps: BigDL's tasks keep it in block stores.
  std::size_t state_size() const { return first_.size() + second_.size(); }
  void save_state(std::span<float> out) const;
  void load_state(std::span<const float> in, long steps);

 private:
  OptimizerConfig config_;
  std::size_t size_;
  long steps_ = 0;
  // Adam's bias corrections 1 - beta^t for this step, computed in double as PyTorch does:
  // 1 - float(beta^t) would lose up to ~1e-5 of the step to rounding when beta^t is near 1.
  double correction1_ = 1, correction2_ = 1;
  AlignedBuffer<float> first_;   // SGD velocity, Adam m
  AlignedBuffer<float> second_;  // Adam v
};

}  // namespace syncbed
