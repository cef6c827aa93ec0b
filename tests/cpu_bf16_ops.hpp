// cpu_bf16_ops.hpp: a CPU emulation of the CUDA backend's bf16 storage (trainer/cuda, T = cuda::bf16),
// for tests: CpuBf16Ops runs the op contract on float arrays that hold bf16 values, rounding (to
// nearest even) exactly where the CUDA kernels round and computing in fp32 in between, so that
// HrmAct<CpuBf16Ops, float> is the bf16 model the GPU runs, up to the order of fp32 sums, at head sizes
// other than 64 (at 64 the CUDA attention is the fused one: its forward rounds the unnormalised
// exponentials where this rounds P, its backward takes <P, dP> from the rounded output). What the CUDA
// backend keeps in fp32 (ops::acc_t: rstd, RoPE tables, probabilities, weight gradients, the puzzle
// table, the Q target) stays fp32 here. Rounding points (trainer/cuda/*.cu):
//   linear: y, dx;  rms_norm: the residual sum, y, dx;  rope: the rotated values;  add, add_rows,
//   bias_add, gather_rows: the result;  attention: P before P V and dV, dS before dQ and dK, out and
//   dqkv;  swiglu: silu(g), h; dh u, dg; silu(g) before du;  embedding: after each of its ops (and its
//   gradient terms before they are summed in fp32);  token loss: dlogits;  act_q_grad: dq.
// Scalar loops where the rounding sits inside an op (test sizes only); CpuOps elsewhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/model/params.hpp"

namespace hrm_test {

struct CpuBf16Ops {
  using Memory = hrm::ops::HostMemory;
  template <class T>
  using Buffer = Memory::Buffer<T>;
  using i64 = std::int64_t;
  using i32 = std::int32_t;
  using Ops = hrm::CpuOps;

  static float r(float v) { return hrm::round_to_bf16(v); }
  static void round_all(float* x, i64 count) {
    for (i64 i = 0; i < count; ++i) x[i] = r(x[i]);
  }

  static void linear_forward(float* y, const float* x, const float* w, i64 n, i64 in, i64 out) {
    Ops::linear_forward(y, x, w, n, in, out);
    round_all(y, n * out);
  }
  static void linear_backward(float* dx, float* dw, const float* dy, const float* x, const float* w, i64 n, i64 in,
                              i64 out, bool accumulate_dx) {
    Ops::linear_backward(dx, dw, dy, x, w, n, in, out, accumulate_dx);
    if (dx) round_all(dx, n * in);
  }
  static void rms_norm_forward(float* y, float* rstd, const float* x, const float* residual, i64 n, i64 d, double eps) {
    std::vector<float> s(x, x + n * d);
    if (residual)
      for (i64 i = 0; i < n * d; ++i) s[i] = r(x[i] + residual[i]);
    Ops::rms_norm_forward<float>(y, rstd, s.data(), nullptr, n, d, eps);
    round_all(y, n * d);
  }
  static void rms_norm_backward(float* dx, const float* dy, const float* y, const float* rstd, i64 n, i64 d) {
    Ops::rms_norm_backward(dx, dy, y, rstd, n, d);
    round_all(dx, n * d);
  }
  template <class T>
  static void rope_tables(T* cos, T* sin, i64 tokens, i64 head_dim, double theta) {
    Ops::rope_tables(cos, sin, tokens, head_dim, theta);
  }
  static void rope_forward(float* qkv, const float* cos, const float* sin, i64 batch, i64 tokens, i64 heads,
                           i64 head_dim) {
    Ops::rope_forward(qkv, cos, sin, batch, tokens, heads, head_dim);
    round_all(qkv, batch * tokens * 3 * heads * head_dim);
  }
  static void rope_backward(float* dqkv, const float* cos, const float* sin, i64 batch, i64 tokens, i64 heads,
                            i64 head_dim) {
    Ops::rope_backward(dqkv, cos, sin, batch, tokens, heads, head_dim);
    round_all(dqkv, batch * tokens * 3 * heads * head_dim);
  }

