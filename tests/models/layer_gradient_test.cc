// Finite-difference checks of every layer's backward pass on small shapes, in plain and
// blocked (16-channel) input layouts.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "models/layers/conv2d.h"
#include "models/layers/dropout.h"
#include "models/layers/flatten.h"
#include "models/layers/inception_module.h"
#include "models/layers/inner_product.h"
#include "models/layers/lrn.h"
#include "models/layers/pool2d.h"
#include "models/layers/softmax_cross_entropy.h"
#include "tests/models/layer_probe.h"

namespace syncbed::models {
namespace {

using testing::expect_good;
using testing::LayerProbe;

constexpr float kEps = 2e-3f;

struct ConvCase {
  const char* name;
  ConvShape shape;
  int size;
  Tag layout;
};

class ConvGradient : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvGradient, MatchesFiniteDifferences) {
  const ConvCase c = GetParam();
  ParameterBlock params;
  Conv2d conv("conv", c.shape, params);
  params.allocate(3);
  // Non-zero biases so the ReLU sees both signs.
  for (std::size_t i = params.size() - c.shape.out_channels; i < params.size(); ++i) params.weights()[i] = 0.1f;
  LayerProbe probe(conv, {2, c.shape.in_channels, c.size, c.size}, c.layout, true);
  expect_good(probe.check_input(60, kEps), std::string(c.name) + " input");
  expect_good(probe.check_parameters(params.weights().data(), params.gradients().data(), params.size(), 60, kEps),
              std::string(c.name) + " parameters");
}

std::string conv_case_name(const ::testing::TestParamInfo<ConvCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Shapes, ConvGradient,
                         ::testing::Values(ConvCase{"k3_relu_plain", {3, 16, 3, 1, 1, true}, 7, Tag::nchw},
                                           ConvCase{"k3_linear_blocked", {16, 32, 3, 1, 1, false}, 6, Tag::nChw16c},
                                           ConvCase{"k7_stride2_pad3", {3, 16, 7, 2, 3, true}, 11, Tag::nchw},
                                           ConvCase{"k1_blocked", {32, 16, 1, 1, 0, true}, 5, Tag::nChw16c},
                                           ConvCase{"k5_pad2_odd_channels", {5, 24, 5, 1, 2, true}, 6, Tag::nchw}),
                         conv_case_name);

TEST(ConvWinograd, ChosenForThreeByThreeStrideOneOnly) {
  if (dnnl::get_effective_cpu_isa() < dnnl::cpu_isa::avx512_core) GTEST_SKIP() << "no Winograd kernels on this CPU";
  const memory::desc src = plain_desc({2, 16, 8, 8}, Tag::nChw16c);
  auto prepared = [&](ConvShape shape) {
    ParameterBlock params;
    auto conv = std::make_unique<Conv2d>("conv", shape, params);
    params.allocate(1);
    conv->prepare(src, true);
    return conv->uses_winograd();
  };
  EXPECT_TRUE(prepared({16, 32, 3, 1, 1, true, true}));
  EXPECT_FALSE(prepared({16, 32, 3, 1, 1, true, false}));  // not asked for
  EXPECT_FALSE(prepared({16, 32, 3, 2, 1, true, true}));   // stride 2: direct
  EXPECT_FALSE(prepared({16, 32, 5, 1, 2, true, true}));   // 5x5: direct
}

// What bench-model reports as "winograd_used": on every CPU, what a 3x3 stride-1
// convolution asking for Winograd gets (AVX-512 only in oneDNN 2.6).
TEST(ConvWinograd, AvailabilityIsWhatAThreeByThreeConvolutionGets) {
  ParameterBlock params;
  Conv2d conv("conv", {16, 32, 3, 1, 1, true, true}, params);
  params.allocate(1);
  conv.prepare(plain_desc({2, 16, 8, 8}, Tag::nChw16c), true);
  EXPECT_EQ(conv.uses_winograd(), winograd_available());
  EXPECT_EQ(winograd_available(), dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core);
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / norm);
}

