// attention.cpp: non-causal multi-head scaled dot-product attention, no mask (HRM-SPEC 1.6).
//
// Shapes: qkv, dqkv (batch*tokens, 3*H*hd), each row [Q heads | K heads | V heads];
// out, dout (batch*tokens, H*hd); probs (batch, H, tokens, tokens).
//   attention_forward:  P = softmax(Q K^T / sqrt(hd)) per (batch, head), out = P V          (=)
//                       P is saved in probs (attention_saved_count: batch*H*tokens^2; null: not saved)
//   attention_backward: dV = P^T dO, dS = P * (dO V^T - rowsum(P * dO V^T)),
//                       dQ = dS K / sqrt(hd), dK = dS^T Q / sqrt(hd); all of dqkv assigned   (=)
//                       probs null: P is recomputed from qkv (the forward's output is not needed)
// Heads are strided views of qkv/out (OuterStride), so nothing is transposed or copied; each
// (batch, head) is independent, which is where the OpenMP parallelism goes (Eigen's own GEMM
// threading stays off inside a parallel region).
#include <cmath>
#include <cstdint>

// GCC 12 flags its own _mm*_undefined_* intrinsics, inlined into Eigen's AVX-512 kernels, as
// maybe-uninitialized (GCC bug 105593, fixed in GCC 13); the warning is silenced for Eigen only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cpu/kernel_common.hpp"

