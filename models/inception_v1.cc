#include "models/inception_v1.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/trace.h"
#include "models/layers/conv2d.h"
#include "models/layers/flatten.h"
#include "models/layers/inception_module.h"
#include "models/layers/inner_product.h"
#include "models/layers/lrn.h"
#include "models/layers/pool2d.h"

namespace syncbed::models {

namespace {

PoolShape max_pool_3x3_stride_2() { return {PoolShape::Kind::kMax, 3, 2, 0, true}; }

struct ModuleSpec {
  const char* name;
  InceptionWidths widths;
};

// GoogLeNet's widths: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection.
constexpr ModuleSpec kStage3[] = {{"inception_3a", {64, 96, 128, 16, 32, 32}},
                                  {"inception_3b", {128, 128, 192, 32, 96, 64}}};
constexpr ModuleSpec kStage4[] = {{"inception_4a", {192, 96, 208, 16, 48, 64}},
                                  {"inception_4b", {160, 112, 224, 24, 64, 64}},
                                  {"inception_4c", {128, 128, 256, 24, 64, 64}},
                                  {"inception_4d", {112, 144, 288, 32, 64, 64}},
                                  {"inception_4e", {256, 160, 320, 32, 128, 128}}};
constexpr ModuleSpec kStage5[] = {{"inception_5a", {256, 160, 320, 32, 128, 128}},
                                  {"inception_5b", {384, 192, 384, 48, 128, 128}}};

// Per top-level layer of `body`: where the gradients that are final once its backward
// is done begin. Backward runs from the last layer to the first and a layer's tensors are
// named after it ("inception_3a/1x1.weight" belongs to "inception_3a"), so that is the
// lowest offset of its tensors or of any layer after it.
std::vector<std::size_t> final_gradients_after_each_layer(const Sequential& body, const ParameterBlock& params) {
  const auto& layers = body.layers();
  std::vector<std::size_t> final_from(layers.size());
  std::size_t lowest = params.size();
  for (std::size_t i = layers.size(); i-- > 0;) {
    const std::string& name = layers[i]->name();
    for (const auto& tensor : params.entries()) {
      const bool owned = tensor.name.size() > name.size() && tensor.name.compare(0, name.size(), name) == 0 &&
                         (tensor.name[name.size()] == '.' || tensor.name[name.size()] == '/');
      if (owned) lowest = std::min(lowest, tensor.offset);
    }
    final_from[i] = lowest;
  }
  return final_from;
}

}  // namespace

InceptionV1::InceptionV1(const InceptionConfig& config) : config_(config), body_("inception_v1") {
  if (config.classes < 1) throw std::invalid_argument("classes must be at least 1");
  // Below 48 the fourth 3x3 stride-2 pool would get a 2x2 input.
  if (config.image_size < 48) throw std::invalid_argument("image_size must be at least 48 (four 3x3 stride-2 pools)");
  if (config.channels < 1) throw std::invalid_argument("channels must be at least 1");
  body_.add<Conv2d>("conv1/7x7_s2", ConvShape{config.channels, 64, 7, 2, 3}, params_);
  body_.add<Pool2d>("pool1/3x3_s2", max_pool_3x3_stride_2());
  body_.add<Lrn>("pool1/norm1", LrnShape{});
  body_.add<Conv2d>("conv2/3x3_reduce", ConvShape{64, 64, 1}, params_);
  body_.add<Conv2d>("conv2/3x3", ConvShape{64, 192, 3, 1, 1, true, config.winograd}, params_);
  body_.add<Lrn>("conv2/norm2", LrnShape{});
  body_.add<Pool2d>("pool2/3x3_s2", max_pool_3x3_stride_2());
  int channels = 192;
  auto add_stage = [&](std::span<const ModuleSpec> modules) {
    for (const ModuleSpec& m : modules) {
      body_.add<InceptionModule>(m.name, channels, m.widths, params_, config.winograd);
      channels = m.widths.output_channels();
    }
  };
  add_stage(kStage3);
  body_.add<Pool2d>("pool3/3x3_s2", max_pool_3x3_stride_2());
  add_stage(kStage4);
  body_.add<Pool2d>("pool4/3x3_s2", max_pool_3x3_stride_2());
  add_stage(kStage5);
  body_.add<Pool2d>("pool5/avg", PoolShape{PoolShape::Kind::kAverage, 7, 1, 0, false, true});
  body_.add<Flatten>("flatten");
  dropout_ = &body_.add<Dropout>("pool5/drop", config.dropout, config.seed ^ 0x5eed);
  body_.add<InnerProduct>("loss3/classifier", channels, config.classes, params_);
  params_.allocate(config.seed);
  final_from_ = final_gradients_after_each_layer(body_, params_);
}

const memory& InceptionV1::run_forward(const ImageBatch& batch, bool training) {
  if (batch.channels != config_.channels || batch.height != config_.image_size || batch.width != config_.image_size)
    throw std::invalid_argument("batch of " + std::to_string(batch.channels) + "x" + std::to_string(batch.height) +
                                "x" + std::to_string(batch.width) + " images; the model expects " +
                                std::to_string(config_.channels) + "x" + std::to_string(config_.image_size) + "x" +
                                std::to_string(config_.image_size));
  const auto desc = plain_desc({batch.size, batch.channels, batch.height, batch.width}, Tag::nchw);
  // The image needs no gradient: the first convolution skips backward-data.
  body_.prepare(desc, false);
  prepared_batch_ = batch.size;
  input_ = memory(desc, cpu_engine(), const_cast<float*>(batch.pixels.data()));
  return body_.forward(input_, training);
}

float InceptionV1::forward_backward(const ImageBatch& batch) { return forward_backward(batch, {}); }

float InceptionV1::forward_backward(const ImageBatch& batch, const std::function<void(std::size_t)>& ready) {
  std::optional<trace::Scope> pass(std::in_place, "forward", "model");
  const memory& logits = run_forward(batch, true);
  const float loss = static_cast<float>(loss_.forward_backward(logits, batch.labels));
  pass.emplace("backward", "model");
  if (!ready) {
    body_.backward(loss_.diff_logits());
    return loss;
  }
  body_.backward(loss_.diff_logits(), [&](std::size_t layer) { ready(final_from_[layer]); });
  ready(0);
  return loss;
}

double InceptionV1::loss(const ImageBatch& batch) {
  return loss_.forward_backward(run_forward(batch, false), batch.labels);
}

std::span<const float> InceptionV1::predict(const ImageBatch& batch) {
  const memory& logits = run_forward(batch, false);
  return {static_cast<const float*>(logits.get_data_handle()), std::size_t(batch.size) * config_.classes};
}

double InceptionV1::forward_flops_per_image() {
  // Flops follow from the prepared shapes; with nothing prepared yet, prepare one image.
  if (prepared_batch_ == 0) {
    body_.prepare(plain_desc({1, config_.channels, config_.image_size, config_.image_size}, Tag::nchw), false);
    prepared_batch_ = 1;
  }
  return body_.forward_flops() / prepared_batch_;
}

}  // namespace syncbed::models
