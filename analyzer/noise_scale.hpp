// noise_scale.hpp: the gradient noise scale (McCandlish et al. 2018, "An Empirical Model of
// Large-Batch Training", appendix A) from squared gradient norms measured at two batch sizes, and
// what it predicts for the batch size of a run. Pure arithmetic: no model, no trainer.
//
// With G_B the mean gradient of B examples, E|G_B|^2 = |G|^2 + tr(Sigma) / B. From one pair of
// measurements at B_small < B_big the unbiased estimates are
//   |G|^2      ~ (B_big |G_big|^2 - B_small |G_small|^2) / (B_big - B_small)
//   tr(Sigma)  ~ (|G_small|^2 - |G_big|^2) / (1 / B_small - 1 / B_big)
// and B_simple = tr(Sigma) / |G|^2 is the ratio of their means over the repeats (a ratio of noisy
// estimates is biased; the means are not). The interval is a percentile bootstrap over repeats.
// B_crit ~ B_simple; a run at batch B needs S = S_min (1 + B_crit / B) steps and E = E_min (1 + B /
// B_crit) examples to reach a given loss.
//
// NoiseProbe is the measured result as the preflight report carries it (filled by trainer/loop's
// probe, read back from its JSON by reports/).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace hrm {

// One repeat's squared norms: |G_small|^2 (mean over the small batches of that repeat, still unbiased)
// and |G_big|^2.
struct GradNormPair {
  double small_sq = 0, big_sq = 0;
};

struct NoiseScaleEstimate {
  double grad_sq = 0;      // |G|^2, mean over repeats
  double trace_sigma = 0;  // tr(Sigma), mean over repeats
  double b_simple = std::numeric_limits<double>::quiet_NaN();  // tr(Sigma) / |G|^2; +inf when |G|^2 <= 0
  double ci_low = std::numeric_limits<double>::quiet_NaN();    // bootstrap interval of b_simple
  double ci_high = std::numeric_limits<double>::quiet_NaN();
  double confidence = 0.9;
  std::int64_t repeats = 0;
};

// Needs 1 <= b_small < b_big and at least one repeat (InputError otherwise). `resamples` bootstrap
// draws from a fixed seed, so the interval is reproducible.
NoiseScaleEstimate estimate_noise_scale(const std::vector<GradNormPair>& repeats, double b_small, double b_big,
                                        double confidence = 0.9, int resamples = 2000);

// McCandlish's trade-off at batch B for noise scale b_noise: steps / S_min and examples / E_min.
struct BatchTradeoff {
  std::int64_t batch = 0;
  double steps_over_min = 0;     // 1 + b_noise / B
  double examples_over_min = 0;  // 1 + B / b_noise
};
BatchTradeoff batch_tradeoff(double b_noise, std::int64_t batch);

// The noise scale of one part of the model (or of all of it) at one point of training.
struct ModuleNoiseScale {
  std::string module;  // "all", "H_level", "L_level", "embeddings", "heads"
  NoiseScaleEstimate estimate;
};

struct NoiseProbePoint {
  std::string at;           // "init" or the checkpoint it was measured at
  std::int64_t step = 0;    // the optimizer step of those weights (0 at init)
  std::vector<ModuleNoiseScale> modules;  // "all" first
  double seconds = 0;       // wall time of this point's measurements
};

struct NoiseProbe {
  std::string config_file, dataset;
  std::int64_t configured_batch = 0;          // train.global_batch_size
  std::int64_t b_small = 0, b_big = 0, repeats = 0;
  std::int64_t num_params = 0;
  std::vector<NoiseProbePoint> points;        // init first, then the checkpoint when given
  double b_crit = std::numeric_limits<double>::quiet_NaN();  // B_simple of "all" at the last point
  double b_crit_low = std::numeric_limits<double>::quiet_NaN(), b_crit_high = std::numeric_limits<double>::quiet_NaN();
  double probe_seconds = 0;                   // all points together
  std::vector<BatchTradeoff> tradeoffs;       // at candidate_batches()
};

// Batch sizes the trade-off is shown for: powers of two 16..4096 and the given ones, sorted, unique.
std::vector<std::int64_t> candidate_batches(std::vector<std::int64_t> extra);

// Sets b_crit (and its interval) from the last point and the trade-offs at the candidates plus `extra`.
void finish_noise_probe(NoiseProbe& p, const std::vector<std::int64_t>& extra);

}  // namespace hrm
