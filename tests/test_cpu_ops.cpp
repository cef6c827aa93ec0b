// test_cpu_ops.cpp: the Eigen CPU backend (trainer/cpu) against the op contract (trainer/ops/ops.hpp).
//
// Every op is checked three ways:
//  1. float32 CpuOps against the plain-loop float64 reference (reference_ops.hpp) on the same
//     float-rounded inputs, so the difference is float32 arithmetic only; at a realistic size, an
//     odd size and a size large enough to take the OpenMP and blocked-GEMM paths.
//  2. every backward against central finite differences of its own forward in float64, with
//     loss = sum(out * fixed random weights), over every input element.
//  3. the = / += rules: weight gradients accumulate (twice called = twice the gradient), activation
//     gradients are assigned (their buffers are pre-filled with NaN, which += would keep).
// and, for all ops at once, that results are bit-identical wherever the buffers lie in memory (a
// resumed run allocates its buffers elsewhere and must still be bit-identical).
// Comparisons are NaN-safe: a check fails unless `err <= tol`, and err is NaN when any value is.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "reference_ops.hpp"
#include "trainer/cpu/cpu_ops.hpp"

using hrm::CpuOps;
using hrm::ops::kIgnoreLabel;
using hrm::ops::LossType;
using hrm::ops::SeqLoss;

namespace {

using Vec = std::vector<double>;
using Fvec = std::vector<float>;
using i64 = std::int64_t;
using i32 = std::int32_t;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// Sizes of one test configuration (head_dim even: RoPE rotates halves).
struct Sizes {
  const char* name;
  i64 batch, tokens, heads, head_dim, D, I, vocab;
  bool fd;  // finite differences too (they cost 2 forwards per input element)
};
constexpr Sizes kSizes[] = {
    {"realistic", 3, 11, 2, 8, 16, 24, 7, true},
    {"odd", 1, 5, 3, 6, 13, 7, 3, true},
    {"large, OpenMP paths", 4, 40, 3, 16, 128, 160, 11, false},
};

// --- tolerances -----------------------------------------------------------------------------------
// float32 vs float64 for products summed over K <= 160 terms of magnitude <= 1 (GEMMs, attention):
// the rounding error is about sqrt(K) * 2^-24 * |terms| ~ 1e-6 in practice (worst case K^2 * 2^-24 / 4
// = 4e-4); an indexing or formula error is O(0.1). Relative to max(|ref|, 1).
constexpr double kTolF32Sum = 1e-4;
// float32 vs float64 for a few roundings per element (elementwise ops, RoPE, embedding, token loss):
// each rounding is <= 2^-24 = 6e-8 relative and Eigen's float exp is within a few ulp; 2e-6 allows
// ~30 of them (measured worst: 3.3e-7, the SwiGLU backward). Relative to max(|ref|, 1).
constexpr double kTolF32Elem = 2e-6;
// Finite differences in float64, h = 1e-5: truncation h^2 f'''/6 ~ 1e-11; cancellation in the loss
// (a sum of ~1e3 products of O(1) values) 2^-53 * 1e3 / h ~ 1e-8 absolute, which is 1e-5 relative at
// the 1e-3 floor of max(|fd|, |analytic|, 1e-3). Measured worst: 1.4e-6. A wrong term errs by >= 1e-3.
constexpr double kFdStep = 1e-5;
constexpr double kFdFloor = 1e-3;
constexpr double kTolFd = 1e-5;

// --- helpers ---------------------------------------------------------------------------------------

// Uniform in [-scale, scale), rounded to float32 so float32 ops and the float64 reference see the
// same values.
Vec random_vec(std::mt19937_64& rng, i64 count, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  Vec v(static_cast<std::size_t>(count));
  for (double& x : v) x = static_cast<float>(u(rng));
  return v;
}

std::vector<i32> random_ids(std::mt19937_64& rng, i64 count, i64 vocab) {
  std::uniform_int_distribution<i32> u(0, static_cast<i32>(vocab - 1));
  std::vector<i32> v(static_cast<std::size_t>(count));
  for (i32& x : v) x = u(rng);
  return v;
}

Fvec to_f(const Vec& v) { return Fvec(v.begin(), v.end()); }
Vec to_d(const Fvec& v) { return Vec(v.begin(), v.end()); }

// max_i |got_i - ref_i| / max(|ref_i|, floor): relative for large values, absolute (over floor) near
// zero. NaN when any value is NaN or the sizes differ.
template <class G> double max_err(const std::vector<G>& got, const Vec& ref, double floor) {
  if (got.size() != ref.size()) return kNaN;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(static_cast<double>(got[i]) - ref[i]) / std::max(std::abs(ref[i]), floor);
    if (std::isnan(e)) return kNaN;
    worst = std::max(worst, e);
  }
  return worst;
}

void check_err(const std::string& what, double err, double tol) {
  if (!(err <= tol)) FAIL_CHECK(what << ": error " << err << " exceeds tolerance " << tol);
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Central differences of loss() in every element of x, against grad: max |fd - g| / max(|fd|, |g|, floor).
double fd_err(Vec& x, const std::function<double()>& loss, const Vec& grad) {
  if (grad.size() != x.size()) return kNaN;
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    x[i] = v + kFdStep;
    const double lp = loss();
    x[i] = v - kFdStep;
    const double lm = loss();
    x[i] = v;
    const double fd = (lp - lm) / (2 * kFdStep);
    const double e = std::abs(fd - grad[i]) / std::max({std::abs(fd), std::abs(grad[i]), kFdFloor});
    if (std::isnan(e)) return kNaN;
    worst = std::max(worst, e);
  }
  return worst;
}

}  // namespace

// ==== linear ===========================================================================================

TEST_CASE("linear: float32 forward and backward match the plain-loop reference") {
  for (const Sizes& s : kSizes) {
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(11);
    const i64 n = s.batch * s.tokens, in = s.D, out = s.I;
    const Vec x = random_vec(rng, n * in), w = random_vec(rng, out * in), dy = random_vec(rng, n * out);
    Fvec y(n * out, kNaNf), dx(n * in, kNaNf), dw(out * in, 0.f);
    CpuOps::linear_forward(y.data(), to_f(x).data(), to_f(w).data(), n, in, out);
    CpuOps::linear_backward(dx.data(), dw.data(), to_f(dy).data(), to_f(x).data(), to_f(w).data(), n, in, out, false);
    const auto ref = hrm_ref::linear_backward(dy, x, w, n, in, out);
    check_err("y", max_err(y, hrm_ref::linear_forward(x, w, n, in, out), 1.0), kTolF32Sum);
    check_err("dx", max_err(dx, ref.dx, 1.0), kTolF32Sum);
    check_err("dw", max_err(dw, ref.dw, 1.0), kTolF32Sum);
  }
}

