// All parameters of a model in one contiguous fp32 buffer, and their gradients in another
// of the same size, so a sync strategy moves one flat vector. Layers register their
// tensors while the model is built and keep a ParameterView (an offset, not a pointer:
// the buffers are allocated once registration is over).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/buffer.h"

namespace syncbed::models {

// How a tensor starts. Xavier (Glorot) uniform is what BigDL's Inception-v1 uses for
// weights; fan_in/fan_out are those of one output unit.
struct Init {
  enum class Kind { kConstant, kXavierUniform, kUniform, kNormal };
  Kind kind = Kind::kConstant;
  float value = 0.0f;  // constant value, uniform half-width or normal stddev
  double fan_in = 0, fan_out = 0;

  static Init constant(float v) { return {Kind::kConstant, v}; }
  static Init xavier(double fan_in, double fan_out) { return {Kind::kXavierUniform, 0, fan_in, fan_out}; }
  static Init uniform(float half_width) { return {Kind::kUniform, half_width}; }
  static Init normal(float stddev) { return {Kind::kNormal, stddev}; }
};

class ParameterBlock;

class ParameterView {
 public:
  ParameterView() = default;
  ParameterView(ParameterBlock* block, std::size_t offset, std::size_t count)
      : block_(block), offset_(offset), count_(count) {}
  float* weights() const;
  float* gradients() const;
  std::size_t offset() const { return offset_; }
  std::size_t count() const { return count_; }

 private:
  ParameterBlock* block_ = nullptr;
  std::size_t offset_ = 0;
  std::size_t count_ = 0;
};

class ParameterBlock {
 public:
  ParameterBlock() = default;
  ParameterBlock(const ParameterBlock&) = delete;
  ParameterBlock& operator=(const ParameterBlock&) = delete;

  // Registers a tensor; only valid before allocate().
  ParameterView add(const std::string& name, std::size_t count, Init init);
  // Allocates both buffers and initialises the weights from `seed`, tensor by tensor in
  // registration order, so the same model and seed give bitwise the same weights.
  void allocate(std::uint64_t seed);
  // Re-runs the initialisation (same rule as allocate()).
  void initialize(std::uint64_t seed);

  std::span<float> weights() { return weights_.span(); }
  std::span<float> gradients() { return gradients_.span(); }
  std::span<const float> weights() const { return weights_.span(); }
  std::size_t size() const { return size_; }

  struct Entry {
    std::string name;
    std::size_t offset, count;
    Init init;
  };
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  friend class ParameterView;
  std::vector<Entry> entries_;
  std::size_t size_ = 0;
  bool allocated_ = false;
  AlignedBuffer<float> weights_;
  AlignedBuffer<float> gradients_;
};

inline float* ParameterView::weights() const { return block_->weights_.data() + offset_; }
inline float* ParameterView::gradients() const { return block_->gradients_.data() + offset_; }

}  // namespace syncbed::models
