// probe.cpp: squared gradient norms per module at B_small and B_big from real training steps.
#include "trainer/loop/probe.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "datasets/dataset.hpp"
#include "datasets/sampler.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/loop/batches.hpp"
#include "trainer/loop/checkpoint.hpp"
#include "trainer/loop/trainer.hpp"

namespace hrm {

namespace {

enum Module { kH, kL, kEmbeddings, kHeads, kModules };
constexpr std::array<const char*, kModules> kModuleNames = {"H_level", "L_level", "embeddings", "heads"};

Module module_of(const std::string& tensor) {
  if (tensor.find(".H_level.") != std::string::npos) return kH;
  if (tensor.find(".L_level.") != std::string::npos) return kL;
  if (tensor.find(".embed_") != std::string::npos) return kEmbeddings;
  return kHeads;  // lm_head, q_head
}

using Norms = std::array<double, kModules>;

// Squared norms by module of a slab-shaped gradient.
Norms slab_norms(const ParamLayout& l, const std::vector<double>& g) {
  Norms n{};
  for (const TensorSlot& t : l.tensors) {
    double s = 0;
    for (std::int64_t i = t.offset; i < t.offset + t.size; ++i) s += g[i] * g[i];
    n[module_of(t.name)] += s;
  }
  return n;
}

// The puzzle-embedding table's gradient, sparse: rows by identifier.
using PuzzleGrad = std::unordered_map<std::int32_t, std::vector<double>>;

double puzzle_norm(const PuzzleGrad& g) {
  double s = 0;
  for (const auto& [id, row] : g)
    for (double v : row) s += v * v;
  return s;
}

// Rows [begin, begin + b) of `from`.
void slice_batch(ActBatch& out, const ActBatch& from, std::int64_t begin, std::int64_t b, std::int64_t S) {
  out.resize(b, S);
  std::copy(from.inputs.begin() + begin * S, from.inputs.begin() + (begin + b) * S, out.inputs.begin());
  std::copy(from.labels.begin() + begin * S, from.labels.begin() + (begin + b) * S, out.labels.begin());
  std::copy(from.puzzle_ids.begin() + begin, from.puzzle_ids.begin() + begin + b, out.puzzle_ids.begin());
}

class Probe {
 public:
  Probe(const Config& cfg, const ProbeOptions& o, std::int64_t b_small, std::int64_t b_big)
      : cfg_(cfg), o_(o), bs_(b_small), bb_(b_big), train_(DatasetSplit::open(cfg.data.path, "train")),
        dims_(dims_for(cfg, train_.meta())), index_(PuzzleIndex::of(train_)), act_(dims_, b_small) {}

  const HrmDims& dims() const { return dims_; }

