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

/* The contract, as CpuOps declares it (each line: what it computes; shapes):

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
