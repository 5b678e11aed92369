// One oneDNN CPU engine and stream for the process, plus the small helpers every layer
// needs. The CPU stream executes in order and synchronously, so timing around execute()
// measures the primitive.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <unordered_map>

namespace syncbed::models {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// Sets the number of threads oneDNN and our own OpenMP loops use (0 keeps the default).
void set_compute_threads(int threads);
int compute_threads();

inline memory::desc plain_desc(const memory::dims& dims, Tag tag) {
  return memory::desc(dims, memory::data_type::f32, tag);
}

// Copies `from` into a buffer laid out as `layout`, reusing the reorder primitive across
// calls. When the layouts match, `to()` is `from` itself and nothing is copied.
class CachedReorder {
 public:
  // Prepares a reorder from memory described by `from_desc` to `to_desc`.
  void prepare(const memory::desc& from_desc, const memory::desc& to_desc);
  // Returns memory in the `to` layout holding the data of `from`.
  const memory& run(const memory& from);
  // Reorders into caller-owned memory (which must be in the `to` layout).
  void run_into(const memory& from, const memory& to);
  bool is_identity() const { return identity_; }

 private:
  memory::desc from_desc_, to_desc_;
  bool identity_ = true;
  dnnl::reorder reorder_;
  memory to_;
  memory passthrough_;
};

}  // namespace syncbed::models
