// params.cpp: HRM's shapes, the slab layout in HRM's parameter order, and HRM's initialisation.
#include "trainer/model/params.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "analyzer/memory.hpp"
#include "common/error.hpp"

namespace hrm {

HrmDims HrmDims::from(const ArchConfig& arch, std::int64_t puzzle_emb_ndim, std::int64_t vocab, std::int64_t seq_len,
                      std::int64_t num_identifiers) {
  // The analyzer also reads TRM configs (arch.family = "trm", mlp_t, puzzle_emb_len); this model is HRM's.
  if (arch.family != "hrm" || arch.mlp_t || arch.puzzle_emb_len != 0)
    throw InputError("arch.family", "the trainer implements HRM ACT V1 only (family \"hrm\", mlp_t false, puzzle_emb_len 0)",
                     "TRM configs are for `hrm analyze`; train them with TinyRecursiveModels' pretrain.py");
  const ModelShape m = model_shape(arch, puzzle_emb_ndim, seq_len, vocab);
  HrmDims d;
  d.hidden = m.hidden;
  d.heads = m.heads;
  d.head_dim = m.hidden / m.heads;
  d.inter = m.intermediate;
  d.vocab = vocab;
  d.seq_len = seq_len;
  d.prefix = m.puzzle_emb_len;
  d.tokens = m.tokens;
  d.puzzle_ndim = puzzle_emb_ndim;
  d.num_identifiers = num_identifiers;
  d.H_layers = arch.H_layers;
  d.L_layers = arch.L_layers;
  d.H_cycles = arch.H_cycles;
  d.L_cycles = arch.L_cycles;
  d.halt_max_steps = arch.halt_max_steps;
  d.halt_exploration_prob = arch.halt_exploration_prob;
  d.learned_pos = arch.pos_encodings == "learned";
  d.rope_theta = arch.rope_theta;
  d.rms_norm_eps = arch.rms_norm_eps;
  d.loss = arch.loss_type == "softmax_cross_entropy" ? ops::LossType::softmax : ops::LossType::stablemax;
  HRM_CHECK(d.head_dim * d.heads == d.hidden, "hidden_size {} not divisible by num_heads {}", d.hidden, d.heads);
  return d;
}

ParamLayout ParamLayout::of(const HrmDims& d) {
  ParamLayout l;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape) {
    std::int64_t size = 1;
    for (auto s : shape) size *= s;
    l.tensors.push_back({name, std::move(shape), l.total, size});
    l.total += size;
    return l.tensors.back().offset;
  };
  const std::int64_t D = d.hidden, I = d.inter;
  // model.parameters() order: embed_tokens, [embed_pos], H_level, L_level, lm_head, q_head.
  l.embed_tokens = add("model.inner.embed_tokens.embedding_weight", {d.vocab, D});
  if (d.learned_pos) l.embed_pos = add("model.inner.embed_pos.embedding_weight", {d.tokens, D});
  auto blocks = [&](const char* level, std::int64_t n, std::vector<BlockSlots>& out) {
    for (std::int64_t i = 0; i < n; ++i) {
      const std::string p = fmt::format("model.inner.{}_level.layers.{}.", level, i);
      BlockSlots b;
      b.qkv = add(p + "self_attn.qkv_proj.weight", {3 * D, D});
      b.o = add(p + "self_attn.o_proj.weight", {D, D});
      b.gate_up = add(p + "mlp.gate_up_proj.weight", {2 * I, D});
      b.down = add(p + "mlp.down_proj.weight", {D, I});
      out.push_back(b);
    }
  };
  blocks("H", d.H_layers, l.H);
  blocks("L", d.L_layers, l.L);
  l.lm_head = add("model.inner.lm_head.weight", {d.vocab, D});
  l.q_head_w = add("model.inner.q_head.weight", {2, D});
  l.q_head_b = add("model.inner.q_head.bias", {2});
  return l;
}

double truncated_normal_comp_std(double std) {
  const double lo = -2.0, hi = 2.0;
  const double a = std::erf(lo / std::sqrt(2.0)), b = std::erf(hi / std::sqrt(2.0));
  const double z = (b - a) / 2.0;
  const double c = 1.0 / std::sqrt(2.0 * M_PI);
  const double pdf_u = c * std::exp(-0.5 * lo * lo), pdf_l = c * std::exp(-0.5 * hi * hi);
  const double var = 1.0 - (hi * pdf_u - lo * pdf_l) / z - ((pdf_u - pdf_l) / z) * ((pdf_u - pdf_l) / z);
  return std / std::sqrt(var);
}