// Winograd's float rounding is too coarse for finite differences (they see noise as
// kinks), so its gradients are checked against the direct algorithm's, which the
// finite-difference tests above verify.
TEST(ConvWinograd, GradientsMatchTheDirectAlgorithm) {
  ParameterBlock direct_params, winograd_params;
  Conv2d direct("direct", {16, 32, 3, 1, 1, true, false}, direct_params);
  Conv2d winograd("winograd", {16, 32, 3, 1, 1, true, true}, winograd_params);
  direct_params.allocate(3);
  winograd_params.allocate(3);
  LayerProbe direct_probe(direct, {4, 16, 12, 12}, Tag::nChw16c, true);
  LayerProbe winograd_probe(winograd, {4, 16, 12, 12}, Tag::nChw16c, true);
  const auto direct_input = direct_probe.backward(), winograd_input = winograd_probe.backward();
  EXPECT_LT(relative_difference(winograd_input, direct_input), 1e-5);
  const std::vector<float> direct_grads(direct_params.gradients().begin(), direct_params.gradients().end());
  const std::vector<float> winograd_grads(winograd_params.gradients().begin(), winograd_params.gradients().end());
  EXPECT_LT(relative_difference(winograd_grads, direct_grads), 1e-5);
  EXPECT_NEAR(winograd_probe.objective(), direct_probe.objective(), 1e-5 * std::abs(direct_probe.objective()));
}

TEST(ConvGradient, FirstLayerComputesNoInputGradient) {
  ParameterBlock params;
  Conv2d conv("conv1", {3, 16, 3, 2, 1, true}, params);
  params.allocate(3);
  LayerProbe probe(conv, {2, 3, 9, 9}, Tag::nchw, false);
  EXPECT_TRUE(probe.backward().empty());
  expect_good(probe.check_parameters(params.weights().data(), params.gradients().data(), params.size(), 60, kEps),
              "conv1 parameters");
}

struct PoolCase {
  const char* name;
  PoolShape shape;
  int size;
};

class PoolGradient : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolGradient, MatchesFiniteDifferences) {
  const PoolCase c = GetParam();
  Pool2d pool("pool", c.shape);
  LayerProbe probe(pool, {2, 16, c.size, c.size}, Tag::nChw16c, true);
  expect_good(probe.check_input(80, kEps), c.name);
}

std::string pool_case_name(const ::testing::TestParamInfo<PoolCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Shapes, PoolGradient,
                         ::testing::Values(PoolCase{"max_3x3_s2_ceil", {PoolShape::Kind::kMax, 3, 2, 0, true}, 8},
                                           PoolCase{"max_3x3_s1_pad1", {PoolShape::Kind::kMax, 3, 1, 1, true}, 5},
                                           PoolCase{"avg_3x3_s2_ceil", {PoolShape::Kind::kAverage, 3, 2, 0, true}, 8},
                                           PoolCase{
                                               "avg_global", {PoolShape::Kind::kAverage, 7, 1, 0, false, true}, 4}),
                         pool_case_name);

TEST(PoolShapeRule, CeilModeMatchesTorch) {
  EXPECT_EQ(Pool2d::output_size(112, 3, 2, 0, true), 56);
  EXPECT_EQ(Pool2d::output_size(112, 3, 2, 0, false), 55);
  EXPECT_EQ(Pool2d::output_size(56, 3, 2, 0, true), 28);
  EXPECT_EQ(Pool2d::output_size(28, 3, 1, 1, true), 28);
  EXPECT_EQ(Pool2d::output_size(7, 3, 2, 0, true), 3);
  EXPECT_EQ(Pool2d::output_size(6, 3, 2, 1, true), 4);  // 5 windows would start past the input
}

TEST(LrnGradient, MatchesFiniteDifferences) {
  // A large alpha so the normalisation, not just the identity, is exercised.
  Lrn lrn("lrn", LrnShape{5, 0.5f, 0.75f, 1.0f});
  LayerProbe plain(lrn, {2, 8, 4, 4}, Tag::nchw, true);
  expect_good(plain.check_input(80, kEps), "lrn plain");
  Lrn lrn_blocked("lrn", LrnShape{5, 0.5f, 0.75f, 1.0f});
  LayerProbe blocked(lrn_blocked, {2, 32, 3, 3}, Tag::nChw16c, true);
  expect_good(blocked.check_input(80, kEps), "lrn blocked");
}

