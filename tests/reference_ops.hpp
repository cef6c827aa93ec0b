// reference_ops.hpp: plain-loop float64 implementations of the op contract (trainer/ops/ops.hpp),
// for tests only. Each op is written straight from its definition (HRM-SPEC 1.4-1.6, 2.1-2.3), one
// scalar at a time, with no Eigen and no shortcuts, so it can be checked by eye; the Eigen backend
// (trainer/cpu) is tested against these, never against itself. Results are returned by value;
// shapes are the contract's. Backwards are derived independently of the Eigen code where a second
// derivation exists (e.g. the RMSNorm backward here works from x, the Eigen one from y and rstd).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "trainer/ops/ops.hpp"

namespace hrm_ref {

using Vec = std::vector<double>;
using i64 = std::int64_t;
using i32 = std::int32_t;

// ---- linear: y(n,out) = x(n,in) w(out,in)^T --------------------------------------------------

inline Vec linear_forward(const Vec& x, const Vec& w, i64 n, i64 in, i64 out) {
  Vec y(n * out, 0.0);
  for (i64 i = 0; i < n; ++i)
    for (i64 o = 0; o < out; ++o) {
      double s = 0;
      for (i64 k = 0; k < in; ++k) s += x[i * in + k] * w[o * in + k];
      y[i * out + o] = s;
    }
  return y;
}

struct LinearGrads {
  Vec dx, dw;
};

// dx = dy w, dw = dy^T x (both from zero).
inline LinearGrads linear_backward(const Vec& dy, const Vec& x, const Vec& w, i64 n, i64 in, i64 out) {
  LinearGrads g{Vec(n * in, 0.0), Vec(out * in, 0.0)};
  for (i64 i = 0; i < n; ++i)
    for (i64 o = 0; o < out; ++o)
      for (i64 k = 0; k < in; ++k) {
        g.dx[i * in + k] += dy[i * out + o] * w[o * in + k];
        g.dw[o * in + k] += dy[i * out + o] * x[i * in + k];
      }
  return g;
}

// ---- RMSNorm -------------------------------------------------------------------------------------

struct RmsOut {
  Vec y, rstd;
};

inline RmsOut rms_norm_forward(const Vec& x, i64 n, i64 d, double eps) {
  RmsOut r{Vec(n * d), Vec(n)};
  for (i64 i = 0; i < n; ++i) {
    double ss = 0;
    for (i64 j = 0; j < d; ++j) ss += x[i * d + j] * x[i * d + j];
    r.rstd[i] = 1.0 / std::sqrt(ss / static_cast<double>(d) + eps);
    for (i64 j = 0; j < d; ++j) r.y[i * d + j] = x[i * d + j] * r.rstd[i];
  }
  return r;
}

// y_j = x_j r, r = (sum x^2 / d + eps)^(-1/2), dr/dx_j = -r^3 x_j / d
// => dx_j = r dy_j - (r^3 / d) x_j sum_k dy_k x_k.
inline Vec rms_norm_backward(const Vec& dy, const Vec& x, i64 n, i64 d, double eps) {
  Vec dx(n * d);
  for (i64 i = 0; i < n; ++i) {
    double ss = 0, dot = 0;
    for (i64 j = 0; j < d; ++j) {
      ss += x[i * d + j] * x[i * d + j];
      dot += dy[i * d + j] * x[i * d + j];
    }
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(d) + eps);
    for (i64 j = 0; j < d; ++j)
      dx[i * d + j] = r * dy[i * d + j] - r * r * r / static_cast<double>(d) * x[i * d + j] * dot;
  }
  return dx;
}

// ---- RoPE (rotate-half layout) -------------------------------------------------------------------

struct RopeTables {
  Vec cos, sin;  // (tokens, hd)
};

// Column j of a table uses frequency i = j mod hd/2: angle = p / theta^(2i/hd).
inline RopeTables rope_tables(i64 tokens, i64 hd, double theta) {
  RopeTables t{Vec(tokens * hd), Vec(tokens * hd)};
  for (i64 p = 0; p < tokens; ++p)
    for (i64 j = 0; j < hd; ++j) {
      const i64 i = j % (hd / 2);
      const double angle = static_cast<double>(p) / std::pow(theta, 2.0 * static_cast<double>(i) / static_cast<double>(hd));
      t.cos[p * hd + j] = std::cos(angle);
      t.sin[p * hd + j] = std::sin(angle);
    }
  return t;
}