TEST_CASE("linear: backward matches central finite differences in float64") {
  for (const Sizes& s : kSizes) {
    if (!s.fd) continue;
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(12);
    const i64 n = s.batch * s.tokens, in = s.D, out = s.I;
    Vec x = random_vec(rng, n * in), w = random_vec(rng, out * in);
    const Vec wt = random_vec(rng, n * out);  // loss = sum(y * wt), so dy = wt
    Vec y(n * out), dx(n * in), dw(out * in, 0.0);
    auto loss = [&] {
      CpuOps::linear_forward(y.data(), x.data(), w.data(), n, in, out);
      return dot(y, wt);
    };
    CpuOps::linear_backward(dx.data(), dw.data(), wt.data(), x.data(), w.data(), n, in, out, false);
    check_err("dx vs fd", fd_err(x, loss, dx), kTolFd);
    check_err("dw vs fd", fd_err(w, loss, dw), kTolFd);
  }
}

TEST_CASE("linear: dw accumulates, dx is assigned unless accumulate_dx, a null dx is skipped") {
  std::mt19937_64 rng(13);
  const i64 n = 33, in = 16, out = 24;
  const Vec x = random_vec(rng, n * in), w = random_vec(rng, out * in), dy = random_vec(rng, n * out);
  const Vec dw0 = random_vec(rng, out * in), dx0 = random_vec(rng, n * in);
  const auto g = hrm_ref::linear_backward(dy, x, w, n, in, out);
  // float64 throughout: the only differences are rounding of O(1) sums of 33 terms, far below 1e-12.
  constexpr double tol = 1e-12;

  Vec dw = dw0, dx(n * in, kNaN);
  CpuOps::linear_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), n, in, out, false);
  check_err("dw = dw0 + g", max_err(dw, hrm_ref::add(dw0, g.dw), 1.0), tol);
  check_err("dx assigned over NaN", max_err(dx, g.dx, 1.0), tol);

  Vec dw2(out * in, 0.0);
  CpuOps::linear_backward<double>(nullptr, dw2.data(), dy.data(), x.data(), w.data(), n, in, out, false);
  CpuOps::linear_backward<double>(nullptr, dw2.data(), dy.data(), x.data(), w.data(), n, in, out, false);
  check_err("twice called, null dx: dw = 2 g", max_err(dw2, hrm_ref::add(g.dw, g.dw), 1.0), tol);

  Vec dxa = dx0;
  CpuOps::linear_backward(dxa.data(), dw2.data(), dy.data(), x.data(), w.data(), n, in, out, true);
  check_err("accumulate_dx: dx = dx0 + g", max_err(dxa, hrm_ref::add(dx0, g.dx), 1.0), tol);
}

// ==== RMSNorm ==========================================================================================

TEST_CASE("rms_norm: float32 forward and backward match the reference, rstd is optional, the residual add is add's") {
  constexpr double eps = 1e-5;  // HRM's rms_norm_eps
  for (const Sizes& s : kSizes) {
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(21);
    const i64 n = s.batch * s.tokens, d = s.D;
    const Vec x = random_vec(rng, n * d, 2.0), dy = random_vec(rng, n * d);
    Fvec y(n * d, kNaNf), rstd(n, kNaNf), y2(n * d, kNaNf), dx(n * d, kNaNf);
    CpuOps::rms_norm_forward<float>(y.data(), rstd.data(), to_f(x).data(), nullptr, n, d, eps);
    CpuOps::rms_norm_forward<float>(y2.data(), nullptr, to_f(x).data(), nullptr, n, d, eps);
    // The fused residual add: the same bits as add, then the norm of the sum (what block_forward did).
    const Fvec part = to_f(random_vec(rng, n * d, 2.0)), residual = to_f(random_vec(rng, n * d, 2.0));
    Fvec sum(n * d), y_sum(n * d, kNaNf), rstd_sum(n, kNaNf), y_fused(n * d, kNaNf), rstd_fused(n, kNaNf);
    CpuOps::add(sum.data(), part.data(), residual.data(), n * d);
    CpuOps::rms_norm_forward<float>(y_sum.data(), rstd_sum.data(), sum.data(), nullptr, n, d, eps);
    CpuOps::rms_norm_forward(y_fused.data(), rstd_fused.data(), part.data(), residual.data(), n, d, eps);
    check_err("y with the residual fused vs add then norm (same arithmetic: exact)",
              max_err(y_fused, to_d(y_sum), 1.0), 0.0);
    check_err("rstd with the residual fused (exact)", max_err(rstd_fused, to_d(rstd_sum), 1.0), 0.0);
    CpuOps::rms_norm_backward(dx.data(), to_f(dy).data(), y.data(), rstd.data(), n, d);
    const auto ref = hrm_ref::rms_norm_forward(x, n, d, eps);
    // A sum of d <= 128 squares, a sqrt and a scale: kTolF32Sum's reasoning, relative to max(|ref|, 1).
    check_err("y", max_err(y, ref.y, 1.0), kTolF32Sum);
    check_err("rstd", max_err(rstd, ref.rstd, 1.0), kTolF32Sum);
    check_err("y without rstd (same arithmetic: exact)", max_err(y2, to_d(y), 1.0), 0.0);
    check_err("dx", max_err(dx, hrm_ref::rms_norm_backward(dy, x, n, d, eps), 1.0), kTolF32Sum);
  }
}

TEST_CASE("rms_norm: backward matches finite differences, is assigned, and dx may alias dy") {
  constexpr double eps = 1e-5;
  for (const Sizes& s : kSizes) {
    if (!s.fd) continue;
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(22);
    const i64 n = s.batch * s.tokens, d = s.D;
    Vec x = random_vec(rng, n * d, 2.0);
    const Vec wt = random_vec(rng, n * d);
    Vec y(n * d), rstd(n), dx(n * d, kNaN);
    auto loss = [&] {
      CpuOps::rms_norm_forward<double>(y.data(), rstd.data(), x.data(), nullptr, n, d, eps);
      return dot(y, wt);
    };
    loss();
    CpuOps::rms_norm_backward(dx.data(), wt.data(), y.data(), rstd.data(), n, d);
    Vec aliased = wt;
    CpuOps::rms_norm_backward(aliased.data(), aliased.data(), y.data(), rstd.data(), n, d);
    check_err("aliased dx == dy gives the same result (same arithmetic: exact)", max_err(aliased, dx, 1.0), 0.0);
    check_err("dx vs fd", fd_err(x, loss, dx), kTolFd);
  }
}

