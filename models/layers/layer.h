// A layer of a model on oneDNN memory. Activations stay in whatever layout the
// convolutions chose (blocked, e.g. 16 channels innermost), so no reorder sits between
// two layers; a gradient always arrives in the layout of the output it belongs to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "models/dnnl_context.h"

namespace syncbed::models {

class Layer {
 public:
  virtual ~Layer() = default;
  Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual const std::string& name() const = 0;

  // Creates the primitives for inputs described by `src` and returns the output
  // descriptor. Primitives are made once per input shape: calling again with the same
  // descriptor is free. Without `needs_diff_src`, backward() computes only parameter
  // gradients (the first convolution has no use for the gradient of the image).
  virtual memory::desc prepare(const memory::desc& src, bool needs_diff_src) = 0;

  // `src` must stay alive until backward() has run.
  virtual const memory& forward(const memory& src, bool training) = 0;

  // Writes this layer's parameter gradients (overwriting) and returns the gradient of
  // its input, or an empty memory when prepare() was told it is not needed.
  virtual const memory& backward(const memory& diff_dst) = 0;

  // Multiply-adds times two for one forward pass of the prepared shape.
  virtual double forward_flops() const { return 0; }

  // A hash of the last forward pass's piecewise choices (which ReLUs were active, which
  // inputs won each max pool). Finite-difference checks use it to tell a step that
  // crossed a kink from one that stayed on a linear piece.
  virtual std::uint64_t activation_pattern() const { return 0; }
};

// FNV-1a over `bytes`, mixed into `hash`.
std::uint64_t hash_bytes(std::uint64_t hash, const void* bytes, std::size_t size);

}  // namespace syncbed::models