// Each Q and K head: the pair (x_j, x_{j+hd/2}) is rotated by the angle of its position:
// x'_j = x_j cos - x_{j+h} sin, x'_{j+h} = x_{j+h} cos + x_j sin. V heads are copied.
inline Vec rope_forward(const Vec& qkv, const RopeTables& t, i64 batch, i64 tokens, i64 heads, i64 hd) {
  Vec y = qkv;
  const i64 half = hd / 2, row = 3 * heads * hd;
  for (i64 b = 0; b < batch; ++b)
    for (i64 p = 0; p < tokens; ++p)
      for (i64 h = 0; h < 2 * heads; ++h)
        for (i64 j = 0; j < half; ++j) {
          const i64 at = (b * tokens + p) * row + h * hd;
          const double x1 = qkv[at + j], x2 = qkv[at + half + j];
          y[at + j] = x1 * t.cos[p * hd + j] - x2 * t.sin[p * hd + j];
          y[at + half + j] = x2 * t.cos[p * hd + half + j] + x1 * t.sin[p * hd + half + j];
        }
  return y;
}

// The transpose of the rotation above (a rotation by minus the angle when cos/sin are the
// duplicated tables): dx_j = dy_j cos + dy_{j+h} sin, dx_{j+h} = dy_{j+h} cos - dy_j sin.
inline Vec rope_backward(const Vec& dqkv, const RopeTables& t, i64 batch, i64 tokens, i64 heads, i64 hd) {
  Vec dx = dqkv;
  const i64 half = hd / 2, row = 3 * heads * hd;
  for (i64 b = 0; b < batch; ++b)
    for (i64 p = 0; p < tokens; ++p)
      for (i64 h = 0; h < 2 * heads; ++h)
        for (i64 j = 0; j < half; ++j) {
          const i64 at = (b * tokens + p) * row + h * hd;
          const double g1 = dqkv[at + j], g2 = dqkv[at + half + j];
          dx[at + j] = g1 * t.cos[p * hd + j] + g2 * t.sin[p * hd + half + j];
          dx[at + half + j] = g2 * t.cos[p * hd + half + j] - g1 * t.sin[p * hd + j];
        }
  return dx;
}

// ---- attention -------------------------------------------------------------------------------------

// Element (b, token, which, head, k) of qkv, which = 0 (Q), 1 (K), 2 (V).
inline i64 qkv_at(i64 b, i64 t, i64 which, i64 h, i64 k, i64 tokens, i64 heads, i64 hd) {
  return (b * tokens + t) * 3 * heads * hd + (which * heads + h) * hd + k;
}

struct AttnOut {
  Vec out, probs;  // (batch*tokens, heads*hd), (batch, heads, tokens, tokens)
};

inline AttnOut attention_forward(const Vec& qkv, i64 batch, i64 tokens, i64 heads, i64 hd) {
  AttnOut r{Vec(batch * tokens * heads * hd, 0.0), Vec(batch * heads * tokens * tokens)};
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (i64 b = 0; b < batch; ++b)
    for (i64 h = 0; h < heads; ++h)
      for (i64 i = 0; i < tokens; ++i) {
        Vec s(tokens);
        for (i64 j = 0; j < tokens; ++j) {
          double dot = 0;
          for (i64 k = 0; k < hd; ++k)
            dot += qkv[qkv_at(b, i, 0, h, k, tokens, heads, hd)] * qkv[qkv_at(b, j, 1, h, k, tokens, heads, hd)];
          s[j] = dot * scale;
        }
        const double m = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (i64 j = 0; j < tokens; ++j) sum += std::exp(s[j] - m);
        for (i64 j = 0; j < tokens; ++j) {
          const double p = std::exp(s[j] - m) / sum;
          r.probs[((b * heads + h) * tokens + i) * tokens + j] = p;
          for (i64 k = 0; k < hd; ++k)
            r.out[(b * tokens + i) * heads * hd + h * hd + k] += p * qkv[qkv_at(b, j, 2, h, k, tokens, heads, hd)];
        }
      }
  return r;
}

