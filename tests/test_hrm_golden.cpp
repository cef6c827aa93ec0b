// test_hrm_golden.cpp: the C++ HRM against the independent PyTorch reference
// (tests/reference/hrm_torch.py -> tests/golden/hrm_small/*.safetensors): several training steps
// with the ACT carry, halting, exploration, Q targets, both optimizers and the LR schedule.
//
// The reference runs in float64. The float64 C++ model must match it step after step; the float32
// C++ model (the one that trains) must match the first step within float32 rounding.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "common/safetensors.hpp"
#include "common/schedule.hpp"
#include "test_util.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/loop/adam_atan2.hpp"
#include "trainer/loop/sign_sgd.hpp"
#include "trainer/model/act.hpp"

using namespace hrm;

namespace {

struct Golden {
  SafetensorsFile file;
  nlohmann::json cfg;
  HrmDims dims;
  std::int64_t batch = 0, steps = 0;
};

Golden open_golden(const std::string& name) {
  Golden g{SafetensorsFile::open(hrm_test::source_dir() + "/tests/golden/hrm_small/" + name + ".safetensors"), {}, {}, 0, 0};
  g.cfg = nlohmann::json::parse(g.file.metadata("config").value());
  const auto& c = g.cfg;
  ArchConfig a;
  a.hidden_size = c.at("hidden_size");
  a.num_heads = c.at("num_heads");
  a.H_layers = c.at("H_layers");
  a.L_layers = c.at("L_layers");
  a.H_cycles = c.at("H_cycles");
  a.L_cycles = c.at("L_cycles");
  a.expansion = c.at("expansion");
  a.pos_encodings = c.at("pos_encodings");
  a.rope_theta = c.at("rope_theta");
  a.rms_norm_eps = c.at("rms_norm_eps");
  a.halt_max_steps = c.at("halt_max_steps");
  a.halt_exploration_prob = c.at("halt_exploration_prob");
  a.loss_type = c.at("loss_type");
  g.dims = HrmDims::from(a, c.at("puzzle_emb_ndim"), c.at("vocab_size"), c.at("seq_len"), c.at("num_puzzle_identifiers"));
  g.batch = c.at("batch_size");
  g.steps = c.at("steps");
  return g;
}

template <class T> HrmWeights<T> initial_weights(const Golden& g) {
  HrmWeights<T> w;
  w.dims = g.dims;
  w.layout = ParamLayout::of(g.dims);
  w.params.assign(w.layout.total, T(0));
  for (const auto& t : w.layout.tensors) {
    const auto v = g.file.read_as<T>("init." + t.name, t.shape);
    std::copy(v.begin(), v.end(), w.params.begin() + t.offset);
  }
  w.puzzle_emb = g.file.read_as<T>(std::string("init.") + kPuzzleEmbName, {g.dims.num_identifiers, g.dims.puzzle_ndim});
  w.H_init = g.file.read_as<T>(std::string("init.") + kHInitName, {g.dims.hidden});
  w.L_init = g.file.read_as<T>(std::string("init.") + kLInitName, {g.dims.hidden});
  return w;
}

// Largest |a - b| / (atol + rtol |b|) over a tensor; > 1 fails. NaN-safe: a NaN gives NaN, which
// fails the !(x <= 1) test below.
template <class T>
double worst(const std::vector<T>& a, const std::vector<double>& b, double atol, double rtol) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double e = std::abs(static_cast<double>(a[i]) - b[i]) / (atol + rtol * std::abs(b[i]));
    if (!(e <= w)) w = std::isnan(e) ? e : std::max(w, e);
    if (std::isnan(w)) return w;
  }
  return w;
}

#define CHECK_CLOSE(what, a, b, atol, rtol)                                    \
  do {                                                                         \
    const double w_ = worst(a, b, atol, rtol);                                 \
    INFO((what) << " worst error / tolerance = " << w_);                       \
    CHECK(w_ <= 1.0);                                                          \
  } while (0)

std::vector<double> scalar(double v) { return {v}; }

