// bf16.hpp: the first piece of the bf16 path (ARCHITECTURE.md 5: bf16 storage, tensor-core GEMMs
// through cuBLASLt, fp32 accumulation). Host C++: includable without nvcc. Device pointers.
//   to_bf16(dst, src, count):                 dst = bf16(src), round to nearest even   (=)
//   linear_forward_bf16(y, x, w, n, in, out): y(n,out) fp32 = x(n,in) . w(out,in)^T, x and w bf16,
//                                             fp32 accumulation on the tensor cores    (=)
//                                             in a multiple of 8 and out of 4 (16-byte rows)
// bf16 products are exact in fp32, so against an fp32 GEMM on the same bf16-rounded inputs only the
// summation order differs (tests/test_cuda_ops.cpp). Not yet used by the model.
#pragma once

#include <cstdint>

#include <cuda_bf16.h>

namespace hrm::cuda {

void to_bf16(__nv_bfloat16* dst, const float* src, std::int64_t count);
void linear_forward_bf16(float* y, const __nv_bfloat16* x, const __nv_bfloat16* w, std::int64_t n, std::int64_t in,
                         std::int64_t out);

}  // namespace hrm::cuda
