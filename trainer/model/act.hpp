// act.hpp: the ACT wrapper and loss head of HRM ACT V1 (HRM-SPEC 1.8, 2, 11.1).
//
// A training step: halted slots take the incoming batch's row and restart from H_init/L_init; one
// segment runs with gradients; steps += 1; slots halt at halt_max_steps or when q_halt > q_continue,
// unless exploration holds them (steps < min_halt_steps); a second no-grad segment from the new
// carry gives the Q target sigmoid(is_last ? q_halt' : max(q_halt', q_continue')). Loss = sum over
// sequences of the per-sequence mean token CE + 0.5 (BCE(q_halt, correct) + BCE(q_continue,
// target)); its gradient times `loss_scale` (1 / global batch) is backpropagated.
// Exploration draws are an input (min_halt_steps), so the caller owns the randomness.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "trainer/model/hrm_model.hpp"

namespace hrm {

// A batch as the model sees it: labels already mapped to ops::kIgnoreLabel where ignored.
struct ActBatch {
  std::vector<std::int32_t> inputs, labels;  // (b, S)
  std::vector<std::int32_t> puzzle_ids;      // (b)
  void resize(std::int64_t b, std::int64_t seq_len) {
    inputs.assign(b * seq_len, 0);
    labels.assign(b * seq_len, ops::kIgnoreLabel);
    puzzle_ids.assign(b, 0);
  }
};

template <class T> struct ActCarry {
  std::vector<T> zH, zL;             // (b, T, D)
  std::vector<std::int32_t> steps;   // (b)
  std::vector<std::uint8_t> halted;  // (b): 1 = take the next incoming row
  ActBatch data;                     // what each slot works on

  // HRM's initial carry: every slot halted, so the first batch fills all of them.
  static ActCarry initial(const HrmDims& d, std::int64_t b) {
    ActCarry c;
    c.zH.assign(b * d.tokens * d.hidden, T(0));
    c.zL.assign(b * d.tokens * d.hidden, T(0));
    c.steps.assign(b, 0);
    c.halted.assign(b, 1);
    c.data.resize(b, d.seq_len);
    return c;
  }
};

// Losses and raw metric sums of one segment (HRM-SPEC 2.2-2.4), before any normalisation.
struct ActStepStats {
  double lm_loss = 0, q_halt_loss = 0, q_continue_loss = 0;
  double total = 0;  // lm_loss + 0.5 (q_halt_loss + q_continue_loss), summed over the local batch
  double count = 0, accuracy = 0, exact_accuracy = 0, q_halt_accuracy = 0, steps = 0;
  bool has_q_continue = false;
};

template <class T> T stable_sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}
// BCE with logits as torch computes it: max(x, 0) - x y + log1p(exp(-|x|)).
template <class T> T bce_with_logits(T x, T y) {
  return std::max(x, T(0)) - x * y + std::log1p(std::exp(-std::abs(x)));
}

