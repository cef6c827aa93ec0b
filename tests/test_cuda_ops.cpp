// test_cuda_ops.cpp: the CUDA backend (trainer/cuda) against the Eigen backend (trainer/cpu), op by op.
//
// Modelled on ggml's test-backend-ops: a table of every op of the contract (trainer/ops/ops.hpp:
// forward and backward, the data-moving, bias and ACT ops), of the two optimizer steps
// (trainer/cuda/optimizers.hpp), of sum_squares and of the bf16 conversion and GEMM
// (trainer/cuda/bf16.hpp), and every op again in bf16 storage (T = cuda::bf16, against CpuOps float
// on the same bf16-rounded inputs), each run on fixed-seed inputs on the host (CpuOps, trainer/loop) and on
// the device, at HRM's Sudoku shape (T = 82, 8 heads of 64), ARC's sequence
// length (T = 901) and an odd small shape. Each output is compared with a per-op tolerance (its
// reason beside it):
//  - NaN-safe: an element fails unless err <= tol, so a NaN anywhere fails;
//  - guard bytes: every device buffer has 256 bytes of 0xA5 after its end, checked after each op;
//  - = / += rules: assigned outputs start as NaN on the device (a += would keep it), accumulated
//    ones start from the same random values on both backends;
//  - the device-side input checks (negative token id, bad label, puzzle id) throw from
//    CudaOps::check_errors.
// Without a CUDA device every TEST_CASE exits 77, which CTest reports as skipped (never passed).
// `test_cuda_ops --op NAME` runs only the table rows whose name contains NAME (doctest's own
// options still apply; e.g. -tc="cuda op parity: attention*" --op backward).
#define DOCTEST_CONFIG_IMPLEMENT
#include <cuda_runtime_api.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/cuda/bf16.hpp"
#include "trainer/cuda/cuda_ops.hpp"
#include "trainer/cuda/device_buffer.hpp"
#include "trainer/cuda/optimizers.hpp"
#include "trainer/cuda/sum_squares.hpp"
#include "trainer/loop/adam_atan2.hpp"
#include "trainer/loop/sign_sgd.hpp"

using hrm::CpuOps;
using hrm::CudaOps;
using hrm::DeviceBuffer;
using hrm::ops::kIgnoreLabel;
using hrm::ops::LossType;
using hrm::ops::SeqLoss;

namespace {

using i64 = std::int64_t;
using i32 = std::int32_t;
using Fvec = std::vector<float>;

std::string g_op_filter;  // --op NAME

// --- tolerances (relative to max(max |cpu|, 1) over the tensor) --------------------------------------
// Bit-identical: the same IEEE roundings in the same order on both backends (add, the embedding's
// separately rounded products and in-order sums, the optimizers' explicit fmas, RoPE tables
// computed by CpuOps on the host).
constexpr double kTolExact = 0;
// A few roundings per element, each <= 2^-24 = 6e-8 relative, where the device contracts a
// multiply-add the CPU rounds twice, or its exp/log differ from Eigen's by a few ulp; ~30 of them.
constexpr double kTolElem = 2e-6;
// Sums reordered: cuBLAS vs Eigen GEMMs over K <= 1536 terms, block reductions over d <= 1536, the
// attention's T = 901 softmax sums. Each reordering errs by about sqrt(K) * 2^-24 of the terms'
// magnitude (~4e-6 at K = 1536, relative to outputs of the same order); an indexing or formula
// error is O(0.1).
constexpr double kTolSum = 5e-5;
// The fused attention forward (bf16 mode) rounds the probabilities to bf16 for P V: 2^-8 relative per
// term (bf16 keeps 8 significant bits) of outputs bounded by max |V| (2 in op_attention's fused row), summed in another order; a CPU
// replay of the kernel's arithmetic erred by 1.7e-3 at most over T = 1..901 (a second replay, with
// the fused backward: 1.6e-3): 4e-3.
constexpr double kTolBf16Attention = 4e-3;
// bf16 storage (T = cuda::bf16) against CpuOps float on the same bf16-rounded inputs: each output is
// rounded to bf16 once (at most 2^-8 = 3.9e-3 of the element, so of the scale), after fp32 arithmetic
// that differs from the CPU's in order only (~1e-6): 4e-3. Deliberately tight: a CPU replay of these
// rows (40 seeds, every shape) reached 3.7e-3, and a rounding too many (e.g. of the norm's residual
// sum, or split-K partial sums added in bf16 inside cuBLAS) shows as 5e-3 or more.
constexpr double kTolBf16 = 4e-3;
// A chain of two or three bf16 roundings the CPU does not make (SwiGLU rounds silu(g) before the
// product, the embedding after each of its ops, as torch's bf16 ops do; the embedding's gradients are
// those rounded terms summed in fp32): at most
// 3 x 2^-8 = 1.2e-2 (the replay: 6.1e-3).
constexpr double kTolBf16Chain = 1.2e-2;
// bf16 attention: P (forward) and P and dS (backward) rounded to bf16 for their products, then the
// output rounded: two to three roundings of 2^-8 per term of outputs bounded by the inputs: 1.5e-2
// (the replay of the unfused kernels: 6.4e-3; of the fused backward, dqkv: 6.9e-3 in bf16 storage,
// 3.7e-3 from float inputs).
constexpr double kTolBf16AttentionOps = 1.5e-2;
// The stablemax loss is float64 on both: only the vocabulary sum's order differs (2^-53 relative).
constexpr double kTolF64 = 1e-12;

// --- device and buffers ------------------------------------------------------------------------------

void require_device() {
  const std::string why = hrm::cuda::no_device_reason();
  if (!why.empty()) {
    std::fprintf(stderr, "no CUDA device answers (%s): skipped (exit 77)\n", why.c_str());
    std::exit(77);
  }
}

constexpr std::size_t kGuardBytes = 256;
constexpr unsigned char kGuardByte = 0xA5;

// A device copy of a host array, with kGuardBytes of kGuardByte after its end.
template <class T> class Guarded {
 public:
  explicit Guarded(const std::vector<T>& host) : n_(host.size()), buf_(n_ + guard_elems()) {
    buf_.upload(host.data(), n_);
    CUDA_CHECK(cudaMemset(buf_.data() + n_, kGuardByte, guard_elems() * sizeof(T)));
  }
  T* get() { return buf_.data(); }
  // The n elements back on the host, after checking the guard.
  std::vector<T> result(const std::string& what) const {
    std::vector<unsigned char> guard(guard_elems() * sizeof(T));
    CUDA_CHECK(cudaMemcpy(guard.data(), buf_.data() + n_, guard.size(), cudaMemcpyDeviceToHost));
    const auto bad = std::find_if(guard.begin(), guard.end(), [](unsigned char b) { return b != kGuardByte; });
    if (bad != guard.end()) FAIL_CHECK(what << ": wrote past its end (guard byte " << (bad - guard.begin()) << ")");
    std::vector<T> h(n_);
    buf_.download(h.data(), n_);
    return h;
  }

 private:
  static std::size_t guard_elems() { return (kGuardBytes + sizeof(T) - 1) / sizeof(T); }
  std::size_t n_;
  DeviceBuffer<T> buf_;
};

// --- comparison --------------------------------------------------------------------------------------

void compare(const std::string& what, const Fvec& got, const Fvec& ref, double tol) {
  REQUIRE(got.size() == ref.size());
  double scale = 1;
  for (float r : ref) scale = std::max(scale, std::abs(static_cast<double>(r)));
  double worst = 0;
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(static_cast<double>(got[i]) - static_cast<double>(ref[i])) / scale;
    if (!(err <= tol)) {
      if (bad++ == 0) first = i;
      worst = std::isnan(err) ? err : std::max(worst, err);
    }
  }
  if (bad > 0)
    FAIL_CHECK(what << ": " << bad << " of " << got.size() << " elements exceed tolerance " << tol << " (first at "
                    << first << ": cuda " << got[first] << ", cpu " << ref[first] << "; worst error " << worst << ")");
}

template <class T> void compare_exact(const std::string& what, const std::vector<T>& got, const std::vector<T>& ref) {
  REQUIRE(got.size() == ref.size());
  const auto m = std::mismatch(got.begin(), got.end(), ref.begin());
  if (m.first != got.end())
    FAIL_CHECK(what << ": element " << (m.first - got.begin()) << " differs (cuda " << *m.first << ", cpu "
                    << *m.second << ")");
}

void check_output(const std::string& what, const Guarded<float>& dev, const Fvec& ref, double tol) {
  compare(what, dev.result(what), ref, tol);
}

// --- inputs ------------------------------------------------------------------------------------------