// ==== RoPE =============================================================================================

TEST_CASE("rope: tables are computed in T precision in the rotate-half layout") {
  const i64 tokens = 82, hd = 64, half = hd / 2;  // a Sudoku HRM: 81 cells + 1 puzzle token
  const double theta = 10000;
  Fvec cf(tokens * hd, kNaNf), sf(tokens * hd, kNaNf);
  Vec cd(tokens * hd, kNaN), sd(tokens * hd, kNaN);
  CpuOps::rope_tables(cf.data(), sf.data(), tokens, hd, theta);
  CpuOps::rope_tables(cd.data(), sd.data(), tokens, hd, theta);
  const auto ref = hrm_ref::rope_tables(tokens, hd, theta);
  // float64 tables: pow and cos of the same angles in double, a few ulp apart.
  check_err("double cos", max_err(cd, ref.cos, 1.0), 1e-12);
  check_err("double sin", max_err(sd, ref.sin, 1.0), 1e-12);
  // float32 tables follow HRM's fp32 rounding: inv_freq off by ~1e-7 relative, so the angle at
  // position 81 is off by ~1e-5 (hence not the double values), but no more than 1e-4.
  check_err("float cos", max_err(cf, ref.cos, 1.0), 1e-4);
  check_err("float sin", max_err(sf, ref.sin, 1.0), 1e-4);
  bool float_rounding = true, duplicated = true;
  for (i64 p = 0; p < tokens; ++p)
    for (i64 i = 0; i < half; ++i) {
      const float inv = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / static_cast<float>(hd));
      const float angle = static_cast<float>(p) * inv;
      float_rounding &= cf[p * hd + i] == std::cos(angle) && sf[p * hd + i] == std::sin(angle);
      duplicated &= cf[p * hd + i] == cf[p * hd + half + i] && sf[p * hd + i] == sf[p * hd + half + i];
      duplicated &= cd[p * hd + i] == cd[p * hd + half + i] && sd[p * hd + i] == sd[p * hd + half + i];
    }
  CHECK_MESSAGE(float_rounding, "float tables: inv_freq, angle, cos and sin each rounded to float");
  CHECK_MESSAGE(duplicated, "each table is its half concatenated with itself");
  CHECK(cf[0] == 1.0f);
  CHECK(sf[0] == 0.0f);
}

TEST_CASE("rope: float32 forward and backward match the reference and leave V untouched") {
  for (const Sizes& s : kSizes) {
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(31);
    const i64 n = s.batch * s.tokens, row = 3 * s.heads * s.head_dim, hd = s.head_dim;
    Fvec cf(s.tokens * hd), sf(s.tokens * hd);
    CpuOps::rope_tables(cf.data(), sf.data(), s.tokens, hd, 10000.0);
    const hrm_ref::RopeTables t{to_d(cf), to_d(sf)};  // the same tables: only the rotation is compared
    const Vec qkv = random_vec(rng, n * row, 2.0), dqkv = random_vec(rng, n * row);
    Fvec y = to_f(qkv), dy = to_f(dqkv);
    CpuOps::rope_forward(y.data(), cf.data(), sf.data(), s.batch, s.tokens, s.heads, hd);
    CpuOps::rope_backward(dy.data(), cf.data(), sf.data(), s.batch, s.tokens, s.heads, hd);
    // Two products and a sum per element: kTolF32Elem.
    check_err("forward", max_err(y, hrm_ref::rope_forward(qkv, t, s.batch, s.tokens, s.heads, hd), 1.0), kTolF32Elem);
    check_err("backward", max_err(dy, hrm_ref::rope_backward(dqkv, t, s.batch, s.tokens, s.heads, hd), 1.0),
              kTolF32Elem);
    bool v_untouched = true;
    for (i64 r = 0; r < n; ++r)
      for (i64 k = 2 * s.heads * hd; k < row; ++k)
        v_untouched &= y[r * row + k] == static_cast<float>(qkv[r * row + k]) &&
                       dy[r * row + k] == static_cast<float>(dqkv[r * row + k]);
    CHECK_MESSAGE(v_untouched, "V heads (and dV) are left bit for bit as they were");
  }
}

TEST_CASE("rope: backward matches finite differences in float64") {
  for (const Sizes& s : kSizes) {
    if (!s.fd) continue;
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(32);
    const i64 n = s.batch * s.tokens, row = 3 * s.heads * s.head_dim;
    Vec c(s.tokens * s.head_dim), sn(s.tokens * s.head_dim);
    CpuOps::rope_tables(c.data(), sn.data(), s.tokens, s.head_dim, 10000.0);
    Vec qkv = random_vec(rng, n * row, 2.0);
    const Vec wt = random_vec(rng, n * row);
    Vec y(n * row);
    auto loss = [&] {
      y = qkv;
      CpuOps::rope_forward(y.data(), c.data(), sn.data(), s.batch, s.tokens, s.heads, s.head_dim);
      return dot(y, wt);
    };
    Vec g = wt;
    CpuOps::rope_backward(g.data(), c.data(), sn.data(), s.batch, s.tokens, s.heads, s.head_dim);
    check_err("dqkv vs fd", fd_err(qkv, loss, g), kTolFd);
  }
}

// ==== attention ========================================================================================

