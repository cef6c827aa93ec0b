// test_noise_scale.cpp: the two-batch-size noise-scale estimator (analyzer/noise_scale.hpp) where the
// answer is known: exact expectations give the exact B_simple, and least squares with Gaussian inputs
// and noise, whose noise scale is analytic, is recovered within a stated tolerance; and the findings a
// probe adds to a report (analyzer/rules_noise_scale.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "analyzer/noise_scale.hpp"
#include "analyzer/report.hpp"
#include "common/error.hpp"

using namespace hrm;

namespace {

// Least squares 0.5 (x.w - y)^2 with x ~ N(0, I_d), y = x.w* + eps, eps ~ N(0, s^2), at w = w* + r.
// The per-example gradient is g = x x^T r - x eps, so G = E g = r and
// E|g|^2 = E[(x.r)^2 |x|^2] + s^2 E|x|^2 = (d + 2)|r|^2 + d s^2, hence
// tr(Sigma) = (d + 1)|r|^2 + d s^2 and B_simple = d + 1 + d s^2 / |r|^2.
struct LeastSquares {
  int d = 8;
  double noise = 1.5, r_norm = 1.0;
  double b_simple() const { return d + 1 + d * noise * noise / (r_norm * r_norm); }

  // |mean gradient|^2 of `b` fresh examples, and the mean gradient itself into `g`.
  void batch_gradient(std::mt19937_64& rng, int b, std::vector<double>& g) const {
    std::normal_distribution<double> n01(0.0, 1.0);
    g.assign(d, 0.0);
    std::vector<double> x(d);
    for (int k = 0; k < b; ++k) {
      double xr = 0;
      for (int j = 0; j < d; ++j) {
        x[j] = n01(rng);
        xr += x[j] * (j == 0 ? r_norm : 0.0);  // r = r_norm e_1
      }
      const double residual = xr - noise * n01(rng);
      for (int j = 0; j < d; ++j) g[j] += x[j] * residual / b;
    }
  }
};

double sq(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return s;
}

// The probe's protocol: a big batch of b_big examples split into b_big / b_small small batches; the
// small norm is their mean, the big gradient their mean.
std::vector<GradNormPair> measure(const LeastSquares& p, int b_small, int b_big, int repeats, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<GradNormPair> out;
  std::vector<double> g, big;
  for (int r = 0; r < repeats; ++r) {
    GradNormPair m;
    big.assign(p.d, 0.0);
    const int k = b_big / b_small;
    for (int i = 0; i < k; ++i) {
      p.batch_gradient(rng, b_small, g);
      m.small_sq += sq(g) / k;
      for (int j = 0; j < p.d; ++j) big[j] += g[j] / k;
    }
    m.big_sq = sq(big);
    out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_CASE("noise scale: the expected squared norms at two batch sizes give B_simple exactly") {
  const double G2 = 2.5, tr = 160.0;  // B_simple = 64
  for (const auto& [bs, bb] : {std::pair{1.0, 2.0}, std::pair{8.0, 128.0}, std::pair{32.0, 33.0}}) {
    const std::vector<GradNormPair> r(3, GradNormPair{G2 + tr / bs, G2 + tr / bb});
    const NoiseScaleEstimate e = estimate_noise_scale(r, bs, bb);
    CHECK(e.grad_sq == doctest::Approx(G2).epsilon(1e-12));
    CHECK(e.trace_sigma == doctest::Approx(tr).epsilon(1e-12));
    CHECK(e.b_simple == doctest::Approx(64.0).epsilon(1e-12));
    CHECK(e.ci_low == doctest::Approx(64.0).epsilon(1e-12));  // identical repeats: a point interval
    CHECK(e.ci_high == doctest::Approx(64.0).epsilon(1e-12));
  }
}

TEST_CASE("noise scale: least squares with Gaussian noise is recovered within 10 percent and inside the interval") {
  // 400 repeats of B_big = 64 split into 16 batches of 4: the estimate's relative standard error is
  // about 3% here (measured over seeds), so 10% is over 3 standard errors; the 90% bootstrap interval
  // must contain the analytic value for every seed tried.
  const LeastSquares p;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const NoiseScaleEstimate e = estimate_noise_scale(measure(p, 4, 64, 400, seed), 4, 64);
    CHECK(std::abs(e.b_simple / p.b_simple() - 1.0) < 0.10);
    CHECK(e.ci_low <= p.b_simple());
    CHECK(e.ci_high >= p.b_simple());
    CHECK(e.grad_sq == doctest::Approx(p.r_norm * p.r_norm).epsilon(0.10));
  }
}

TEST_CASE("noise scale: noise that swamps the big batch reads as unresolved, not as a number") {
  LeastSquares p;
  p.r_norm = 1e-3;  // B_simple ~ 1.8e7, far above B_big = 16
  const NoiseScaleEstimate e = estimate_noise_scale(measure(p, 2, 16, 3, 7), 2, 16);
  CHECK((std::isinf(e.b_simple) || e.b_simple > 1e3));
  CHECK(!(e.ci_high < 1e3));
}

TEST_CASE("noise scale: B_small must be below B_big and a repeat is required") {
  const std::vector<GradNormPair> one{{2.0, 1.0}};
  CHECK_THROWS_AS(estimate_noise_scale(one, 8, 8), InputError);
  CHECK_THROWS_AS(estimate_noise_scale(one, 0, 8), InputError);
  CHECK_THROWS_AS(estimate_noise_scale({}, 2, 8), InputError);
}

TEST_CASE("noise scale: at B = B_crit a run takes twice the minimum steps and twice the minimum examples") {
  const BatchTradeoff at = batch_tradeoff(100, 100);
  CHECK(at.steps_over_min == 2.0);
  CHECK(at.examples_over_min == 2.0);
  const BatchTradeoff small = batch_tradeoff(100, 25);
  CHECK(small.steps_over_min == 5.0);
  CHECK(small.examples_over_min == 1.25);
  const auto c = candidate_batches({384, 16, 0});
  CHECK(c.front() == 16);
  CHECK(c.back() == 4096);
  CHECK(std::count(c.begin(), c.end(), 384) == 1);
  CHECK(std::count(c.begin(), c.end(), 16) == 1);
}

TEST_CASE("noise scale findings: a batch far above B_crit is a warning from a checkpoint and a note from the initialisation") {
  const auto probe_at = [](std::int64_t step, double b_crit) {
    NoiseProbe p;
    p.configured_batch = 768;
    p.b_small = 4;
    p.b_big = 32;
    p.repeats = 4;
    NoiseScaleEstimate e;
    e.b_simple = b_crit;
    e.ci_low = b_crit * 0.9;
    e.ci_high = b_crit * 1.1;
    p.points.push_back({step == 0 ? "init" : "step_100.safetensors", step, {{"all", e}}, 1.0});
    return p;
  };
  const auto severity_of = [](const Report& r, const std::string& id) {
    for (const Finding& f : r.findings)
      if (f.id == id) return std::string(severity_name(f.severity));
    return std::string("absent");
  };
  Report r;
  r.config.train.global_batch_size = 768;
  r.recommendation.global_batch_size = 64;
  r.strict = true;
  add_noise_probe(r, probe_at(100, 20.0));  // 768 / 20 = 38x
  CHECK(severity_of(r, "noise-scale-batch-above-critical") == "warning");
  CHECK(r.verdict == "rejected");  // strict: a warning rejects
  CHECK(r.probe->tradeoffs.size() >= 10);
  add_noise_probe(r, probe_at(0, 20.0));  // replaces the earlier probe's findings
  CHECK(severity_of(r, "noise-scale-batch-above-critical") == "info");
  CHECK(r.verdict == "vetted");
  add_noise_probe(r, probe_at(100, 500.0));
  CHECK(severity_of(r, "noise-scale-batch-near-critical") == "info");
  CHECK(severity_of(r, "noise-scale-batch-above-critical") == "absent");
  add_noise_probe(r, probe_at(100, std::numeric_limits<double>::infinity()));
  CHECK(severity_of(r, "noise-scale-unresolved") == "info");
  CHECK(r.findings.size() == 1);
}