struct Shape {
  const char* name;
  i64 batch, prefix, seq, heads, head_dim, inter, vocab;
  i64 tokens() const { return prefix + seq; }
  i64 D() const { return heads * head_dim; }
  i64 n() const { return batch * tokens(); }
};
constexpr Shape kShapes[] = {
    {"sudoku (T=82, 8x64 heads)", 2, 1, 81, 8, 64, 1536, 11},
    {"arc length (T=901)", 1, 1, 900, 2, 64, 256, 12},
    {"short (T=40, one tile)", 2, 1, 39, 2, 64, 128, 11},
    {"odd", 3, 2, 5, 3, 6, 10, 5},
};

Fvec uniform(std::mt19937_64& rng, i64 count, float scale = 1.0f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  Fvec v(static_cast<std::size_t>(count));
  for (float& x : v) x = u(rng);
  return v;
}

Fvec nans(i64 count) { return Fvec(static_cast<std::size_t>(count), std::numeric_limits<float>::quiet_NaN()); }

std::vector<i32> ids(std::mt19937_64& rng, i64 count, i64 vocab) {
  std::uniform_int_distribution<i32> u(0, static_cast<i32>(vocab - 1));
  std::vector<i32> v(static_cast<std::size_t>(count));
  for (i32& x : v) x = u(rng);
  return v;
}

// Labels with ~20% ignored, and the last sequence wholly ignored (n = 0) when batch > 1.
std::vector<i32> labels(std::mt19937_64& rng, i64 batch, i64 seq_len, i64 vocab) {
  std::vector<i32> l = ids(rng, batch * seq_len, vocab);
  std::bernoulli_distribution ignore(0.2);
  for (i64 i = 0; i < batch * seq_len; ++i)
    if (ignore(rng) || (batch > 1 && i >= (batch - 1) * seq_len)) l[i] = kIgnoreLabel;
  return l;
}

// --- bf16 storage: inputs rounded as the device stores them, results widened ----------------------

using hrm::cuda::bf16;
using Bvec = std::vector<bf16>;

Fvec rounded(const Fvec& v) {
  Fvec r(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) r[i] = __bfloat162float(__float2bfloat16_rn(v[i]));
  return r;
}
Bvec as_bf16(const Fvec& v) {
  Bvec r(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) r[i] = __float2bfloat16_rn(v[i]);
  return r;
}
Fvec widened(const Bvec& v) {
  Fvec r(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) r[i] = __bfloat162float(v[i]);
  return r;
}
Guarded<bf16> bf16_nans(i64 count) { return Guarded<bf16>(as_bf16(nans(count))); }
void check_bf16(const std::string& what, const Guarded<bf16>& dev, const Fvec& ref, double tol) {
  compare(what + " (bf16)", widened(dev.result(what)), ref, tol);
}

// A host array as storage T holds it (bf16: rounded), on the device, and a device result compared.
template <class T>
Fvec stored(const Fvec& v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    return rounded(v);
  }
}
template <class T>
Guarded<T> on_device(const Fvec& v) {
  if constexpr (std::is_same_v<T, float>) {
    return Guarded<float>(v);
  } else {
    return Guarded<bf16>(as_bf16(v));
  }
}
template <class T>
void check_stored(const std::string& what, const Guarded<T>& dev, const Fvec& ref, double tol) {
  if constexpr (std::is_same_v<T, float>) {
    check_output(what, dev, ref, tol);
  } else {
    check_bf16(what, dev, ref, tol);
  }
}

// --- the table ---------------------------------------------------------------------------------------

// Linear in storage T against CpuOps on the same (T-rounded) inputs: y and dx within tol (kTolSum in
// fp32: cuBLAS and Eigen sum in other orders; one output rounding in bf16), the weight gradient (fp32 in
// both storages: bf16 products are exact in fp32) within kTolSum.
template <class T>
void linear_case(const Shape& s, std::mt19937_64& rng, double tol) {
  const i64 n = s.n();
  for (const auto& [in, out] : {std::pair{s.D(), 3 * s.D()}, std::pair{s.inter, s.D()}}) {
    const Fvec x = stored<T>(uniform(rng, n * in)), w = stored<T>(uniform(rng, out * in));
    const Fvec dy = stored<T>(uniform(rng, n * out));
    Fvec y(n * out);
    CpuOps::linear_forward(y.data(), x.data(), w.data(), n, in, out);
    Guarded<T> d_x = on_device<T>(x), d_w = on_device<T>(w), d_dy = on_device<T>(dy), d_y = on_device<T>(nans(n * out));
    CudaOps::linear_forward(d_y.get(), d_x.get(), d_w.get(), n, in, out);
    check_stored("linear_forward y", d_y, y, tol);

    for (bool acc : {false, true}) {
      Fvec gw = uniform(rng, out * in), gx = acc ? stored<T>(uniform(rng, n * in)) : nans(n * in);
      Guarded<float> d_gw(gw);
      Guarded<T> d_gx = on_device<T>(gx);
      CudaOps::linear_backward(d_gx.get(), d_gw.get(), d_dy.get(), d_x.get(), d_w.get(), n, in, out, acc);
      CpuOps::linear_backward(gx.data(), gw.data(), dy.data(), x.data(), w.data(), n, in, out, acc);
      check_stored(acc ? "linear_backward dx (+=)" : "linear_backward dx (=)", d_gx, gx, tol);
      check_output("linear_backward dw (+=)", d_gw, gw, kTolSum);
    }
  }
}

void op_linear(const Shape& s, std::mt19937_64& rng) { linear_case<float>(s, rng, kTolSum); }

void op_rms_norm(const Shape& s, std::mt19937_64& rng) {
  const i64 n = s.n(), d = s.D();
  const Fvec x = uniform(rng, n * d, 3.0f), residual = uniform(rng, n * d, 3.0f), dy = uniform(rng, n * d);
  Fvec y(n * d), rstd(n), dx(n * d), y_res(n * d), rstd_res(n);
  CpuOps::rms_norm_forward<float>(y.data(), rstd.data(), x.data(), nullptr, n, d, 1e-5);
  CpuOps::rms_norm_forward(y_res.data(), rstd_res.data(), x.data(), residual.data(), n, d, 1e-5);
  CpuOps::rms_norm_backward(dx.data(), dy.data(), y.data(), rstd.data(), n, d);
  Guarded<float> d_x(x), d_residual(residual), d_y(nans(n * d)), d_rstd(nans(n)), d_dy(dy);
  Guarded<float> d_y_res(nans(n * d)), d_rstd_res(nans(n));
  CudaOps::rms_norm_forward<float>(d_y.get(), d_rstd.get(), d_x.get(), nullptr, n, d, 1e-5);
  check_output("rms_norm_forward y", d_y, y, kTolSum);
  check_output("rms_norm_forward rstd", d_rstd, rstd, kTolSum);
  // The residual add fused into the norm (block_forward's two post-norms).
  CudaOps::rms_norm_forward(d_y_res.get(), d_rstd_res.get(), d_x.get(), d_residual.get(), n, d, 1e-5);
  check_output("rms_norm_forward y (x + residual)", d_y_res, y_res, kTolSum);
  check_output("rms_norm_forward rstd (x + residual)", d_rstd_res, rstd_res, kTolSum);
  // The backward on the CPU's saved y and rstd, and in place (dx aliasing dy), as block_backward calls it.
  Guarded<float> c_y(y), c_rstd(rstd);
  CudaOps::rms_norm_backward(d_dy.get(), d_dy.get(), c_y.get(), c_rstd.get(), n, d);
  check_output("rms_norm_backward dx (in place)", d_dy, dx, kTolSum);
}

// The rotations in storage T against CpuOps on the same (T-rounded) qkv, with the CPU's fp32 tables
// (acc_t in both storages), within tol.
template <class T>
void rope_rotations(const Shape& s, std::mt19937_64& rng, const Fvec& cos, const Fvec& sin, Guarded<float>& d_cos,
                    Guarded<float>& d_sin, double tol) {
  const i64 T_ = s.tokens(), hd = s.head_dim, count = s.n() * 3 * s.D();
  for (bool backward : {false, true}) {
    Fvec qkv = stored<T>(uniform(rng, count));
    Guarded<T> d_qkv = on_device<T>(qkv);
    if (backward) {
      CpuOps::rope_backward(qkv.data(), cos.data(), sin.data(), s.batch, T_, s.heads, hd);
      CudaOps::rope_backward(d_qkv.get(), d_cos.get(), d_sin.get(), s.batch, T_, s.heads, hd);
    } else {
      CpuOps::rope_forward(qkv.data(), cos.data(), sin.data(), s.batch, T_, s.heads, hd);
      CudaOps::rope_forward(d_qkv.get(), d_cos.get(), d_sin.get(), s.batch, T_, s.heads, hd);
    }
    check_stored(backward ? "rope_backward dqkv" : "rope_forward qkv", d_qkv, qkv, tol);
  }
}

