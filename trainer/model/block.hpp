// block.hpp: one HRM transformer block (HRM-SPEC 1.5-1.6) and a reasoning module (a stack of
// blocks with input injection, 1.7), forward and backward side by side, on any backend `Ops` that
// implements trainer/ops/ops.hpp.
//
// Block (post-norm, no biases):   qkv = x Wqkv^T; rope(q, k); a = attn(qkv); h1 = rms(x + a Wo^T)
//                                 gu = h1 Wgu^T; s = silu(g) * u;          h2 = rms(h1 + s Wd^T)
// Saved for backward (BlockActs, n = batch*tokens rows): x (n,D), qkv after RoPE (n,3D), what the
// attention keeps (Ops::attention_saved_count: the probabilities (b,H,T,T) on the CPU, one log-sum-exp
// per row (b,H,T) where CUDA fuses it), a (n,D), h1 (n,D), rstd1 (n), gu (n,2I), s (n,I), h2 (n,D),
// rstd2 (n). A forward without grad reuses one set of buffers for every block, and its attention keeps
// nothing.
// Weight gradients ACCUMULATE into the gradient slab; the input gradient is ASSIGNED. Buffers are
// the backend's (Ops::Buffer); pointers are in its memory. The rstd, the probabilities, the RoPE
// tables and the gradient slab are ops::acc_t<T> (fp32 in a bf16 model, T otherwise).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "trainer/model/params.hpp"

