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
//  - T is the working type: float (training) or double (gradient checks and golden parity) on the
//    CPU; float or __nv_bfloat16 on CUDA. ops::acc_t<T> is where a bf16 model keeps what HRM keeps in
//    fp32 (HRM-SPEC 1.9): the norms' rstd, the RoPE tables, what the attention keeps, the weight
//    gradients and the puzzle-embedding table. acc_t<T> is T for float and double, so the CPU
//    backend's arithmetic does not see the distinction.
//  - Linear weights are stored as PyTorch stores them: (out_features, in_features).
//  - A backend names where its arrays live: `using Memory = ...;`, whose `Buffer<T>` is an owning
//    array with resize(count) (zero-filled; contents not kept), data() and size(); `Buffer<T>` is
//    also the backend's own alias. The model declares its arrays as `typename Ops::template Buffer<T>`.
#pragma once

#include <cstdint>
#include <vector>

namespace hrm::ops {

inline constexpr std::int32_t kIgnoreLabel = -100;

// acc_t<T>: T itself, unless a backend with a 16-bit T specialises Acc (trainer/cuda/bf16.hpp:
// float for __nv_bfloat16) before it instantiates anything with that T.
template <class T> struct Acc {
  using type = T;
};
template <class T> using acc_t = typename Acc<T>::type;

enum class LossType { stablemax, softmax };

// Host memory: the CPU backend's arrays (and every model array outside a backend) are std::vector.
struct HostMemory {
  template <class T> using Buffer = std::vector<T>;
};

// Per-sequence results of the token loss (HRM-SPEC 2.2-2.3), filled by token_loss_forward.
struct SeqLoss {
  double loss = 0;              // sum over tokens of CE / max(n, 1): the per-sequence mean
  std::int32_t correct = 0;     // tokens with label != ignore and argmax(logits) == label
  std::int32_t count = 0;       // n: tokens with label != ignore
};

// Losses and raw metric sums of one ACT segment (HRM-SPEC 2.2-2.4), before any normalisation;
// filled by act_metrics.
struct ActStepStats {
  double lm_loss = 0, q_halt_loss = 0, q_continue_loss = 0;
  double total = 0;  // lm_loss + 0.5 (q_halt_loss + q_continue_loss), summed over the local batch
  double count = 0, accuracy = 0, exact_accuracy = 0, q_halt_accuracy = 0, steps = 0;
  bool has_q_continue = false;
};

/* The contract (each line: what it computes; shapes); HRM_OPS_CONTRACT_DECLARATIONS below declares it:

 linear_forward(y, x, w, n, in, out)              y(n,out) = x(n,in) . w(out,in)^T
 linear_backward(dx, dw, dy, x, w, n, in, out, accumulate_dx)
                                                  dw(out,in) += dy^T . x        (ACCUMULATES)
                                                  dx(n,in) = dy . w  (+= if accumulate_dx; skipped if dx null)
 rms_norm_forward(y, rstd, x, residual, n, d, eps)
                                                  post-norm with the residual add: s = x + residual (one
                                                  rounding per element, as add; residual null: s = x),
                                                  y = s * rstd, rstd(n) = 1/sqrt(mean(s^2) + eps);
                                                  s is not stored (rstd may be null: nothing saved)
 rms_norm_backward(dx, dy, y, rstd, n, d)         dx = rstd * (dy - y * mean(dy * y)); dx may alias dy
 rope_tables(cos, sin, tokens, head_dim, theta)   (tokens, head_dim) each, rotate-half layout (spec 1.6); called
                                                  with acc_t pointers (the tables the rope ops read)
 rope_forward(qkv, cos, sin, batch, tokens, heads, head_dim)
                                                  in place on the Q and K heads of qkv(batch*tokens, 3*heads*head_dim)
 rope_backward(dqkv, cos, sin, batch, tokens, heads, head_dim)
                                                  in place: the transposed rotation on dQ and dK (dV untouched)
 attention_saved_count<T>(batch, tokens, heads, head_dim)
                                                  how many acc_t values attention_forward keeps for the backward:
                                                  the probabilities (batch, heads, tokens, tokens), or one
                                                  log-sum-exp of the scaled scores per row (batch, heads, tokens)
                                                  where the backend's backward recomputes the probabilities
                                                  (CUDA's fused attention)
 attention_forward(out, saved, qkv, batch, tokens, heads, head_dim)
                                                  non-causal softmax(QK^T/sqrt(hd)) V; out(batch*tokens,
                                                  heads*head_dim); saved (attention_saved_count values) filled
                                                  for the backward (may be null: nothing kept)
 attention_backward(dqkv, dout, qkv, out, saved, batch, tokens, heads, head_dim)
                                                  dqkv(batch*tokens, 3*heads*head_dim) = all of dQ, dK, dV; out is
                                                  the forward's output and saved what it kept (null: recomputed)
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
                                                  dlogits(batch, seq_len, vocab) = seq_scale[b] *
 d(SeqLoss.loss)/dlogits

 Moving data (the model's gathers, scatters and padding; T may also be int32 or a record for copy):
 copy(dst, src, count)                            dst = src (count elements; no overlap)
 fill(dst, value, count)                          dst = value
 copy_rows(dst, ld_dst, src, ld_src, rows, cols)  dst[r*ld_dst + c] = src[r*ld_src + c], r < rows, c < cols
 add_rows(dst, ld_dst, src, ld_src, rows, cols)   dst[r*ld_dst + c] += src[r*ld_src + c]        (ACCUMULATES)
 gather_rows(dst, table, ids, rows, cols)         dst(rows, cols) = table[ids[r]] (ids int32; the CUDA
                                                  backend flags an id < 0 and reads a zero row); the table is
                                                  acc_t<T> (the fp32 puzzle table of a bf16 model), rounded to T
 download(host, src, count)                       host = src; `host` is host memory; waits for the work
                                                  queued before it (the CUDA step's one synchronisation)
 bias_add(y, bias, rows, cols)                    y(rows, cols) += bias(cols)
 bias_backward(dbias, dy, rows, cols)             dbias(cols) += sum of dy's rows, in row order (ACCUMULATES)

 The ACT wrapper (HRM-SPEC 1.8, 2, 11.1): per slot i < batch: steps, inputs, labels, puzzle_ids are
 int32 ((b), (b, seq_len), (b, seq_len), (b)), halted uint8 (b), q and q_next (b, 2): halt, continue.
 act_reset(zH, zL, steps, inputs, labels, puzzle_ids, H_init, L_init, halted, in_inputs, in_labels,
           in_puzzle_ids, batch, tokens, hidden, seq_len)
                                                  halted slots: every token row of zH, zL (b, tokens, hidden) =
                                                  H_init, L_init (hidden); steps = 0; inputs, labels,
                                                  puzzle_ids = the incoming rows
 act_halt(steps, halted, q, min_halt_steps, batch, halt_max_steps, explore)
                                                  steps += 1; halted = steps >= halt_max_steps, and with
                                                  explore: (that || q_halt > q_continue) && steps >= min_halt_steps
                                                  (min_halt_steps (b) int32; unused without explore)
 act_q_grad(target, dq, q, q_next, seq, steps, batch, halt_max_steps, q_continue, loss_scale)
                                                  with q_continue: target(b) (acc_t: fp32 as HRM's) = sigmoid(q_next
 halt if steps >= halt_max_steps, else max of q_next); dq(b, 2) = 0.5 loss_scale (sigmoid(q) - (exact, target)); dq
 continue = 0 without q_continue act_metrics(stats, seq, q, target, halted, steps, batch, q_continue) stats (one
 ActStepStats, backend memory) = the segment's loss sums and metric counts, slots in order
*/

}  // namespace hrm::ops

