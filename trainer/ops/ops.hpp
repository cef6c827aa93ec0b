// ops.hpp: the op contract every backend implements (ARCHITECTURE.md sections 5 and 6).
//
// A backend is a struct of static function templates with exactly these names, arguments and
// argument order (trainer/cpu/cpu_ops.hpp: CpuOps; trainer/cuda: CudaOps). The model
// (trainer/model) is written once against this contract. Conventions:
//  - Tensors are raw pointers to contiguous row-major storage of the backend's memory; shapes are
//    given in the comments as (rows, cols) or (batch, tokens, features). `n` = rows = batch*tokens.
//  - Outputs are ASSIGNED (`=`) unless the comment says ACCUMULATES (`+=`): weight gradients always
//    accumulate (a weight is used by several calls of a block per step), activation gradients are
//    assigned.
//  - Integer tensors (token ids, labels) are int32; the ignore label is kIgnoreLabel (-100).
//  - T is float (training) or double (gradient checks and golden parity).
//  - Linear weights are stored as PyTorch stores them: (out_features, in_features).
#pragma once

#include <cstdint>

namespace hrm::ops {

inline constexpr std::int32_t kIgnoreLabel = -100;

enum class LossType { stablemax, softmax };

// Per-sequence results of the token loss (HRM-SPEC 2.2-2.3), filled by token_loss_forward.
struct SeqLoss {
  double loss = 0;              // sum over tokens of CE / max(n, 1): the per-sequence mean
  std::int32_t correct = 0;     // tokens with label != ignore and argmax(logits) == label
  std::int32_t count = 0;       // n: tokens with label != ignore
};

/* The contract (each line: what it computes; shapes); HRM_OPS_CONTRACT_DECLARATIONS below declares it:

 linear_forward(y, x, w, n, in, out)              y(n,out) = x(n,in) . w(out,in)^T
 linear_backward(dx, dw, dy, x, w, n, in, out, accumulate_dx)
                                                  dw(out,in) += dy^T . x        (ACCUMULATES)
                                                  dx(n,in) = dy . w  (+= if accumulate_dx; skipped if dx null)
 rms_norm_forward(y, rstd, x, n, d, eps)          y = x * rstd, rstd(n) = 1/sqrt(mean(x^2) + eps)
                                                  (rstd may be null: nothing saved)
 rms_norm_backward(dx, dy, y, rstd, n, d)         dx = rstd * (dy - y * mean(dy * y)); dx may alias dy
 rope_tables(cos, sin, tokens, head_dim, theta)   (tokens, head_dim) each, rotate-half layout (spec 1.6)
 rope_forward(qkv, cos, sin, batch, tokens, heads, head_dim)
                                                  in place on the Q and K heads of qkv(batch*tokens, 3*heads*head_dim)
 rope_backward(dqkv, cos, sin, batch, tokens, heads, head_dim)
                                                  in place: the transposed rotation on dQ and dK (dV untouched)
 attention_forward(out, probs, qkv, batch, tokens, heads, head_dim)
                                                  non-causal softmax(QK^T/sqrt(hd)) V; out(batch*tokens, heads*head_dim);
                                                  probs(batch, heads, tokens, tokens) saved (may be null: not saved)
 attention_backward(dqkv, dout, qkv, probs, batch, tokens, heads, head_dim)
                                                  dqkv(batch*tokens, 3*heads*head_dim) = all of dQ, dK, dV
 swiglu_forward(h, gu, n, inter)                  h(n,inter) = silu(gu[:, :inter]) * gu[:, inter:]; gu(n, 2*inter)
 swiglu_backward(dgu, dh, gu, n, inter)           dgu(n, 2*inter)
 add(y, a, b, count)                              y = a + b (y may alias a or b)
 embedding_forward(x, inputs, tok, puzzle, pos, batch, seq, prefix, d)
                                                  x(batch, prefix+seq, d): rows 0..prefix-1 = puzzle(batch, prefix*d)
                                                  (null: zeros), then tok[inputs]; if pos(prefix+seq, d):
                                                  x = 0.707106781 * (x + pos); finally x *= sqrt(d)   (spec 1.4)
 embedding_backward(dtok, dpuzzle, dpos, dx, inputs, batch, seq, prefix, d)
                                                  dtok(vocab,d) += ..., dpos += ... (ACCUMULATE; null: skipped),
                                                  dpuzzle(batch, prefix*d) = ... (null: skipped)
 token_loss_forward(seq, argmax, logits, labels, batch, seq_len, vocab, type)
                                                  seq[batch] (SeqLoss), argmax(batch, seq_len) int32 (first max wins);
                                                  stablemax in float64 whatever T is
 token_loss_backward(dlogits, logits, labels, seq_scale, batch, seq_len, vocab, type)
                                                  dlogits(batch, seq_len, vocab) = seq_scale[b] * d(SeqLoss.loss)/dlogits
*/

}  // namespace hrm::ops