namespace hrm {
namespace {

template <class T> using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T> using MapR = Eigen::Map<MatR<T>>;
template <class T> using CMapR = Eigen::Map<const MatR<T>>;
template <class T> using Strided = Eigen::Map<MatR<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T> using CStrided = Eigen::Map<const MatR<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// Work (batch*heads*tokens^2*hd multiply-adds) below which one thread is faster than a team.
constexpr std::int64_t kAttentionParallelMin = 1 << 15;
// Scratch rows are padded to whole packets of the widest vector unit (16 floats, 2 x 8 doubles).
constexpr std::int64_t kPad = 16;

// Results must not depend on where a buffer was allocated (a resumed run must be bit-identical):
//  - sums use an order fixed by the length alone (ordered_sum, kernel_common.hpp).
//  - exp runs on an aligned scratch row padded to whole packets, so every element goes through
//    Eigen's packet exp; on an unaligned Map the head and tail would take std::exp, which rounds
//    differently.
template <class T> using Row = Eigen::Array<T, Eigen::Dynamic, 1>;

template <class T> Row<T> padded_row(std::int64_t len) {
  return Row<T>::Zero((len + kPad - 1) / kPad * kPad);
}

// P = softmax(scale * Q K^T) row by row, max-subtracted so exp never overflows. `buf` is a
// padded_row of at least P.cols() elements.
template <class Dst, class Q, class K, class T> void softmax_scores(Dst& P, const Q& q, const K& k, T scale,
                                                                    Row<T>& buf) {
  P.noalias() = scale * (q * k.transpose());
  const std::int64_t t = P.cols();
  for (std::int64_t r = 0; r < P.rows(); ++r) {
    T* p = P.data() + r * t;
    const T m = P.row(r).maxCoeff();  // a max is exact in any order
    for (std::int64_t j = 0; j < t; ++j) buf[j] = p[j] - m;
    buf = buf.exp();
    const T sum = ordered_sum<T>(t, [&](std::int64_t j) { return buf[j]; });
    for (std::int64_t j = 0; j < t; ++j) p[j] = buf[j] / sum;
  }
}

}  // namespace

template <class T>
std::int64_t CpuOps::attention_saved_count(i64 batch, i64 tokens, i64 heads, i64) {
  return batch * heads * tokens * tokens;
}

template <class T>
void CpuOps::attention_forward(T* out, ops::acc_t<T>* probs, const T* qkv, i64 batch, i64 tokens, i64 heads,
                               i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens;
  const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
  const bool parallel = batch * heads * TT * head_dim >= kAttentionParallelMin;
#pragma omp parallel if (parallel)
  {
    MatR<T> scratch(probs ? 0 : tokens, probs ? 0 : tokens);  // per thread, only when P is not kept
    Row<T> buf = padded_row<T>(tokens);
#pragma omp for collapse(2) schedule(static)
    for (i64 b = 0; b < batch; ++b) {
      for (i64 h = 0; h < heads; ++h) {
        const T* base = qkv + b * tokens * ld + h * head_dim;
        const CStrided<T> Q(base, tokens, head_dim, Eigen::OuterStride<>(ld));
        const CStrided<T> K(base + D, tokens, head_dim, Eigen::OuterStride<>(ld));
        const CStrided<T> V(base + 2 * D, tokens, head_dim, Eigen::OuterStride<>(ld));
        MapR<T> P(probs ? probs + (b * heads + h) * TT : scratch.data(), tokens, tokens);
        softmax_scores(P, Q, K, scale, buf);
        Strided<T> O(out + b * tokens * D + h * head_dim, tokens, head_dim, Eigen::OuterStride<>(D));
        O.noalias() = P * V;
      }
    }
  }
}

template <class T>
void CpuOps::attention_backward(T* dqkv, const T* dout, const T* qkv, const T* /*out*/, const ops::acc_t<T>* probs,
                                i64 batch, i64 tokens, i64 heads, i64 head_dim) {
  const i64 D = heads * head_dim, ld = 3 * D, TT = tokens * tokens;
  const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
  const bool parallel = batch * heads * TT * head_dim >= kAttentionParallelMin;
#pragma omp parallel if (parallel)
  {
    MatR<T> dS(tokens, tokens);                                      // dP, then dS in place
    MatR<T> recomputed(probs ? 0 : tokens, probs ? 0 : tokens);      // P when it was not saved
    Row<T> buf = padded_row<T>(tokens);
#pragma omp for collapse(2) schedule(static)
    for (i64 b = 0; b < batch; ++b) {
      for (i64 h = 0; h < heads; ++h) {
        const T* base = qkv + b * tokens * ld + h * head_dim;
        T* dbase = dqkv + b * tokens * ld + h * head_dim;
        const CStrided<T> Q(base, tokens, head_dim, Eigen::OuterStride<>(ld));
        const CStrided<T> K(base + D, tokens, head_dim, Eigen::OuterStride<>(ld));
        const CStrided<T> V(base + 2 * D, tokens, head_dim, Eigen::OuterStride<>(ld));
        const CStrided<T> dO(dout + b * tokens * D + h * head_dim, tokens, head_dim, Eigen::OuterStride<>(D));
        Strided<T> dQ(dbase, tokens, head_dim, Eigen::OuterStride<>(ld));
        Strided<T> dK(dbase + D, tokens, head_dim, Eigen::OuterStride<>(ld));
        Strided<T> dV(dbase + 2 * D, tokens, head_dim, Eigen::OuterStride<>(ld));
        if (!probs) softmax_scores(recomputed, Q, K, scale, buf);
        const CMapR<T> P(probs ? probs + (b * heads + h) * TT : recomputed.data(), tokens, tokens);

        dV.noalias() = P.transpose() * dO;
        dS.noalias() = dO * V.transpose();
        // Softmax backward per row: dS = P * (dP - <P, dP>).
        for (i64 r = 0; r < tokens; ++r) {
          const T* p = P.data() + r * tokens;
          T* ds = dS.data() + r * tokens;
          const T dot = ordered_sum<T>(tokens, [&](i64 j) { return p[j] * ds[j]; });
          for (i64 j = 0; j < tokens; ++j) ds[j] = p[j] * (ds[j] - dot);
        }
        dQ.noalias() = scale * (dS * K);
        dK.noalias() = scale * (dS.transpose() * Q);
      }
    }
  }
}

template std::int64_t CpuOps::attention_saved_count<float>(std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template std::int64_t CpuOps::attention_saved_count<double>(std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void CpuOps::attention_forward<float>(float*, float*, const float*, std::int64_t, std::int64_t,
                                               std::int64_t, std::int64_t);
template void CpuOps::attention_forward<double>(double*, double*, const double*, std::int64_t, std::int64_t,
                                                std::int64_t, std::int64_t);
template void CpuOps::attention_backward<float>(float*, const float*, const float*, const float*, const float*,
                                                std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void CpuOps::attention_backward<double>(double*, const double*, const double*, const double*, const double*,
                                                 std::int64_t, std::int64_t, std::int64_t, std::int64_t);

}  // namespace hrm
