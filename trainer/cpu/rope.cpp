// rope.cpp: rotary position embeddings in the rotate-half (NeoX) layout (HRM-SPEC 1.6).
//
// Shapes: cos, sin (tokens, head_dim); qkv, dqkv (batch*tokens, 3*heads*head_dim), each row
// [Q heads | K heads | V heads], each head head_dim contiguous.
//   rope_tables:   inv_freq_i = 1/theta^(2i/hd), angle(p, i) = p*inv_freq_i, computed in T as HRM
//                  does in fp32; each table is the (tokens, hd/2) half concatenated with itself  (=)
//   rope_forward:  x' = x*cos + rotate_half(x)*sin, rotate_half([x1|x2]) = [-x2|x1], on heads
//                  0..2H-1 (Q and K), in place; V untouched
//   rope_backward: the transposed rotation dx = dy*cos + rotate_half^T(dy*sin),
//                  rotate_half^T([z1|z2]) = [z2|-z1], on dQ and dK in place; dV untouched
#include <cmath>
#include <cstdint>

#include "common/error.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cpu/kernel_common.hpp"

namespace hrm {
namespace {

using i64 = std::int64_t;

// [x1|x2] -> [x1 c - sign x2 s | x2 c + sign x1 s] on the Q and K heads of every row: sign +1 is the
// rotation (forward), -1 its transpose (backward). Both halves of a table row hold the same values,
// and multiplying by +-1 is exact, so each direction rounds as its own formula would.
template <class T>
void rotate(T* qkv, const T* cos, const T* sin, i64 batch, i64 tokens, i64 heads, i64 head_dim, T sign) {
  HRM_CHECK(head_dim % 2 == 0, "rope: head_dim {} must be even", head_dim);
  const i64 half = head_dim / 2, row = 3 * heads * head_dim, n = batch * tokens;
#pragma omp parallel for schedule(static) if (n * row >= kElementwiseParallelMin)
  for (i64 r = 0; r < n; ++r) {
    const T* c = cos + (r % tokens) * head_dim;
    const T* s = sin + (r % tokens) * head_dim;
    for (i64 h = 0; h < 2 * heads; ++h) {
      T* x = qkv + r * row + h * head_dim;
      for (i64 j = 0; j < half; ++j) {
        const T x1 = x[j], x2 = x[half + j];
        x[j] = x1 * c[j] - (sign * x2) * s[j];
        x[half + j] = x2 * c[half + j] + (sign * x1) * s[half + j];
      }
    }
  }
}

}  // namespace

template <class T> void CpuOps::rope_tables(T* cos, T* sin, i64 tokens, i64 head_dim, double theta) {
  HRM_CHECK(head_dim % 2 == 0, "rope_tables: head_dim {} must be even", head_dim);
  const i64 half = head_dim / 2;
  for (i64 i = 0; i < half; ++i) {
    // Same rounding steps as torch in T: (2i)/hd, theta^that, its reciprocal, then p * inv_freq.
    const T inv_freq = T(1) / std::pow(static_cast<T>(theta), static_cast<T>(2 * i) / static_cast<T>(head_dim));
    for (i64 p = 0; p < tokens; ++p) {
      const T angle = static_cast<T>(p) * inv_freq;
      const T c = std::cos(angle), s = std::sin(angle);
      cos[p * head_dim + i] = cos[p * head_dim + half + i] = c;
      sin[p * head_dim + i] = sin[p * head_dim + half + i] = s;
    }
  }
}

template <class T>
void CpuOps::rope_forward(T* qkv, const ops::acc_t<T>* cos, const ops::acc_t<T>* sin, i64 batch, i64 tokens, i64 heads,
                          i64 head_dim) {
  rotate(qkv, cos, sin, batch, tokens, heads, head_dim, T(1));
}

template <class T>
void CpuOps::rope_backward(T* dqkv, const ops::acc_t<T>* cos, const ops::acc_t<T>* sin, i64 batch, i64 tokens,
                           i64 heads, i64 head_dim) {
  rotate(dqkv, cos, sin, batch, tokens, heads, head_dim, T(-1));
}

template void CpuOps::rope_tables<float>(float*, float*, std::int64_t, std::int64_t, double);
template void CpuOps::rope_tables<double>(double*, double*, std::int64_t, std::int64_t, double);
template void CpuOps::rope_forward<float>(float*, const float*, const float*, std::int64_t, std::int64_t, std::int64_t,
                                          std::int64_t);
template void CpuOps::rope_forward<double>(double*, const double*, const double*, std::int64_t, std::int64_t,
                                           std::int64_t, std::int64_t);
template void CpuOps::rope_backward<float>(float*, const float*, const float*, std::int64_t, std::int64_t,
                                           std::int64_t, std::int64_t);
template void CpuOps::rope_backward<double>(double*, const double*, const double*, std::int64_t, std::int64_t,
                                            std::int64_t, std::int64_t);

}  // namespace hrm