  NoiseProbePoint measure(const HrmWeights<float>& w, const std::string& at, std::int64_t step) {
    const auto t0 = std::chrono::steady_clock::now();
    PhiloxDraws draws(cfg_.train.seed);  // every point sees the same batches
    TrainSampler sampler(index_, bb_, cfg_.epochs_per_iter(), draws);
    sampler.start_iteration();
    std::vector<std::vector<GradNormPair>> pairs(kModules + 1);  // modules, then "all"
    for (std::int64_t r = 0; r < o_.steps; ++r) {
      GlobalBatch gb;
      while (!sampler.next_batch(gb)) sampler.start_iteration();
      const auto [small, big] = repeat(w, gb, r + 1);
      GradNormPair total;
      for (int m = 0; m < kModules; ++m) {
        pairs[m].push_back({small[m], big[m]});
        total.small_sq += small[m];
        total.big_sq += big[m];
      }
      pairs[kModules].push_back(total);
      if (o_.progress)
        o_.progress(fmt::format("{} repeat {}/{}: |G_small|^2 {:.4g}, |G_big|^2 {:.4g} ({:.1f} s)", at, r + 1, o_.steps,
                                total.small_sq, total.big_sq,
                                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
    }
    NoiseProbePoint p;
    p.at = at;
    p.step = step;
    const auto bs = static_cast<double>(bs_), bb = static_cast<double>(bb_);
    p.modules.push_back({"all", estimate_noise_scale(pairs[kModules], bs, bb)});
    for (int m = 0; m < kModules; ++m) p.modules.push_back({kModuleNames[m], estimate_noise_scale(pairs[m], bs, bb)});
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return p;
  }

 private:
  // One repeat: the mean over the small batches of their squared norms, and the big batch's.
  std::pair<Norms, Norms> repeat(const HrmWeights<float>& w, const GlobalBatch& gb, std::int64_t step) {
    const TrainConfig& tc = cfg_.train;
    const std::int64_t S = dims_.seq_len, nd = dims_.puzzle_ndim, k = bb_ / bs_;
    load_train_batch(big_batch_, train_, batch_rows(gb, index_, tc.seed, 0, bb_));
    min_halt_.assign(bb_, 0);
    exploration_draws(min_halt_.data(), static_cast<std::uint64_t>(tc.seed), step, bb_, 0, bb_,
                      dims_.halt_exploration_prob, dims_.halt_max_steps);
    big_.assign(w.layout.total, 0.0);
    PuzzleGrad big_puzzle;
    Norms small{};
    grads_.resize(w.layout.total);
    puzzle_grads_.resize(bs_ * nd);
    for (std::int64_t c = 0; c < k; ++c) {
      slice_batch(small_batch_, big_batch_, c * bs_, bs_, S);
      ActCarry<float> carry = ActCarry<float>::initial(dims_, bs_);
      std::fill(grads_.begin(), grads_.end(), 0.0f);
      act_.train_step(w, carry, small_batch_, min_halt_.data() + c * bs_, 1.0 / static_cast<double>(bs_), grads_.data(),
                      puzzle_grads_.data());
      small_.assign(grads_.begin(), grads_.end());
      const Norms n = slab_norms(w.layout, small_);
      for (int m = 0; m < kModules; ++m) small[m] += n[m] / static_cast<double>(k);
      for (std::size_t i = 0; i < small_.size(); ++i) big_[i] += small_[i] / static_cast<double>(k);
      PuzzleGrad rows;  // rows of one identifier add up: the table's gradient
      for (std::int64_t j = 0; j < bs_ && nd > 0; ++j) {
        auto& row = rows[carry.data.puzzle_ids[j]];
        auto& brow = big_puzzle[carry.data.puzzle_ids[j]];
        row.resize(nd, 0.0);
        brow.resize(nd, 0.0);
        for (std::int64_t e = 0; e < nd; ++e) {
          row[e] += puzzle_grads_[j * nd + e];
          brow[e] += puzzle_grads_[j * nd + e] / static_cast<double>(k);
        }
      }
      small[kEmbeddings] += puzzle_norm(rows) / static_cast<double>(k);
    }
    Norms big = slab_norms(w.layout, big_);
    big[kEmbeddings] += puzzle_norm(big_puzzle);
    return {small, big};
  }

  const Config& cfg_;
  const ProbeOptions& o_;
  std::int64_t bs_, bb_;
  DatasetSplit train_;
  HrmDims dims_;
  PuzzleIndex index_;
  HrmAct<CpuOps, float> act_;
  ActBatch big_batch_, small_batch_;
  std::vector<std::int32_t> min_halt_;
  std::vector<float> grads_, puzzle_grads_;
  std::vector<double> small_, big_;
};

// "step_N.safetensors" -> N; -1 for any other name.
std::int64_t checkpoint_step(const std::string& path) {
  const std::string stem = std::filesystem::path(path).stem().string();
  std::int64_t n = -1;
  if (stem.rfind("step_", 0) == 0) {
    const char* b = stem.data() + 5;
    if (std::from_chars(b, stem.data() + stem.size(), n).ec != std::errc()) n = -1;
  }
  return n;
}

}  // namespace

NoiseProbe probe_noise_scale(const Config& cfg, const ProbeOptions& o) {
  const std::int64_t bb = o.b_big > 0 ? o.b_big : cfg.train.global_batch_size;
  const std::int64_t bs = o.b_small > 0 ? o.b_small : std::max<std::int64_t>(1, bb / 8);
  if (bs >= bb || bb % bs != 0)
    throw InputError("--small-batch", fmt::format("B_small = {} must be below B_big = {} and divide it", bs, bb),
                     "pick B_small = B_big / k for some k >= 2 (default B_big / 8)");
  if (o.steps < 1) throw InputError("--steps", fmt::format("{} repeats: at least 1 is needed (2 or more for an interval)", o.steps));
  const auto t0 = std::chrono::steady_clock::now();
  Probe probe(cfg, o, bs, bb);
  NoiseProbe p;
  p.config_file = cfg.source_file;
  p.dataset = cfg.data.path;
  p.configured_batch = cfg.train.global_batch_size;
  p.b_small = bs;
  p.b_big = bb;
  p.repeats = o.steps;
  const HrmWeights<float> init = HrmWeights<float>::init(probe.dims(), static_cast<std::uint64_t>(cfg.train.seed));
  p.num_params = init.layout.total;
  p.points.push_back(probe.measure(init, "init", 0));
  if (!o.checkpoint.empty())
    p.points.push_back(probe.measure(load_weights(o.checkpoint, probe.dims()), o.checkpoint, checkpoint_step(o.checkpoint)));
  p.probe_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  finish_noise_probe(p, {cfg.train.global_batch_size, bb, bs});
  return p;
}

}  // namespace hrm
