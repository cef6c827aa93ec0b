// embedding.cpp: the scaled input embedding (HRM-SPEC 1.4), forward and backward.
//
// Shapes: inputs (batch, seq) int32; tok, dtok (vocab, d); puzzle, dpuzzle (batch, prefix*d), the
// puzzle vector already zero-padded to prefix*d; pos, dpos (prefix+seq, d); x, dx (batch, prefix+seq, d).
//   embedding_forward:  e = [puzzle rows (zeros when puzzle is null) | tok[inputs]];
//                       with pos: e = 0.707106781 * (e + pos); x = sqrt(d) * e                (=)
//   embedding_backward: g = sqrt(d) * dx, times 0.707106781 when learned positions are on;
//                       dtok[inputs] += g, dpos += sum over batch of g   (+=; null: skipped)
//                       dpuzzle = g on the prefix rows                    (=;  null: skipped)
// The backward has no `pos` argument: learned positions are on exactly when dpos is given (the
// model passes dpos iff it has a position table), and then the 0.707106781 factor applies.
// Every product is rounded in T in HRM's order: (e + pos), * 0.707106781, * sqrt(d).
// (No step is a multiply-add, so Eigen's scalar and packet paths round alike wherever the data lies.)
#include <algorithm>
#include <cmath>
#include <cstdint>

// GCC 12 flags its own _mm*_undefined_* intrinsics, inlined into Eigen's AVX-512 kernels, as
// maybe-uninitialized (GCC bug 105593, fixed in GCC 13); the warning is silenced for Eigen only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "common/error.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cpu/kernel_common.hpp"

namespace hrm {
namespace {

template <class T> using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
template <class T> using Vec = Eigen::Map<Arr<T>>;
template <class T> using CVec = Eigen::Map<const Arr<T>>;

constexpr double kPosScale = 0.707106781;       // HRM's literal (not exactly 1/sqrt(2))
// The backward splits the feature axis into column blocks: each thread owns whole columns of
// dtok and dpos, so repeated token ids never collide and no atomics are needed.
constexpr std::int64_t kColumnBlock = 64;

void check_inputs(const std::int32_t* inputs, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i)
    HRM_CHECK(inputs[i] >= 0, "embedding: token id {} at position {} is negative", inputs[i], i);
}

}  // namespace

template <class T>
void CpuOps::embedding_forward(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos, i64 batch,
                               i64 seq, i64 prefix, i64 d) {
  check_inputs(inputs, batch * seq);
  const i64 tokens = prefix + seq, n = batch * tokens;
  const T scale = static_cast<T>(std::sqrt(static_cast<double>(d)));
  const T c = static_cast<T>(kPosScale);
#pragma omp parallel for schedule(static) if (n * d >= kElementwiseParallelMin)
  for (i64 r = 0; r < n; ++r) {
    const i64 b = r / tokens, t = r % tokens;
    const T* src = t < prefix ? (puzzle ? puzzle + (b * prefix + t) * d : nullptr)
                              : tok + static_cast<i64>(inputs[b * seq + t - prefix]) * d;
    Vec<T> xr(x + r * d, d);
    if (pos) {
      const CVec<T> p(pos + t * d, d);
      if (src)
        xr = ((CVec<T>(src, d) + p) * c) * scale;
      else
        xr = (p * c) * scale;  // 0 + pos is exact
    } else if (src) {
      xr = CVec<T>(src, d) * scale;
    } else {
      xr.setZero();
    }
  }
}

template <class T>
void CpuOps::embedding_backward(ops::acc_t<T>* dtok, ops::acc_t<T>* dpuzzle, ops::acc_t<T>* dpos, const T* dx,
                                const i32* inputs, i64 batch, i64 seq, i64 prefix, i64 d) {
  check_inputs(inputs, batch * seq);
  const i64 tokens = prefix + seq, n = batch * tokens;
  const T scale = static_cast<T>(std::sqrt(static_cast<double>(d)));
  const T c = static_cast<T>(kPosScale);
  const i64 blocks = (d + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel if (n * d >= kElementwiseParallelMin)
  {
    Arr<T> g(std::min(kColumnBlock, d));
#pragma omp for schedule(static)
    for (i64 blk = 0; blk < blocks; ++blk) {
      const i64 c0 = blk * kColumnBlock, len = std::min(kColumnBlock, d - c0);
      auto gb = g.head(len);
      for (i64 r = 0; r < n; ++r) {
        const i64 b = r / tokens, t = r % tokens;
        // Backward of x = sqrt(d) * (0.707106781 * e'): the two scalings in reverse order.
        gb = CVec<T>(dx + r * d + c0, len) * scale;
        if (dpos) {
          gb *= c;
          Vec<T>(dpos + t * d + c0, len) += gb;
        }
        if (t < prefix) {
          if (dpuzzle) Vec<T>(dpuzzle + (b * prefix + t) * d + c0, len) = gb;
        } else if (dtok) {
          Vec<T>(dtok + static_cast<i64>(inputs[b * seq + t - prefix]) * d + c0, len) += gb;
        }
      }
    }
  }
}

template void CpuOps::embedding_forward<float>(float*, const std::int32_t*, const float*, const float*, const float*,
                                               std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void CpuOps::embedding_forward<double>(double*, const std::int32_t*, const double*, const double*,
                                                const double*, std::int64_t, std::int64_t, std::int64_t,
                                                std::int64_t);
template void CpuOps::embedding_backward<float>(float*, float*, float*, const float*, const std::int32_t*,
                                                std::int64_t, std::int64_t, std::int64_t, std::int64_t);
template void CpuOps::embedding_backward<double>(double*, double*, double*, const double*, const std::int32_t*,
                                                 std::int64_t, std::int64_t, std::int64_t, std::int64_t);

}  // namespace hrm
