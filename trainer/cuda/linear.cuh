// linear.cuh: the fp32 GEMM every matrix product of the CUDA backend goes through (linear.cu,
// attention.cu). cuBLAS is column-major; each caller states its row-major product as the
// column-major one of the transposes (row-major X (r, c) is column-major X^T with ld = c).
#pragma once

#include "trainer/cuda/context.cuh"

namespace hrm::cuda {

// For b in [0, batch): C_b = alpha op(A_b) op(B_b) + beta C_b, column-major, C_b (m, n), op(A_b) (m, k),
// op(B_b) (k, n); X_b = X + b * strideX. fp32 arrays and accumulation; the inputs rounded as
// gemm_math() says (fp32: not at all). Queued on stream().
void gemm_f32(bool trans_a, bool trans_b, i64 m, i64 n, i64 k, float alpha, const float* A, i64 lda, i64 stride_a,
              const float* B, i64 ldb, i64 stride_b, float beta, float* C, i64 ldc, i64 stride_c, i64 batch);

}  // namespace hrm::cuda