void op_rope(const Shape& s, std::mt19937_64& rng) {
  const i64 T = s.tokens(), hd = s.head_dim;
  Fvec cos(T * hd), sin(T * hd);
  CpuOps::rope_tables(cos.data(), sin.data(), T, hd, 10000.0);
  Guarded<float> d_cos(nans(T * hd)), d_sin(nans(T * hd));
  CudaOps::rope_tables(d_cos.get(), d_sin.get(), T, hd, 10000.0);
  compare_exact("rope_tables cos", d_cos.result("rope_tables cos"), cos);
  compare_exact("rope_tables sin", d_sin.result("rope_tables sin"), sin);
  rope_rotations<float>(s, rng, cos, sin, d_cos, d_sin, kTolElem);
}

// A GEMM mode for one scope (the parity path's fp32 again after it, whatever happens).
struct GemmMathScope {
  explicit GemmMathScope(hrm::cuda::GemmMath m) { hrm::cuda::set_gemm_math(m); }
  ~GemmMathScope() { hrm::cuda::set_gemm_math(hrm::cuda::GemmMath::fp32); }
  GemmMathScope(const GemmMathScope&) = delete;
  GemmMathScope& operator=(const GemmMathScope&) = delete;
};

// Each row's log-sum-exp of its scaled scores, (batch, heads, tokens), in float64: what the fused
// attention keeps for its backward.
Fvec log_sum_exp_rows(const Fvec& qkv, i64 b, i64 T, i64 H, i64 hd) {
  const i64 D = H * hd;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  Fvec lse(b * H * T);
  std::vector<double> z(T);
  for (i64 r = 0; r < b; ++r)
    for (i64 h = 0; h < H; ++h)
      for (i64 i = 0; i < T; ++i) {
        for (i64 j = 0; j < T; ++j) {
          double dot = 0;
          for (i64 c = 0; c < hd; ++c)
            dot += double(qkv[(r * T + i) * 3 * D + h * hd + c]) * qkv[(r * T + j) * 3 * D + D + h * hd + c];
          z[j] = scale * dot;
        }
        const double m = *std::max_element(z.begin(), z.end());
        double sum = 0;
        for (const double v : z) sum += std::exp(v - m);
        lse[(r * H + h) * T + i] = static_cast<float>(m + std::log(sum));
      }
  return lse;
}

// Attention in storage T (in the GEMM mode in effect) against CpuOps on the same (T-rounded) qkv and
// dout, with what the forward keeps (attention_saved_count: the probabilities, or, fused, one
// log-sum-exp per row) and with nothing kept (the backward recomputes it): out within tol_out, dqkv
// within tol_dqkv, what is kept (fp32, acc_t in both storages) within kTolSum (bf16 Q K^T products are
// exact in fp32: only the sums' order differs).
template <class T>
void attention_case(const Shape& s, const Fvec& qkv, const Fvec& dout, double tol_out, double tol_dqkv) {
  const i64 b = s.batch, T_ = s.tokens(), H = s.heads, hd = s.head_dim, n = s.n(), D = s.D();
  Fvec out(n * D), probs(b * H * T_ * T_), dqkv(n * 3 * D);
  CpuOps::attention_forward(out.data(), probs.data(), qkv.data(), b, T_, H, hd);
  CpuOps::attention_backward(dqkv.data(), dout.data(), qkv.data(), out.data(), probs.data(), b, T_, H, hd);
  const i64 kept = CudaOps::attention_saved_count<T>(b, T_, H, hd);
  const bool fused = kept == b * H * T_ && T_ > 1;
  const std::string what = fused ? " (fused)" : "";
  Guarded<T> d_qkv = on_device<T>(qkv), d_dout = on_device<T>(dout);
  for (bool saved : {true, false}) {
    const std::string how = what + (saved ? " (saved)" : " (nothing kept)");
    Guarded<T> d_out = on_device<T>(nans(n * D)), d_dqkv = on_device<T>(nans(n * 3 * D));
    Guarded<float> d_saved(nans(saved ? kept : 0));
    CudaOps::attention_forward(d_out.get(), saved ? d_saved.get() : nullptr, d_qkv.get(), b, T_, H, hd);
    check_stored("attention_forward out" + how, d_out, out, tol_out);
    if (saved && fused)
      check_output("attention_forward log-sum-exp", d_saved, log_sum_exp_rows(qkv, b, T_, H, hd), kTolSum);
    if (saved && !fused) check_output("attention_forward probs", d_saved, probs, kTolSum);
    CudaOps::attention_backward(d_dqkv.get(), d_dout.get(), d_qkv.get(), d_out.get(), saved ? d_saved.get() : nullptr,
                                b, T_, H, hd);
    check_stored("attention_backward dqkv" + how, d_dqkv, dqkv, tol_dqkv);
  }
}

void op_attention(const Shape& s, std::mt19937_64& rng) {
  const i64 n = s.n(), D = s.D();
  // Entries of +-2 give scores of about +-1.3: P is neither near uniform (where a transposed P or a
  // missing rescale of the fused kernel's online softmax would hide: at +-0.5 the scores are +-0.08)
  // nor one-hot.
  const Fvec qkv = uniform(rng, n * 3 * D, 2.0f), dout = uniform(rng, n * D);
  attention_case<float>(s, qkv, dout, kTolSum, kTolSum);
  // The fused kernels (bf16 GEMM mode, head size 64) against the CPU on the same bf16-rounded Q, K, V
  // and dO: what differs is the bf16 rounding of the probabilities in P V and P^T dO and of dS in dQ and
  // dK (2^-8 relative per term), and the order of the sums.
  if (s.head_dim != 64) return;
  const GemmMathScope bf16(hrm::cuda::GemmMath::bf16);
  attention_case<float>(s, rounded(qkv), rounded(dout), kTolBf16Attention, kTolBf16AttentionOps);
}

// SwiGLU in storage T against CpuOps on the same (T-rounded) inputs, within tol.
template <class T> void swiglu_case(const Shape& s, std::mt19937_64& rng, double tol) {
  const i64 n = s.n(), I = s.inter;
  Fvec gu = uniform(rng, n * 2 * I, 4.0f);
  gu[0] = -200.0f;  // exp(-g) overflows: silu = -0, sigmoid = 0, never NaN
  gu = stored<T>(gu);
  const Fvec dh = stored<T>(uniform(rng, n * I));
  Fvec h(n * I), dgu(n * 2 * I);
  CpuOps::swiglu_forward(h.data(), gu.data(), n, I);
  CpuOps::swiglu_backward(dgu.data(), dh.data(), gu.data(), n, I);
  Guarded<T> d_gu = on_device<T>(gu), d_dh = on_device<T>(dh), d_h = on_device<T>(nans(n * I));
  Guarded<T> d_dgu = on_device<T>(nans(n * 2 * I));
  CudaOps::swiglu_forward(d_h.get(), d_gu.get(), n, I);
  CudaOps::swiglu_backward(d_dgu.get(), d_dh.get(), d_gu.get(), n, I);
  check_stored("swiglu_forward h", d_h, h, tol);
  check_stored("swiglu_backward dgu", d_dgu, dgu, tol);
}

void op_swiglu(const Shape& s, std::mt19937_64& rng) { swiglu_case<float>(s, rng, kTolElem); }

void op_add(const Shape& s, std::mt19937_64& rng) {
  const i64 count = s.n() * s.D();
  const Fvec a = uniform(rng, count), b = uniform(rng, count);
  Fvec y(count);
  CpuOps::add(y.data(), a.data(), b.data(), count);
  Guarded<float> d_a(a), d_b(b), d_y(nans(count));
  CudaOps::add(d_y.get(), d_a.get(), d_b.get(), count);
  check_output("add y", d_y, y, kTolExact);
  CudaOps::add(d_a.get(), d_a.get(), d_b.get(), count);  // y aliasing a
  check_output("add y (aliasing a)", d_a, y, kTolExact);
}

