#include "models/layers/flatten.h"

#include "models/profile.h"

namespace syncbed::models {

memory::desc Flatten::prepare(const memory::desc& src, bool needs_diff_src) {
  if (src == src_desc_ && needs_diff_src == needs_diff_src_ && dst_) return dst_.get_desc();
  src_desc_ = src;
  needs_diff_src_ = needs_diff_src;
  const memory::dims d = src.dims();
  memory::dim features = 1;
  for (std::size_t i = 1; i < d.size(); ++i) features *= d[i];
  const auto plain = plain_desc(d, d.size() == 4 ? Tag::nchw : Tag::nc);
  to_plain_.prepare(src, plain);
  plain_4d_ = memory(plain, cpu_engine());
  dst_ = memory(plain_desc({d[0], features}, Tag::nc), cpu_engine(), plain_4d_.get_data_handle());
  if (needs_diff_src) {
    from_plain_.prepare(plain, src);
    diff_src_ = memory(src, cpu_engine());
  }
  return dst_.get_desc();
}

const memory& Flatten::forward(const memory& src, bool) {
  ProfileScope scope(name_, "reorder", Phase::kForward);
  to_plain_.run_into(src, plain_4d_);
  return dst_;
}

const memory& Flatten::backward(const memory& diff_dst) {
  if (!needs_diff_src_) return diff_src_;
  ProfileScope scope(name_, "reorder", Phase::kBackward);
  from_plain_.run_into(memory(plain_4d_.get_desc(), cpu_engine(), diff_dst.get_data_handle()), diff_src_);
  return diff_src_;
}

}  // namespace syncbed::models