TEST(InnerProductGradient, MatchesFiniteDifferences) {
  ParameterBlock params;
  InnerProduct fc("fc", 20, 7, params);
  params.allocate(5);
  LayerProbe probe(fc, {3, 20}, Tag::nc, true);
  expect_good(probe.check_input(60, kEps), "fc input");
  expect_good(probe.check_parameters(params.weights().data(), params.gradients().data(), params.size(), 80, kEps),
              "fc parameters");
}

TEST(FlattenGradient, IsAnExactReorder) {
  Flatten flatten("flatten");
  LayerProbe probe(flatten, {2, 32, 2, 3}, Tag::nChw16c, true);
  // The objective is linear: the gradient of the input is R, reordered.
  expect_good(probe.check_input(100, kEps), "flatten", 1e-4);
}

TEST(InceptionModuleGradient, MatchesFiniteDifferences) {
  ParameterBlock params;
  InceptionModule module("m", 16, {16, 16, 32, 16, 16, 16}, params);
  params.allocate(9);
  LayerProbe probe(module, {2, 16, 5, 5}, Tag::nChw16c, true);
  expect_good(probe.check_input(80, kEps), "module input");
  expect_good(probe.check_parameters(params.weights().data(), params.gradients().data(), params.size(), 120, kEps),
              "module parameters");
}

TEST(InceptionModuleGradient, NarrowBranchesInPlainLayout) {
  ParameterBlock params;
  InceptionModule module("m", 3, {2, 3, 5, 1, 3, 2}, params);
  params.allocate(9);
  LayerProbe probe(module, {2, 3, 4, 4}, Tag::nchw, true);
  expect_good(probe.check_input(48, kEps), "narrow module input");
  expect_good(probe.check_parameters(params.weights().data(), params.gradients().data(), params.size(), 120, kEps),
              "narrow module parameters");
}

TEST(Dropout, MasksAndScalesInTrainingOnly) {
  Dropout dropout("drop", 0.4f, 1);
  const auto desc = plain_desc({8, 250}, Tag::nc);
  dropout.prepare(desc, true);
  std::vector<float> ones(2000, 1.0f);
  memory input(desc, cpu_engine(), ones.data());
  const std::vector<float> out = testing::to_plain(dropout.forward(input, true));
  int kept = 0;
  for (float v : out) {
    ASSERT_TRUE(v == 0.0f || std::abs(v - 1.0f / 0.6f) < 1e-6f) << v;
    kept += v != 0.0f;
  }
  EXPECT_NEAR(kept / 2000.0, 0.6, 0.05);
  // The gradient passes exactly where the value did, with the same scale.
  const std::vector<float> grad = testing::to_plain(dropout.backward(input));
  EXPECT_EQ(grad, out);
  const std::vector<float> eval = testing::to_plain(dropout.forward(input, false));
  EXPECT_EQ(eval, ones);
}

TEST(SoftmaxCrossEntropy, LossAndGradient) {
  const int n = 3, classes = 5;
  std::vector<float> logits = testing::random_values(n * classes, 4, 2.0f);
  const std::vector<std::int32_t> labels{0, 4, 2};
  memory m(plain_desc({n, classes}, Tag::nc), cpu_engine(), logits.data());
  SoftmaxCrossEntropy loss;
  const double value = loss.forward_backward(m, labels);
  // Uniform logits give log(classes).
  std::vector<float> flat(n * classes, 0.5f);
  memory uniform(plain_desc({n, classes}, Tag::nc), cpu_engine(), flat.data());
  SoftmaxCrossEntropy other;
  EXPECT_NEAR(other.forward_backward(uniform, labels), std::log(5.0), 1e-6);

  EXPECT_EQ(loss.forward_backward(m, labels), value);
  const float* g = static_cast<const float*>(loss.diff_logits().get_data_handle());
  std::vector<double> analytic(g, g + n * classes);
  std::vector<float*> coords;
  for (auto& x : logits) coords.push_back(&x);
  SoftmaxCrossEntropy probe;
  expect_good(testing::check_gradients([&] { return probe.forward_backward(m, labels); }, coords, analytic, 1e-2f),
              "softmax cross-entropy");
  EXPECT_THROW(loss.forward_backward(m, std::vector<std::int32_t>{0, 5, 1}), std::invalid_argument);
}

}  // namespace
}  // namespace syncbed::models