// The embedding in storage T against CpuOps on the same (T-rounded) inputs: the forward within
// tol_forward, the fp32 gradients within tol_backward.
template <class T>
void embedding_case(const Shape& s, i64 vocab, std::mt19937_64& rng, double tol_forward, double tol_backward) {
  const i64 b = s.batch, S = s.seq, P = s.prefix, d = s.D(), T_ = s.tokens();
  const std::vector<i32> inputs = ids(rng, b * S, vocab);
  const Fvec tok = stored<T>(uniform(rng, vocab * d)), puzzle = stored<T>(uniform(rng, b * P * d));
  const Fvec pos = stored<T>(uniform(rng, T_ * d)), dx = stored<T>(uniform(rng, b * T_ * d));
  Guarded<i32> d_inputs(inputs);
  Guarded<T> d_tok = on_device<T>(tok), d_puzzle = on_device<T>(puzzle), d_pos = on_device<T>(pos);
  Guarded<T> d_dx = on_device<T>(dx);
  for (bool learned : {true, false}) {  // learned positions and a puzzle prefix, or neither
    const std::string how = learned ? " (puzzle rows, learned positions)" : " (no puzzle rows, RoPE)";
    Fvec x(b * T_ * d);
    CpuOps::embedding_forward(x.data(), inputs.data(), tok.data(), learned ? puzzle.data() : nullptr,
                              learned ? pos.data() : nullptr, b, S, P, d);
    Guarded<T> d_x = on_device<T>(nans(b * T_ * d));
    CudaOps::embedding_forward(d_x.get(), d_inputs.get(), d_tok.get(), learned ? d_puzzle.get() : nullptr,
                               learned ? d_pos.get() : nullptr, b, S, P, d);
    check_stored("embedding_forward x" + how, d_x, x, tol_forward);

    Fvec dtok = uniform(rng, vocab * d), dpos = uniform(rng, T_ * d), dpuzzle = nans(b * P * d);
    Guarded<float> g_tok(dtok), g_pos(dpos), g_puzzle(dpuzzle);  // fp32 gradients (acc_t) in both storages
    CpuOps::embedding_backward(dtok.data(), learned ? dpuzzle.data() : nullptr, learned ? dpos.data() : nullptr,
                               dx.data(), inputs.data(), b, S, P, d);
    CudaOps::embedding_backward(g_tok.get(), learned ? g_puzzle.get() : nullptr, learned ? g_pos.get() : nullptr,
                                d_dx.get(), d_inputs.get(), b, S, P, d);
    check_output("embedding_backward dtok (+=; rows in order)" + how, g_tok, dtok, tol_backward);
    check_output("embedding_backward dpos (+=; batch in order)" + how, g_pos, dpos, tol_backward);
    if (learned) check_output("embedding_backward dpuzzle (=)", g_puzzle, dpuzzle, tol_backward);
  }
}

// HRM's vocabulary, and one of 100 ids: the CUDA dtok kernel adds ids below 64 in a register per
// (id, feature) and the rest in place (trainer/cuda/embedding.cu); both must keep the token order.
void op_embedding(const Shape& s, std::mt19937_64& rng) {
  for (const i64 vocab : {s.vocab, i64{100}}) {
    INFO("vocabulary " << vocab);
    embedding_case<float>(s, vocab, rng, kTolExact, kTolExact);
  }
}

// token_loss_forward on both backends over the same logits (`logits` on the host, `d_logits` their
// device copy in T): argmax exact (the first max wins on both), counts exact, per-sequence losses
// within kTolF64 (stablemax: float64 on both, only the vocabulary sum's order differs) or kTolElem
// (softmax: the CE is float32, then summed in float64).
template <class T>
void compare_token_loss_forward(const std::string& how, const Fvec& logits, Guarded<T>& d_logits,
                                const std::vector<i32>& lab, Guarded<i32>& d_lab, i64 b, i64 S, i64 V, LossType type) {
  std::vector<SeqLoss> seq(b);
  std::vector<i32> argmax(b * S);
  CpuOps::token_loss_forward(seq.data(), argmax.data(), logits.data(), lab.data(), b, S, V, type);
  Guarded<SeqLoss> d_seq(std::vector<SeqLoss>(b, SeqLoss{-1.0, -1, -1}));
  Guarded<i32> d_argmax(std::vector<i32>(b * S, -1));
  CudaOps::token_loss_forward(d_seq.get(), d_argmax.get(), d_logits.get(), d_lab.get(), b, S, V, type);
  compare_exact("token_loss_forward argmax" + how, d_argmax.result("argmax"), argmax);
  const std::vector<SeqLoss> got = d_seq.result("token_loss_forward seq" + how);
  for (i64 i = 0; i < b; ++i) {
    CHECK(got[i].count == seq[i].count);
    CHECK(got[i].correct == seq[i].correct);
    const double err = std::abs(got[i].loss - seq[i].loss) / std::max(std::abs(seq[i].loss), 1.0);
    const double tol = type == LossType::stablemax ? kTolF64 : kTolElem;
    if (!(err <= tol)) FAIL_CHECK("token_loss_forward loss" << how << " of sequence " << i << ": error " << err);
  }
}

void op_token_loss(const Shape& s, std::mt19937_64& rng) {
  const i64 b = s.batch, S = s.seq, V = s.vocab;
  Fvec logits = uniform(rng, b * S * V, 3.0f);
  std::fill(logits.begin(), logits.begin() + V, 1.0f);  // a tie: the first index wins
  const std::vector<i32> lab = labels(rng, b, S, V);
  std::vector<double> scale(b);
  for (double& v : scale) v = std::uniform_real_distribution<double>(0.1, 2.0)(rng);
  Guarded<float> d_logits(logits);
  Guarded<i32> d_lab(lab);
  Guarded<double> d_scale(scale);
  for (LossType type : {LossType::stablemax, LossType::softmax}) {
    const std::string how = type == LossType::stablemax ? " (stablemax)" : " (softmax)";
    compare_token_loss_forward(how, logits, d_logits, lab, d_lab, b, S, V, type);

    // argmax over NaN logits (evaluation predictions of a diverged model): the CPU's scan never picks
    // a NaN and never beats one at index 0. Token 0: NaN first; token 1: NaN at the largest logit; token 2:
    // all NaN. (The losses are NaN then, so only argmax is compared.)
    Fvec nan_logits = logits;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    nan_logits[0] = nan;
    nan_logits[V + static_cast<i64>(std::max_element(logits.begin() + V, logits.begin() + 2 * V) - logits.begin() - V)] = nan;
    if (S * b > 2) std::fill(nan_logits.begin() + 2 * V, nan_logits.begin() + 3 * V, nan);
    std::vector<SeqLoss> seq(b);
    std::vector<i32> argmax(b * S);
    CpuOps::token_loss_forward(seq.data(), argmax.data(), nan_logits.data(), lab.data(), b, S, V, type);
    Guarded<SeqLoss> d_seq(std::vector<SeqLoss>(static_cast<std::size_t>(b)));
    Guarded<i32> d_argmax(std::vector<i32>(b * S, -1));
    Guarded<float> d_nan_logits(nan_logits);
    CudaOps::token_loss_forward(d_seq.get(), d_argmax.get(), d_nan_logits.get(), d_lab.get(), b, S, V, type);
    compare_exact("token_loss_forward argmax with NaN logits" + how, d_argmax.result("argmax"), argmax);

    Fvec dlogits(b * S * V);
    CpuOps::token_loss_backward(dlogits.data(), logits.data(), lab.data(), scale.data(), b, S, V, type);
    Guarded<float> d_dlogits(nans(b * S * V));
    CudaOps::token_loss_backward(d_dlogits.get(), d_logits.get(), d_lab.get(), d_scale.get(), b, S, V, type);
    // stablemax: float64 gradients rounded to float32 once (1 ulp apart at most); softmax: float32.
    check_output("token_loss_backward dlogits" + how, d_dlogits, dlogits, kTolElem);
  }
  CudaOps::check_errors();  // valid inputs: no bit set
}

void op_adam_atan2(const Shape& s, std::mt19937_64& rng) {
  const i64 n = s.n() * s.D();
  Fvec p = uniform(rng, n), m = uniform(rng, n, 0.01f), v = uniform(rng, n, 1e-4f);
  for (float& x : v) x = std::abs(x);
  Guarded<float> d_p(p), d_m(m), d_v(v);
  for (i64 step = 1; step <= 3; ++step) {
    const Fvec g = uniform(rng, n, 0.1f);
    Guarded<float> d_g(g);
    hrm::adam_atan2_step(p.data(), g.data(), m.data(), v.data(), n, step, 1e-4, 0.9, 0.95, 0.1);
    hrm::cuda::adam_atan2_step(d_p.get(), nullptr, d_g.get(), d_m.get(), d_v.get(), n, step, 1e-4, 0.9, 0.95, 0.1);
  }
  // m and v: the same explicit fmas on both, bit-identical; p: atan2 may differ by one float ulp.
  check_output("adam_atan2 m", d_m, m, kTolExact);
  check_output("adam_atan2 v", d_v, v, kTolExact);
  check_output("adam_atan2 p", d_p, p, kTolElem);
  // A closed gate (the train step's failed checks) changes nothing; an open one is the plain step.
  const Fvec p3 = d_p.result("p"), m3 = d_m.result("m"), v3 = d_v.result("v"), g = uniform(rng, n, 0.1f);
  Guarded<float> d_g(g);
  Guarded<i32> closed(std::vector<i32>{0}), open(std::vector<i32>{1});
  hrm::cuda::adam_atan2_step(d_p.get(), nullptr, d_g.get(), d_m.get(), d_v.get(), n, 4, 1e-4, 0.9, 0.95, 0.1,
                             closed.get());
  check_output("adam_atan2 p, closed gate", d_p, p3, kTolExact);
  check_output("adam_atan2 m, closed gate", d_m, m3, kTolExact);
  check_output("adam_atan2 v, closed gate", d_v, v3, kTolExact);
  hrm::adam_atan2_step(p.data(), g.data(), m.data(), v.data(), n, 4, 1e-4, 0.9, 0.95, 0.1);
  hrm::cuda::adam_atan2_step(d_p.get(), nullptr, d_g.get(), d_m.get(), d_v.get(), n, 4, 1e-4, 0.9, 0.95, 0.1,
                             open.get());
  check_output("adam_atan2 m, open gate", d_m, m, kTolExact);
  check_output("adam_atan2 v, open gate", d_v, v, kTolExact);
  check_output("adam_atan2 p, open gate", d_p, p, kTolElem);
}