  // Q, K, V of head h of batch row b, token t: qkv[(b T + t) 3D + part D + h hd + c]. The unfused attention's
  // rounding (the probabilities kept); the fused one (head size 64) rounds the forward's unnormalised
  // exponentials instead, and takes <P, dP> from the rounded output.
  template <class T>
  static i64 attention_saved_count(i64 batch, i64 tokens, i64 heads, i64 head_dim) {
    return Ops::attention_saved_count<T>(batch, tokens, heads, head_dim);
  }
  static void attention_forward(float* out, float* probs, const float* qkv, i64 batch, i64 tokens, i64 heads,
                                i64 head_dim) {
    std::vector<float> p(static_cast<std::size_t>(batch * heads * tokens * tokens));
    Ops::attention_forward(out, p.data(), qkv, batch, tokens, heads, head_dim);
    if (probs) std::copy(p.begin(), p.end(), probs);
    const i64 D = heads * head_dim, T = tokens;
    for (i64 b = 0; b < batch; ++b)
      for (i64 h = 0; h < heads; ++h)
        for (i64 i = 0; i < T; ++i)
          for (i64 c = 0; c < head_dim; ++c) {
            float acc = 0;
            for (i64 j = 0; j < T; ++j)
              acc += r(p[((b * heads + h) * T + i) * T + j]) * qkv[(b * T + j) * 3 * D + 2 * D + h * head_dim + c];
            out[(b * T + i) * D + h * head_dim + c] = r(acc);
          }
  }
  static void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* /*out*/,
                                 const float* probs, i64 batch, i64 tokens, i64 heads, i64 head_dim) {
    const i64 D = heads * head_dim, T = tokens;
    std::vector<float> p(static_cast<std::size_t>(batch * heads * T * T)),
        dump(static_cast<std::size_t>(batch * T * D));
    if (probs)
      std::copy(probs, probs + p.size(), p.begin());
    else
      Ops::attention_forward(dump.data(), p.data(), qkv, batch, tokens, heads, head_dim);
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    const auto at = [&](i64 b, i64 t, i64 part, i64 h, i64 c) {
      return qkv[(b * T + t) * 3 * D + part * D + h * head_dim + c];
    };
    std::vector<float> ds(static_cast<std::size_t>(T * T));
    for (i64 b = 0; b < batch; ++b)
      for (i64 h = 0; h < heads; ++h) {
        const float* P = p.data() + (b * heads + h) * T * T;
        const auto dO = [&](i64 t, i64 c) { return dout[(b * T + t) * D + h * head_dim + c]; };
        for (i64 j = 0; j < T; ++j)  // dV = P^T dO, P rounded
          for (i64 c = 0; c < head_dim; ++c) {
            float acc = 0;
            for (i64 i = 0; i < T; ++i) acc += r(P[i * T + j]) * dO(i, c);
            dqkv[(b * T + j) * 3 * D + 2 * D + h * head_dim + c] = r(acc);
          }
        for (i64 i = 0; i < T; ++i) {  // dS = P (dP - <P, dP>), dP = dO V^T, fp32, then rounded
          std::vector<float> dp(static_cast<std::size_t>(T));
          float dot = 0;
          for (i64 j = 0; j < T; ++j) {
            float acc = 0;
            for (i64 c = 0; c < head_dim; ++c) acc += dO(i, c) * at(b, j, 2, h, c);
            dp[j] = acc;
            dot += P[i * T + j] * acc;
          }
          for (i64 j = 0; j < T; ++j) ds[i * T + j] = r(P[i * T + j] * (dp[j] - dot));
        }
        for (i64 t = 0; t < T; ++t)  // dQ = scale dS K, dK = scale dS^T Q
          for (i64 c = 0; c < head_dim; ++c) {
            float q = 0, k = 0;
            for (i64 u = 0; u < T; ++u) {
              q += ds[t * T + u] * at(b, u, 1, h, c);
              k += ds[u * T + t] * at(b, u, 0, h, c);
            }
            dqkv[(b * T + t) * 3 * D + h * head_dim + c] = r(scale * q);
            dqkv[(b * T + t) * 3 * D + D + h * head_dim + c] = r(scale * k);
          }
      }
  }

  static void swiglu_forward(float* h, const float* gu, i64 n, i64 inter) {
    for (i64 row = 0; row < n; ++row)
      for (i64 j = 0; j < inter; ++j) {
        const float g = gu[row * 2 * inter + j], u = gu[row * 2 * inter + inter + j];
        h[row * inter + j] = r(r(g / (1.0f + std::exp(-g))) * u);
      }
  }
  static void swiglu_backward(float* dgu, const float* dh, const float* gu, i64 n, i64 inter) {
    for (i64 row = 0; row < n; ++row)
      for (i64 j = 0; j < inter; ++j) {
        const float g = gu[row * 2 * inter + j], u = gu[row * 2 * inter + inter + j], d = dh[row * inter + j];
        const float sig = 1.0f / (1.0f + std::exp(-g));
        dgu[row * 2 * inter + j] = r(r(d * u) * sig * (1.0f + g * (1.0f - sig)));
        dgu[row * 2 * inter + inter + j] = r(d * r(g * sig));
      }
  }
  static void add(float* y, const float* a, const float* b, i64 count) {
    for (i64 i = 0; i < count; ++i) y[i] = r(a[i] + b[i]);
  }

  // f(b, t, k) for every element of a (batch, tokens, d) embedding; HRM's scales.
  template <class F>
  static void each_element(i64 batch, i64 tokens, i64 d, F f) {
    for (i64 b = 0; b < batch; ++b)
      for (i64 t = 0; t < tokens; ++t)
        for (i64 k = 0; k < d; ++k) f(b, t, k);
  }
  static float embed_scale(i64 d) { return static_cast<float>(std::sqrt(static_cast<double>(d))); }
  static constexpr float kPosScale = static_cast<float>(0.707106781);

