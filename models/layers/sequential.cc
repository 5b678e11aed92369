#include "models/layers/sequential.h"

namespace syncbed::models {

memory::desc Sequential::prepare(const memory::desc& src, bool needs_diff_src) {
  memory::desc desc = src;
  for (std::size_t i = 0; i < layers_.size(); ++i) desc = layers_[i]->prepare(desc, i > 0 || needs_diff_src);
  return desc;
}

const memory& Sequential::forward(const memory& src, bool training) {
  const memory* x = &src;
  for (auto& layer : layers_) x = &layer->forward(*x, training);
  return *x;
}

const memory& Sequential::backward(const memory& diff_dst) { return backward(diff_dst, {}); }

const memory& Sequential::backward(const memory& diff_dst, const std::function<void(std::size_t)>& after_layer) {
  const memory* g = &diff_dst;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    g = &layers_[i]->backward(*g);
    if (after_layer) after_layer(i);
  }
  return *g;
}

double Sequential::forward_flops() const {
  double total = 0;
  for (const auto& layer : layers_) total += layer->forward_flops();
  return total;
}

std::uint64_t Sequential::activation_pattern() const {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const auto& layer : layers_) {
    const std::uint64_t h = layer->activation_pattern();
    hash = hash_bytes(hash, &h, sizeof h);
  }
  return hash;
}

}  // namespace syncbed::models