template <class Ops, class T> class HrmAct {
 public:
  HrmAct(const HrmDims& d, std::int64_t batch)
      : d_(d), b_(batch), model_(d, batch), logits_(batch * d.seq_len * d.vocab), dlogits_(logits_.size()),
        q_(batch * 2), q_next_(batch * 2), dq_(batch * 2), target_(batch), seq_(batch), argmax_(batch * d.seq_len),
        puzzle_rows_(batch * d.puzzle_ndim), zH_next_(batch * d.tokens * d.hidden), zL_next_(zH_next_.size()) {}

  // One training step. Dense gradients accumulate into g (the slab); the puzzle rows' gradients
  // (b, ndim) are assigned to d_puzzle_rows; their identifiers are carry.data.puzzle_ids.
  ActStepStats train_step(const HrmWeights<T>& w, ActCarry<T>& carry, const ActBatch& incoming,
                          const std::int32_t* min_halt_steps, double loss_scale, T* g, T* d_puzzle_rows) {
    reset_halted(w, carry, incoming);
    gather_puzzle_rows(w, carry);
    model_.forward(w, carry.zH.data(), carry.zL.data(), carry.data.inputs.data(), puzzle_rows_.data(), true,
                   logits_.data(), q_.data());
    std::vector<std::uint8_t> is_last(b_);
    for (std::int64_t i = 0; i < b_; ++i) {
      carry.steps[i] += 1;
      is_last[i] = carry.steps[i] >= d_.halt_max_steps;
      carry.halted[i] = is_last[i];
    }
    const bool q_continue = d_.halt_max_steps > 1;  // HRM-SPEC 11.1 item 4
    if (q_continue) {
      for (std::int64_t i = 0; i < b_; ++i) {
        const bool halt = carry.halted[i] || q_[i * 2] > q_[i * 2 + 1];
        carry.halted[i] = halt && carry.steps[i] >= min_halt_steps[i];
      }
      // The Q target from one more segment without gradients, on copies of the new carry.
      std::copy(carry.zH.begin(), carry.zH.end(), zH_next_.begin());
      std::copy(carry.zL.begin(), carry.zL.end(), zL_next_.begin());
      model_.forward(w, zH_next_.data(), zL_next_.data(), carry.data.inputs.data(), puzzle_rows_.data(), false,
                     dlogits_.data() /* scratch: these logits are not used */, q_next_.data());
      for (std::int64_t i = 0; i < b_; ++i) {
        const T qh = q_next_[i * 2], qc = q_next_[i * 2 + 1];
        target_[i] = stable_sigmoid(is_last[i] ? qh : std::max(qh, qc));
      }
    }
    ActStepStats s = loss_and_metrics(carry, q_continue);
    // Backward of loss_scale * total.
    std::vector<double> seq_scale(b_, loss_scale);
    Ops::token_loss_backward(dlogits_.data(), logits_.data(), carry.data.labels.data(), seq_scale.data(), b_,
                             d_.seq_len, d_.vocab, d_.loss);
    const T half = static_cast<T>(0.5 * loss_scale);
    for (std::int64_t i = 0; i < b_; ++i) {
      const T correct = seq_[i].correct == seq_[i].count ? T(1) : T(0);
      // Same sigmoid for prediction and target: at step 1 the q_continue gradient is exactly 0 (11.1 item 7).
      dq_[i * 2] = half * (stable_sigmoid(q_[i * 2]) - correct);
      dq_[i * 2 + 1] = q_continue ? half * (stable_sigmoid(q_[i * 2 + 1]) - target_[i]) : T(0);
    }
    model_.backward(w, g, d_puzzle_rows, dlogits_.data(), dq_.data());
    return s;
  }

  // One evaluation segment: slots halt only at halt_max_steps, no Q target, no gradients.
  ActStepStats eval_step(const HrmWeights<T>& w, ActCarry<T>& carry, const ActBatch& incoming) {
    reset_halted(w, carry, incoming);
    gather_puzzle_rows(w, carry);
    model_.forward(w, carry.zH.data(), carry.zL.data(), carry.data.inputs.data(), puzzle_rows_.data(), false,
                   logits_.data(), q_.data());
    for (std::int64_t i = 0; i < b_; ++i) {
      carry.steps[i] += 1;
      carry.halted[i] = carry.steps[i] >= d_.halt_max_steps;
    }
    return loss_and_metrics(carry, false);
  }

  const std::vector<T>& logits() const { return logits_; }              // (b*S, V) of the last step
  const std::vector<T>& q() const { return q_; }                        // (b, 2): halt, continue
  const std::vector<T>& target_q_continue() const { return target_; }   // (b)
  const std::vector<std::int32_t>& predictions() const { return argmax_; }  // (b, S)
  const std::vector<ops::SeqLoss>& seq_losses() const { return seq_; }
  HrmModel<Ops, T>& model() { return model_; }

 private:
  void reset_halted(const HrmWeights<T>& w, ActCarry<T>& c, const ActBatch& in) const {
    const std::int64_t TD = d_.tokens * d_.hidden, S = d_.seq_len;
    for (std::int64_t i = 0; i < b_; ++i) {
      if (!c.halted[i]) continue;
      for (std::int64_t t = 0; t < d_.tokens; ++t) {
        std::copy(w.H_init.begin(), w.H_init.end(), c.zH.begin() + i * TD + t * d_.hidden);
        std::copy(w.L_init.begin(), w.L_init.end(), c.zL.begin() + i * TD + t * d_.hidden);
      }
      c.steps[i] = 0;
      std::copy(in.inputs.begin() + i * S, in.inputs.begin() + (i + 1) * S, c.data.inputs.begin() + i * S);
      std::copy(in.labels.begin() + i * S, in.labels.begin() + (i + 1) * S, c.data.labels.begin() + i * S);
      c.data.puzzle_ids[i] = in.puzzle_ids[i];
    }
  }

  void gather_puzzle_rows(const HrmWeights<T>& w, const ActCarry<T>& c) {
    const std::int64_t nd = d_.puzzle_ndim;
    for (std::int64_t i = 0; i < b_ && nd > 0; ++i) {
      const std::int64_t id = c.data.puzzle_ids[i];
      std::copy(w.puzzle_emb.begin() + id * nd, w.puzzle_emb.begin() + (id + 1) * nd, puzzle_rows_.begin() + i * nd);
    }
  }

  ActStepStats loss_and_metrics(const ActCarry<T>& c, bool q_continue) {
    Ops::token_loss_forward(seq_.data(), argmax_.data(), logits_.data(), c.data.labels.data(), b_, d_.seq_len,
                            d_.vocab, d_.loss);
    ActStepStats s;
    s.has_q_continue = q_continue;
    for (std::int64_t i = 0; i < b_; ++i) {
      const ops::SeqLoss& sl = seq_[i];
      const bool correct = sl.correct == sl.count;  // n = 0 counts as correct (HRM-SPEC 2.3)
      const T qh = q_[i * 2];
      s.lm_loss += sl.loss;
      s.q_halt_loss += static_cast<double>(bce_with_logits(qh, correct ? T(1) : T(0)));
      if (q_continue) s.q_continue_loss += static_cast<double>(bce_with_logits(q_[i * 2 + 1], target_[i]));
      if (c.halted[i] && sl.count > 0) {  // metrics only over valid = halted & n > 0 (2.4)
        s.count += 1;
        s.accuracy += static_cast<double>(sl.correct) / static_cast<double>(sl.count);
        s.exact_accuracy += correct;
        s.q_halt_accuracy += ((qh >= T(0)) == correct);
        s.steps += c.steps[i];
      }
    }
    s.total = s.lm_loss + 0.5 * (s.q_halt_loss + s.q_continue_loss);
    return s;
  }

  HrmDims d_;
  std::int64_t b_;
  HrmModel<Ops, T> model_;
  std::vector<T> logits_, dlogits_, q_, q_next_, dq_, target_;
  std::vector<ops::SeqLoss> seq_;
  std::vector<std::int32_t> argmax_;
  std::vector<T> puzzle_rows_, zH_next_, zL_next_;
};

}  // namespace hrm