TEST_CASE("attention: float32 forward and backward match the reference, probs are saved or not") {
  for (const Sizes& s : kSizes) {
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(41);
    const i64 n = s.batch * s.tokens, hd = s.head_dim, H = s.heads;
    const Vec qkv = random_vec(rng, n * 3 * H * hd, 2.0), dout = random_vec(rng, n * H * hd);
    Fvec out(n * H * hd, kNaNf), out2(n * H * hd, kNaNf), probs(s.batch * H * s.tokens * s.tokens, kNaNf);
    Fvec dqkv(qkv.size(), kNaNf), dqkv2(qkv.size(), kNaNf);
    const Fvec qkvf = to_f(qkv), doutf = to_f(dout);
    CpuOps::attention_forward(out.data(), probs.data(), qkvf.data(), s.batch, s.tokens, H, hd);
    CpuOps::attention_forward<float>(out2.data(), nullptr, qkvf.data(), s.batch, s.tokens, H, hd);
    CpuOps::attention_backward(dqkv.data(), doutf.data(), qkvf.data(), out.data(), probs.data(), s.batch, s.tokens, H,
                               hd);
    CpuOps::attention_backward<float>(dqkv2.data(), doutf.data(), qkvf.data(), out.data(), nullptr, s.batch, s.tokens,
                                      H, hd);
    const auto ref = hrm_ref::attention_forward(qkv, s.batch, s.tokens, H, hd);
    // Scores are hd-term sums, outputs tokens-term sums of probabilities times values: kTolF32Sum.
    check_err("out", max_err(out, ref.out, 1.0), kTolF32Sum);
    check_err("probs", max_err(probs, ref.probs, 1.0), kTolF32Sum);
    check_err("dqkv", max_err(dqkv, hrm_ref::attention_backward(dout, qkv, s.batch, s.tokens, H, hd), 1.0),
              kTolF32Sum);
    // Without probs the same softmax is computed into scratch: the same arithmetic, so exact.
    check_err("out without probs", max_err(out2, to_d(out), 1.0), 0.0);
    check_err("dqkv with recomputed probs", max_err(dqkv2, to_d(dqkv), 1.0), 0.0);
  }
}

TEST_CASE("attention: backward matches finite differences in float64 and assigns all of dqkv") {
  for (const Sizes& s : kSizes) {
    if (!s.fd) continue;
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(42);
    const i64 n = s.batch * s.tokens, hd = s.head_dim, H = s.heads;
    Vec qkv = random_vec(rng, n * 3 * H * hd, 2.0);
    const Vec wt = random_vec(rng, n * H * hd);
    Vec out(n * H * hd), probs(s.batch * H * s.tokens * s.tokens), dqkv(qkv.size(), kNaN);
    auto loss = [&] {
      CpuOps::attention_forward(out.data(), probs.data(), qkv.data(), s.batch, s.tokens, H, hd);
      return dot(out, wt);
    };
    loss();
    CpuOps::attention_backward(dqkv.data(), wt.data(), qkv.data(), out.data(), probs.data(), s.batch, s.tokens, H, hd);
    check_err("dqkv vs fd (every element written over NaN)", fd_err(qkv, loss, dqkv), kTolFd);
  }
}

// ==== SwiGLU ===========================================================================================

TEST_CASE("swiglu: float32 forward and backward match the reference") {
  for (const Sizes& s : kSizes) {
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(51);
    const i64 n = s.batch * s.tokens, I = s.I;
    const Vec gu = random_vec(rng, n * 2 * I, 4.0), dh = random_vec(rng, n * I);
    Fvec h(n * I, kNaNf), dgu(n * 2 * I, kNaNf);
    CpuOps::swiglu_forward(h.data(), to_f(gu).data(), n, I);
    CpuOps::swiglu_backward(dgu.data(), to_f(dh).data(), to_f(gu).data(), n, I);
    // exp, a division and a few products per element: kTolF32Elem.
    check_err("h", max_err(h, hrm_ref::swiglu_forward(gu, n, I), 1.0), kTolF32Elem);
    check_err("dgu", max_err(dgu, hrm_ref::swiglu_backward(dh, gu, n, I), 1.0), kTolF32Elem);
  }
  // Saturated gates: exp(-g) overflows to inf for g = -100 in float32; the result must be 0, not NaN.
  const Fvec gu{-100.f, 100.f, 0.f, 2.f, 3.f, 0.5f}, dh{1.f, 1.f, 1.f};
  Fvec h(3, kNaNf), dgu(6, kNaNf);
  CpuOps::swiglu_forward(h.data(), gu.data(), 1, 3);
  CpuOps::swiglu_backward(dgu.data(), dh.data(), gu.data(), 1, 3);
  const Vec gud(gu.begin(), gu.end());
  check_err("saturated h", max_err(h, hrm_ref::swiglu_forward(gud, 1, 3), 1.0), kTolF32Elem);
  check_err("saturated dgu", max_err(dgu, hrm_ref::swiglu_backward(Vec(3, 1.0), gud, 1, 3), 1.0), kTolF32Elem);
}

TEST_CASE("swiglu: backward matches finite differences in float64 and is assigned") {
  for (const Sizes& s : kSizes) {
    if (!s.fd) continue;
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(52);
    const i64 n = s.batch * s.tokens, I = s.I;
    Vec gu = random_vec(rng, n * 2 * I, 4.0);
    const Vec wt = random_vec(rng, n * I);
    Vec h(n * I), dgu(n * 2 * I, kNaN);
    auto loss = [&] {
      CpuOps::swiglu_forward(h.data(), gu.data(), n, I);
      return dot(h, wt);
    };
    CpuOps::swiglu_backward(dgu.data(), wt.data(), gu.data(), n, I);
    check_err("dgu vs fd", fd_err(gu, loss, dgu), kTolFd);
  }
}

// ==== add ==============================================================================================

TEST_CASE("add: y = a + b, and y may alias a or b") {
  for (const i64 count : {i64{1}, i64{97}, i64{100003}}) {  // the last one takes the OpenMP path
    CAPTURE(count);
    std::mt19937_64 rng(61);
    const Vec a = random_vec(rng, count), b = random_vec(rng, count);
    const Vec ref = hrm_ref::add(a, b);
    const Fvec af = to_f(a), bf = to_f(b);
    Fvec y(count, kNaNf), ya = af, yb = bf;
    CpuOps::add(y.data(), af.data(), bf.data(), count);
    CpuOps::add(ya.data(), ya.data(), bf.data(), count);
    CpuOps::add(yb.data(), af.data(), yb.data(), count);
    // One float32 rounding of the exact sum: <= 2^-24 relative; kTolF32Elem.
    check_err("y", max_err(y, ref, 1.0), kTolF32Elem);
    check_err("y aliasing a", max_err(ya, ref, 1.0), kTolF32Elem);
    check_err("y aliasing b", max_err(yb, ref, 1.0), kTolF32Elem);
  }
}

// ==== embedding ========================================================================================

