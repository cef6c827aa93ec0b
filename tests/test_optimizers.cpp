// test_optimizers.cpp: AdamATan2 (HRM-SPEC 3.1, 11.1 items 6-7) and the sparse sign-SGD of the
// puzzle embedding (HRM-SPEC 3.2). The float AdamATan2 is checked bit for bit against an
// independent NumPy float32 emulation of the CUDA kernel's formula (exact fma through fractions),
// the double one against the closed form of a constant gradient, sign-SGD against plain loops.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "common/error.hpp"
#include "test_util.hpp"
#include "trainer/loop/adam_atan2.hpp"
#include "trainer/loop/sign_sgd.hpp"

using namespace hrm;
using hrm_test::TempDir;

namespace {

// GCC contracts `a*b + c` into an fma in C++ even with -std=c++20 (its -ffp-contract=off rule for
// ISO mode covers C only), which would make the expected values here round once instead of twice.
// A volatile store rounds the product first, as torch's mul_ then add_ (and hrmkit) do.
template <class T>
T rounded(T x) {
  volatile T r = x;
  return r;
}

// The emulation: HRM-SPEC 11.1 item 6 transcribed with NumPy float32 scalars. fma(a, b, c) is the
// exact a*b + c (fractions.Fraction) rounded once to float32, ties to even; math.fma (Python 3.13)
// is not used because rounding its double result to float32 would round twice. atan2 is
// math.atan2 in double rounded to float32, the correctly rounded value hrmkit uses.
constexpr const char* kEmulation = R"PY(
import math, sys
from fractions import Fraction
import numpy as np

f32 = np.float32
src, dst, n, lr, beta1, beta2, wd, steps = sys.argv[1:9]
n, lr, beta1, beta2, wd = int(n), float(lr), float(beta1), float(beta2), float(wd)
steps = [int(s) for s in steps.split(',')]
raw = np.fromfile(src, dtype='<f4')
p, grads = raw[:n].copy(), raw[n:].reshape(len(steps), n)
m, v = np.zeros(n, f32), np.zeros(n, f32)

def round_f32(x):
    c = f32(float(x))  # float(x) rounds to double, so c is at most one float32 ulp off
    cands = [np.nextafter(c, f32(-np.inf)), c, np.nextafter(c, f32(np.inf))]
    return min(cands, key=lambda y: (abs(Fraction(float(y)) - x), int(y.view(np.uint32)) & 1))

def fma(a, b, c):
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    if exact == 0:
        return f32(float(a) * float(b) + float(c))  # the sign IEEE gives an exact zero
    return round_f32(exact)

out = []
with np.errstate(all='ignore'):
    for s, g in zip(steps, grads):
        t = float(f32(s))  # the step counter is an fp32 tensor
        step_size = f32(lr / (1 - beta1 ** t))
        wd_alpha = f32(1 - lr * wd)
        bc2_sqrt = f32(math.sqrt(1 - beta2 ** t))
        t1, t2 = f32(1 - beta1), f32(1 - beta2)
        for i in range(n):
            m[i] = fma(t1, g[i], fma(-t1, m[i], m[i]))
            gg = g[i] * g[i]
            v[i] = fma(t2, gg, fma(-t2, v[i], v[i]))
            denom = np.sqrt(v[i]) / bc2_sqrt
            p[i] = p[i] * wd_alpha
            p[i] = fma(-step_size, f32(math.atan2(float(m[i]), float(denom))), p[i])
        out += [p.copy(), m.copy(), v.copy()]
np.concatenate(out).astype('<f4').tofile(dst)
)PY";

struct AdamConfig {
  double lr, beta1, beta2, wd;
  std::vector<std::int64_t> steps;
};

