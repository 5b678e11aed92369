#include "models/dnnl_context.h"

#include "models/layers/layer.h"

#include <omp.h>

#include <cstring>

namespace syncbed::models {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream stream(cpu_engine());
  return stream;
}

void set_compute_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

int compute_threads() { return omp_get_max_threads(); }

void CachedReorder::prepare(const memory::desc& from_desc, const memory::desc& to_desc) {
  if (from_desc == from_desc_ && to_desc == to_desc_ && (identity_ || to_)) return;
  from_desc_ = from_desc;
  to_desc_ = to_desc;
  identity_ = from_desc == to_desc;
  if (identity_) {
    reorder_ = {};
    to_ = {};
    return;
  }
  reorder_ = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), from_desc, cpu_engine(), to_desc));
  to_ = memory(to_desc, cpu_engine());
}

const memory& CachedReorder::run(const memory& from) {
  if (identity_) {
    passthrough_ = from;
    return passthrough_;
  }
  reorder_.execute(cpu_stream(), const_cast<memory&>(from), to_);
  return to_;
}

void CachedReorder::run_into(const memory& from, const memory& to) {
  if (identity_) {
    std::memcpy(to.get_data_handle(), from.get_data_handle(), from_desc_.get_size());
    return;
  }
  reorder_.execute(cpu_stream(), const_cast<memory&>(from), const_cast<memory&>(to));
}

std::uint64_t hash_bytes(std::uint64_t hash, const void* bytes, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

}  // namespace syncbed::models