// The contract's declarations, the body of every backend's struct (`struct CpuOps {
// HRM_OPS_CONTRACT_DECLARATIONS };`), so names, argument types and their order cannot drift apart.
#define HRM_OPS_CONTRACT_DECLARATIONS                                                                                 \
  using i64 = std::int64_t;                                                                                           \
  using i32 = std::int32_t;                                                                                           \
                                                                                                                      \
  template <class T> static void linear_forward(T* y, const T* x, const T* w, i64 n, i64 in, i64 out);                \
  template <class T>                                                                                                  \
  static void linear_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, i64 n, i64 in, i64 out,              \
                              bool accumulate_dx);                                                                    \
                                                                                                                      \
  template <class T> static void rms_norm_forward(T* y, T* rstd, const T* x, i64 n, i64 d, double eps);               \
  template <class T> static void rms_norm_backward(T* dx, const T* dy, const T* y, const T* rstd, i64 n, i64 d);      \
                                                                                                                      \
  template <class T> static void rope_tables(T* cos, T* sin, i64 tokens, i64 head_dim, double theta);                 \
  template <class T>                                                                                                  \
  static void rope_forward(T* qkv, const T* cos, const T* sin, i64 batch, i64 tokens, i64 heads, i64 head_dim);       \
  template <class T>                                                                                                  \
  static void rope_backward(T* dqkv, const T* cos, const T* sin, i64 batch, i64 tokens, i64 heads, i64 head_dim);     \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void attention_forward(T* out, T* probs, const T* qkv, i64 batch, i64 tokens, i64 heads, i64 head_dim);      \
  template <class T>                                                                                                  \
  static void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* probs, i64 batch, i64 tokens,         \
                                 i64 heads, i64 head_dim);                                                            \
                                                                                                                      \
  template <class T> static void swiglu_forward(T* h, const T* gu, i64 n, i64 inter);                                 \
  template <class T> static void swiglu_backward(T* dgu, const T* dh, const T* gu, i64 n, i64 inter);                 \
                                                                                                                      \
  template <class T> static void add(T* y, const T* a, const T* b, i64 count);                                        \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void embedding_forward(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos, i64 batch,      \
                                i64 seq, i64 prefix, i64 d);                                                          \
  template <class T>                                                                                                  \
  static void embedding_backward(T* dtok, T* dpuzzle, T* dpos, const T* dx, const i32* inputs, i64 batch, i64 seq,    \
                                 i64 prefix, i64 d);                                                                  \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void token_loss_forward(ops::SeqLoss* seq, i32* argmax, const T* logits, const i32* labels, i64 batch,       \
                                 i64 seq_len, i64 vocab, ops::LossType type);                                         \
  template <class T>                                                                                                  \
  static void token_loss_backward(T* dlogits, const T* logits, const i32* labels, const double* seq_scale, i64 batch, \
                                  i64 seq_len, i64 vocab, ops::LossType type);
