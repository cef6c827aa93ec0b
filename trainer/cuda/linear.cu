// linear.cu: a bias-free Linear layer on cuBLAS, y = x . w^T, weights stored as PyTorch stores them.
//
// Shapes (row-major): x (n, in), w (out, in), y (n, out).
//   linear_forward:  y  = x w^T      column-major: y^T (out, n) = w^T' x^T with w^T' = (w as col-major)^T
//   linear_backward: dw += dy^T x    column-major: dw^T (in, out) += x^T dy             (+=, beta = 1)
//                    dx  = dy w      column-major: dx^T (in, n) = w^T dy^T   (+= when accumulate_dx;
//                                    skipped when dx is null)
// Also gemm_f32 (linear.cuh), the strided-batched fp32 GEMM the attention shares: fp32 arrays, the
// multiplication of cuda::gemm_math() (cuBLAS's compute type: pedantic fp32, TF32 or bf16 inputs).
#include <climits>

#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/cuda/linear.cuh"

namespace hrm::cuda {

void gemm_f32(bool trans_a, bool trans_b, i64 m, i64 n, i64 k, float alpha, const float* A, i64 lda, i64 stride_a,
              const float* B, i64 ldb, i64 stride_b, float beta, float* C, i64 ldc, i64 stride_c, i64 batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  for (const i64 v : {m, n, k, lda, ldb, ldc, batch})
    HRM_CHECK(v >= 0 && v <= INT_MAX, "gemm_f32: dimension {} is outside cuBLAS's int range", v);
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(cublas(), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(m),
                                          static_cast<int>(n), static_cast<int>(k), &alpha, A, CUDA_R_32F,
                                          static_cast<int>(lda), stride_a, B, CUDA_R_32F, static_cast<int>(ldb),
                                          stride_b, &beta, C, CUDA_R_32F, static_cast<int>(ldc), stride_c,
                                          static_cast<int>(batch), gemm_compute_type(), CUBLAS_GEMM_DEFAULT));
}

}  // namespace hrm::cuda

namespace hrm {

template <class T> void CudaOps::linear_forward(T* y, const T* x, const T* w, i64 n, i64 in, i64 out) {
  cuda::gemm_f32(true, false, out, n, in, 1.0f, w, in, 0, x, in, 0, 0.0f, y, out, 0, 1);
}

template <class T>
void CudaOps::linear_backward(T* dx, ops::acc_t<T>* dw, const T* dy, const T* x, const T* w, i64 n, i64 in, i64 out,
                              bool accumulate_dx) {
  HRM_CHECK(dw != nullptr, "linear_backward: dw is required (weight gradients always accumulate)");
  cuda::gemm_f32(false, true, in, out, n, 1.0f, x, in, 0, dy, out, 0, 1.0f, dw, in, 0, 1);
  if (dx == nullptr) return;
  cuda::gemm_f32(false, false, in, n, out, 1.0f, w, in, 0, dy, out, 0, accumulate_dx ? 1.0f : 0.0f, dx, in, 0, 1);
}

template void CudaOps::linear_forward<float>(float*, const float*, const float*, std::int64_t, std::int64_t,
                                             std::int64_t);
template void CudaOps::linear_backward<float>(float*, float*, const float*, const float*, const float*, std::int64_t,
                                              std::int64_t, std::int64_t, bool);

}  // namespace hrm