template <class T> void run_golden(const std::string& name, std::int64_t steps_to_check, bool check_params) {
  const Golden g = open_golden(name);
  const HrmDims& d = g.dims;
  const std::int64_t b = g.batch, S = d.seq_len;
  HrmWeights<T> w = initial_weights<T>(g);
  HrmAct<CpuOps, T> act(d, b);
  ActCarry<T> carry = ActCarry<T>::initial(d, b);
  std::vector<T> m(w.layout.total, T(0)), v(w.layout.total, T(0));
  const bool f64 = sizeof(T) == 8;
  // Tolerances. float64: both sides compute the same float64 arithmetic in different orders, so
  // differences are rounding (~1e-13 relative) amplified over a few steps; 1e-8 leaves room for
  // that and nothing else. Gradients and parameters are stored as float32 by the reference (size),
  // so they carry 6e-8 relative rounding of their own. float32: one step of float32 arithmetic
  // through ~20 matmuls and norms, ~1e-5 relative; gradients of sums over tokens lose more in
  // cancellation, hence the absolute floor relative to typical gradient size (1e-3 of lr-scale).
  const double tol_act = f64 ? 1e-8 : 2e-4, tol_grad_rel = f64 ? 2e-6 : 2e-3, tol_grad_abs = f64 ? 1e-9 : 2e-6;
  for (std::int64_t k = 1; k <= steps_to_check; ++k) {
    CAPTURE(name);
    CAPTURE(k);
    const std::string p = "step" + std::to_string(k) + ".";
    ActBatch in;
    in.inputs = g.file.read_as<std::int32_t>(p + "batch.inputs", {b, S});
    in.labels = g.file.read_as<std::int32_t>(p + "batch.labels", {b, S});
    in.puzzle_ids = g.file.read_as<std::int32_t>(p + "batch.puzzle_identifiers", {b});
    const auto min_halt = g.file.read_as<std::int32_t>(p + "min_halt_steps", {b});
    std::vector<T> grads(w.layout.total, T(0)), dpuzzle(b * d.puzzle_ndim, T(0));
    const ActStepStats s = act.train_step(w, carry, in, min_halt.data(), 1.0 / static_cast<double>(b), grads.data(),
                                          dpuzzle.data());
    CHECK(carry.data.inputs == g.file.read_as<std::int32_t>(p + "carry.inputs", {b, S}));
    CHECK(carry.data.labels == g.file.read_as<std::int32_t>(p + "carry.labels", {b, S}));
    CHECK(carry.data.puzzle_ids == g.file.read_as<std::int32_t>(p + "carry.puzzle_identifiers", {b}));
    CHECK_CLOSE("logits", act.logits(), g.file.read_as<double>(p + "logits", {b, S, d.vocab}), tol_act, tol_act);
    std::vector<T> qh(b), qc(b);
    for (std::int64_t i = 0; i < b; ++i) {
      qh[i] = act.q()[i * 2];
      qc[i] = act.q()[i * 2 + 1];
    }
    CHECK_CLOSE("q_halt_logits", qh, g.file.read_as<double>(p + "q_halt_logits", {b}), tol_act, tol_act);
    CHECK_CLOSE("q_continue_logits", qc, g.file.read_as<double>(p + "q_continue_logits", {b}), tol_act, tol_act);
    if (d.halt_max_steps > 1)
      CHECK_CLOSE("target_q_continue", act.target_q_continue(), g.file.read_as<double>(p + "target_q_continue", {b}),
                  tol_act, tol_act);
    std::vector<std::int32_t> halted(carry.halted.begin(), carry.halted.end());
    CHECK(halted == g.file.read_as<std::int32_t>(p + "halted", {b}));
    CHECK(carry.steps == g.file.read_as<std::int32_t>(p + "steps", {b}));
    CHECK_CLOSE("lm_loss", scalar(s.lm_loss), g.file.read_as<double>(p + "lm_loss", {1}), tol_act, tol_act);
    CHECK_CLOSE("q_halt_loss", scalar(s.q_halt_loss), g.file.read_as<double>(p + "q_halt_loss", {1}), tol_act, tol_act);
    CHECK_CLOSE("q_continue_loss", scalar(s.q_continue_loss), g.file.read_as<double>(p + "q_continue_loss", {1}), tol_act,
                tol_act);
    CHECK_CLOSE("loss", scalar(s.total / static_cast<double>(b)), g.file.read_as<double>(p + "loss", {1}), tol_act, tol_act);
    for (const char* key : {"count", "accuracy", "exact_accuracy", "q_halt_accuracy", "steps"}) {
      const double mine = std::string(key) == "count" ? s.count
                          : std::string(key) == "accuracy" ? s.accuracy
                          : std::string(key) == "exact_accuracy" ? s.exact_accuracy
                          : std::string(key) == "q_halt_accuracy" ? s.q_halt_accuracy : s.steps;
      CHECK_CLOSE(std::string("metrics.") + key, scalar(mine), g.file.read_as<double>(p + "metrics." + key, {1}), 1e-9, 1e-9);
    }
    for (const auto& t : w.layout.tensors) {
      const std::vector<T> mine(grads.begin() + t.offset, grads.begin() + t.offset + t.size);
      CHECK_CLOSE("grad " + t.name, mine, g.file.read_as<double>(p + "grad." + t.name, t.shape), tol_grad_abs, tol_grad_rel);
    }
    CHECK_CLOSE("grad puzzle_emb_local", dpuzzle,
                g.file.read_as<double>(p + "grad.puzzle_emb_local", {b, d.puzzle_ndim}), tol_grad_abs, tol_grad_rel);

    const auto& c = g.cfg;
    const double lr = hrm_lr(c.at("lr"), k, c.at("lr_warmup_steps"), g.steps, c.at("lr_min_ratio"));
    const double plr = hrm_lr(c.at("puzzle_emb_lr"), k, c.at("lr_warmup_steps"), g.steps, c.at("lr_min_ratio"));
    CHECK(lr == doctest::Approx(g.file.read_as<double>(p + "lr", {1})[0]).epsilon(1e-12));
    CHECK(plr == doctest::Approx(g.file.read_as<double>(p + "puzzle_emb_lr", {1})[0]).epsilon(1e-12));
    adam_atan2_step(w.params.data(), grads.data(), m.data(), v.data(), w.layout.total, k, lr, c.at("beta1"), c.at("beta2"),
                    c.at("weight_decay"));
    sign_sgd_step(w.puzzle_emb.data(), d.num_identifiers, d.puzzle_ndim, carry.data.puzzle_ids.data(), dpuzzle.data(), b,
                  plr, c.at("puzzle_emb_weight_decay"));
    if (check_params && (k == 1 || k == g.steps)) {
      // Parameters move by ~lr per step; after the update they must agree to the float32 storage of
      // the fixture (6e-8 relative) plus float64 rounding.
      for (const auto& t : w.layout.tensors) {
        const std::vector<T> mine(w.params.begin() + t.offset, w.params.begin() + t.offset + t.size);
        CHECK_CLOSE("param " + t.name, mine, g.file.read_as<double>(p + "param." + t.name, t.shape), 1e-9, 2e-7);
      }
      CHECK_CLOSE("param puzzle_emb", w.puzzle_emb,
                  g.file.read_as<double>(p + "param." + kPuzzleEmbName, {d.num_identifiers, d.puzzle_ndim}), 1e-9, 2e-7);
    }
  }
}

}  // namespace

TEST_CASE("golden rope_stablemax: every step of the float64 model equals the PyTorch reference") {
  run_golden<double>("rope_stablemax", 6, true);
}

TEST_CASE("golden learned_softmax: every step of the float64 model equals the PyTorch reference") {
  run_golden<double>("learned_softmax", 4, true);
}

TEST_CASE("golden rope_stablemax: the float32 model's first step equals the reference within float32 rounding") {
  run_golden<float>("rope_stablemax", 1, false);
}

TEST_CASE("golden learned_softmax: the float32 model's first step equals the reference within float32 rounding") {
  run_golden<float>("learned_softmax", 1, false);
}
