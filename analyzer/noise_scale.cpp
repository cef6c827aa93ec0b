// noise_scale.cpp: McCandlish's two-batch-size estimator, its bootstrap interval, the trade-off.
#include "analyzer/noise_scale.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.hpp"

namespace hrm {

namespace {

struct Means {
  double grad_sq = 0, trace_sigma = 0;
};

// Means over `idx` of the per-repeat unbiased estimates of |G|^2 and tr(Sigma).
template <class Idx> Means means_of(const std::vector<GradNormPair>& r, const Idx& idx, double bs, double bb) {
  Means m;
  for (const auto i : idx) {
    m.grad_sq += (bb * r[i].big_sq - bs * r[i].small_sq) / (bb - bs);
    m.trace_sigma += (r[i].small_sq - r[i].big_sq) / (1.0 / bs - 1.0 / bb);
  }
  const auto n = static_cast<double>(idx.size());
  m.grad_sq /= n;
  m.trace_sigma /= n;
  return m;
}

// A noise scale whose |G|^2 estimate is not positive is beyond what these batch sizes resolve.
double ratio(const Means& m) {
  return m.grad_sq > 0 ? m.trace_sigma / m.grad_sq : std::numeric_limits<double>::infinity();
}

}  // namespace

NoiseScaleEstimate estimate_noise_scale(const std::vector<GradNormPair>& repeats, double b_small, double b_big,
                                        double confidence, int resamples) {
  if (!(b_small >= 1 && b_small < b_big))
    throw InputError("noise scale", fmt::format("needs 1 <= B_small < B_big, got {} and {}", b_small, b_big),
                     "choose a small batch below the big one");
  if (repeats.empty()) throw InputError("noise scale", "needs at least one repeated measurement");
  std::vector<std::size_t> all(repeats.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const Means m = means_of(repeats, all, b_small, b_big);
  NoiseScaleEstimate e;
  e.grad_sq = m.grad_sq;
  e.trace_sigma = m.trace_sigma;
  e.b_simple = ratio(m);
  e.confidence = confidence;
  e.repeats = static_cast<std::int64_t>(repeats.size());
  if (repeats.size() < 2) return e;  // one repeat: no interval
  std::mt19937_64 rng(0x6e6f697365ULL);  // fixed: the same measurements give the same interval
  std::uniform_int_distribution<std::size_t> pick(0, repeats.size() - 1);
  std::vector<double> boot(static_cast<std::size_t>(resamples));
  std::vector<std::size_t> idx(repeats.size());
  for (auto& b : boot) {
    for (auto& i : idx) i = pick(rng);
    b = ratio(means_of(repeats, idx, b_small, b_big));
  }
  std::sort(boot.begin(), boot.end());  // +inf sorts last, so an unresolved upper end reads as +inf
  const double tail = (1.0 - confidence) / 2.0;
  const auto at = [&](double q) {
    return boot[std::min(boot.size() - 1, static_cast<std::size_t>(q * static_cast<double>(boot.size())))];
  };
  e.ci_low = at(tail);
  e.ci_high = at(1.0 - tail);
  return e;
}

BatchTradeoff batch_tradeoff(double b_noise, std::int64_t batch) {
  const double B = static_cast<double>(batch);
  return {batch, 1.0 + b_noise / B, 1.0 + B / b_noise};
}

std::vector<std::int64_t> candidate_batches(std::vector<std::int64_t> extra) {
  for (std::int64_t b = 16; b <= 4096; b *= 2) extra.push_back(b);
  std::erase_if(extra, [](std::int64_t b) { return b < 1; });
  std::sort(extra.begin(), extra.end());
  extra.erase(std::unique(extra.begin(), extra.end()), extra.end());
  return extra;
}

void finish_noise_probe(NoiseProbe& p, const std::vector<std::int64_t>& extra) {
  HRM_CHECK(!p.points.empty() && !p.points.back().modules.empty(), "a noise probe without measurements");
  const NoiseScaleEstimate& all = p.points.back().modules.front().estimate;
  p.b_crit = all.b_simple;
  p.b_crit_low = all.ci_low;
  p.b_crit_high = all.ci_high;
  p.tradeoffs.clear();
  if (!(p.b_crit > 0) || !std::isfinite(p.b_crit)) return;
  for (const std::int64_t b : candidate_batches(extra)) p.tradeoffs.push_back(batch_tradeoff(p.b_crit, b));
}

}  // namespace hrm
