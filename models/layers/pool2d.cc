#include "models/layers/pool2d.h"

#include <stdexcept>

#include "models/profile.h"

namespace syncbed::models {

long Pool2d::output_size(long in, int kernel, int stride, int pad, bool ceil) {
  const long span = in + 2 * pad - kernel;
  if (span < 0) return 0;
  long out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
  // The last window must start inside the input (or its left padding), as in Torch/Caffe.
  if (ceil && (out - 1) * stride >= in + pad) --out;
  return out;
}

memory::desc Pool2d::prepare(const memory::desc& src, bool needs_diff_src) {
  if (src == src_desc_ && needs_diff_src == needs_diff_src_ && forward_) return dst_.get_desc();
  src_desc_ = src;
  needs_diff_src_ = needs_diff_src;
  const memory::dims in = src.dims();
  if (in.size() != 4) throw std::invalid_argument(name_ + ": expects 4-D input");
  const memory::dim kh = shape_.global ? in[2] : shape_.kernel, kw = shape_.global ? in[3] : shape_.kernel;
  const memory::dim s = shape_.global ? 1 : shape_.stride, p = shape_.global ? 0 : shape_.pad;
  const memory::dim oh = output_size(in[2], int(kh), int(s), int(p), shape_.ceil);
  const memory::dim ow = output_size(in[3], int(kw), int(s), int(p), shape_.ceil);
  if (oh <= 0 || ow <= 0) throw std::invalid_argument(name_ + ": input too small for the pooling window");
  const memory::dims strides{s, s}, kernel{kh, kw}, pad_l{p, p};
  const memory::dims pad_r{(oh - 1) * s + kh - in[2] - p, (ow - 1) * s + kw - in[3] - p};
  const auto algorithm = shape_.kind == PoolShape::Kind::kMax ? dnnl::algorithm::pooling_max
                                                              : dnnl::algorithm::pooling_avg_exclude_padding;
  const auto any_dst = memory::desc({in[0], in[1], oh, ow}, memory::data_type::f32, Tag::any);
  const dnnl::pooling_forward::primitive_desc fwd_pd(
      {dnnl::prop_kind::forward_training, algorithm, src, any_dst, strides, kernel, pad_l, pad_r}, cpu_engine());
  forward_ = dnnl::pooling_forward(fwd_pd);
  dst_ = memory(fwd_pd.dst_desc(), cpu_engine());
  workspace_ = fwd_pd.workspace_desc().get_size() ? memory(fwd_pd.workspace_desc(), cpu_engine()) : memory();
  if (needs_diff_src) {
    backward_ = dnnl::pooling_backward(dnnl::pooling_backward::primitive_desc(
        {algorithm, src, fwd_pd.dst_desc(), strides, kernel, pad_l, pad_r}, cpu_engine(), fwd_pd));
    diff_src_ = memory(src, cpu_engine());
  } else {
    backward_ = {};
    diff_src_ = {};
  }
  return fwd_pd.dst_desc();
}

const memory& Pool2d::forward(const memory& src, bool) {
  ProfileScope scope(name_, "pooling", Phase::kForward);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}};
  if (workspace_) args.emplace(DNNL_ARG_WORKSPACE, workspace_);
  forward_.execute(cpu_stream(), args);
  return dst_;
}

const memory& Pool2d::backward(const memory& diff_dst) {
  if (!needs_diff_src_) return diff_src_;
  ProfileScope scope(name_, "pooling", Phase::kBackward);
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src_}};
  if (workspace_) args.emplace(DNNL_ARG_WORKSPACE, workspace_);
  backward_.execute(cpu_stream(), args);
  return diff_src_;
}

std::uint64_t Pool2d::activation_pattern() const {
  // Max pooling's workspace records the winning input of every window.
  if (!workspace_) return 0;
  return hash_bytes(0xcbf29ce484222325ull, workspace_.get_data_handle(), workspace_.get_desc().get_size());
}

}  // namespace syncbed::models
