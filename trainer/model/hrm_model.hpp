// hrm_model.hpp: one HRM ACT V1 segment, the "inner" model (HRM-SPEC 1.4-1.7), forward and backward.
//
// forward(): x = embed(inputs, puzzle rows); the no-grad H/L schedule; then the one-step-gradient
// part z_L <- L(z_L, z_H + x), z_H <- H(z_H, z_L) with activations saved; logits = lm_head(z_H[:,
// P:]) and q = q_head(z_H[:, 0]). z_H, z_L are the carry, updated in place.
// backward(): gradients reach the last L and H calls, the heads and, through x only (z_H and z_L
// are detached between segments), the token, position and puzzle embeddings. Dense gradients
// ACCUMULATE into the slab `g`; puzzle-row gradients (batch, ndim) are ASSIGNED.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "trainer/model/block.hpp"
#include "trainer/model/params.hpp"

namespace hrm {

template <class Ops, class T> class HrmModel {
 public:
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
    for (auto& a : saved_L_) a.resize(d_, b_);
    for (auto& a : saved_H_) a.resize(d_, b_);
    scratch_.resize(d_, b_);
    grad_scratch_.resize(d_, b_);
  }

  std::int64_t batch() const { return b_; }
  const HrmDims& dims() const { return d_; }

  // One segment. inputs (b, S) int32; puzzle_rows (b, ndim) or null when ndim = 0; logits (b*S, V)
  // and q (b, 2) written. with_grad keeps what backward() needs.
  void forward(const HrmWeights<T>& w, T* zH, T* zL, const std::int32_t* inputs, const T* puzzle_rows, bool with_grad,
               T* logits, T* q) {
    const ParamLayout& l = w.layout;
    const T* p = w.params.data();
    const std::int64_t D = d_.hidden, n = b_ * d_.tokens, count = n * D;
    if (with_grad) inputs_ = inputs;
    const T* puzzle = nullptr;
    if (d_.puzzle_ndim > 0) {  // zero-pad each row from ndim to P*D (HRM-SPEC 1.2)
      std::fill(puzzle_.begin(), puzzle_.end(), T(0));
      for (std::int64_t i = 0; i < b_; ++i)
        std::copy(puzzle_rows + i * d_.puzzle_ndim, puzzle_rows + (i + 1) * d_.puzzle_ndim,
                  puzzle_.begin() + i * d_.prefix * D);
      puzzle = puzzle_.data();
    }
    Ops::embedding_forward(x_.data(), inputs, p + l.embed_tokens, puzzle, l.embed_pos >= 0 ? p + l.embed_pos : nullptr,
                           b_, d_.seq_len, d_.prefix, D);

    auto L_step = [&](std::vector<BlockActs<T>>* saved) {
      Ops::add(inj_.data(), zH, x_.data(), count);
      module_forward<Ops>(zL, inj_.data(), l.L, p, rope_cos_.data(), rope_sin_.data(), saved, scratch_, d_, b_);
    };
    auto H_step = [&](std::vector<BlockActs<T>>* saved) {
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
    std::vector<T>& z_out = with_grad ? z_out_ : z_out_nograd_;
    std::vector<T>& z0 = with_grad ? z0_ : z0_nograd_;
    for (std::int64_t i = 0; i < b_; ++i) {
      std::copy(zH + (i * d_.tokens + d_.prefix) * D, zH + (i + 1) * d_.tokens * D, z_out.begin() + i * d_.seq_len * D);
      std::copy(zH + i * d_.tokens * D, zH + (i * d_.tokens + 1) * D, z0.begin() + i * D);
    }
    Ops::linear_forward(logits, z_out.data(), p + l.lm_head, b_ * d_.seq_len, D, d_.vocab);
    Ops::linear_forward(q, z0.data(), p + l.q_head_w, b_, D, 2);
    for (std::int64_t i = 0; i < b_; ++i)
      for (int j = 0; j < 2; ++j) q[i * 2 + j] += p[l.q_head_b + j];
  }

  // Backward of the last forward(with_grad = true). dlogits (b*S, V), dq (b, 2).
  void backward(const HrmWeights<T>& w, T* g, T* d_puzzle_rows, const T* dlogits, const T* dq) {
    const ParamLayout& l = w.layout;
    const T* p = w.params.data();
    const std::int64_t D = d_.hidden;
    Ops::linear_backward(dz_out_.data(), g + l.lm_head, dlogits, z_out_.data(), p + l.lm_head, b_ * d_.seq_len, D,
                         d_.vocab, false);
    Ops::linear_backward(dz0_.data(), g + l.q_head_w, dq, z0_.data(), p + l.q_head_w, b_, D, 2, false);
    for (std::int64_t i = 0; i < b_; ++i)
      for (int j = 0; j < 2; ++j) g[l.q_head_b + j] += dq[i * 2 + j];
    std::fill(dzH_.begin(), dzH_.end(), T(0));
    for (std::int64_t i = 0; i < b_; ++i) {
      std::copy(dz_out_.begin() + i * d_.seq_len * D, dz_out_.begin() + (i + 1) * d_.seq_len * D,
                dzH_.begin() + (i * d_.tokens + d_.prefix) * D);
      T* row0 = dzH_.data() + i * d_.tokens * D;
      for (std::int64_t k = 0; k < D; ++k) row0[k] += dz0_[i * D + k];
    }
    // H's input is z_H(detached) + z_L: its gradient is z_L's. L's input is z_L(detached) + z_H(detached) + x.
    module_backward<Ops>(dzL_.data(), dzH_.data(), l.H, p, g, rope_cos_.data(), rope_sin_.data(), saved_H_,
                         grad_scratch_, d_, b_);
    module_backward<Ops>(dinput_.data(), dzL_.data(), l.L, p, g, rope_cos_.data(), rope_sin_.data(), saved_L_,
                         grad_scratch_, d_, b_);
    Ops::embedding_backward(g + l.embed_tokens, d_.puzzle_ndim > 0 ? dpuzzle_.data() : nullptr,
                            l.embed_pos >= 0 ? g + l.embed_pos : nullptr, dinput_.data(), inputs_, b_, d_.seq_len,
                            d_.prefix, D);
    if (d_.puzzle_ndim > 0)
      for (std::int64_t i = 0; i < b_; ++i)
        std::copy(dpuzzle_.begin() + i * d_.prefix * D, dpuzzle_.begin() + i * d_.prefix * D + d_.puzzle_ndim,
                  d_puzzle_rows + i * d_.puzzle_ndim);
  }

 private:
  HrmDims d_;
  std::int64_t b_;
  const std::int32_t* inputs_ = nullptr;  // of the last forward, for the embedding backward
  std::vector<T> rope_cos_, rope_sin_;    // (T, hd)
  std::vector<T> x_, inj_;                // (n, D): scaled input embedding, injection z_H + x
  std::vector<T> puzzle_, dpuzzle_;       // (b, P*D): zero-padded puzzle rows and their gradient
  std::vector<T> z_out_, dz_out_;         // (b*S, D): z_H at the sequence positions (grad forward)
  std::vector<T> z0_, dz0_;               // (b, D): z_H at position 0 (grad forward)
  std::vector<T> z_out_nograd_, z0_nograd_;  // the same for forwards without grad
  std::vector<T> dzH_, dzL_, dinput_;     // (n, D)
  std::vector<BlockActs<T>> saved_L_, saved_H_;
  BlockActs<T> scratch_;
  BlockGradScratch<T> grad_scratch_;
};

}  // namespace hrm
