// Inception-v1 (GoogLeNet) as BigDL trains it: no auxiliary classifiers, LRN after the
// first two convolution stages, ceil-mode pooling, dropout 0.4 before the classifier.
// 6,998,552 parameters at 1000 classes. The final average pool covers whatever spatial
// size is left, so small inputs (down to 48x48, e.g. padded Fashion-MNIST) work too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "models/image_batch.h"
#include "models/layers/dropout.h"
#include "models/layers/sequential.h"
#include "models/layers/softmax_cross_entropy.h"
#include "models/parameter_block.h"

namespace syncbed::models {

struct InceptionConfig {
  int classes = 1000;
  int image_size = 224;  // square input, at least 48
  int channels = 3;
  float dropout = 0.4f;
  // 3x3 convolutions on Winograd kernels where oneDNN has them (ConvShape::winograd):
  // about 1.3x faster training here; false keeps every convolution direct.
  bool winograd = true;
  std::uint64_t seed = 1;
};

class InceptionV1 {
 public:
  explicit InceptionV1(const InceptionConfig& config);

  std::span<float> parameters() { return params_.weights(); }
  std::span<float> gradients() { return params_.gradients(); }
  const ParameterBlock& parameter_block() const { return params_; }

  // One training pass: fills gradients() and returns the mean loss of the batch.
  float forward_backward(const ImageBatch& batch);
  // The same, calling ready(begin) whenever gradients()[begin, end) are final: after each
  // top-level layer's backward (the last call has begin 0). Layers after it no longer
  // read their weights, so they may be updated while backward goes on.
  float forward_backward(const ImageBatch& batch, const std::function<void(std::size_t)>& ready);
  // Mean loss of the batch in evaluation mode (no dropout), without a backward pass.
  double loss(const ImageBatch& batch);
  // Evaluation pass (no dropout): class scores, batch.size x classes, row-major.
  std::span<const float> predict(const ImageBatch& batch);

  // Forward multiply-adds x 2 per image at the configured input size.
  double forward_flops_per_image();
  const InceptionConfig& config() const { return config_; }
  // Which ReLUs and max-pool inputs the last forward pass selected (gradient checks).
  std::uint64_t activation_pattern() const { return body_.activation_pattern(); }
  // Turns dropout off in training, for deterministic gradient checks.
  void disable_dropout() { dropout_->set_enabled(false); }

 private:
  const memory& run_forward(const ImageBatch& batch, bool training);

  InceptionConfig config_;
  ParameterBlock params_;
  Sequential body_;
  Dropout* dropout_ = nullptr;
  SoftmaxCrossEntropy loss_;
  // Per top-level layer: where the gradients final after its backward begin.
  std::vector<std::size_t> final_from_;
  memory input_;
  int prepared_batch_ = 0;
};

}  // namespace syncbed::models