void op_sign_sgd(const Shape& s, std::mt19937_64& rng) {
  const i64 table_rows = 7, ndim = s.D(), rows = 2 * s.batch + 3;
  Fvec table = uniform(rng, table_rows * ndim);
  std::vector<i32> row_ids = ids(rng, rows, table_rows);
  row_ids[1] = row_ids[0];  // a repeated id: its rows are summed first
  const Fvec grads = uniform(rng, rows * ndim);
  Guarded<float> d_table(table), d_grads(grads);
  Guarded<i32> d_ids(row_ids);
  hrm::sign_sgd_step(table.data(), table_rows, ndim, row_ids.data(), grads.data(), rows, 1e-2, 0.1);
  hrm::cuda::sign_sgd_step(d_table.get(), table_rows, ndim, d_ids.get(), d_grads.get(), rows, 1e-2, 0.1);
  check_output("sign_sgd table (sums in row order, explicit fma)", d_table, table, kTolExact);
  Guarded<i32> closed(std::vector<i32>{0});
  hrm::cuda::sign_sgd_step(d_table.get(), table_rows, ndim, d_ids.get(), d_grads.get(), rows, 1e-2, 0.1, closed.get());
  check_output("sign_sgd table, closed gate", d_table, table, kTolExact);
  CudaOps::check_errors();
}

// Copies, fill and gathers move values unchanged, and add_rows / bias_add are one IEEE add per
// element: all bit-identical. download is the way every result here comes back, so it is checked by
// every row; here on a SeqLoss record too.
void op_memory(const Shape& s, std::mt19937_64& rng) {
  const i64 rows = s.batch, T = s.tokens(), D = s.D(), TD = T * D, SD = s.seq * D, P = s.prefix;
  const Fvec z = uniform(rng, rows * TD), part = uniform(rng, rows * SD), row0 = uniform(rng, rows * D);
  Guarded<float> d_z(z), d_part(part), d_row0(row0);
  {  // the model's z_H gather at P.. (copy_rows), then the dz_H scatter (fill, copy_rows, add_rows)
    Fvec out(rows * SD), dz(rows * TD);
    CpuOps::copy_rows(out.data(), SD, z.data() + P * D, TD, rows, SD);
    CpuOps::fill(dz.data(), 0.0f, rows * TD);
    CpuOps::copy_rows(dz.data() + P * D, TD, part.data(), SD, rows, SD);
    CpuOps::add_rows(dz.data(), TD, row0.data(), D, rows, D);
    Guarded<float> d_out(nans(rows * SD)), d_dz(nans(rows * TD));
    CudaOps::copy_rows(d_out.get(), SD, d_z.get() + P * D, TD, rows, SD);
    CudaOps::fill(d_dz.get(), 0.0f, rows * TD);
    CudaOps::copy_rows(d_dz.get() + P * D, TD, d_part.get(), SD, rows, SD);
    CudaOps::add_rows(d_dz.get(), TD, d_row0.get(), D, rows, D);
    check_output("copy_rows (z_H at the sequence positions)", d_out, out, kTolExact);
    check_output("fill + copy_rows + add_rows (the dz_H scatter)", d_dz, dz, kTolExact);
  }
  {  // copy; gather_rows with a repeated id
    Guarded<float> d_copy(nans(rows * TD));
    CudaOps::copy(d_copy.get(), d_z.get(), rows * TD);
    check_output("copy", d_copy, z, kTolExact);
    std::vector<i32> row_ids = ids(rng, rows + 1, 7);
    row_ids[1] = row_ids[0];
    const Fvec table = uniform(rng, 7 * D);
    Fvec gathered((rows + 1) * D);
    CpuOps::gather_rows(gathered.data(), table.data(), row_ids.data(), rows + 1, D);
    Guarded<float> d_table(table), d_gathered(nans((rows + 1) * D));
    Guarded<i32> d_ids(row_ids);
    CudaOps::gather_rows(d_gathered.get(), d_table.get(), d_ids.get(), rows + 1, D);
    check_output("gather_rows", d_gathered, gathered, kTolExact);
  }
  {
    const std::vector<SeqLoss> seq = {{1.5, 3, 4}, {0.25, 0, 0}};
    Guarded<SeqLoss> d_seq(seq);
    std::vector<SeqLoss> back(2);
    CudaOps::download(back.data(), d_seq.get(), 2);
    for (std::size_t i = 0; i < back.size(); ++i) {
      CHECK(back[i].loss == seq[i].loss);
      CHECK(back[i].correct == seq[i].correct);
      CHECK(back[i].count == seq[i].count);
    }
  }
  CudaOps::check_errors();
}

// The Q head's bias: bias_add one add per element, bias_backward sums the rows in order on both.
void op_bias(const Shape& s, std::mt19937_64& rng) {
  const i64 rows = s.n(), cols = 2;
  Fvec y = uniform(rng, rows * cols), db = uniform(rng, cols);
  const Fvec bias = uniform(rng, cols), dy = uniform(rng, rows * cols);
  Guarded<float> d_y(y), d_db(db), d_bias(bias), d_dy(dy);
  CpuOps::bias_add(y.data(), bias.data(), rows, cols);
  CpuOps::bias_backward(db.data(), dy.data(), rows, cols);
  CudaOps::bias_add(d_y.get(), d_bias.get(), rows, cols);
  CudaOps::bias_backward(d_db.get(), d_dy.get(), rows, cols);
  check_output("bias_add y (+=)", d_y, y, kTolExact);
  check_output("bias_backward db (+=; rows in order)", d_db, db, kTolExact);
}

