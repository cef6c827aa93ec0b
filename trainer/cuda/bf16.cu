// bf16.cu: bf16 conversion and rounding, and the cuBLASLt bf16 x bf16 -> fp32 GEMM of bf16.hpp.
// The GEMM is the row-major y = x w^T stated column-major, y^T (out, n) = w^T' x^T (as in linear.cu):
// A = w stored (in, out) col-major with ld = in, op T; B = x stored (in, n), op N; C = y^T (out, n).
// Descriptors are created per call and the first heuristic algorithm is taken (correct first; a
// per-shape cache is the obvious next step). Workspace: the context's, on stream().
#include <climits>

#include "trainer/cuda/bf16.hpp"
#include "trainer/cuda/context.cuh"

namespace hrm::cuda {
namespace {

__global__ void to_bf16_kernel(__nv_bfloat16* dst, const float* src, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void round_to_bf16_kernel(float* x, i64 count) {
  const i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) x[i] = __bfloat162float(__float2bfloat16_rn(x[i]));
}

// RAII for the cuBLASLt descriptors of one call.
struct LtCall {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtCall() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

}  // namespace

void to_bf16(__nv_bfloat16* dst, const float* src, i64 count) {
  if (count == 0) return;
  to_bf16_kernel<<<grid_for(count), kThreads, 0, stream()>>>(dst, src, count);
  HRM_CUDA_CHECK_LAUNCH(to_bf16_kernel);
}

void round_to_bf16(float* x, i64 count) {
  if (count == 0) return;
  round_to_bf16_kernel<<<grid_for(count), kThreads, 0, stream()>>>(x, count);
  HRM_CUDA_CHECK_LAUNCH(round_to_bf16_kernel);
}

void linear_forward_bf16(float* y, const __nv_bfloat16* x, const __nv_bfloat16* w, i64 n, i64 in, i64 out) {
  if (n == 0 || out == 0) return;
  for (const i64 v : {n, in, out})
    HRM_CHECK(v >= 0 && v <= INT_MAX, "linear_forward_bf16: dimension {} is outside cuBLASLt's range", v);
  // 16-byte rows (8 bf16, 4 floats), which the tensor-core kernels want; HRM's widths are multiples of 64.
  HRM_CHECK(in % 8 == 0 && out % 4 == 0, "linear_forward_bf16: in {} must be a multiple of 8, out {} of 4", in, out);
  LtCall call;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&call.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t trans = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof trans));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&call.a, CUDA_R_16BF, static_cast<std::uint64_t>(in),
                                          static_cast<std::uint64_t>(out), in));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&call.b, CUDA_R_16BF, static_cast<std::uint64_t>(in),
                                          static_cast<std::uint64_t>(n), in));
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&call.c, CUDA_R_32F, static_cast<std::uint64_t>(out),
                                          static_cast<std::uint64_t>(n), out));
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&call.pref));
  const std::size_t workspace = kLtWorkspaceBytes;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace,
                                                    sizeof workspace));
  cublasLtMatmulHeuristicResult_t best{};
  int found = 0;
  CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(cublas_lt(), call.op, call.a, call.b, call.c, call.c, call.pref, 1,
                                              &best, &found));
  HRM_CHECK(found > 0, "linear_forward_bf16: cuBLASLt has no algorithm for ({} x {}) . ({} x {})^T", n, in, out, in);
  const float alpha = 1.0f, beta = 0.0f;
  CUBLAS_CHECK(cublasLtMatmul(cublas_lt(), call.op, &alpha, w, call.a, x, call.b, &beta, y, call.c, y, call.c,
                              &best.algo, lt_workspace(), workspace, stream()));
}

}  // namespace hrm::cuda