// Runs hrmkit and the emulation on the same data; returns the number of differing words.
int compare_with_emulation(const AdamConfig& c, std::int64_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uni(-2.0f, 2.0f);
  std::uniform_real_distribution<float> scale(-12.0f, 12.0f);
  std::normal_distribution<float> normal;
  std::vector<float> p0(static_cast<std::size_t>(n));
  for (auto& x : p0) x = uni(rng);
  p0[0] = -5.0f;  // HRM's q_head bias
  p0[1] = 0.0f;
  p0[2] = 1e-30f;
  for (std::int64_t i = 16; i < 64; ++i) p0[i] = 0.0f;  // p = -step_size*atan2 shows every atan2 ulp
  const std::size_t steps = c.steps.size();
  std::vector<float> grads(steps * static_cast<std::size_t>(n));
  for (std::size_t s = 0; s < steps; ++s)
    for (std::int64_t i = 0; i < n; ++i) {
      float g = normal(rng) * std::pow(10.0f, scale(rng));  // |g| from 1e-12 to 1e12
      if (i < 16 || rng() % 20 == 0) g = 0.0f;            // atan2(0, 0) and zero-gradient steps
      grads[s * n + i] = g;
    }

  TempDir d;
  {
    std::vector<float> in(p0);
    in.insert(in.end(), grads.begin(), grads.end());
    hrm_test::write_file(d / "in.bin", std::string(reinterpret_cast<const char*>(in.data()), in.size() * 4));
  }
  hrm_test::write_file(d / "emulate.py", kEmulation);
  std::string steps_arg;
  for (auto s : c.steps) steps_arg += (steps_arg.empty() ? "" : ",") + std::to_string(s);
  const auto r = hrm_test::run(fmt::format("{} {} {} {} {} {:.17g} {:.17g} {:.17g} {:.17g} {}", HRM_PYTHON, d / "emulate.py",
                                           d / "in.bin", d / "out.bin", n, c.lr, c.beta1, c.beta2, c.wd, steps_arg));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const std::string out = hrm_test::read_file(d / "out.bin");
  REQUIRE(out.size() == steps * 3 * static_cast<std::size_t>(n) * 4);

  std::vector<float> p(p0), m(p0.size(), 0.0f), v(p0.size(), 0.0f);
  int differing = 0;
  for (std::size_t s = 0; s < steps; ++s) {
    adam_atan2_step(p.data(), grads.data() + s * n, m.data(), v.data(), n, c.steps[s], c.lr, c.beta1, c.beta2, c.wd);
    const std::vector<float>* mine[3] = {&p, &m, &v};
    for (int k = 0; k < 3; ++k)
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint32_t want;
        std::memcpy(&want, out.data() + ((s * 3 + k) * n + i) * 4, 4);
        const std::uint32_t got = std::bit_cast<std::uint32_t>((*mine[k])[i]);
        if (got != want && differing++ < 5)
          MESSAGE(fmt::format("step {} {}[{}]: hrmkit {:a}, emulation {:a} (g = {:a})", c.steps[s], "pmv"[k], i,
                              std::bit_cast<float>(got), std::bit_cast<float>(want), grads[s * n + i]));
      }
  }
  return differing;
}

}  // namespace

TEST_CASE("AdamATan2 float equals a NumPy float32 emulation of HRM's CUDA kernel bit for bit (HRM-SPEC 11.1 item 6)") {
  if (!hrm_test::have_numpy()) { MESSAGE("python3-numpy missing: skipped"); return; }
  // HRM's betas and weight decay with an lr that is not a float; steps 1000 and 2^24 + 1 (which the
  // fp32 step counter holds as 2^24) exercise the per-step scalars far from step 1.
  CHECK(compare_with_emulation({7e-5, 0.9, 0.95, 0.1, {1, 2, 3, 4, 5, 1000, 16777217}}, 768, 1) == 0);
  CHECK(compare_with_emulation({1e-2, 0.8, 0.999, 1.0, {1, 2, 7}}, 256, 2) == 0);
}

TEST_CASE("AdamATan2: a bias with an exactly zero gradient only decays, -5 -> -4.99975 at lr 5e-4, wd 0.1 (HRM-SPEC 11.1 item 7)") {
  float p = -5.0f, g = 0.0f, m = 0.0f, v = 0.0f;
  adam_atan2_step(&p, &g, &m, &v, 1, 1, 5e-4, 0.9, 0.95, 0.1);
  CHECK(p == -5.0f * static_cast<float>(1.0 - rounded(5e-4 * 0.1)));
  CHECK(p == doctest::Approx(-4.99975).epsilon(1e-7));
  CHECK(m == 0.0f);
  CHECK(v == 0.0f);
}

TEST_CASE("AdamATan2: atan2(0, 0) = 0, so with m = v = 0 and g = 0 parameters are only decayed, step after step") {
  std::vector<float> p{1.0f, -2.5f, 3e-20f, 1e20f, 0.0f}, g(5, 0.0f), m(5, 0.0f), v(5, 0.0f);
  std::vector<double> pd{1.0, -2.5, 3e-20, 1e20, 0.0}, gd(5, 0.0), md(5, 0.0), vd(5, 0.0);
  const float wd_alpha = static_cast<float>(1.0 - rounded(1e-3 * 0.1));
  for (std::int64_t t = 1; t <= 5; ++t) {
    const std::vector<float> before = p;
    const std::vector<double> before_d = pd;
    adam_atan2_step(p.data(), g.data(), m.data(), v.data(), 5, t, 1e-3, 0.9, 0.95, 0.1);
    adam_atan2_step(pd.data(), gd.data(), md.data(), vd.data(), 5, t, 1e-3, 0.9, 0.95, 0.1);
    for (std::size_t i = 0; i < 5; ++i) {
      CHECK(p[i] == before[i] * wd_alpha);
      CHECK(pd[i] == before_d[i] * (1.0 - rounded(1e-3 * 0.1)));
      CHECK(m[i] == 0.0f);
      CHECK(v[i] == 0.0f);
      CHECK(md[i] == 0.0);
      CHECK(vd[i] == 0.0);
    }
  }
}

