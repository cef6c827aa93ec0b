// bf16.hpp: the bf16 storage type of the CUDA backend (ARCHITECTURE.md 5, HRM-SPEC 1.9). Host C++:
// includable without nvcc; cuda_ops.hpp includes it, so every user of CudaOps sees ops::Acc's
// specialisation: a model in bf16 (HrmAct<CudaOps, cuda::bf16>) keeps acc_t = float for what HRM
// keeps in fp32 (rstd, RoPE tables, attention probabilities, weight gradients, the puzzle table).
// Also, on device pointers:
//   to_bf16(dst, src, count):                 dst = bf16(src), round to nearest even   (=)
//   round_to_bf16(x, count):                  x = float(bf16(x)) in place: fp32 values that HRM
//                                             would have as bf16 (its weight gradients)
//   linear_forward_bf16(y, x, w, n, in, out): y(n,out) fp32 = x(n,in) . w(out,in)^T, x and w bf16,
//                                             fp32 accumulation on the tensor cores    (=)
//                                             in a multiple of 8 and out of 4 (16-byte rows)
// bf16 products are exact in fp32, so against an fp32 GEMM on the same bf16-rounded inputs only the
// summation order differs (tests/test_cuda_ops.cpp). The model's bf16 GEMMs go through linear.cu's gemm.
#pragma once

#include <cstdint>

#include <cuda_bf16.h>

#include "trainer/ops/ops.hpp"

namespace hrm {

namespace ops {
template <> struct Acc<__nv_bfloat16> {
  using type = float;
};
}  // namespace ops

namespace cuda {

using bf16 = __nv_bfloat16;

void to_bf16(__nv_bfloat16* dst, const float* src, std::int64_t count);
void round_to_bf16(float* x, std::int64_t count);
void linear_forward_bf16(float* y, const __nv_bfloat16* x, const __nv_bfloat16* w, std::int64_t n, std::int64_t in,
                         std::int64_t out);

}  // namespace cuda
}  // namespace hrm