TEST_CASE("embedding: float32 forward and backward match the reference, with and without puzzle and positions") {
  const i64 prefix = 2;
  for (const Sizes& s : kSizes)
    for (const bool with_puzzle : {true, false})
      for (const bool with_pos : {true, false}) {
        INFO("sizes: " << std::string(s.name));
        CAPTURE(with_puzzle);
        CAPTURE(with_pos);
        std::mt19937_64 rng(71);
        const i64 seq = s.tokens, T = prefix + seq, d = s.D, V = s.vocab;
        const std::vector<i32> inputs = random_ids(rng, s.batch * seq, V);
        const Vec tok = random_vec(rng, V * d), dx = random_vec(rng, s.batch * T * d);
        const Vec puzzle = with_puzzle ? random_vec(rng, s.batch * prefix * d) : Vec();
        const Vec pos = with_pos ? random_vec(rng, T * d) : Vec();
        const Fvec tokf = to_f(tok), puzf = to_f(puzzle), posf = to_f(pos), dxf = to_f(dx);
        Fvec x(s.batch * T * d, kNaNf), dtok(V * d, 0.f), dpuz(s.batch * prefix * d, kNaNf), dpos(T * d, 0.f);
        CpuOps::embedding_forward(x.data(), inputs.data(), tokf.data(), with_puzzle ? puzf.data() : nullptr,
                                  with_pos ? posf.data() : nullptr, s.batch, seq, prefix, d);
        CpuOps::embedding_backward(dtok.data(), dpuz.data(), with_pos ? dpos.data() : nullptr, dxf.data(),
                                   inputs.data(), s.batch, seq, prefix, d);
        const auto ref = hrm_ref::embedding_backward(dx, inputs, V, with_pos, s.batch, seq, prefix, d);
        // An add and two scalings per element: kTolF32Elem.
        check_err("x", max_err(x, hrm_ref::embedding_forward(inputs, tok, puzzle, pos, s.batch, seq, prefix, d), 1.0),
                  kTolF32Elem);
        // dtok sums up to batch*seq rows: kTolF32Sum.
        check_err("dtok", max_err(dtok, ref.dtok, 1.0), kTolF32Sum);
        check_err("dpuzzle", max_err(dpuz, ref.dpuzzle, 1.0), kTolF32Elem);
        if (with_pos) check_err("dpos", max_err(dpos, ref.dpos, 1.0), kTolF32Sum);
      }
}

TEST_CASE("embedding: the position constant is exactly 0.707106781, the sqrt(d) scale comes last") {
  // One token of value 1 at every feature, zero positions, d = 16: x = sqrt(16) * 0.707106781 * 1.
  const i64 d = 16;
  const Vec tok(d, 1.0), pos(2 * d, 0.0), puzzle(d, 0.5);
  const std::vector<i32> inputs{0};
  Vec x(2 * d, kNaN);
  CpuOps::embedding_forward(x.data(), inputs.data(), tok.data(), puzzle.data(), pos.data(), 1, 1, 1, d);
  CHECK(x[d] == 4.0 * 0.707106781);  // not 2*sqrt(2) = 2.8284271247...
  CHECK(x[0] == 4.0 * (0.707106781 * 0.5));  // the puzzle prefix is scaled too
  CpuOps::embedding_forward<double>(x.data(), inputs.data(), tok.data(), nullptr, nullptr, 1, 1, 1, d);
  CHECK(x[0] == 0.0);  // no puzzle: a zero prefix
  CHECK(x[d] == 4.0);  // no positions: no 0.707106781 factor
}

TEST_CASE("embedding: backward matches finite differences in float64") {
  const i64 prefix = 2;
  for (const Sizes& s : kSizes) {
    if (!s.fd) continue;
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(72);
    const i64 seq = s.tokens, T = prefix + seq, d = s.D, V = s.vocab;
    const std::vector<i32> inputs = random_ids(rng, s.batch * seq, V);
    Vec tok = random_vec(rng, V * d), puzzle = random_vec(rng, s.batch * prefix * d), pos = random_vec(rng, T * d);
    const Vec wt = random_vec(rng, s.batch * T * d);
    for (const bool with_pos : {true, false}) {
      CAPTURE(with_pos);
      Vec x(s.batch * T * d), dtok(V * d, 0.0), dpuz(s.batch * prefix * d, kNaN), dpos(T * d, 0.0);
      auto loss = [&] {
        CpuOps::embedding_forward(x.data(), inputs.data(), tok.data(), puzzle.data(), with_pos ? pos.data() : nullptr,
                                  s.batch, seq, prefix, d);
        return dot(x, wt);
      };
      CpuOps::embedding_backward(dtok.data(), dpuz.data(), with_pos ? dpos.data() : nullptr, wt.data(),
                                 inputs.data(), s.batch, seq, prefix, d);
      check_err("dtok vs fd", fd_err(tok, loss, dtok), kTolFd);
      check_err("dpuzzle vs fd", fd_err(puzzle, loss, dpuz), kTolFd);
      if (with_pos) check_err("dpos vs fd", fd_err(pos, loss, dpos), kTolFd);
    }
  }
}

TEST_CASE("embedding: dtok and dpos accumulate, dpuzzle is assigned, null gradients are skipped") {
  std::mt19937_64 rng(73);
  const i64 batch = 3, seq = 11, prefix = 2, T = prefix + seq, d = 16, V = 7;
  const std::vector<i32> inputs = random_ids(rng, batch * seq, V);
  const Vec dx = random_vec(rng, batch * T * d), dtok0 = random_vec(rng, V * d), dpos0 = random_vec(rng, T * d);
  const auto g = hrm_ref::embedding_backward(dx, inputs, V, true, batch, seq, prefix, d);
  constexpr double tol = 1e-12;  // float64, sums of <= 33 O(1) terms
  Vec dtok = dtok0, dpos = dpos0, dpuz(batch * prefix * d, kNaN);
  CpuOps::embedding_backward(dtok.data(), dpuz.data(), dpos.data(), dx.data(), inputs.data(), batch, seq, prefix, d);
  check_err("dtok = dtok0 + g", max_err(dtok, hrm_ref::add(dtok0, g.dtok), 1.0), tol);
  check_err("dpos = dpos0 + g", max_err(dpos, hrm_ref::add(dpos0, g.dpos), 1.0), tol);
  check_err("dpuzzle assigned over NaN", max_err(dpuz, g.dpuzzle, 1.0), tol);

  Vec dtok2(V * d, 0.0), dpos2(T * d, 0.0);
  for (int k = 0; k < 2; ++k) {
    CpuOps::embedding_backward<double>(dtok2.data(), nullptr, nullptr, dx.data(), inputs.data(), batch, seq, prefix, d);
    CpuOps::embedding_backward<double>(nullptr, nullptr, dpos2.data(), dx.data(), inputs.data(), batch, seq, prefix,
                                       d);
  }
  // dtok2 was computed without positions (dpos null): no 0.707106781 factor.
  const auto g_nopos = hrm_ref::embedding_backward(dx, inputs, V, false, batch, seq, prefix, d);
  check_err("twice called: dtok = 2 g", max_err(dtok2, hrm_ref::add(g_nopos.dtok, g_nopos.dtok), 1.0), tol);
  check_err("twice called: dpos = 2 g", max_err(dpos2, hrm_ref::add(g.dpos, g.dpos), 1.0), tol);
}

