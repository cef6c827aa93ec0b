// linear.cuh: the GEMM every matrix product of the CUDA backend goes through (linear.cu,
// attention.cu). cuBLAS is column-major; each caller states its row-major product as the
// column-major one of the transposes (row-major X (r, c) is column-major X^T with ld = c).
#pragma once

#include "trainer/cuda/bf16.hpp"
#include "trainer/cuda/context.cuh"

namespace hrm::cuda {

// For b in [0, batch): C_b = alpha op(A_b) op(B_b) + beta C_b, column-major, C_b (m, n), op(A_b) (m, k),
// op(B_b) (k, n); X_b = X + b * strideX. Queued on stream(). Instantiated for
//   <float, float>  fp32 arrays, the inputs rounded as gemm_math() says (fp32: not at all);
//   <bf16, bf16>, <bf16, float>  bf16 inputs on the tensor cores, the output bf16 (rounded once) or
//                   fp32 (the weight gradients); fp32 accumulation, whatever gemm_math() says.
template <class In, class Out>
void gemm(bool trans_a, bool trans_b, i64 m, i64 n, i64 k, float alpha, const In* A, i64 lda, i64 stride_a,
          const In* B, i64 ldb, i64 stride_b, float beta, Out* C, i64 ldc, i64 stride_c, i64 batch);

}  // namespace hrm::cuda
