#include "models/layers/inception_module.h"

#include "models/layers/conv2d.h"
#include "models/layers/pool2d.h"
#include "models/profile.h"

namespace syncbed::models {

InceptionModule::InceptionModule(std::string name, int in, InceptionWidths w, ParameterBlock& params, bool winograd)
    : name_(std::move(name)),
      concat_name_(name_ + "/concat"),
      sum_name_(name_ + "/input-grad-sum"),
      branches_{Sequential(name_ + "/1x1"), Sequential(name_ + "/3x3"), Sequential(name_ + "/5x5"),
                Sequential(name_ + "/pool")} {
  // Registration order fixes the parameter layout: the four branches, left to right.
  branches_[0].add<Conv2d>(name_ + "/1x1", ConvShape{in, w.conv1x1, 1}, params);
  branches_[1].add<Conv2d>(name_ + "/3x3_reduce", ConvShape{in, w.reduce3x3, 1}, params);
  branches_[1].add<Conv2d>(name_ + "/3x3", ConvShape{w.reduce3x3, w.conv3x3, 3, 1, 1, true, winograd}, params);
  branches_[2].add<Conv2d>(name_ + "/5x5_reduce", ConvShape{in, w.reduce5x5, 1}, params);
  branches_[2].add<Conv2d>(name_ + "/5x5", ConvShape{w.reduce5x5, w.conv5x5, 5, 1, 2}, params);
  branches_[3].add<Pool2d>(name_ + "/pool", PoolShape{PoolShape::Kind::kMax, 3, 1, 1, true});
  branches_[3].add<Conv2d>(name_ + "/pool_proj", ConvShape{in, w.pool_proj, 1}, params);
}

memory::desc InceptionModule::prepare(const memory::desc& src, bool needs_diff_src) {
  if (src == src_desc_ && needs_diff_src == needs_diff_src_ && concat_) return dst_.get_desc();
  src_desc_ = src;
  needs_diff_src_ = needs_diff_src;
  std::vector<memory::desc> outputs;
  for (auto& branch : branches_) outputs.push_back(branch.prepare(src, needs_diff_src));
  const dnnl::concat::primitive_desc concat_pd(1, outputs, cpu_engine());
  concat_ = dnnl::concat(concat_pd);
  dst_ = memory(concat_pd.dst_desc(), cpu_engine());
  memory::dim channel = 0;
  for (std::size_t i = 0; i < branches_.size(); ++i) {
    const memory::dims d = outputs[i].dims();
    branch_grad_views_[i] = concat_pd.dst_desc().submemory_desc(d, {0, channel, 0, 0});
    split_[i].prepare(branch_grad_views_[i], outputs[i]);
    branch_diff_[i] = memory(outputs[i], cpu_engine());
    channel += d[1];
  }
  if (needs_diff_src) {
    const dnnl::sum::primitive_desc sum_pd(src, std::vector<float>(4, 1.0f), std::vector<memory::desc>(4, src),
                                           cpu_engine());
    sum_ = dnnl::sum(sum_pd);
    diff_src_ = memory(src, cpu_engine());
  } else {
    sum_ = {};
    diff_src_ = {};
  }
  return concat_pd.dst_desc();
}

const memory& InceptionModule::forward(const memory& src, bool training) {
  for (std::size_t i = 0; i < branches_.size(); ++i) branch_dst_[i] = branches_[i].forward(src, training);
  ProfileScope scope(concat_name_, "concat", Phase::kForward);
  std::unordered_map<int, memory> args{{DNNL_ARG_DST, dst_}};
  for (int i = 0; i < 4; ++i) args.emplace(DNNL_ARG_MULTIPLE_SRC + i, branch_dst_[i]);
  concat_.execute(cpu_stream(), args);
  return dst_;
}

const memory& InceptionModule::backward(const memory& diff_dst) {
  std::array<memory, 4> input_grads;
  for (std::size_t i = 0; i < branches_.size(); ++i) {
    {
      ProfileScope scope(concat_name_, "concat", Phase::kBackward);
      split_[i].run_into(memory(branch_grad_views_[i], cpu_engine(), diff_dst.get_data_handle()), branch_diff_[i]);
    }
    input_grads[i] = branches_[i].backward(branch_diff_[i]);
  }
  if (!needs_diff_src_) return diff_src_;
  ProfileScope scope(sum_name_, "sum", Phase::kBackward);
  std::unordered_map<int, memory> args{{DNNL_ARG_DST, diff_src_}};
  for (int i = 0; i < 4; ++i) args.emplace(DNNL_ARG_MULTIPLE_SRC + i, input_grads[i]);
  sum_.execute(cpu_stream(), args);
  return diff_src_;
}

double InceptionModule::forward_flops() const {
  double total = 0;
  for (const auto& branch : branches_) total += branch.forward_flops();
  return total;
}

std::uint64_t InceptionModule::activation_pattern() const {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const auto& branch : branches_) {
    const std::uint64_t h = branch.activation_pattern();
    hash = hash_bytes(hash, &h, sizeof h);
  }
  return hash;
}

}  // namespace syncbed::models