// ==== token loss =======================================================================================

namespace {

// Labels uniform in [0, vocab), about one in five ignored; sequence 0 fully ignored when asked.
std::vector<i32> random_labels(std::mt19937_64& rng, i64 batch, i64 seq_len, i64 vocab, bool first_row_ignored) {
  std::vector<i32> labels = random_ids(rng, batch * seq_len, vocab);
  std::bernoulli_distribution ignore(0.2);
  for (i64 i = 0; i < batch * seq_len; ++i)
    if (ignore(rng) || (first_row_ignored && i < seq_len)) labels[i] = kIgnoreLabel;
  return labels;
}

Vec seq_losses(const std::vector<SeqLoss>& s) {
  Vec v;
  for (const SeqLoss& x : s) v.push_back(x.loss);
  return v;
}

}  // namespace

TEST_CASE("token loss: float32 forward and backward match the reference for stablemax and softmax") {
  struct LossSizes {
    i64 batch, seq_len, vocab;
  };
  for (const LossSizes& z : {LossSizes{3, 11, 7}, LossSizes{1, 5, 3}, LossSizes{8, 200, 12}})
    for (const LossType type : {LossType::stablemax, LossType::softmax}) {
      CAPTURE(z.batch);
      CAPTURE(z.vocab);
      CAPTURE(type == LossType::stablemax);
      std::mt19937_64 rng(81);
      const i64 n = z.batch * z.seq_len;
      const Vec logits = random_vec(rng, n * z.vocab, 3.0);
      const std::vector<i32> labels = random_labels(rng, z.batch, z.seq_len, z.vocab, z.batch > 1);
      Vec scale(z.batch);
      for (double& x : scale) x = 0.5 + std::abs(random_vec(rng, 1)[0]);
      std::vector<SeqLoss> seq(z.batch);
      std::vector<i32> argmax(n, -1);
      Fvec dl(n * z.vocab, kNaNf);
      const Fvec lf = to_f(logits);
      CpuOps::token_loss_forward(seq.data(), argmax.data(), lf.data(), labels.data(), z.batch, z.seq_len, z.vocab, type);
      CpuOps::token_loss_backward(dl.data(), lf.data(), labels.data(), scale.data(), z.batch, z.seq_len, z.vocab, type);
      const auto ref = hrm_ref::token_loss_forward(logits, labels, z.batch, z.seq_len, z.vocab, type);
      const bool stable = type == LossType::stablemax;
      // stablemax: float64 on the same values in the same order as the reference, so only the
      // summation of the per-token terms may differ: 1e-12. softmax: float32 log-sum-exp of <= 12
      // terms, a few roundings of O(1) values: kTolF32Elem relative to max(|ref|, 1).
      check_err("loss", max_err(seq_losses(seq), seq_losses(ref.seq), 1.0), stable ? 1e-12 : kTolF32Elem);
      bool same_counts = true;
      for (i64 b = 0; b < z.batch; ++b)
        same_counts &= seq[b].count == ref.seq[b].count && seq[b].correct == ref.seq[b].correct;
      CHECK_MESSAGE(same_counts, "SeqLoss.count and .correct");
      CHECK(argmax == ref.argmax);
      // Gradients are O(1 / (vocab * n)); one float rounding (stablemax, computed in double) or a few
      // (softmax, float32) of terms <= 2 in magnitude: kTolF32Elem relative to max(|ref|, 1).
      check_err("dlogits",
                max_err(dl, hrm_ref::token_loss_backward(logits, labels, scale, z.batch, z.seq_len, z.vocab, type), 1.0),
                kTolF32Elem);
    }
}

TEST_CASE("token loss: stablemax is computed in float64 even for float32 logits") {
  // Label 0 dominates: s = (1e8 + 1, 1, 1, 1), loss = log((1e8 + 4) / (1e8 + 1)) ~ 3e-8. In float32,
  // 1e8 + 1 and 1e8 + 4 both round to 1e8 and the loss would be exactly 0.
  const Fvec logits{1e8f, 0.f, 0.f, 0.f};
  const std::vector<i32> labels{0};
  SeqLoss seq;
  i32 argmax = -1;
  CpuOps::token_loss_forward(&seq, &argmax, logits.data(), labels.data(), 1, 1, 4, LossType::stablemax);
  const double expected = -std::log((1e8 + 1) / (1e8 + 4));
  // float64 evaluation: the quotient is within 1 ulp, so the log is within ~1e-16 absolute, i.e.
  // ~1e-8 relative of a 3e-8 result.
  check_err("loss", std::abs(seq.loss - expected) / expected, 1e-7);
  CHECK(argmax == 0);
  CHECK(seq.correct == 1);
  CHECK(seq.count == 1);
  // The gradient of the label logit, 1/(1e8 + 4) - 1/(1e8 + 1) ~ -3e-16, is computed in float64 and
  // only then rounded to float32: one rounding, 6e-8 relative (a float32 evaluation would give 0).
  Fvec dl(4, kNaNf);
  const double scale = 1.0;
  CpuOps::token_loss_backward(dl.data(), logits.data(), labels.data(), &scale, 1, 1, 4, LossType::stablemax);
  const double g0 = 1 / (1e8 + 4) - 1 / (1e8 + 1);
  check_err("dlogits[0]", std::abs(dl[0] - g0) / std::abs(g0), 1e-6);
  check_err("dlogits[1]", std::abs(dl[1] - 1 / (1e8 + 4)) * 1e8, 1e-6);
}

