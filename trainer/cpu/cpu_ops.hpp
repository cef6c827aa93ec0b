// cpu_ops.hpp: the Eigen backend of the op contract (trainer/ops/ops.hpp), float32 for training and
// float64 for gradient checks. One source file per op family, forward and backward side by side:
// linear.cpp, rms_norm.cpp, rope.cpp, attention.cpp, swiglu.cpp, embedding.cpp, token_loss.cpp.
// Shapes and = / += rules are the contract's; they are not repeated here.
#pragma once

#include <cstdint>

#include "trainer/ops/ops.hpp"

namespace hrm {

struct CpuOps {
  using i64 = std::int64_t;
  using i32 = std::int32_t;

  template <class T> static void linear_forward(T* y, const T* x, const T* w, i64 n, i64 in, i64 out);
  template <class T>
  static void linear_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, i64 n, i64 in, i64 out,
                              bool accumulate_dx);

  template <class T> static void rms_norm_forward(T* y, T* rstd, const T* x, i64 n, i64 d, double eps);
  template <class T> static void rms_norm_backward(T* dx, const T* dy, const T* y, const T* rstd, i64 n, i64 d);

  template <class T> static void rope_tables(T* cos, T* sin, i64 tokens, i64 head_dim, double theta);
  template <class T>
  static void rope_forward(T* qkv, const T* cos, const T* sin, i64 batch, i64 tokens, i64 heads, i64 head_dim);
  template <class T>
  static void rope_backward(T* dqkv, const T* cos, const T* sin, i64 batch, i64 tokens, i64 heads, i64 head_dim);

  template <class T>
  static void attention_forward(T* out, T* probs, const T* qkv, i64 batch, i64 tokens, i64 heads, i64 head_dim);
  template <class T>
  static void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* probs, i64 batch, i64 tokens,
                                 i64 heads, i64 head_dim);

  template <class T> static void swiglu_forward(T* h, const T* gu, i64 n, i64 inter);
  template <class T> static void swiglu_backward(T* dgu, const T* dh, const T* gu, i64 n, i64 inter);

  template <class T> static void add(T* y, const T* a, const T* b, i64 count);

  template <class T>
  static void embedding_forward(T* x, const i32* inputs, const T* tok, const T* puzzle, const T* pos, i64 batch,
                                i64 seq, i64 prefix, i64 d);
  template <class T>
  static void embedding_backward(T* dtok, T* dpuzzle, T* dpos, const T* dx, const i32* inputs, i64 batch, i64 seq,
                                 i64 prefix, i64 d);

  template <class T>
  static void token_loss_forward(ops::SeqLoss* seq, i32* argmax, const T* logits, const i32* labels, i64 batch,
                                 i64 seq_len, i64 vocab, ops::LossType type);
  template <class T>
  static void token_loss_backward(T* dlogits, const T* logits, const i32* labels, const double* seq_scale, i64 batch,
                                  i64 seq_len, i64 vocab, ops::LossType type);
};

}  // namespace hrm