namespace hrm {

template <class Ops, class T> struct BlockActs {
  using Buffer = typename Ops::template Buffer<T>;
  using AccBuffer = typename Ops::template Buffer<ops::acc_t<T>>;
  Buffer x, qkv, attn, h1, gu, act, h2;
  AccBuffer attn_saved, rstd1, rstd2;  // attn_saved: what attention_forward keeps for the backward
  Buffer tmp;  // (n, D): o-projection / down-projection outputs (before the residual add fused into the norm)

  // for_backward: the backward will run on these activations (the attention keeps what it needs).
  void resize(const HrmDims& d, std::int64_t batch, bool for_backward) {
    const std::int64_t n = batch * d.tokens, D = d.hidden;
    for (auto* v : {&x, &attn, &h1, &h2, &tmp}) v->resize(n * D);
    qkv.resize(n * 3 * D);
    attn_saved.resize(for_backward ? Ops::template attention_saved_count<T>(batch, d.tokens, d.heads, d.head_dim) : 0);
    for (auto* v : {&rstd1, &rstd2}) v->resize(n);
    gu.resize(n * 2 * d.inter);
    act.resize(n * d.inter);
  }
};

// Workspace of a block backward: gradients of the intermediate activations.
template <class Ops, class T> struct BlockGradScratch {
  typename Ops::template Buffer<T> dh, dattn, dqkv, dgu, dact;  // (n,D), (n,D), (n,3D), (n,2I), (n,I)
  void resize(const HrmDims& d, std::int64_t batch) {
    const std::int64_t n = batch * d.tokens;
    dh.resize(n * d.hidden);
    dattn.resize(n * d.hidden);
    dqkv.resize(n * 3 * d.hidden);
    dgu.resize(n * 2 * d.inter);
    dact.resize(n * d.inter);
  }
};

// Block forward: a.x must hold the input; the output is a.h2. The attention fills a.attn_saved when it
// has room (a saved block), else keeps nothing.
template <class Ops, class T>
void block_forward(BlockActs<Ops, T>& a, const T* w, const BlockSlots& s, const ops::acc_t<T>* rope_cos,
                   const ops::acc_t<T>* rope_sin, const HrmDims& d, std::int64_t batch) {
  const std::int64_t n = batch * d.tokens, D = d.hidden, I = d.inter;
  Ops::linear_forward(a.qkv.data(), a.x.data(), w + s.qkv, n, D, 3 * D);
  if (!d.learned_pos) Ops::rope_forward(a.qkv.data(), rope_cos, rope_sin, batch, d.tokens, d.heads, d.head_dim);
  Ops::attention_forward(a.attn.data(), a.attn_saved.size() ? a.attn_saved.data() : nullptr, a.qkv.data(), batch,
                         d.tokens, d.heads, d.head_dim);
  Ops::linear_forward(a.tmp.data(), a.attn.data(), w + s.o, n, D, D);
  Ops::rms_norm_forward(a.h1.data(), a.rstd1.data(), a.tmp.data(), a.x.data(), n, D, d.rms_norm_eps);
  Ops::linear_forward(a.gu.data(), a.h1.data(), w + s.gate_up, n, D, 2 * I);
  Ops::swiglu_forward(a.act.data(), a.gu.data(), n, I);
  Ops::linear_forward(a.tmp.data(), a.act.data(), w + s.down, n, I, D);
  Ops::rms_norm_forward(a.h2.data(), a.rstd2.data(), a.tmp.data(), a.h1.data(), n, D, d.rms_norm_eps);
}

// Block backward: dy (n,D) is d loss / d h2 and is overwritten; dx (n,D) = d loss / d x (assigned).
template <class Ops, class T>
void block_backward(T* dx, T* dy, const BlockActs<Ops, T>& a, const T* w, ops::acc_t<T>* g, const BlockSlots& s,
                    const ops::acc_t<T>* rope_cos, const ops::acc_t<T>* rope_sin, BlockGradScratch<Ops, T>& sc,
                    const HrmDims& d, std::int64_t batch) {
  const std::int64_t n = batch * d.tokens, D = d.hidden, I = d.inter;
  // Second sub-layer: h2 = rms(h1 + down(swiglu(gu(h1)))).
  Ops::rms_norm_backward(dy, dy, a.h2.data(), a.rstd2.data(), n, D);  // dy := d(residual sum 2)
  Ops::linear_backward(sc.dact.data(), g + s.down, dy, a.act.data(), w + s.down, n, I, D, false);
  Ops::swiglu_backward(sc.dgu.data(), sc.dact.data(), a.gu.data(), n, I);
  Ops::copy(sc.dh.data(), dy, n * D);  // residual path
  Ops::linear_backward(sc.dh.data(), g + s.gate_up, sc.dgu.data(), a.h1.data(), w + s.gate_up, n, D, 2 * I, true);
  // First sub-layer: h1 = rms(x + o(attn(rope(qkv(x))))).
  Ops::rms_norm_backward(sc.dh.data(), sc.dh.data(), a.h1.data(), a.rstd1.data(), n, D);
  Ops::linear_backward(sc.dattn.data(), g + s.o, sc.dh.data(), a.attn.data(), w + s.o, n, D, D, false);
  Ops::attention_backward(sc.dqkv.data(), sc.dattn.data(), a.qkv.data(), a.attn.data(), a.attn_saved.data(), batch,
                          d.tokens, d.heads, d.head_dim);
  if (!d.learned_pos) Ops::rope_backward(sc.dqkv.data(), rope_cos, rope_sin, batch, d.tokens, d.heads, d.head_dim);
  Ops::copy(dx, sc.dh.data(), n * D);  // residual path
  Ops::linear_backward(dx, g + s.qkv, sc.dqkv.data(), a.x.data(), w + s.qkv, n, D, 3 * D, true);
}

// Reasoning module: z <- Blocks(z + injection) (HRM-SPEC 1.7). With `saved` (one BlockActs per
// layer) the activations are kept for module_backward; without, `scratch` is reused.
template <class Ops, class T>
void module_forward(T* z, const T* injection, const std::vector<BlockSlots>& layers, const T* w,
                    const ops::acc_t<T>* rope_cos, const ops::acc_t<T>* rope_sin, std::vector<BlockActs<Ops, T>>* saved,
                    BlockActs<Ops, T>& scratch, const HrmDims& d, std::int64_t batch) {
  const std::int64_t count = batch * d.tokens * d.hidden;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    BlockActs<Ops, T>& a = saved ? (*saved)[i] : scratch;
    if (i == 0)
      Ops::add(a.x.data(), z, injection, count);
    else if (saved)
      Ops::copy(a.x.data(), (*saved)[i - 1].h2.data(), count);
    else
      std::swap(a.x, a.h2);  // the scratch's output is its next input: the buffers trade places, nothing is copied
    block_forward<Ops>(a, w, layers[i], rope_cos, rope_sin, d, batch);
  }
  const BlockActs<Ops, T>& last = saved ? saved->back() : scratch;
  Ops::copy(z, last.h2.data(), count);
}

// Backward of module_forward with saved activations: dz (n,D) = d loss / d output (overwritten);
// on return d_input (n,D) = d loss / d (z + injection), which is also d/d injection.
template <class Ops, class T>
void module_backward(T* d_input, T* dz, const std::vector<BlockSlots>& layers, const T* w, ops::acc_t<T>* g,
                     const ops::acc_t<T>* rope_cos, const ops::acc_t<T>* rope_sin,
                     const std::vector<BlockActs<Ops, T>>& saved, BlockGradScratch<Ops, T>& sc, const HrmDims& d,
                     std::int64_t batch) {
  const std::int64_t count = batch * d.tokens * d.hidden;
  for (std::size_t i = layers.size(); i-- > 0;) {
    block_backward<Ops>(d_input, dz, saved[i], w, g, layers[i], rope_cos, rope_sin, sc, d, batch);
    if (i > 0) Ops::copy(dz, d_input, count);
  }
}

}  // namespace hrm