// The ACT ops on random slots: act_reset moves values (exact); act_halt compares (exact); act_q_grad's
// sigmoid and act_metrics' BCE use CUDA's exp / log1p (within 2 ulp: kTolElem); counts are exact.
void op_act(const Shape& s, std::mt19937_64& rng) {
  const i64 b = s.batch + 2, T = s.tokens(), D = s.D(), S = s.seq, max_steps = 3;
  Fvec zH = uniform(rng, b * T * D), zL = uniform(rng, b * T * D), q = uniform(rng, b * 2, 4.0f);
  const Fvec H_init = uniform(rng, D), L_init = uniform(rng, D), q_next = uniform(rng, b * 2, 4.0f);
  std::vector<i32> steps = ids(rng, b, max_steps), inputs = ids(rng, b * S, 9), lab = ids(rng, b * S, 9);
  std::vector<i32> puzzle = ids(rng, b, 5), min_halt = ids(rng, b, max_steps + 1);
  const std::vector<i32> in_inputs = ids(rng, b * S, 9), in_labels = ids(rng, b * S, 9), in_puzzle = ids(rng, b, 5);
  std::vector<std::uint8_t> halted(b);
  for (i64 i = 0; i < b; ++i) halted[i] = i % 2 == 0;
  std::vector<SeqLoss> seq(b);
  for (i64 i = 0; i < b; ++i)  // some sequences exact, some not, some with no labelled token
    seq[i] = {0.1 * static_cast<double>(i), static_cast<i32>(i % 3), static_cast<i32>(i % 2 ? 2 : 0)};
  Guarded<float> d_zH(zH), d_zL(zL), d_H(H_init), d_L(L_init), d_q(q), d_qn(q_next);
  Guarded<i32> d_steps(steps), d_inputs(inputs), d_lab(lab), d_puzzle(puzzle), d_min(min_halt);
  Guarded<i32> d_in_inputs(in_inputs), d_in_labels(in_labels), d_in_puzzle(in_puzzle);
  Guarded<std::uint8_t> d_halted(halted);
  Guarded<SeqLoss> d_seq(seq);
  CpuOps::act_reset(zH.data(), zL.data(), steps.data(), inputs.data(), lab.data(), puzzle.data(), H_init.data(),
                    L_init.data(), halted.data(), in_inputs.data(), in_labels.data(), in_puzzle.data(), b, T, D, S);
  CudaOps::act_reset(d_zH.get(), d_zL.get(), d_steps.get(), d_inputs.get(), d_lab.get(), d_puzzle.get(), d_H.get(),
                     d_L.get(), d_halted.get(), d_in_inputs.get(), d_in_labels.get(), d_in_puzzle.get(), b, T, D, S);
  check_output("act_reset z_H", d_zH, zH, kTolExact);
  check_output("act_reset z_L", d_zL, zL, kTolExact);
  compare_exact("act_reset inputs", d_inputs.result("inputs"), inputs);
  compare_exact("act_reset labels", d_lab.result("labels"), lab);
  compare_exact("act_reset puzzle ids", d_puzzle.result("puzzle ids"), puzzle);
  for (bool explore : {true, false}) {
    const std::string how = explore ? " (exploring)" : " (evaluation)";
    CpuOps::act_halt(steps.data(), halted.data(), q.data(), min_halt.data(), b, max_steps, explore);
    CudaOps::act_halt(d_steps.get(), d_halted.get(), d_q.get(), d_min.get(), b, max_steps, explore);
    compare_exact("act_halt steps" + how, d_steps.result("steps"), steps);
    compare_exact("act_halt halted" + how, d_halted.result("halted"), halted);
  }
  for (bool q_continue : {true, false}) {
    const std::string how = q_continue ? " (q continue)" : " (halt only)";
    Fvec target(b, 0.0f), dq(b * 2);
    CpuOps::act_q_grad(target.data(), dq.data(), q.data(), q_next.data(), seq.data(), steps.data(), b, max_steps,
                       q_continue, 0.25);
    Guarded<float> d_target(Fvec(b, 0.0f)), d_dq(nans(b * 2));
    CudaOps::act_q_grad(d_target.get(), d_dq.get(), d_q.get(), d_qn.get(), d_seq.get(), d_steps.get(), b, max_steps,
                        q_continue, 0.25);
    check_output("act_q_grad target" + how, d_target, target, kTolElem);
    check_output("act_q_grad dq" + how, d_dq, dq, kTolElem);
    hrm::ops::ActStepStats cpu, dev;
    CpuOps::act_metrics(&cpu, seq.data(), q.data(), target.data(), halted.data(), steps.data(), b, q_continue);
    Guarded<hrm::ops::ActStepStats> d_stats(std::vector<hrm::ops::ActStepStats>(1));
    CudaOps::act_metrics(d_stats.get(), d_seq.get(), d_q.get(), d_target.get(), d_halted.get(), d_steps.get(), b,
                         q_continue);
    CudaOps::download(&dev, d_stats.get(), 1);
    for (const auto& [name, got, ref] : {std::tuple{"total", dev.total, cpu.total},
                                         std::tuple{"q_halt_loss", dev.q_halt_loss, cpu.q_halt_loss},
                                         std::tuple{"q_continue_loss", dev.q_continue_loss, cpu.q_continue_loss}})
      if (!(std::abs(got - ref) / std::max(std::abs(ref), 1.0) <= kTolElem))
        FAIL_CHECK("act_metrics " << name << how << ": cuda " << got << ", cpu " << ref);
    CHECK(dev.lm_loss == cpu.lm_loss);
    CHECK(dev.count == cpu.count);
    CHECK(dev.accuracy == cpu.accuracy);
    CHECK(dev.exact_accuracy == cpu.exact_accuracy);
    CHECK(dev.q_halt_accuracy == cpu.q_halt_accuracy);
    CHECK(dev.steps == cpu.steps);
    CHECK(dev.has_q_continue == cpu.has_q_continue);
  }
}

// sum_squares: float64 sums of float squares in another order than the CPU's sequential one.
void op_sum_squares(const Shape& s, std::mt19937_64& rng) {
  const Fvec x = uniform(rng, s.n() * s.D() * 3);
  double ref = 0;
  for (float v : x) ref += static_cast<double>(v) * v;
  Guarded<float> d_x(x);
  const double got = hrm::cuda::sum_squares(d_x.get(), static_cast<i64>(x.size()));
  if (!(std::abs(got - ref) / std::max(ref, 1.0) <= kTolF64))
    FAIL_CHECK("sum_squares: cuda " << got << ", cpu " << ref);
  CHECK(hrm::cuda::sum_squares(d_x.get(), 0) == 0.0);  // written, not left as the scratch held it
}

// bf16 storage: the conversion is bit-exact (round to nearest even on both sides), and the GEMM's
// bf16 products are exact in fp32, so against CpuOps on the same rounded inputs only sums reorder.
void op_bf16(const Shape& s, std::mt19937_64& rng) {
  const i64 n = s.n(), in = s.D(), out = 3 * s.D();
  if (in % 8 != 0) return;  // linear_forward_bf16 takes 16-byte rows only (the odd shape's are not)
  const Fvec x = uniform(rng, n * in), w = uniform(rng, out * in);
  auto rounded = [](const Fvec& v) {
    std::vector<std::uint16_t> bits(v.size());
    Fvec back(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const __nv_bfloat16 b = __float2bfloat16_rn(v[i]);
      std::memcpy(&bits[i], &b, sizeof b);
      back[i] = __bfloat162float(b);
    }
    return std::pair{bits, back};
  };
  const auto [x_bits, x_r] = rounded(x);
  const auto [w_bits, w_r] = rounded(w);
  Guarded<float> d_x(x), d_w(w), d_y(nans(n * out));
  Guarded<__nv_bfloat16> b_x(std::vector<__nv_bfloat16>(x.size())), b_w(std::vector<__nv_bfloat16>(w.size()));
  hrm::cuda::to_bf16(b_x.get(), d_x.get(), n * in);
  hrm::cuda::to_bf16(b_w.get(), d_w.get(), out * in);
  auto device_bits = [](const Guarded<__nv_bfloat16>& b) {
    const std::vector<__nv_bfloat16> got = b.result("to_bf16");
    std::vector<std::uint16_t> bits(got.size());
    std::memcpy(bits.data(), got.data(), got.size() * sizeof(std::uint16_t));
    return bits;
  };
  compare_exact("to_bf16 bits of x", device_bits(b_x), x_bits);
  compare_exact("to_bf16 bits of w", device_bits(b_w), w_bits);
  hrm::cuda::linear_forward_bf16(d_y.get(), b_x.get(), b_w.get(), n, in, out);
  Fvec y(n * out);
  CpuOps::linear_forward(y.data(), x_r.data(), w_r.data(), n, in, out);
  check_output("linear_forward_bf16 y", d_y, y, kTolSum);
}

// --- bf16 storage rows: every op in T = cuda::bf16 against CpuOps float on bf16-rounded inputs ------

void op_linear_bf16(const Shape& s, std::mt19937_64& rng) { linear_case<bf16>(s, rng, kTolBf16); }

void op_rms_norm_bf16(const Shape& s, std::mt19937_64& rng) {
  const i64 n = s.n(), d = s.D();
  const Fvec x = rounded(uniform(rng, n * d, 3.0f)), residual = rounded(uniform(rng, n * d, 3.0f));
  const Fvec dy = rounded(uniform(rng, n * d));
  // HRM rounds the residual sum to bf16 before the norm reads it: the reference is the CPU's norm of
  // that rounded sum.
  Fvec sum(n * d), y(n * d), rstd(n), dx(n * d);
  CpuOps::add(sum.data(), x.data(), residual.data(), n * d);
  sum = rounded(sum);
  CpuOps::rms_norm_forward<float>(y.data(), rstd.data(), sum.data(), nullptr, n, d, 1e-5);
  Guarded<bf16> d_x(as_bf16(x)), d_residual(as_bf16(residual)), d_y(bf16_nans(n * d));
  Guarded<float> d_rstd(nans(n));
  CudaOps::rms_norm_forward(d_y.get(), d_rstd.get(), d_x.get(), d_residual.get(), n, d, 1e-5);
  check_bf16("rms_norm_forward y (x + residual)", d_y, y, kTolBf16);
  check_output("rms_norm_forward rstd (fp32, x + residual in bf16)", d_rstd, rstd, kTolSum);
  const Fvec y_r = rounded(y);
  CpuOps::rms_norm_backward(dx.data(), dy.data(), y_r.data(), rstd.data(), n, d);
  Guarded<bf16> c_y(as_bf16(y_r)), d_dy(as_bf16(dy));
  Guarded<float> c_rstd(rstd);
  CudaOps::rms_norm_backward(d_dy.get(), d_dy.get(), c_y.get(), c_rstd.get(), n, d);
  check_bf16("rms_norm_backward dx (in place)", d_dy, dx, kTolBf16);
}

