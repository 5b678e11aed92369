#include "models/layers/inner_product.h"

#include <stdexcept>

#include "models/profile.h"

namespace syncbed::models {

InnerProduct::InnerProduct(std::string name, int inputs, int outputs, ParameterBlock& params)
    : name_(std::move(name)), inputs_(inputs), outputs_(outputs) {
  weights_ = PlainWeights(params.add(name_ + ".weight", std::size_t(inputs) * outputs, Init::xavier(inputs, outputs)),
                          params.add(name_ + ".bias", outputs, Init::constant(0.0f)));
}

memory::desc InnerProduct::prepare(const memory::desc& src, bool needs_diff_src) {
  if (src == src_desc_ && needs_diff_src == needs_diff_src_ && forward_) return dst_.get_desc();
  const memory::dims d = src.dims();
  if (d.size() != 2 || d[1] != inputs_)
    throw std::invalid_argument(name_ + ": expects a 2-D input with " + std::to_string(inputs_) + " features");
  src_desc_ = src;
  needs_diff_src_ = needs_diff_src;
  flops_ = 2.0 * d[0] * inputs_ * outputs_;
  const auto any_weights = memory::desc({outputs_, inputs_}, memory::data_type::f32, Tag::any);
  const auto plain_weights = plain_desc({outputs_, inputs_}, Tag::oi);
  const auto bias_desc = plain_desc({outputs_}, Tag::x);
  const auto dst_desc = plain_desc({d[0], outputs_}, Tag::nc);

  const dnnl::inner_product_forward::primitive_desc fwd_pd(
      {dnnl::prop_kind::forward_training, src, any_weights, bias_desc, dst_desc}, cpu_engine());
  forward_ = dnnl::inner_product_forward(fwd_pd);
  dst_ = memory(dst_desc, cpu_engine());
  const dnnl::inner_product_backward_weights::primitive_desc bww_pd({src, any_weights, bias_desc, dst_desc},
                                                                    cpu_engine(), fwd_pd);
  backward_weights_ = dnnl::inner_product_backward_weights(bww_pd);
  weights_.prepare(plain_weights, bias_desc, fwd_pd.weights_desc(), bww_pd.diff_weights_desc());
  if (needs_diff_src) {
    const dnnl::inner_product_backward_data::primitive_desc bwd_pd({src, any_weights, dst_desc}, cpu_engine(), fwd_pd);
    backward_data_ = dnnl::inner_product_backward_data(bwd_pd);
    weights_.prepare_backward_data(bwd_pd.weights_desc());
    diff_src_ = memory(src, cpu_engine());
  } else {
    backward_data_ = {};
    diff_src_ = {};
  }
  return dst_desc;
}

const memory& InnerProduct::forward(const memory& src, bool) {
  ProfileScope scope(name_, "inner product", Phase::kForward);
  src_ = src;
  forward_.execute(cpu_stream(), {{DNNL_ARG_SRC, src_},
                                  {DNNL_ARG_WEIGHTS, weights_.for_forward()},
                                  {DNNL_ARG_BIAS, weights_.bias()},
                                  {DNNL_ARG_DST, dst_}});
  return dst_;
}

const memory& InnerProduct::backward(const memory& diff_dst) {
  ProfileScope scope(name_, "inner product", Phase::kBackward);
  backward_weights_.execute(cpu_stream(), {{DNNL_ARG_SRC, src_},
                                           {DNNL_ARG_DIFF_DST, diff_dst},
                                           {DNNL_ARG_DIFF_WEIGHTS, weights_.gradient()},
                                           {DNNL_ARG_DIFF_BIAS, weights_.bias_gradient()}});
  weights_.store_gradient();
  if (needs_diff_src_)
    backward_data_.execute(cpu_stream(), {{DNNL_ARG_DIFF_DST, diff_dst},
                                          {DNNL_ARG_WEIGHTS, weights_.for_backward_data()},
                                          {DNNL_ARG_DIFF_SRC, diff_src_}});
  return diff_src_;
}

}  // namespace syncbed::models