TEST_CASE("token loss: ignored labels, empty sequences, argmax ties, correct and count") {
  const i64 batch = 3, seq_len = 4, vocab = 5;
  // clang-format off
  const Vec logits{
      // sequence 0: every label ignored
      0, 1, 2, 3, 4,   4, 3, 2, 1, 0,   1, 1, 1, 1, 1,   0, 0, 9, 0, 0,
      // sequence 1: a tie between 1 and 2 (first wins), all equal (0 wins), a clear max, ignored
      1, 3, 3, 2, 0,   2, 2, 2, 2, 2,   0, 0, 0, 5, 0,   0, 7, 0, 0, 0,
      // sequence 2: one counted token, wrong
      -1, -2, 0.5, -3, -4,   0, 0, 0, 0, 0,   0, 0, 0, 0, 0,   0, 0, 0, 0, 0};
  const std::vector<i32> labels{
      kIgnoreLabel, kIgnoreLabel, kIgnoreLabel, kIgnoreLabel,
      1, 0, 4, kIgnoreLabel,
      0, kIgnoreLabel, kIgnoreLabel, kIgnoreLabel};
  // clang-format on
  for (const LossType type : {LossType::stablemax, LossType::softmax}) {
    CAPTURE(type == LossType::stablemax);
    std::vector<SeqLoss> seq(batch);
    std::vector<i32> argmax(batch * seq_len, -1);
    CpuOps::token_loss_forward(seq.data(), argmax.data(), logits.data(), labels.data(), batch, seq_len, vocab, type);
    CHECK(argmax == std::vector<i32>{4, 0, 0, 2, 1, 0, 3, 1, 2, 0, 0, 0});  // ignored tokens get one too
    CHECK(seq[0].loss == 0.0);
    CHECK(seq[0].count == 0);
    CHECK(seq[0].correct == 0);
    CHECK(seq[1].count == 3);
    CHECK(seq[1].correct == 2);  // tie -> 1 == label 1; all equal -> 0 == label 0; 3 != label 4
    CHECK(seq[2].count == 1);
    CHECK(seq[2].correct == 0);
    // The per-sequence mean: the sum of the counted tokens' CE over n (float64 reference, 1e-12).
    const double ce1 = hrm_ref::token_ce(&logits[20], vocab, 1, type) + hrm_ref::token_ce(&logits[25], vocab, 0, type) +
                       hrm_ref::token_ce(&logits[30], vocab, 4, type);
    check_err("sequence 1 mean", std::abs(seq[1].loss - ce1 / 3) / (ce1 / 3), 1e-12);
    const double ce2 = hrm_ref::token_ce(&logits[40], vocab, 0, type);
    check_err("sequence 2 mean over n = 1", std::abs(seq[2].loss - ce2) / ce2, 1e-12);

    const Vec scale{1.0, 1.0, 1.0};
    Vec dl(logits.size(), kNaN);
    CpuOps::token_loss_backward(dl.data(), logits.data(), labels.data(), scale.data(), batch, seq_len, vocab, type);
    bool zeros = true;
    for (std::size_t i = 0; i < dl.size(); ++i) {
      const bool ignored = labels[i / vocab] == kIgnoreLabel;
      if (ignored) zeros &= dl[i] == 0.0;
    }
    CHECK_MESSAGE(zeros, "ignored tokens (and the n = 0 sequence) get exactly zero gradient, not NaN");
  }
  const std::vector<i32> bad{0, 5, 0, 0};  // 5 is outside [0, vocab)
  std::vector<SeqLoss> seq(1);
  std::vector<i32> argmax(seq_len);
  CHECK_THROWS_AS(CpuOps::token_loss_forward(seq.data(), argmax.data(), logits.data(), bad.data(), 1, seq_len, vocab,
                                             LossType::softmax),
                  hrm::Error);
}

TEST_CASE("token loss: backward with seq_scale matches finite differences of sum_b seq_scale_b loss_b") {
  for (const LossType type : {LossType::stablemax, LossType::softmax}) {
    CAPTURE(type == LossType::stablemax);
    std::mt19937_64 rng(82);
    const i64 batch = 3, seq_len = 11, vocab = 7;
    Vec logits = random_vec(rng, batch * seq_len * vocab, 3.0);
    const std::vector<i32> labels = random_labels(rng, batch, seq_len, vocab, true);
    const Vec scale{0.7, 1.3, 2.1};
    std::vector<SeqLoss> seq(batch);
    std::vector<i32> argmax(batch * seq_len);
    auto loss = [&] {
      CpuOps::token_loss_forward(seq.data(), argmax.data(), logits.data(), labels.data(), batch, seq_len, vocab, type);
      double total = 0;
      for (i64 b = 0; b < batch; ++b) total += scale[b] * seq[b].loss;
      return total;
    };
    Vec dl(logits.size(), kNaN);
    CpuOps::token_loss_backward(dl.data(), logits.data(), labels.data(), scale.data(), batch, seq_len, vocab, type);
    check_err("dlogits vs fd", fd_err(logits, loss, dl), kTolFd);
  }
}

// ==== all ops ==========================================================================================