void op_rope_bf16(const Shape& s, std::mt19937_64& rng) {
  const i64 T = s.tokens(), hd = s.head_dim;
  Fvec cos(T * hd), sin(T * hd);
  CpuOps::rope_tables(cos.data(), sin.data(), T, hd, 10000.0);
  Guarded<float> d_cos(cos), d_sin(sin);
  rope_rotations<bf16>(s, rng, cos, sin, d_cos, d_sin, kTolBf16);
}

void op_attention_bf16(const Shape& s, std::mt19937_64& rng) {
  const i64 n = s.n(), D = s.D();
  attention_case<bf16>(s, rounded(uniform(rng, n * 3 * D, 2.0f)), rounded(uniform(rng, n * D)), kTolBf16AttentionOps,
                       kTolBf16AttentionOps);
}

// torch's bf16 SwiGLU rounds silu(g) before the product (and dh u in the backward): two roundings.
void op_swiglu_bf16(const Shape& s, std::mt19937_64& rng) { swiglu_case<bf16>(s, rng, kTolBf16Chain); }

void op_add_bf16(const Shape& s, std::mt19937_64& rng) {
  const i64 count = s.n() * s.D();
  const Fvec a = rounded(uniform(rng, count)), b = rounded(uniform(rng, count));
  Fvec y(count);
  CpuOps::add(y.data(), a.data(), b.data(), count);
  Guarded<bf16> d_a(as_bf16(a)), d_b(as_bf16(b)), d_y(bf16_nans(count));
  CudaOps::add(d_y.get(), d_a.get(), d_b.get(), count);
  check_bf16("add y", d_y, y, kTolBf16);
}

void op_embedding_bf16(const Shape& s, std::mt19937_64& rng) {
  embedding_case<bf16>(s, s.vocab, rng, kTolBf16Chain, kTolBf16Chain);
}

void op_token_loss_bf16(const Shape& s, std::mt19937_64& rng) {
  const i64 b = s.batch, S = s.seq, V = s.vocab;
  const Fvec logits = rounded(uniform(rng, b * S * V, 3.0f));
  const std::vector<i32> lab = labels(rng, b, S, V);
  // seq_scale = max(n, 1) undoes the per-sequence mean, so dlogits = p - onehot is of order 1 and the
  // tolerance (relative to max(max |ref|, 1)) measures one bf16 rounding of it, not of 1/n.
  std::vector<double> scale(b);
  for (i64 i = 0; i < b; ++i)
    scale[i] = std::max<double>(1.0, static_cast<double>(std::count_if(lab.begin() + i * S, lab.begin() + (i + 1) * S,
                                                                        [](i32 l) { return l != kIgnoreLabel; })));
  Guarded<bf16> d_logits(as_bf16(logits));
  Guarded<i32> d_lab(lab);
  Guarded<double> d_scale(scale);
  for (LossType type : {LossType::stablemax, LossType::softmax}) {
    const std::string how = type == LossType::stablemax ? " (stablemax, bf16 logits)" : " (softmax, bf16 logits)";
    // The same rounded logits on both: the argmax (bf16 ties included: the first wins) is exact.
    compare_token_loss_forward(how, logits, d_logits, lab, d_lab, b, S, V, type);
    Fvec dlogits(b * S * V);
    CpuOps::token_loss_backward(dlogits.data(), logits.data(), lab.data(), scale.data(), b, S, V, type);
    Guarded<bf16> d_dlogits(bf16_nans(b * S * V));
    CudaOps::token_loss_backward(d_dlogits.get(), d_logits.get(), d_lab.get(), d_scale.get(), b, S, V, type);
    check_bf16("token_loss_backward dlogits" + how, d_dlogits, dlogits, kTolBf16);
  }
  CudaOps::check_errors();
}

// The data-moving ops, the Q head's bias and the ACT ops in bf16: moves and comparisons exact, adds
// and the Q gradient rounded once, the Q target (acc_t), the bias gradient and the metrics in fp32.
void op_small_ops_bf16(const Shape& s, std::mt19937_64& rng) {
  const i64 rows = s.batch, T = s.tokens(), D = s.D(), TD = T * D, SD = s.seq * D, P = s.prefix;
  const Fvec z = rounded(uniform(rng, rows * TD)), row0 = rounded(uniform(rng, rows * D));
  Guarded<bf16> d_z(as_bf16(z)), d_row0(as_bf16(row0)), d_dz(bf16_nans(rows * TD));
  Fvec dz(rows * TD);
  CpuOps::fill(dz.data(), 0.0f, rows * TD);
  CpuOps::copy_rows(dz.data() + P * D, TD, z.data() + P * D, TD, rows, SD);
  CpuOps::add_rows(dz.data(), TD, row0.data(), D, rows, D);
  CudaOps::fill(d_dz.get(), __float2bfloat16_rn(0.0f), rows * TD);
  CudaOps::copy_rows(d_dz.get() + P * D, TD, d_z.get() + P * D, TD, rows, SD);
  CudaOps::add_rows(d_dz.get(), TD, d_row0.get(), D, rows, D);
  // add_rows adds row0 onto the zero-filled prefix rows: exact, as are the moves.
  check_bf16("fill + copy_rows + add_rows", d_dz, dz, kTolExact);
  const Fvec table = uniform(rng, 7 * D);  // the puzzle table: fp32 (acc_t); the rows gathered as bf16
  const std::vector<i32> row_ids = ids(rng, rows, 7);
  Fvec gathered(rows * D);
  CpuOps::gather_rows(gathered.data(), table.data(), row_ids.data(), rows, D);
  Guarded<float> d_table(table);
  Guarded<i32> d_ids(row_ids);
  Guarded<bf16> d_gathered(bf16_nans(rows * D));
  CudaOps::gather_rows(d_gathered.get(), d_table.get(), d_ids.get(), rows, D);
  check_bf16("gather_rows (fp32 table, rows rounded)", d_gathered, rounded(gathered), kTolExact);

  const i64 b = s.n(), max_steps = 3;
  Fvec q = rounded(uniform(rng, b * 2, 4.0f)), db = uniform(rng, 2);
  const Fvec bias = rounded(uniform(rng, 2)), q_next = rounded(uniform(rng, b * 2, 4.0f));
  Guarded<bf16> d_q(as_bf16(q)), d_bias(as_bf16(bias)), d_qn(as_bf16(q_next));
  Guarded<float> d_db(db);
  CpuOps::bias_backward(db.data(), q.data(), b, 2);
  CudaOps::bias_backward(d_db.get(), d_q.get(), b, 2);
  check_output("bias_backward db (fp32 sums of bf16 rows, in order)", d_db, db, kTolExact);
  CpuOps::bias_add(q.data(), bias.data(), b, 2);
  CudaOps::bias_add(d_q.get(), d_bias.get(), b, 2);
  check_bf16("bias_add y", d_q, q, kTolBf16);
  q = widened(d_q.result("q"));  // the device's rounded q from here on, on both sides
  std::vector<i32> steps = ids(rng, b, max_steps), min_halt = ids(rng, b, max_steps + 1);
  std::vector<std::uint8_t> halted(b, 0);
  std::vector<SeqLoss> seq(b);
  for (i64 i = 0; i < b; ++i) seq[i] = {0.1 * static_cast<double>(i % 7), static_cast<i32>(i % 3), 2};
  Guarded<i32> d_steps(steps), d_min(min_halt);
  Guarded<std::uint8_t> d_halted(halted);
  Guarded<SeqLoss> d_seq(seq);
  CpuOps::act_halt(steps.data(), halted.data(), q.data(), min_halt.data(), b, max_steps, true);
  CudaOps::act_halt(d_steps.get(), d_halted.get(), d_q.get(), d_min.get(), b, max_steps, true);
  compare_exact("act_halt halted (bf16 q)", d_halted.result("halted"), halted);
  Fvec target(b), dq(b * 2);
  // loss_scale 8 makes dq of order 1 (0.5 loss_scale (sigmoid - target)), so the tolerance measures it.
  CpuOps::act_q_grad(target.data(), dq.data(), q.data(), q_next.data(), seq.data(), steps.data(), b, max_steps, true,
                     8.0);
  Guarded<float> d_target(nans(b));  // the Q target: fp32 (acc_t), as HRM's
  Guarded<bf16> d_dq(bf16_nans(b * 2));
  CudaOps::act_q_grad(d_target.get(), d_dq.get(), d_q.get(), d_qn.get(), d_seq.get(), d_steps.get(), b, max_steps,
                      true, 8.0);
  check_output("act_q_grad target (fp32)", d_target, target, kTolElem);
  check_bf16("act_q_grad dq", d_dq, dq, kTolBf16);
  hrm::ops::ActStepStats cpu, dev;
  const Fvec target_dev = d_target.result("target");
  CpuOps::act_metrics(&cpu, seq.data(), q.data(), target_dev.data(), halted.data(), steps.data(), b, true);
  Guarded<hrm::ops::ActStepStats> d_stats(std::vector<hrm::ops::ActStepStats>(1));
  CudaOps::act_metrics(d_stats.get(), d_seq.get(), d_q.get(), d_target.get(), d_halted.get(), d_steps.get(), b, true);
  CudaOps::download(&dev, d_stats.get(), 1);
  if (!(std::abs(dev.total - cpu.total) / std::max(std::abs(cpu.total), 1.0) <= kTolElem))
    FAIL_CHECK("act_metrics total (bf16 q): cuda " << dev.total << ", cpu " << cpu.total);
  CHECK(dev.q_halt_accuracy == cpu.q_halt_accuracy);
  CHECK(dev.count == cpu.count);
}

