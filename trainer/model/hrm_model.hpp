// hrm_model.hpp: one HRM ACT V1 segment, the "inner" model (HRM-SPEC 1.4-1.7), forward and backward.
//
// forward(): x = embed(inputs, puzzle rows); the no-grad H/L schedule; then the one-step-gradient
// part z_L <- L(z_L, z_H + x), z_H <- H(z_H, z_L) with activations saved; logits = lm_head(z_H[:,
// P:]) and q = q_head(z_H[:, 0]). z_H, z_L are the carry, updated in place. The gradient slab and the
// puzzle rows' gradients are ops::acc_t<T> (fp32 in a bf16 model, HRM-SPEC 1.9), everything else T.
// backward(): gradients reach the last L and H calls, the heads and, through x only (z_H and z_L
// are detached between segments), the token, position and puzzle embeddings. Dense gradients
// ACCUMULATE into the slab `g`; puzzle-row gradients (batch, ndim) are ASSIGNED. Weights, buffers
// and every pointer argument are in the backend's memory (Ops::Memory).
// A GradsReady hook, when given, is told each part of the slab as soon as backward() has finished
// accumulating into it: [lm_head, total) (the heads), the H module, the L module, then [0, H)
// (the embeddings), four calls that cover the slab once, the same every step. Data parallel
// training starts each part's all-reduce there, while the rest of the backward runs (on a backend
// that queues work, "finished" means queued).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "trainer/model/block.hpp"
#include "trainer/model/params.hpp"