namespace {

// A float buffer whose data starts `off` elements into its storage, to move its alignment.
struct Shifted {
  Fvec store;
  i64 off;
  Shifted(const Fvec& v, i64 o) : store(v.size() + 16, kNaNf), off(o) { std::copy(v.begin(), v.end(), p()); }
  Shifted(std::size_t count, i64 o) : Shifted(Fvec(count, 0.f), o) {}
  float* p() { return store.data() + off; }
  Fvec get() const { return Fvec(store.begin() + off, store.end() - 16 + off); }
};

bool same_bits(const Fvec& a, const Fvec& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("every op is bit-identical wherever its buffers lie in memory") {
  // Eigen evaluates the unaligned head and tail of a Map with scalar code (std::exp, fused or
  // unfused multiply-adds) and reductions from the first aligned element, so a careless backend
  // rounds differently when a buffer moves; a resumed run allocates its buffers elsewhere.
  for (const Sizes& s : {kSizes[0], kSizes[2]}) {
    INFO("sizes: " << std::string(s.name));
    std::mt19937_64 rng(91);
    const i64 n = s.batch * s.tokens, D = s.D, I = s.I, H = s.heads, hd = s.head_dim, V = s.vocab;
    const i64 prefix = 2, T = prefix + s.tokens;
    const Fvec x = to_f(random_vec(rng, n * D)), w = to_f(random_vec(rng, I * D)), dy = to_f(random_vec(rng, n * I));
    const Fvec qkv = to_f(random_vec(rng, n * 3 * H * hd, 2.0)), dout = to_f(random_vec(rng, n * H * hd));
    const Fvec gu = to_f(random_vec(rng, n * 2 * I, 4.0)), dh = to_f(random_vec(rng, n * I));
    const Fvec tok = to_f(random_vec(rng, V * D)), puzzle = to_f(random_vec(rng, s.batch * prefix * D));
    const Fvec pos = to_f(random_vec(rng, T * D)), dx = to_f(random_vec(rng, s.batch * T * D));
    const Fvec logits = to_f(random_vec(rng, n * V, 3.0));
    const std::vector<i32> ids = random_ids(rng, s.batch * s.tokens, V);
    const std::vector<i32> labels = random_labels(rng, s.batch, s.tokens, V, false);
    Fvec cs(s.tokens * hd), sn(s.tokens * hd);
    CpuOps::rope_tables(cs.data(), sn.data(), s.tokens, hd, 10000.0);
    const Vec scale(s.batch, 0.75);

    auto run = [&](i64 off) {
      std::vector<std::pair<std::string, Fvec>> r;
      {
        Shifted X(x, off), W(w, off), DY(dy, off), Y(n * I, off), DX(n * D, off), DW(I * D, off);
        CpuOps::linear_forward(Y.p(), X.p(), W.p(), n, D, I);
        CpuOps::linear_backward(DX.p(), DW.p(), DY.p(), X.p(), W.p(), n, D, I, false);
        r.push_back({"linear y", Y.get()});
        r.push_back({"linear dx", DX.get()});
        r.push_back({"linear dw", DW.get()});
        Shifted Y1(I, off);  // one row: Eigen's matrix-vector path
        CpuOps::linear_forward(Y1.p(), X.p(), W.p(), 1, D, I);
        r.push_back({"linear y, n = 1", Y1.get()});
      }
      {
        Shifted X(x, off), Y(n * D, off), R(n, off), G(Fvec(dy.begin(), dy.begin() + n * D), off);
        CpuOps::rms_norm_forward<float>(Y.p(), R.p(), X.p(), nullptr, n, D, 1e-5);
        CpuOps::rms_norm_backward(G.p(), G.p(), Y.p(), R.p(), n, D);
        r.push_back({"rms y", Y.get()});
        r.push_back({"rms rstd", R.get()});
        r.push_back({"rms dx", G.get()});
      }
      {
        Shifted Q(qkv, off), G(qkv, off), C(cs, off), S(sn, off);
        CpuOps::rope_forward(Q.p(), C.p(), S.p(), s.batch, s.tokens, H, hd);
        CpuOps::rope_backward(G.p(), C.p(), S.p(), s.batch, s.tokens, H, hd);
        r.push_back({"rope forward", Q.get()});
        r.push_back({"rope backward", G.get()});
      }
      {
        Shifted Q(qkv, off), O(n * H * hd, off), P(s.batch * H * s.tokens * s.tokens, off), DO(dout, off);
        Shifted DQ(qkv.size(), off), DQ2(qkv.size(), off);
        CpuOps::attention_forward(O.p(), P.p(), Q.p(), s.batch, s.tokens, H, hd);
        CpuOps::attention_backward(DQ.p(), DO.p(), Q.p(), O.p(), P.p(), s.batch, s.tokens, H, hd);
        CpuOps::attention_backward<float>(DQ2.p(), DO.p(), Q.p(), O.p(), nullptr, s.batch, s.tokens, H, hd);
        r.push_back({"attention out", O.get()});
        r.push_back({"attention probs", P.get()});
        r.push_back({"attention dqkv", DQ.get()});
        r.push_back({"attention dqkv, probs recomputed", DQ2.get()});
      }
      {
        Shifted GU(gu, off), Hh(n * I, off), DH(dh, off), DGU(gu.size(), off);
        CpuOps::swiglu_forward(Hh.p(), GU.p(), n, I);
        CpuOps::swiglu_backward(DGU.p(), DH.p(), GU.p(), n, I);
        r.push_back({"swiglu h", Hh.get()});
        r.push_back({"swiglu dgu", DGU.get()});
      }
      {
        Shifted A(x, off), Y(x.size(), off);
        CpuOps::add(Y.p(), A.p(), A.p(), static_cast<i64>(x.size()));
        r.push_back({"add", Y.get()});
      }
      {
        Shifted TK(tok, off), PZ(puzzle, off), PS(pos, off), Xo(dx.size(), off), DX(dx, off);
        Shifted DT(tok.size(), off), DP(puzzle.size(), off), DS(pos.size(), off);
        CpuOps::embedding_forward(Xo.p(), ids.data(), TK.p(), PZ.p(), PS.p(), s.batch, s.tokens, prefix, D);
        CpuOps::embedding_backward(DT.p(), DP.p(), DS.p(), DX.p(), ids.data(), s.batch, s.tokens, prefix, D);
        r.push_back({"embedding x", Xo.get()});
        r.push_back({"embedding dtok", DT.get()});
        r.push_back({"embedding dpuzzle", DP.get()});
        r.push_back({"embedding dpos", DS.get()});
      }
      for (const LossType type : {LossType::stablemax, LossType::softmax}) {
        Shifted L(logits, off), DL(logits.size(), off);
        std::vector<SeqLoss> seq(s.batch);
        std::vector<i32> am(n);
        CpuOps::token_loss_forward(seq.data(), am.data(), L.p(), labels.data(), s.batch, s.tokens, V, type);
        CpuOps::token_loss_backward(DL.p(), L.p(), labels.data(), scale.data(), s.batch, s.tokens, V, type);
        Fvec losses;  // the double losses' bits, as float pairs
        for (const SeqLoss& q : seq) {
          float two[2];
          std::memcpy(two, &q.loss, sizeof two);
          losses.insert(losses.end(), two, two + 2);
        }
        r.push_back({"token loss", losses});
        r.push_back({"token loss dlogits", DL.get()});
      }
      return r;
    };

    const auto base = run(0);
    for (const i64 off : {1, 3, 5, 8, 13}) {
      const auto moved = run(off);
      for (std::size_t k = 0; k < base.size(); ++k)
        if (!same_bits(moved[k].second, base[k].second))
          FAIL_CHECK(base[k].first << ": buffers moved by " << off << " floats change the result");
    }
  }
}