// AdamATan2's bf16 working copy: the updated fp32 master rounded to nearest even, bit for bit.
void op_adam_bf16_copy(const Shape& s, std::mt19937_64& rng) {
  const i64 n = s.n() * s.D();
  Fvec v = uniform(rng, n, 1e-4f);
  for (float& x : v) x = std::abs(x);
  Guarded<float> d_p(uniform(rng, n)), d_m(uniform(rng, n, 0.01f)), d_v(v), d_g(uniform(rng, n, 0.1f));
  Guarded<bf16> d_copy(bf16_nans(n));
  hrm::cuda::adam_atan2_step(d_p.get(), d_copy.get(), d_g.get(), d_m.get(), d_v.get(), n, 1, 1e-4, 0.9, 0.95, 0.1);
  check_bf16("adam_atan2 bf16 copy", d_copy, rounded(d_p.result("p")), kTolExact);
}

struct Row {
  const char* family;
  const char* name;
  std::function<void(const Shape&, std::mt19937_64&)> run;
};
const Row kRows[] = {
    {"linear", "linear_forward+backward", op_linear},
    {"rms_norm", "rms_norm_forward+backward", op_rms_norm},
    {"rope", "rope_tables+forward+backward", op_rope},
    {"attention", "attention_forward+backward", op_attention},
    {"swiglu", "swiglu_forward+backward", op_swiglu},
    {"add", "add", op_add},
    {"embedding", "embedding_forward+backward", op_embedding},
    {"token_loss", "token_loss_forward+backward", op_token_loss},
    {"optimizers", "adam_atan2_step", op_adam_atan2},
    {"optimizers", "sign_sgd_step", op_sign_sgd},
    {"bf16", "to_bf16+linear_forward_bf16", op_bf16},
    {"memory", "copy+fill+copy_rows+add_rows+gather_rows+download", op_memory},
    {"bias", "bias_add+bias_backward", op_bias},
    {"act", "act_reset+act_halt+act_q_grad+act_metrics", op_act},
    {"sum_squares", "sum_squares", op_sum_squares},
    {"bf16_storage", "linear (bf16 storage)", op_linear_bf16},
    {"bf16_storage", "rms_norm (bf16 storage)", op_rms_norm_bf16},
    {"bf16_storage", "rope (bf16 storage)", op_rope_bf16},
    {"bf16_storage", "attention (bf16 storage)", op_attention_bf16},
    {"bf16_storage", "swiglu (bf16 storage)", op_swiglu_bf16},
    {"bf16_storage", "add (bf16 storage)", op_add_bf16},
    {"bf16_storage", "embedding (bf16 storage)", op_embedding_bf16},
    {"bf16_storage", "token_loss (bf16 storage)", op_token_loss_bf16},
    {"bf16_storage", "memory+bias+act (bf16 storage)", op_small_ops_bf16},
    {"bf16_storage", "adam_atan2 bf16 copy (bf16 storage)", op_adam_bf16_copy},
};

void run_family(const std::string& family) {
  require_device();
  for (const Row& row : kRows) {
    if (row.family != family || std::string(row.name).find(g_op_filter) == std::string::npos) continue;
    for (const Shape& s : kShapes) {
      CAPTURE(s.name);  // every op at every shape
      std::mt19937_64 rng(20260611);
      row.run(s, rng);
    }
  }
}

}  // namespace

TEST_CASE("cuda op parity: linear (cuBLAS fp32) against CpuOps") { run_family("linear"); }
TEST_CASE("cuda op parity: rms_norm against CpuOps") { run_family("rms_norm"); }
TEST_CASE("cuda op parity: rope tables, forward and backward against CpuOps") { run_family("rope"); }
TEST_CASE("cuda op parity: attention at T=82 and T=901 against CpuOps") { run_family("attention"); }
TEST_CASE("cuda op parity: swiglu against CpuOps") { run_family("swiglu"); }
TEST_CASE("cuda op parity: add against CpuOps") { run_family("add"); }
TEST_CASE("cuda op parity: embedding against CpuOps") { run_family("embedding"); }
TEST_CASE("cuda op parity: token loss (stablemax and softmax) against CpuOps") { run_family("token_loss"); }
TEST_CASE("cuda op parity: AdamATan2 and sign-SGD steps against the CPU optimizers") { run_family("optimizers"); }
TEST_CASE("cuda op parity: bf16 conversion and the cuBLASLt bf16 GEMM against CpuOps on rounded inputs") {
  run_family("bf16");
}

TEST_CASE("cuda op parity: copy, fill, copy_rows, add_rows, gather_rows and download against CpuOps") {
  run_family("memory");
}
TEST_CASE("cuda op parity: the Q head bias, forward and backward, against CpuOps") { run_family("bias"); }
TEST_CASE("cuda op parity: the ACT ops (reset, halt, Q target and gradient, metrics) against CpuOps") {
  run_family("act");
}
TEST_CASE("cuda op parity: sum_squares against a float64 host sum") { run_family("sum_squares"); }
TEST_CASE("cuda op parity: every op in bf16 storage against CpuOps on the same bf16-rounded inputs") {
  run_family("bf16_storage");
}

TEST_CASE("cuda input checks: a negative token id, a bad label, a puzzle id outside the table or a negative gathered row id throws at check_errors, once") {
  require_device();
  const std::vector<i32> inputs = {3, -1, 2};
  Guarded<i32> d_inputs(inputs);
  Guarded<float> tok(Fvec(4 * 8, 1.0f)), x(nans(3 * 8));
  CudaOps::embedding_forward<float>(x.get(), d_inputs.get(), tok.get(), nullptr, nullptr, 1, 3, 0, 8);
  CHECK_THROWS_AS(CudaOps::check_errors(), hrm::Error);
  CHECK_NOTHROW(CudaOps::check_errors());  // the bits were cleared

  const std::vector<i32> lab = {0, 5};  // 5 is outside [0, vocab = 4)
  Guarded<i32> d_lab(lab), d_argmax(std::vector<i32>(2));
  Guarded<float> logits(Fvec(2 * 4, 0.5f));
  Guarded<SeqLoss> seq(std::vector<SeqLoss>(1));
  CudaOps::token_loss_forward(seq.get(), d_argmax.get(), logits.get(), d_lab.get(), 1, 2, 4, LossType::stablemax);
  CHECK_THROWS_AS(CudaOps::check_errors(), hrm::Error);

  Guarded<i32> puzzle_ids(std::vector<i32>{1, 9});  // 9 is outside a table of 4 rows
  Guarded<float> table(Fvec(4 * 8, 1.0f)), grads(Fvec(2 * 8, 1.0f));
  hrm::cuda::sign_sgd_step(table.get(), 4, 8, puzzle_ids.get(), grads.get(), 2, 1e-2, 0.1);
  CHECK_THROWS_AS(CudaOps::check_errors(), hrm::Error);

  Guarded<i32> row_ids(std::vector<i32>{-2});
  Guarded<float> row(nans(8));
  CudaOps::gather_rows(row.get(), table.get(), row_ids.get(), 1, 8);
  CHECK_THROWS_AS(CudaOps::check_errors(), hrm::Error);
  check_output("gather_rows of a negative id: a zero row", row, Fvec(8, 0.0f), kTolExact);
}

// doctest's main, plus --op NAME (or --op=NAME): only the table rows whose name contains NAME.
int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--op=", 0) == 0)
      g_op_filter = arg.substr(5);
    else if (arg == "--op" && i + 1 < argc)
      g_op_filter = argv[++i];
    else
      rest.push_back(argv[i]);
  }
  doctest::Context context(static_cast<int>(rest.size()), rest.data());
  return context.run();
}
