// Drives one layer for the gradient tests: keeps a plain copy of the input, feeds the
// layer in a chosen layout, and defines the objective sum(output * R) for a fixed random
// R, whose gradient with respect to the output is R itself.
#pragma once

#include <random>
#include <vector>

#include "models/dnnl_context.h"
#include "models/layers/layer.h"
#include "tests/models/gradient_check.h"

namespace syncbed::models::testing {

inline std::vector<float> random_values(std::size_t count, unsigned seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

inline std::vector<float> to_plain(const memory& m) {
  const memory::dims d = m.get_desc().dims();
  const Tag tag = d.size() == 4 ? Tag::nchw : d.size() == 2 ? Tag::nc : Tag::x;
  memory plain(plain_desc(d, tag), cpu_engine());
  dnnl::reorder(const_cast<memory&>(m), plain).execute(cpu_stream(), const_cast<memory&>(m), plain);
  const float* p = static_cast<const float*>(plain.get_data_handle());
  return {p, p + plain.get_desc().get_size() / sizeof(float)};
}

inline void from_plain(const std::vector<float>& values, const memory& m) {
  const memory::dims d = m.get_desc().dims();
  const Tag tag = d.size() == 4 ? Tag::nchw : d.size() == 2 ? Tag::nc : Tag::x;
  memory plain(plain_desc(d, tag), cpu_engine(), const_cast<float*>(values.data()));
  dnnl::reorder(plain, const_cast<memory&>(m)).execute(cpu_stream(), plain, const_cast<memory&>(m));
}

class LayerProbe {
 public:
  LayerProbe(Layer& layer, memory::dims input_dims, Tag input_layout, bool needs_diff_src, unsigned seed = 1)
      : layer_(layer), needs_diff_src_(needs_diff_src) {
    const auto desc = memory::desc(input_dims, memory::data_type::f32, input_layout);
    input_ = memory(desc, cpu_engine());
    std::size_t count = 1;
    for (auto d : input_dims) count *= d;
    plain_input_ = random_values(count, seed);
    const memory::desc out = layer.prepare(desc, needs_diff_src);
    std::size_t out_count = 1;
    for (auto d : out.dims()) out_count *= d;
    weights_ = random_values(out_count, seed + 1);
  }

  std::vector<float>& input() { return plain_input_; }

  double objective() {
    from_plain(plain_input_, input_);
    const std::vector<float> out = to_plain(layer_.forward(input_, true));
    double sum = 0;
    for (std::size_t i = 0; i < out.size(); ++i) sum += double(out[i]) * weights_[i];
    return sum;
  }

  // Runs forward and backward; returns the gradient of the objective w.r.t. the input
  // (plain order), empty when the layer computes none. Parameter gradients land in the
  // layer's parameter block.
  std::vector<float> backward() {
    from_plain(plain_input_, input_);
    const memory& out = layer_.forward(input_, true);
    memory diff(out.get_desc(), cpu_engine());
    from_plain(weights_, diff);
    const memory& diff_src = layer_.backward(diff);
    if (!needs_diff_src_) return {};
    return to_plain(diff_src);
  }

  // Checks the input gradient on up to `count` sampled coordinates.
  GradientCheck check_input(std::size_t count, float eps) {
    const std::vector<float> analytic = backward();
    std::vector<float*> coords;
    std::vector<double> expected;
    for (std::size_t i : sample_indices(plain_input_.size(), count, 7)) {
      coords.push_back(&plain_input_[i]);
      expected.push_back(analytic[i]);
    }
    return check_gradients([&] { return objective(); }, coords, expected, eps);
  }

  // Checks parameter gradients (in `weights`/`gradients`, same length) on sampled coordinates.
  GradientCheck check_parameters(float* weights, const float* gradients, std::size_t size, std::size_t count,
                                 float eps) {
    backward();
    const std::vector<float> analytic(gradients, gradients + size);
    std::vector<float*> coords;
    std::vector<double> expected;
    for (std::size_t i : sample_indices(size, count, 11)) {
      coords.push_back(weights + i);
      expected.push_back(analytic[i]);
    }
    return check_gradients([&] { return objective(); }, coords, expected, eps);
  }

 private:
  Layer& layer_;
  bool needs_diff_src_;
  memory input_;
  std::vector<float> plain_input_, weights_;
};

}  // namespace syncbed::models::testing