// The contract's declarations, the body of every backend's struct (`struct CpuOps {
// HRM_OPS_CONTRACT_DECLARATIONS };`), so names, argument types and their order cannot drift apart.
#define HRM_OPS_CONTRACT_DECLARATIONS                                                                                 \
  using i64 = std::int64_t;                                                                                           \
  using i32 = std::int32_t;                                                                                           \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void linear_forward(T* y, const T* x, const T* w, i64 n, i64 in, i64 out);                                   \
  template <class T>                                                                                                  \
  static void linear_backward(T* dx, ops::acc_t<T>* dw, const T* dy, const T* x, const T* w, i64 n, i64 in, i64 out,  \
                              bool accumulate_dx);                                                                    \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void rms_norm_forward(T* y, ops::acc_t<T>* rstd, const T* x, const T* residual, i64 n, i64 d, double eps);   \
  template <class T>                                                                                                  \
  static void rms_norm_backward(T* dx, const T* dy, const T* y, const ops::acc_t<T>* rstd, i64 n, i64 d);             \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void rope_tables(T* cos, T* sin, i64 tokens, i64 head_dim, double theta);                                    \
  template <class T>                                                                                                  \
  static void rope_forward(T* qkv, const ops::acc_t<T>* cos, const ops::acc_t<T>* sin, i64 batch, i64 tokens,         \
                           i64 heads, i64 head_dim);                                                                  \
  template <class T>                                                                                                  \
  static void rope_backward(T* dqkv, const ops::acc_t<T>* cos, const ops::acc_t<T>* sin, i64 batch, i64 tokens,       \
                            i64 heads, i64 head_dim);                                                                 \
                                                                                                                      \
  template <class T>                                                                                                  \
  static i64 attention_saved_count(i64 batch, i64 tokens, i64 heads, i64 head_dim);                                   \
  template <class T>                                                                                                  \
  static void attention_forward(T* out, ops::acc_t<T>* saved, const T* qkv, i64 batch, i64 tokens, i64 heads,         \
                                i64 head_dim);                                                                        \
  template <class T>                                                                                                  \
  static void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* out, const ops::acc_t<T>* saved,      \
                                 i64 batch, i64 tokens, i64 heads, i64 head_dim);                                     \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void swiglu_forward(T* h, const T* gu, i64 n, i64 inter);                                                    \
  template <class T>                                                                                                  \
  static void swiglu_backward(T* dgu, const T* dh, const T* gu, i64 n, i64 inter);                                    \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void add(T* y, const T* a, const T* b, i64 count);                                                           \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void embedding_forward(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos, i64 batch,      \
                                i64 seq, i64 prefix, i64 d);                                                          \
  template <class T>                                                                                                  \
  static void embedding_backward(ops::acc_t<T>* dtok, ops::acc_t<T>* dpuzzle, ops::acc_t<T>* dpos, const T* dx,       \
                                 const i32* inputs, i64 batch, i64 seq, i64 prefix, i64 d);                           \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void token_loss_forward(ops::SeqLoss* seq, i32* argmax, const T* logits, const i32* labels, i64 batch,       \
                                 i64 seq_len, i64 vocab, ops::LossType type);                                         \
  template <class T>                                                                                                  \
  static void token_loss_backward(T* dlogits, const T* logits, const i32* labels, const double* seq_scale, i64 batch, \
                                  i64 seq_len, i64 vocab, ops::LossType type);                                        \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void copy(T* dst, const T* src, i64 count);                                                                  \
  template <class T>                                                                                                  \
  static void fill(T* dst, T value, i64 count);                                                                       \
  template <class T>                                                                                                  \
  static void copy_rows(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 rows, i64 cols);                            \
  template <class T>                                                                                                  \
  static void add_rows(T* dst, i64 ld_dst, const T* src, i64 ld_src, i64 rows, i64 cols);                             \
  template <class T>                                                                                                  \
  static void gather_rows(T* dst, const ops::acc_t<T>* table, const i32* ids, i64 rows, i64 cols);                    \
  template <class T>                                                                                                  \
  static void download(T* host, const T* src, i64 count);                                                             \
  template <class T>                                                                                                  \
  static void bias_add(T* y, const T* bias, i64 rows, i64 cols);                                                      \
  template <class T>                                                                                                  \
  static void bias_backward(ops::acc_t<T>* dbias, const T* dy, i64 rows, i64 cols);                                   \
                                                                                                                      \
  template <class T>                                                                                                  \
  static void act_reset(T* zH, T* zL, i32* steps, i32* inputs, i32* labels, i32* puzzle_ids, const T* H_init,         \
                        const T* L_init, const std::uint8_t* halted, const i32* in_inputs, const i32* in_labels,      \
                        const i32* in_puzzle_ids, i64 batch, i64 tokens, i64 hidden, i64 seq_len);                    \
  template <class T>                                                                                                  \
  static void act_halt(i32* steps, std::uint8_t* halted, const T* q, const i32* min_halt_steps, i64 batch,            \
                       i64 halt_max_steps, bool explore);                                                             \
  template <class T>                                                                                                  \
  static void act_q_grad(ops::acc_t<T>* target, T* dq, const T* q, const T* q_next, const ops::SeqLoss* seq,          \
                         const i32* steps, i64 batch, i64 halt_max_steps, bool q_continue, double loss_scale);        \
  template <class T>                                                                                                  \
  static void act_metrics(ops::ActStepStats* stats, const ops::SeqLoss* seq, const T* q, const ops::acc_t<T>* target, \
                          const std::uint8_t* halted, const i32* steps, i64 batch, bool q_continue);