TEST_CASE("AdamATan2: step 1 moves every element with g != 0 by about 0.997 lr, whatever |g| (HRM-SPEC 11.1 item 7)") {
  // m = 0.1 g and sqrt(v)/sqrt(0.05) = |g|: the step is lr/0.1 * atan(0.1) against the sign of g.
  // |g| stays within 1e-15..1e15 because in fp32 g*g underflows below ~1e-19 and overflows above ~1e19.
  const double lr = 1e-4, expected = lr * std::atan(0.1) / 0.1;
  CHECK(expected / lr == doctest::Approx(0.99669).epsilon(1e-5));
  for (float g : {1e-15f, -1e-15f, 1e-7f, -3e-4f, 1.0f, -1.0f, 123.0f, 1e7f, -1e15f}) {
    float p = 0.0f, m = 0.0f, v = 0.0f;  // p = 0 keeps the move exactly representable
    adam_atan2_step(&p, &g, &m, &v, 1, 1, lr, 0.9, 0.95, 0.1);
    CAPTURE(g);
    CHECK(-p * (g > 0 ? 1 : -1) == doctest::Approx(expected).epsilon(1e-6));  // float rounding
    double pd = 0.0, gd = g, md = 0.0, vd = 0.0;
    adam_atan2_step(&pd, &gd, &md, &vd, 1, 1, lr, 0.9, 0.95, 0.1);
    CHECK(-pd * (g > 0 ? 1 : -1) == doctest::Approx(expected).epsilon(1e-14));
  }
}

TEST_CASE("AdamATan2 double follows the closed form of a constant gradient") {
  // With g constant from m = v = 0: m_t = (1 - b1^t) g, v_t = (1 - b2^t) g^2, so the denominator is
  // |g| and p_t = p_{t-1} (1 - lr wd) - lr / (1 - b1^t) * atan2((1 - b1^t) g, |g|).
  const double lr = 1e-3, b1 = 0.9, b2 = 0.95, wd = 0.1;
  const std::vector<double> g{1e-8, -3.0, 0.5, 1e6, -2e-3};
  const std::size_t n = g.size();
  std::vector<double> p(n, 1.0), m(n, 0.0), v(n, 0.0), closed(n, 1.0);
  for (std::int64_t t = 1; t <= 60; ++t) {
    adam_atan2_step(p.data(), g.data(), m.data(), v.data(), static_cast<std::int64_t>(n), t, lr, b1, b2, wd);
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t)), bc2 = 1.0 - std::pow(b2, static_cast<double>(t));
    for (std::size_t i = 0; i < n; ++i) {
      closed[i] = closed[i] * (1.0 - lr * wd) - lr / bc1 * std::atan2(bc1 * g[i], std::abs(g[i]));
      // The recursions' rounding: a few ulps per step over 60 steps, far below these bounds.
      CHECK(std::abs(p[i] - closed[i]) <= 1e-14);
      CHECK(std::abs(m[i] - bc1 * g[i]) <= 1e-13 * std::abs(g[i]));
      CHECK(std::abs(v[i] - bc2 * g[i] * g[i]) <= 1e-13 * g[i] * g[i]);
    }
  }
}

TEST_CASE("AdamATan2 threaded over a large tensor equals the element-by-element result") {
  const std::int64_t n = 200000;  // above the threading threshold
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> p(n), g(n), m(n), v(n);
  for (std::int64_t i = 0; i < n; ++i) { p[i] = normal(rng); g[i] = normal(rng); m[i] = 0.1f * normal(rng); v[i] = std::abs(normal(rng)); }
  std::vector<float> p1 = p, m1 = m, v1 = v;
  adam_atan2_step(p.data(), g.data(), m.data(), v.data(), n, 3, 1e-4, 0.9, 0.95, 0.1);
  for (std::int64_t i = 0; i < n; ++i) adam_atan2_step(&p1[i], &g[i], &m1[i], &v1[i], 1, 3, 1e-4, 0.9, 0.95, 0.1);
  CHECK(std::memcmp(p.data(), p1.data(), n * 4) == 0);
  CHECK(std::memcmp(m.data(), m1.data(), n * 4) == 0);
  CHECK(std::memcmp(v.data(), v1.data(), n * 4) == 0);
  CHECK_THROWS_AS(adam_atan2_step(p.data(), g.data(), m.data(), v.data(), n, 0, 1e-4, 0.9, 0.95, 0.1), Error);
}