  static void embedding_forward(float* x, const i32* inputs, const float* tok, const float* puzzle, const float* pos,
                                i64 batch, i64 seq, i64 prefix, i64 d) {
    const i64 tokens = prefix + seq;
    const float scale = embed_scale(d);
    each_element(batch, tokens, d, [&](i64 b, i64 t, i64 k) {
      float v = t < prefix ? (puzzle ? puzzle[(b * prefix + t) * d + k] : 0.0f)
                           : tok[static_cast<i64>(inputs[b * seq + t - prefix]) * d + k];
      if (pos) v = r(r(v + pos[t * d + k]) * kPosScale);
      x[(b * tokens + t) * d + k] = r(v * scale);
    });
  }
  static void embedding_backward(float* dtok, float* dpuzzle, float* dpos, const float* dx, const i32* inputs,
                                 i64 batch, i64 seq, i64 prefix, i64 d) {
    const i64 tokens = prefix + seq;
    const float scale = embed_scale(d);
    each_element(batch, tokens, d, [&](i64 b, i64 t, i64 k) {
      float g = r(dx[(b * tokens + t) * d + k] * scale);
      if (dpos) {
        g = r(g * kPosScale);
        dpos[t * d + k] += g;
      }
      if (t < prefix) {
        if (dpuzzle) dpuzzle[(b * prefix + t) * d + k] = g;
      } else if (dtok) {
        dtok[static_cast<i64>(inputs[b * seq + t - prefix]) * d + k] += g;
      }
    });
  }

  static void token_loss_forward(hrm::ops::SeqLoss* seq, i32* argmax, const float* logits, const i32* labels, i64 batch,
                                 i64 seq_len, i64 vocab, hrm::ops::LossType type) {
    Ops::token_loss_forward(seq, argmax, logits, labels, batch, seq_len, vocab, type);
  }
  static void token_loss_backward(float* dlogits, const float* logits, const i32* labels, const double* seq_scale,
                                  i64 batch, i64 seq_len, i64 vocab, hrm::ops::LossType type) {
    Ops::token_loss_backward(dlogits, logits, labels, seq_scale, batch, seq_len, vocab, type);
    round_all(dlogits, batch * seq_len * vocab);
  }

  template <class T>
  static void copy(T* dst, const T* src, i64 count) {
    Ops::copy(dst, src, count);
  }
  template <class T>
  static void fill(T* dst, T value, i64 count) {
    Ops::fill(dst, value, count);
  }
  template <class T>
  static void copy_rows(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 rows, i64 cols) {
    Ops::copy_rows(dst, ld_dst, src, ld_src, rows, cols);
  }
  static void add_rows(float* dst, i64 ld_dst, const float* src, i64 ld_src, i64 rows, i64 cols) {
    for (i64 i = 0; i < rows; ++i)
      for (i64 k = 0; k < cols; ++k) dst[i * ld_dst + k] = r(dst[i * ld_dst + k] + src[i * ld_src + k]);
  }
  static void gather_rows(float* dst, const float* table, const i32* ids, i64 rows, i64 cols) {
    Ops::gather_rows(dst, table, ids, rows, cols);
    round_all(dst, rows * cols);
  }
  template <class T>
  static void download(T* host, const T* src, i64 count) {
    Ops::download(host, src, count);
  }
  static void bias_add(float* y, const float* bias, i64 rows, i64 cols) {
    Ops::bias_add(y, bias, rows, cols);
    round_all(y, rows * cols);
  }
  static void bias_backward(float* dbias, const float* dy, i64 rows, i64 cols) {
    Ops::bias_backward(dbias, dy, rows, cols);
  }

  static void act_reset(float* zH, float* zL, i32* steps, i32* inputs, i32* labels, i32* puzzle_ids,
                        const float* H_init, const float* L_init, const std::uint8_t* halted, const i32* in_inputs,
                        const i32* in_labels, const i32* in_puzzle_ids, i64 batch, i64 tokens, i64 hidden,
                        i64 seq_len) {
    Ops::act_reset(zH, zL, steps, inputs, labels, puzzle_ids, H_init, L_init, halted, in_inputs, in_labels,
                   in_puzzle_ids, batch, tokens, hidden, seq_len);
  }
  static void act_halt(i32* steps, std::uint8_t* halted, const float* q, const i32* min_halt_steps, i64 batch,
                       i64 halt_max_steps, bool explore) {
    Ops::act_halt(steps, halted, q, min_halt_steps, batch, halt_max_steps, explore);
  }
  static void act_q_grad(float* target, float* dq, const float* q, const float* q_next, const hrm::ops::SeqLoss* seq,
                         const i32* steps, i64 batch, i64 halt_max_steps, bool q_continue, double loss_scale) {
    Ops::act_q_grad(target, dq, q, q_next, seq, steps, batch, halt_max_steps, q_continue, loss_scale);
    round_all(dq, batch * 2);
  }
  static void act_metrics(hrm::ops::ActStepStats* stats, const hrm::ops::SeqLoss* seq, const float* q,
                          const float* target, const std::uint8_t* halted, const i32* steps, i64 batch,
                          bool q_continue) {
    Ops::act_metrics(stats, seq, q, target, halted, steps, batch, q_continue);
  }
};

}  // namespace hrm_test