// out_i = sum_j p_ij v_j, p_i = softmax_j(s_ij), s_ij = q_i . k_j * scale:
// dv_j = sum_i p_ij dout_i; dp_ij = dout_i . v_j; ds_ij = p_ij (dp_ij - sum_l p_il dp_il);
// dq_i = scale sum_j ds_ij k_j; dk_j = scale sum_i ds_ij q_i.
inline Vec attention_backward(const Vec& dout, const Vec& qkv, i64 batch, i64 tokens, i64 heads, i64 hd) {
  const AttnOut fwd = attention_forward(qkv, batch, tokens, heads, hd);
  Vec d(qkv.size(), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (i64 b = 0; b < batch; ++b)
    for (i64 h = 0; h < heads; ++h)
      for (i64 i = 0; i < tokens; ++i) {
        const double* p = &fwd.probs[((b * heads + h) * tokens + i) * tokens];
        const double* go = &dout[(b * tokens + i) * heads * hd + h * hd];
        Vec dp(tokens);
        double pdp = 0;
        for (i64 j = 0; j < tokens; ++j) {
          dp[j] = 0;
          for (i64 k = 0; k < hd; ++k) dp[j] += go[k] * qkv[qkv_at(b, j, 2, h, k, tokens, heads, hd)];
          pdp += p[j] * dp[j];
        }
        for (i64 j = 0; j < tokens; ++j) {
          const double ds = p[j] * (dp[j] - pdp);
          for (i64 k = 0; k < hd; ++k) {
            d[qkv_at(b, j, 2, h, k, tokens, heads, hd)] += p[j] * go[k];
            d[qkv_at(b, i, 0, h, k, tokens, heads, hd)] += scale * ds * qkv[qkv_at(b, j, 1, h, k, tokens, heads, hd)];
            d[qkv_at(b, j, 1, h, k, tokens, heads, hd)] += scale * ds * qkv[qkv_at(b, i, 0, h, k, tokens, heads, hd)];
          }
        }
      }
  return d;
}

// ---- SwiGLU ----------------------------------------------------------------------------------------

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline Vec swiglu_forward(const Vec& gu, i64 n, i64 inter) {
  Vec h(n * inter);
  for (i64 i = 0; i < n; ++i)
    for (i64 j = 0; j < inter; ++j) {
      const double g = gu[i * 2 * inter + j], u = gu[i * 2 * inter + inter + j];
      h[i * inter + j] = g * sigmoid(g) * u;
    }
  return h;
}

// h = g sigmoid(g) u: dh/dg = u (sigmoid(g) + g sigmoid(g) (1 - sigmoid(g))), dh/du = g sigmoid(g).
inline Vec swiglu_backward(const Vec& dh, const Vec& gu, i64 n, i64 inter) {
  Vec dgu(n * 2 * inter);
  for (i64 i = 0; i < n; ++i)
    for (i64 j = 0; j < inter; ++j) {
      const double g = gu[i * 2 * inter + j], u = gu[i * 2 * inter + inter + j], s = sigmoid(g);
      dgu[i * 2 * inter + j] = dh[i * inter + j] * u * (s + g * s * (1 - s));
      dgu[i * 2 * inter + inter + j] = dh[i * inter + j] * g * s;
    }
  return dgu;
}

inline Vec add(const Vec& a, const Vec& b) {
  Vec y(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

// ---- embedding ---------------------------------------------------------------------------------------

constexpr double kPosScale = 0.707106781;  // HRM's literal

// x(batch, prefix+seq, d): prefix rows from puzzle (empty: zeros), then tok[inputs]; with pos
// (non-empty) x = 0.707106781 (x + pos); then x *= sqrt(d).
inline Vec embedding_forward(const std::vector<i32>& inputs, const Vec& tok, const Vec& puzzle, const Vec& pos,
                             i64 batch, i64 seq, i64 prefix, i64 d) {
  const i64 tokens = prefix + seq;
  Vec x(batch * tokens * d);
  for (i64 b = 0; b < batch; ++b)
    for (i64 t = 0; t < tokens; ++t)
      for (i64 k = 0; k < d; ++k) {
        double e = 0;
        if (t < prefix)
          e = puzzle.empty() ? 0.0 : puzzle[(b * prefix + t) * d + k];
        else
          e = tok[inputs[b * seq + t - prefix] * d + k];
        if (!pos.empty()) e = kPosScale * (e + pos[t * d + k]);
        x[(b * tokens + t) * d + k] = std::sqrt(static_cast<double>(d)) * e;
      }
  return x;
}

struct EmbeddingGrads {
  Vec dtok, dpuzzle, dpos;  // (vocab, d), (batch, prefix*d), (prefix+seq, d) or empty without positions
};

inline EmbeddingGrads embedding_backward(const Vec& dx, const std::vector<i32>& inputs, i64 vocab, bool learned_pos,
                                         i64 batch, i64 seq, i64 prefix, i64 d) {
  const i64 tokens = prefix + seq;
  EmbeddingGrads g{Vec(vocab * d, 0.0), Vec(batch * prefix * d, 0.0), learned_pos ? Vec(tokens * d, 0.0) : Vec()};
  const double f = std::sqrt(static_cast<double>(d)) * (learned_pos ? kPosScale : 1.0);
  for (i64 b = 0; b < batch; ++b)
    for (i64 t = 0; t < tokens; ++t)
      for (i64 k = 0; k < d; ++k) {
        const double gx = f * dx[(b * tokens + t) * d + k];
        if (learned_pos) g.dpos[t * d + k] += gx;
        if (t < prefix)
          g.dpuzzle[(b * prefix + t) * d + k] = gx;
        else
          g.dtok[inputs[b * seq + t - prefix] * d + k] += gx;
      }
  return g;
}

// ---- token loss ------------------------------------------------------------------------------------

inline double stablemax_s(double x) { return x < 0 ? 1.0 / (1.0 - x + 1e-30) : x + 1.0; }
inline double stablemax_ds(double x) { return x < 0 ? 1.0 / ((1.0 - x + 1e-30) * (1.0 - x + 1e-30)) : 1.0; }

// -log p_label of one row, in float64.
inline double token_ce(const double* row, i64 vocab, i32 label, hrm::ops::LossType type) {
  if (type == hrm::ops::LossType::stablemax) {
    double sum = 0;
    for (i64 j = 0; j < vocab; ++j) sum += stablemax_s(row[j]);
    return -std::log(stablemax_s(row[label]) / sum);
  }
  const double m = *std::max_element(row, row + vocab);
  double sum = 0;
  for (i64 j = 0; j < vocab; ++j) sum += std::exp(row[j] - m);
  return std::log(sum) + m - row[label];
}

struct LossOut {
  std::vector<hrm::ops::SeqLoss> seq;
  std::vector<i32> argmax;
};

inline LossOut token_loss_forward(const Vec& logits, const std::vector<i32>& labels, i64 batch, i64 seq_len,
                                  i64 vocab, hrm::ops::LossType type) {
  LossOut r{std::vector<hrm::ops::SeqLoss>(batch), std::vector<i32>(batch * seq_len)};
  for (i64 b = 0; b < batch; ++b) {
    i32 n = 0;
    for (i64 s = 0; s < seq_len; ++s) n += labels[b * seq_len + s] != hrm::ops::kIgnoreLabel;
    const double divisor = std::max(n, 1);
    r.seq[b].count = n;
    for (i64 s = 0; s < seq_len; ++s) {
      const double* row = &logits[(b * seq_len + s) * vocab];
      i32 best = 0;
      for (i64 j = 0; j < vocab; ++j)
        if (row[j] > row[best]) best = static_cast<i32>(j);
      r.argmax[b * seq_len + s] = best;
      const i32 l = labels[b * seq_len + s];
      if (l == hrm::ops::kIgnoreLabel) continue;
      r.seq[b].correct += best == l;
      r.seq[b].loss += token_ce(row, vocab, l, type) / divisor;
    }
  }
  return r;
}

// d/dx_j of -log p_label: stablemax s'(x_j)/sum s - [j = label] s'(x_label)/s(x_label);
// softmax p_j - [j = label]. Scaled by seq_scale[b] / max(n, 1); ignored tokens 0.
inline Vec token_loss_backward(const Vec& logits, const std::vector<i32>& labels, const Vec& seq_scale, i64 batch,
                               i64 seq_len, i64 vocab, hrm::ops::LossType type) {
  Vec d(logits.size(), 0.0);
  for (i64 b = 0; b < batch; ++b) {
    i32 n = 0;
    for (i64 s = 0; s < seq_len; ++s) n += labels[b * seq_len + s] != hrm::ops::kIgnoreLabel;
    const double f = seq_scale[b] / std::max(n, 1);
    for (i64 s = 0; s < seq_len; ++s) {
      const i32 l = labels[b * seq_len + s];
      if (l == hrm::ops::kIgnoreLabel) continue;
      const double* row = &logits[(b * seq_len + s) * vocab];
      double* drow = &d[(b * seq_len + s) * vocab];
      if (type == hrm::ops::LossType::stablemax) {
        double sum = 0;
        for (i64 j = 0; j < vocab; ++j) sum += stablemax_s(row[j]);
        for (i64 j = 0; j < vocab; ++j)
          drow[j] = f * (stablemax_ds(row[j]) / sum - (j == l ? stablemax_ds(row[l]) / stablemax_s(row[l]) : 0.0));
      } else {
        const double m = *std::max_element(row, row + vocab);
        double sum = 0;
        for (i64 j = 0; j < vocab; ++j) sum += std::exp(row[j] - m);
        for (i64 j = 0; j < vocab; ++j) drow[j] = f * (std::exp(row[j] - m) / sum - (j == l ? 1.0 : 0.0));
      }
    }
  }
  return d;
}

}  // namespace hrm_ref
