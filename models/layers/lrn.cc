#include "models/layers/lrn.h"

#include <stdexcept>

#include "models/profile.h"

namespace syncbed::models {

memory::desc Lrn::prepare(const memory::desc& src, bool needs_diff_src) {
  if (src == src_desc_ && needs_diff_src == needs_diff_src_ && forward_) return dst_.get_desc();
  src_desc_ = src;
  needs_diff_src_ = needs_diff_src;
  const auto algorithm = dnnl::algorithm::lrn_across_channels;
  const dnnl::lrn_forward::primitive_desc fwd_pd(
      {dnnl::prop_kind::forward_training, algorithm, src, shape_.size, shape_.alpha, shape_.beta, shape_.k},
      cpu_engine());
  forward_ = dnnl::lrn_forward(fwd_pd);
  dst_ = memory(fwd_pd.dst_desc(), cpu_engine());
  workspace_ = fwd_pd.workspace_desc().get_size() ? memory(fwd_pd.workspace_desc(), cpu_engine()) : memory();
  if (needs_diff_src) {
    backward_ = dnnl::lrn_backward(dnnl::lrn_backward::primitive_desc(
        {algorithm, src, fwd_pd.dst_desc(), shape_.size, shape_.alpha, shape_.beta, shape_.k}, cpu_engine(), fwd_pd));
    diff_src_ = memory(src, cpu_engine());
  } else {
    backward_ = {};
    diff_src_ = {};
  }
  return fwd_pd.dst_desc();
}

const memory& Lrn::forward(const memory& src, bool) {
  ProfileScope scope(name_, "lrn", Phase::kForward);
  src_ = src;
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst_}};
  if (workspace_) args.emplace(DNNL_ARG_WORKSPACE, workspace_);
  forward_.execute(cpu_stream(), args);
  return dst_;
}

const memory& Lrn::backward(const memory& diff_dst) {
  if (!needs_diff_src_) return diff_src_;
  ProfileScope scope(name_, "lrn", Phase::kBackward);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src_}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src_}};
  if (workspace_) args.emplace(DNNL_ARG_WORKSPACE, workspace_);
  backward_.execute(cpu_stream(), args);
  return diff_src_;
}

}  // namespace syncbed::models
