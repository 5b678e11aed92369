// Row-major single-precision GEMM on oneDNN's JIT kernels (runtime ISA dispatch, so the
// build needs no -march flags): C = alpha * op(A) * op(B) + beta * C.
#pragma once

#include <oneapi/dnnl/dnnl.h>

#include <stdexcept>

namespace syncbed::models {

inline void gemm(bool transpose_a, bool transpose_b, long m, long n, long k, float alpha, const float* a, long lda,
                 const float* b, long ldb, float beta, float* c, long ldc) {
  if (m == 0 || n == 0) return;
  if (dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) !=
      dnnl_success)
    throw std::runtime_error("dnnl_sgemm failed");
}

}  // namespace syncbed::models