namespace hrm {

using GradsReady = std::function<void(std::int64_t begin, std::int64_t end)>;

template <class Ops, class T> class HrmModel {
 public:
  using Weights = HrmWeights<T, typename Ops::Memory>;
  using Acc = ops::acc_t<T>;
  using Buffer = typename Ops::template Buffer<T>;
  using AccBuffer = typename Ops::template Buffer<Acc>;

  HrmModel(const HrmDims& d, std::int64_t batch) : d_(d), b_(batch) {
    const std::int64_t n = b_ * d_.tokens, D = d_.hidden;
    rope_cos_.resize(d_.tokens * d_.head_dim);
    rope_sin_.resize(d_.tokens * d_.head_dim);
    Ops::rope_tables(rope_cos_.data(), rope_sin_.data(), d_.tokens, d_.head_dim, d_.rope_theta);
    for (auto* v : {&x_, &inj_, &dzH_, &dzL_, &dinput_}) v->resize(n * D);
    puzzle_.resize(b_ * d_.prefix * D);
    dpuzzle_.resize(b_ * d_.prefix * D);
    for (auto* v : {&z_out_, &z_out_nograd_, &dz_out_}) v->resize(b_ * d_.seq_len * D);
    for (auto* v : {&z0_, &z0_nograd_, &dz0_}) v->resize(b_ * D);
    saved_L_.resize(d_.L_layers);
    saved_H_.resize(d_.H_layers);
    for (auto& a : saved_L_) a.resize(d_, b_, true);
    for (auto& a : saved_H_) a.resize(d_, b_, true);
    scratch_.resize(d_, b_, false);
    grad_scratch_.resize(d_, b_);
  }

  std::int64_t batch() const { return b_; }
  const HrmDims& dims() const { return d_; }

  // One segment. inputs (b, S) int32; puzzle_rows (b, ndim) or null when ndim = 0; logits (b*S, V)
  // and q (b, 2) written. with_grad keeps what backward() needs.
  void forward(const Weights& w, T* zH, T* zL, const std::int32_t* inputs, const T* puzzle_rows, bool with_grad,
               T* logits, T* q) {
    const ParamLayout& l = w.layout;
    const T* p = w.params.data();
    const std::int64_t D = d_.hidden, n = b_ * d_.tokens, count = n * D;
    if (with_grad) inputs_ = inputs;
    const T* puzzle = nullptr;
    if (d_.puzzle_ndim > 0) {  // zero-pad each row from ndim to P*D (HRM-SPEC 1.2)
      Ops::fill(puzzle_.data(), T(0), static_cast<std::int64_t>(puzzle_.size()));
      Ops::copy_rows(puzzle_.data(), d_.prefix * D, puzzle_rows, d_.puzzle_ndim, b_, d_.puzzle_ndim);
      puzzle = puzzle_.data();
    }
    Ops::embedding_forward(x_.data(), inputs, p + l.embed_tokens, puzzle, l.embed_pos >= 0 ? p + l.embed_pos : nullptr,
                           b_, d_.seq_len, d_.prefix, D);

    auto L_step = [&](std::vector<BlockActs<Ops, T>>* saved) {
      Ops::add(inj_.data(), zH, x_.data(), count);
      module_forward<Ops>(zL, inj_.data(), l.L, p, rope_cos_.data(), rope_sin_.data(), saved, scratch_, d_, b_);
    };
    auto H_step = [&](std::vector<BlockActs<Ops, T>>* saved) {
      module_forward<Ops>(zH, zL, l.H, p, rope_cos_.data(), rope_sin_.data(), saved, scratch_, d_, b_);
    };
    for (std::int64_t h = 0; h < d_.H_cycles; ++h) {
      for (std::int64_t k = 0; k < d_.L_cycles; ++k)
        if (!(h == d_.H_cycles - 1 && k == d_.L_cycles - 1)) L_step(nullptr);
      if (h != d_.H_cycles - 1) H_step(nullptr);
    }
    L_step(with_grad ? &saved_L_ : nullptr);
    H_step(with_grad ? &saved_H_ : nullptr);

    // Heads: lm_head on the sequence positions P..T-1, q_head on position 0. A forward without
    // grad (the Q-target segment) must not overwrite the heads' inputs that backward() reads.
    Buffer& z_out = with_grad ? z_out_ : z_out_nograd_;
    Buffer& z0 = with_grad ? z0_ : z0_nograd_;
    const std::int64_t TD = d_.tokens * D, SD = d_.seq_len * D;
    Ops::copy_rows(z_out.data(), SD, zH + d_.prefix * D, TD, b_, SD);
    Ops::copy_rows(z0.data(), D, zH, TD, b_, D);
    Ops::linear_forward(logits, z_out.data(), p + l.lm_head, b_ * d_.seq_len, D, d_.vocab);
    Ops::linear_forward(q, z0.data(), p + l.q_head_w, b_, D, 2);
    Ops::bias_add(q, p + l.q_head_b, b_, 2);
  }

  // Backward of the last forward(with_grad = true). dlogits (b*S, V), dq (b, 2).
  void backward(const Weights& w, Acc* g, Acc* d_puzzle_rows, const T* dlogits, const T* dq,
                const GradsReady& ready = {}) {
    const ParamLayout& l = w.layout;
    const std::int64_t L_begin = l.L.empty() ? l.lm_head : l.L.front().qkv;
    const std::int64_t H_begin = l.H.empty() ? L_begin : l.H.front().qkv;
    const auto done = [&](std::int64_t begin, std::int64_t end) {
      if (ready) ready(begin, end);
    };
    const T* p = w.params.data();
    const std::int64_t D = d_.hidden;
    Ops::linear_backward(dz_out_.data(), g + l.lm_head, dlogits, z_out_.data(), p + l.lm_head, b_ * d_.seq_len, D,
                         d_.vocab, false);
    Ops::linear_backward(dz0_.data(), g + l.q_head_w, dq, z0_.data(), p + l.q_head_w, b_, D, 2, false);
    Ops::bias_backward(g + l.q_head_b, dq, b_, 2);
    done(l.lm_head, l.total);
    // dz_H: the sequence positions' gradient, then row 0 += the Q head's (the same row when P = 0).
    const std::int64_t TD = d_.tokens * D, SD = d_.seq_len * D;
    Ops::fill(dzH_.data(), T(0), static_cast<std::int64_t>(dzH_.size()));
    Ops::copy_rows(dzH_.data() + d_.prefix * D, TD, dz_out_.data(), SD, b_, SD);
    Ops::add_rows(dzH_.data(), TD, dz0_.data(), D, b_, D);
    // H's input is z_H(detached) + z_L: its gradient is z_L's. L's input is z_L(detached) + z_H(detached) + x.
    module_backward<Ops>(dzL_.data(), dzH_.data(), l.H, p, g, rope_cos_.data(), rope_sin_.data(), saved_H_,
                         grad_scratch_, d_, b_);
    done(H_begin, L_begin);
    module_backward<Ops>(dinput_.data(), dzL_.data(), l.L, p, g, rope_cos_.data(), rope_sin_.data(), saved_L_,
                         grad_scratch_, d_, b_);
    done(L_begin, l.lm_head);
    Ops::embedding_backward(g + l.embed_tokens, d_.puzzle_ndim > 0 ? dpuzzle_.data() : nullptr,
                            l.embed_pos >= 0 ? g + l.embed_pos : nullptr, dinput_.data(), inputs_, b_, d_.seq_len,
                            d_.prefix, D);
    done(0, H_begin);
    if (d_.puzzle_ndim > 0)
      Ops::copy_rows(d_puzzle_rows, d_.puzzle_ndim, dpuzzle_.data(), d_.prefix * D, b_, d_.puzzle_ndim);
  }

 private:
  HrmDims d_;
  std::int64_t b_;
  const std::int32_t* inputs_ = nullptr;  // of the last forward, for the embedding backward
  AccBuffer rope_cos_, rope_sin_;         // (T, hd)
  Buffer x_, inj_;                    // (n, D): scaled input embedding, injection z_H + x
  Buffer puzzle_;                     // (b, P*D): zero-padded puzzle rows
  AccBuffer dpuzzle_;                 // (b, P*D): their gradient
  Buffer z_out_, dz_out_;             // (b*S, D): z_H at the sequence positions (grad forward)
  Buffer z0_, dz0_;                   // (b, D): z_H at position 0 (grad forward)
  Buffer z_out_nograd_, z0_nograd_;   // the same for forwards without grad
  Buffer dzH_, dzL_, dinput_;         // (n, D)
  std::vector<BlockActs<Ops, T>> saved_L_, saved_H_;
  BlockActs<Ops, T> scratch_;
  BlockGradScratch<Ops, T> grad_scratch_;
};

}  // namespace hrm