float round_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) == 0x7f800000u) {  // inf / nan: truncate, keep nan quiet
    u &= 0xffff0000u;
    if (x != x) u |= 0x00400000u;
  } else {
    u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
  }
  float y;
  std::memcpy(&y, &u, 4);
  return y;
}

namespace {

// erfinv by Giles' single-precision approximation refined with two Newton steps on std::erf.
double erfinv(double y) {
  double w = -std::log((1.0 - y) * (1.0 + y)), x;
  if (w < 5.0) {
    w -= 2.5;
    x = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164,
                     0.246640727, 1.50140941})
      x = c + x * w;
  } else {
    w = std::sqrt(w) - 3.0;
    x = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047,
                     1.00167406, 2.83297682})
      x = c + x * w;
  }
  x *= y;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (2.0 / std::sqrt(M_PI) * std::exp(-x * x));
  return x;
}

// HRM's trunc_normal_init_: U ~ Uniform(erf(-2/sqrt2), erf(2/sqrt2)), x = erfinv(U) sqrt2 comp_std,
// clipped to +-2 comp_std. Our own 53-bit uniform from mt19937_64, so results are the same on
// every platform.
template <class T> void fill_truncated_normal(T* out, std::int64_t n, double std, std::mt19937_64& gen) {
  if (std == 0.0) {
    std::fill(out, out + n, T(0));
    return;
  }
  const double comp = truncated_normal_comp_std(std);
  const double a = std::erf(-2.0 / std::sqrt(2.0)), b = std::erf(2.0 / std::sqrt(2.0));
  for (std::int64_t i = 0; i < n; ++i) {
    const double u = a + (b - a) * (static_cast<double>(gen() >> 11) * 0x1.0p-53);
    const double x = std::clamp(erfinv(u) * std::sqrt(2.0) * comp, -2.0 * comp, 2.0 * comp);
    out[i] = static_cast<T>(x);
  }
}

}  // namespace

template <class T, class Memory>
HrmWeights<T, Memory> HrmWeights<T, Memory>::init(const HrmDims& d, std::uint64_t seed) {
  HrmWeights w;
  w.dims = d;
  w.layout = ParamLayout::of(d);
  w.params.assign(w.layout.total, T(0));
  std::mt19937_64 gen(seed);
  for (const auto& t : w.layout.tensors) {
    T* p = w.params.data() + t.offset;
    if (t.name == "model.inner.q_head.bias") {
      std::fill(p, p + t.size, T(-5));
    } else if (t.name == "model.inner.q_head.weight") {
      std::fill(p, p + t.size, T(0));
    } else {
      // Embeddings: std 1/sqrt(D); Linear weights (out, in): LeCun std 1/sqrt(in). Both are shape[1].
      fill_truncated_normal(p, t.size, 1.0 / std::sqrt(static_cast<double>(t.shape[1])), gen);
    }
  }
  for (auto* buf : {&w.H_init, &w.L_init}) {
    buf->resize(d.hidden);
    fill_truncated_normal(buf->data(), d.hidden, 1.0, gen);
    for (auto& x : *buf) x = static_cast<T>(round_to_bf16(static_cast<float>(x)));
  }
  w.puzzle_emb.assign(d.puzzle_ndim > 0 ? d.num_identifiers * d.puzzle_ndim : 0, T(0));
  return w;
}

template <class T, class Memory> template <class U> HrmWeights<U> HrmWeights<T, Memory>::cast() const {
  HrmWeights<U> o;
  o.dims = dims;
  o.layout = layout;
  o.params.assign(params.begin(), params.end());
  o.H_init.assign(H_init.begin(), H_init.end());
  o.L_init.assign(L_init.begin(), L_init.end());
  o.puzzle_emb.assign(puzzle_emb.begin(), puzzle_emb.end());
  return o;
}

template struct HrmWeights<float>;
template struct HrmWeights<double>;
template HrmWeights<double> HrmWeights<float>::cast<double>() const;
template HrmWeights<float> HrmWeights<double>::cast<float>() const;

}  // namespace hrm