TEST_CASE("sign-SGD sums duplicate ids before the sign: rows +1 and -3 of one id give sign -1 (HRM-SPEC 3.2)") {
  // table (4, 2); ids 2, 0, 2. Row 2: G = (1 - 3, 1 - 1) = (-2, 0) -> signs (-1, 0).
  // Row 0: G = (0, 0) -> sign(0) = 0, decayed only. Rows 1 and 3: no id names them, untouched.
  std::vector<float> table{1.0f, -1.0f, 0.3f, 0.7f, 2.0f, -4.0f, 5.0f, 6.0f};
  const std::vector<float> before = table;
  const std::vector<std::int32_t> ids{2, 0, 2};
  const std::vector<float> grads{1.0f, 1.0f, 0.0f, 0.0f, -3.0f, -1.0f};
  const double lr = 0.01, wd = 0.5;
  sign_sgd_step(table.data(), 4, 2, ids.data(), grads.data(), 3, lr, wd);
  const float decay = static_cast<float>(1.0 - rounded(lr * wd)), lrf = static_cast<float>(lr);
  CHECK(table[4] == rounded(before[4] * decay) + lrf);  // sign -1: moves up by lr
  CHECK(table[5] == before[5] * decay);        // sign 0: decay only
  CHECK(table[0] == before[0] * decay);
  CHECK(table[1] == before[1] * decay);
  CHECK(table[2] == before[2]);
  CHECK(table[3] == before[3]);
  CHECK(table[6] == before[6]);
  CHECK(table[7] == before[7]);

  std::vector<double> td(before.begin(), before.end());
  const std::vector<double> gd(grads.begin(), grads.end());
  sign_sgd_step(td.data(), 4, 2, ids.data(), gd.data(), 3, lr, wd);
  const double decay_d = 1.0 - rounded(lr * wd);
  CHECK(td[4] == rounded(double(before[4]) * decay_d) + lr);
  CHECK(td[5] == double(before[5]) * decay_d);
  CHECK(td[2] == double(before[2]));
  CHECK(td[7] == double(before[7]));
}

TEST_CASE("sign-SGD equals a plain-loop reference on many duplicated ids, NaN gradients propagate") {
  const std::int64_t table_rows = 50, ndim = 16, rows = 4000;  // rows*ndim above the threading threshold
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> table(table_rows * ndim), grads(rows * ndim);
  std::vector<std::int32_t> ids(rows);
  for (auto& x : table) x = normal(rng);
  for (auto& x : grads) x = (rng() % 4 == 0) ? 0.0f : normal(rng);
  for (auto& id : ids) id = static_cast<std::int32_t>(rng() % 40);  // rows 40..49 never named
  const double lr = 3e-3, wd = 0.1;

  std::vector<float> want = table;
  std::map<std::int32_t, std::vector<float>> sums;  // summed in row order, like scatter_add_
  for (std::int64_t r = 0; r < rows; ++r) {
    auto [it, fresh] = sums.try_emplace(ids[r], std::vector<float>(ndim, 0.0f));
    for (std::int64_t j = 0; j < ndim; ++j) it->second[j] += grads[r * ndim + j];
  }
  const float decay = static_cast<float>(1.0 - rounded(lr * wd)), lrf = static_cast<float>(lr);
  for (const auto& [id, s] : sums)
    for (std::int64_t j = 0; j < ndim; ++j) {
      const float sign = s[j] > 0 ? 1.0f : (s[j] < 0 ? -1.0f : 0.0f);
      float& w = want[id * ndim + j];
      w = rounded(w * decay) - lrf * sign;
    }
  sign_sgd_step(table.data(), table_rows, ndim, ids.data(), grads.data(), rows, lr, wd);
  CHECK(std::memcmp(table.data(), want.data(), table.size() * 4) == 0);

  grads[3] = std::nanf("");
  sign_sgd_step(table.data(), table_rows, ndim, ids.data(), grads.data(), rows, lr, wd);
  CHECK(std::isnan(table[ids[0] * ndim + 3]));
}

TEST_CASE("sign-SGD: an id outside the table is an internal check failure and changes nothing") {
  std::vector<float> table(8, 1.0f);
  const std::vector<float> grads(4, 1.0f);
  const std::vector<std::int32_t> past_end{0, 4}, negative{-1, 0};
  CHECK_THROWS_WITH_AS(sign_sgd_step(table.data(), 4, 2, past_end.data(), grads.data(), 2, 0.1, 0.1),
                       doctest::Contains("puzzle id 4 (row 1 of 2) is outside the table of 4 rows"), Error);
  CHECK_THROWS_AS(sign_sgd_step(table.data(), 4, 2, negative.data(), grads.data(), 2, 0.1, 0.1), Error);
  CHECK(table == std::vector<float>(8, 1.0f));
}
