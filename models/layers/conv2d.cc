#include "models/layers/conv2d.h"

#include <stdexcept>

#include "models/profile.h"

namespace syncbed::models {

namespace {
using prop = dnnl::prop_kind;
using algo = dnnl::algorithm;
}  // namespace

bool winograd_available() {
  const memory::desc src({1, 64, 14, 14}, memory::data_type::f32, Tag::any);
  const memory::desc weights({64, 64, 3, 3}, memory::data_type::f32, Tag::any);
  try {
    dnnl::convolution_forward::primitive_desc(
        {prop::forward_training, algo::convolution_winograd, src, weights, src, {1, 1}, {1, 1}, {1, 1}}, cpu_engine());
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

Conv2d::Conv2d(std::string name, ConvShape shape, ParameterBlock& params) : name_(std::move(name)), shape_(shape) {
  const double fan_in = double(shape.in_channels) * shape.kernel * shape.kernel;
  const double fan_out = double(shape.out_channels) * shape.kernel * shape.kernel;
  weights_ = PlainWeights(
      params.add(name_ + ".weight", std::size_t(fan_in) * shape.out_channels, Init::xavier(fan_in, fan_out)),
      params.add(name_ + ".bias", shape.out_channels, Init::constant(0.0f)));
}

memory::desc Conv2d::prepare(const memory::desc& src, bool needs_diff_src) {
  if (src == src_desc_ && needs_diff_src == needs_diff_src_ && forward_) return dst_.get_desc();
  const memory::dims in = src.dims();
  if (in.size() != 4 || in[1] != shape_.in_channels)
    throw std::invalid_argument(name_ + ": expects 4-D input with " + std::to_string(shape_.in_channels) + " channels");
  src_desc_ = src;
  needs_diff_src_ = needs_diff_src;
  const memory::dim n = in[0], k = shape_.kernel, s = shape_.stride, p = shape_.pad;
  const memory::dim oh = (in[2] + 2 * p - k) / s + 1, ow = (in[3] + 2 * p - k) / s + 1;
  if (oh <= 0 || ow <= 0) throw std::invalid_argument(name_ + ": input too small for the kernel");
  flops_ = 2.0 * n * shape_.out_channels * oh * ow * shape_.in_channels * k * k;

  const memory::dims weight_dims{shape_.out_channels, shape_.in_channels, k, k};
  const auto any_weights = memory::desc(weight_dims, memory::data_type::f32, Tag::any);
  const auto plain_weights = plain_desc(weight_dims, Tag::oihw);
  const auto bias_desc = plain_desc({shape_.out_channels}, Tag::x);
  const auto any_dst = memory::desc({n, shape_.out_channels, oh, ow}, memory::data_type::f32, Tag::any);
  const memory::dims strides{s, s}, pads{p, p};

  dnnl::primitive_attr attr;
  if (shape_.relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, algo::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  auto forward_desc = [&](algo algorithm) {
    return dnnl::convolution_forward::primitive_desc(
        {prop::forward_training, algorithm, src, any_weights, bias_desc, any_dst, strides, pads, pads}, attr,
        cpu_engine());
  };
  algo algorithm = algo::convolution_direct;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  if (shape_.winograd && shape_.kernel == 3 && shape_.stride == 1) {
    try {
      fwd_pd = forward_desc(algo::convolution_winograd);
      algorithm = algo::convolution_winograd;
    } catch (const dnnl::error&) {
      // No Winograd kernel for this shape or CPU: the direct algorithm below.
    }
  }
  if (algorithm == algo::convolution_direct) fwd_pd = forward_desc(algorithm);
  uses_winograd_ = algorithm == algo::convolution_winograd;
  forward_ = dnnl::convolution_forward(fwd_pd);
  dst_ = memory(fwd_pd.dst_desc(), cpu_engine());
  const memory::desc dst_desc = fwd_pd.dst_desc();

  const dnnl::convolution_backward_weights::primitive_desc bww_pd(
      {algorithm, src, any_weights, bias_desc, dst_desc, strides, pads, pads}, cpu_engine(), fwd_pd);
  backward_weights_ = dnnl::convolution_backward_weights(bww_pd);
  weights_.prepare(plain_weights, bias_desc, fwd_pd.weights_desc(), bww_pd.diff_weights_desc());

  if (shape_.relu) {
    const dnnl::eltwise_forward::primitive_desc relu_hint(
        {prop::forward_training, algo::eltwise_relu_use_dst_for_bwd, dst_desc, 0.0f, 0.0f}, cpu_engine());
    relu_backward_ = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
        {algo::eltwise_relu_use_dst_for_bwd, dst_desc, dst_desc, 0.0f, 0.0f}, cpu_engine(), relu_hint));
    diff_pre_relu_ = memory(dst_desc, cpu_engine());
  }
  if (needs_diff_src) {
    const dnnl::convolution_backward_data::primitive_desc bwd_pd(
        {algorithm, src, any_weights, dst_desc, strides, pads, pads}, cpu_engine(), fwd_pd);
    if (bwd_pd.diff_src_desc() != src) throw std::logic_error(name_ + ": backward data changed the layout");
    backward_data_ = dnnl::convolution_backward_data(bwd_pd);
    weights_.prepare_backward_data(bwd_pd.weights_desc());
    diff_src_ = memory(src, cpu_engine());
  } else {
    backward_data_ = {};
    diff_src_ = {};
  }
  return dst_desc;
}

const memory& Conv2d::forward(const memory& src, bool) {
  ProfileScope scope(name_, "convolution", Phase::kForward);
  src_ = src;
  forward_.execute(cpu_stream(), {{DNNL_ARG_SRC, src_},
                                  {DNNL_ARG_WEIGHTS, weights_.for_forward()},
                                  {DNNL_ARG_BIAS, weights_.bias()},
                                  {DNNL_ARG_DST, dst_}});
  return dst_;
}

const memory& Conv2d::backward(const memory& diff_dst) {
  ProfileScope scope(name_, "convolution", Phase::kBackward);
  const memory* grad = &diff_dst;
  if (shape_.relu) {
    relu_backward_.execute(cpu_stream(),
                           {{DNNL_ARG_DST, dst_}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_pre_relu_}});
    grad = &diff_pre_relu_;
  }
  backward_weights_.execute(cpu_stream(), {{DNNL_ARG_SRC, src_},
                                           {DNNL_ARG_DIFF_DST, *grad},
                                           {DNNL_ARG_DIFF_WEIGHTS, weights_.gradient()},
                                           {DNNL_ARG_DIFF_BIAS, weights_.bias_gradient()}});
  weights_.store_gradient();
  if (needs_diff_src_)
    backward_data_.execute(
        cpu_stream(),
        {{DNNL_ARG_DIFF_DST, *grad}, {DNNL_ARG_WEIGHTS, weights_.for_backward_data()}, {DNNL_ARG_DIFF_SRC, diff_src_}});
  return diff_src_;
}

std::uint64_t Conv2d::activation_pattern() const {
  if (!shape_.relu) return 0;
  std::uint64_t hash = 0xcbf29ce484222325ull;
  const float* y = static_cast<const float*>(dst_.get_data_handle());
  const std::size_t n = dst_.get_desc().get_size() / sizeof(float);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char active = y[i] > 0;
    hash = hash_bytes(hash, &active, 1);
  }
  return hash;
}

}  // namespace syncbed::models
