// act.hpp: the ACT wrapper and loss head of HRM ACT V1 (HRM-SPEC 1.8, 2, 11.1).
//
// A training step: halted slots take the incoming batch's row and restart from H_init/L_init; one
// segment runs with gradients; steps += 1; slots halt at halt_max_steps or when q_halt > q_continue,
// unless exploration holds them (steps < min_halt_steps); a second no-grad segment from the new
// carry gives the Q target sigmoid(is_last ? q_halt' : max(q_halt', q_continue')). Loss = sum over
// sequences of the per-sequence mean token CE + 0.5 (BCE(q_halt, correct) + BCE(q_continue,
// target)); its gradient times `loss_scale` (1 / global batch) is backpropagated.
// Exploration draws are an input (min_halt_steps), so the caller owns the randomness.
// Every array (weights, carry, batch, min_halt_steps, gradients) is in the backend's memory
// (Ops::Memory); the per-slot work is the contract's act_* ops, and a step reads back one
// ActStepStats (Ops::download) at its end. queue_train_step / queue_eval_step leave the stats in
// stats() instead, for a device step that reads them back with everything else (one synchronisation).
#pragma once

#include <cstdint>

#include "trainer/model/hrm_model.hpp"
#include "trainer/ops/act_math.hpp"

namespace hrm {

using ops::ActStepStats;

// A batch as the model sees it: labels already mapped to ops::kIgnoreLabel where ignored.
template <class Memory> struct ActBatchIn {
  template <class U> using Buffer = typename Memory::template Buffer<U>;
  Buffer<std::int32_t> inputs, labels;  // (b, S)
  Buffer<std::int32_t> puzzle_ids;      // (b)
  void resize(std::int64_t b, std::int64_t seq_len) {  // host memory only
    inputs.assign(b * seq_len, 0);
    labels.assign(b * seq_len, ops::kIgnoreLabel);
    puzzle_ids.assign(b, 0);
  }
};
using ActBatch = ActBatchIn<ops::HostMemory>;

template <class T, class Memory = ops::HostMemory> struct ActCarry {
  template <class U> using Buffer = typename Memory::template Buffer<U>;
  Buffer<T> zH, zL;                  // (b, T, D)
  Buffer<std::int32_t> steps;        // (b)
  Buffer<std::uint8_t> halted;       // (b): 1 = take the next incoming row
  ActBatchIn<Memory> data;           // what each slot works on

  // HRM's initial carry: every slot halted, so the first batch fills all of them. Host memory only.
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

template <class Ops, class T> class HrmAct {
 public:
  using Memory = typename Ops::Memory;
  template <class U> using Buffer = typename Ops::template Buffer<U>;
  using Weights = HrmWeights<T, Memory>;
  using Carry = ActCarry<T, Memory>;
  using Batch = ActBatchIn<Memory>;

  HrmAct(const HrmDims& d, std::int64_t batch)
      : d_(d), b_(batch), model_(d, batch), logits_(batch * d.seq_len * d.vocab), dlogits_(logits_.size()),
        q_(batch * 2), q_next_(batch * 2), dq_(batch * 2), target_(batch), seq_(batch), argmax_(batch * d.seq_len),
        puzzle_rows_(batch * d.puzzle_ndim), zH_next_(batch * d.tokens * d.hidden), zL_next_(zH_next_.size()),
        seq_scale_(batch), stats_(1) {}

  // One training step. Dense gradients accumulate into g (the slab); the puzzle rows' gradients
  // (b, ndim) are assigned to d_puzzle_rows; their identifiers are carry.data.puzzle_ids.
  // grads_ready: HrmModel::backward's hook (the slab's parts as their gradients are final).
  ActStepStats train_step(const Weights& w, Carry& carry, const Batch& incoming, const std::int32_t* min_halt_steps,
                          double loss_scale, ops::acc_t<T>* g, ops::acc_t<T>* d_puzzle_rows,
                          const GradsReady& grads_ready = {}) {
    queue_train_step(w, carry, incoming, min_halt_steps, loss_scale, g, d_puzzle_rows, grads_ready);
    return read_stats();
  }
  void queue_train_step(const Weights& w, Carry& carry, const Batch& incoming, const std::int32_t* min_halt_steps,
                        double loss_scale, ops::acc_t<T>* g, ops::acc_t<T>* d_puzzle_rows,
                        const GradsReady& grads_ready = {}) {
    start_segment(w, carry, incoming);
    model_.forward(w, carry.zH.data(), carry.zL.data(), carry.data.inputs.data(), puzzle_rows_.data(), true,
                   logits_.data(), q_.data());
    const bool q_continue = d_.halt_max_steps > 1;  // HRM-SPEC 11.1 item 4
    if (q_continue) {
      // The Q target from one more segment without gradients, on copies of the new carry (the
      // forward reads neither steps nor halted, so halting may follow it).
      const std::int64_t count = static_cast<std::int64_t>(zH_next_.size());
      Ops::copy(zH_next_.data(), carry.zH.data(), count);
      Ops::copy(zL_next_.data(), carry.zL.data(), count);
      model_.forward(w, zH_next_.data(), zL_next_.data(), carry.data.inputs.data(), puzzle_rows_.data(), false,
                     dlogits_.data() /* scratch: these logits are not used */, q_next_.data());
    }
    Ops::act_halt(carry.steps.data(), carry.halted.data(), q_.data(), min_halt_steps, b_, d_.halt_max_steps,
                  q_continue);
    Ops::token_loss_forward(seq_.data(), argmax_.data(), logits_.data(), carry.data.labels.data(), b_, d_.seq_len,
                            d_.vocab, d_.loss);
    Ops::act_q_grad(target_.data(), dq_.data(), q_.data(), q_next_.data(), seq_.data(), carry.steps.data(), b_,
                    d_.halt_max_steps, q_continue, loss_scale);
    Ops::act_metrics(stats_.data(), seq_.data(), q_.data(), target_.data(), carry.halted.data(), carry.steps.data(),
                     b_, q_continue);
    // Backward of loss_scale * total.
    Ops::fill(seq_scale_.data(), loss_scale, b_);
    Ops::token_loss_backward(dlogits_.data(), logits_.data(), carry.data.labels.data(), seq_scale_.data(), b_,
                             d_.seq_len, d_.vocab, d_.loss);
    model_.backward(w, g, d_puzzle_rows, dlogits_.data(), dq_.data(), grads_ready);
  }

  // One evaluation segment: slots halt only at halt_max_steps, no Q target, no gradients.
  ActStepStats eval_step(const Weights& w, Carry& carry, const Batch& incoming) {
    queue_eval_step(w, carry, incoming);
    return read_stats();
  }
  void queue_eval_step(const Weights& w, Carry& carry, const Batch& incoming) {
    start_segment(w, carry, incoming);
    model_.forward(w, carry.zH.data(), carry.zL.data(), carry.data.inputs.data(), puzzle_rows_.data(), false,
                   logits_.data(), q_.data());
    Ops::act_halt(carry.steps.data(), carry.halted.data(), q_.data(), nullptr, b_, d_.halt_max_steps, false);
    Ops::token_loss_forward(seq_.data(), argmax_.data(), logits_.data(), carry.data.labels.data(), b_, d_.seq_len,
                            d_.vocab, d_.loss);
    Ops::act_metrics(stats_.data(), seq_.data(), q_.data(), target_.data(), carry.halted.data(), carry.steps.data(),
                     b_, false);
  }

  // The last step's stats: waits for the work queued so far.
  ActStepStats read_stats() const {
    ActStepStats s;
    Ops::download(&s, stats_.data(), 1);
    return s;
  }

  const Buffer<T>& logits() const { return logits_; }              // (b*S, V) of the last step
  const Buffer<T>& q() const { return q_; }                        // (b, 2): halt, continue
  const Buffer<ops::acc_t<T>>& target_q_continue() const { return target_; }  // (b)
  const Buffer<std::int32_t>& predictions() const { return argmax_; }  // (b, S)
  const Buffer<ops::SeqLoss>& seq_losses() const { return seq_; }
  const Buffer<ActStepStats>& stats() const { return stats_; }  // (1) of the last step, in Ops::Memory
  HrmModel<Ops, T>& model() { return model_; }

 private:
  // Halted slots take the incoming rows and restart; then the carry's puzzle rows are gathered.
  void start_segment(const Weights& w, Carry& c, const Batch& in) {
    Ops::act_reset(c.zH.data(), c.zL.data(), c.steps.data(), c.data.inputs.data(), c.data.labels.data(),
                   c.data.puzzle_ids.data(), w.H_init.data(), w.L_init.data(), c.halted.data(), in.inputs.data(),
                   in.labels.data(), in.puzzle_ids.data(), b_, d_.tokens, d_.hidden, d_.seq_len);
    if (d_.puzzle_ndim > 0)
      Ops::gather_rows(puzzle_rows_.data(), w.puzzle_emb.data(), c.data.puzzle_ids.data(), b_, d_.puzzle_ndim);
  }

  HrmDims d_;
  std::int64_t b_;
  HrmModel<Ops, T> model_;
  Buffer<T> logits_, dlogits_, q_, q_next_, dq_;
  Buffer<ops::acc_t<T>> target_;  // (b): the Q-continue target, fp32 in a bf16 model (HRM's fp32 q)
  Buffer<ops::SeqLoss> seq_;
  Buffer<std::int32_t> argmax_;
  Buffer<T> puzzle_rows_, zH_next_, zL_next_;
  Buffer<double> seq_scale_;          // (b): loss_scale for every sequence
  Buffer<ActStepStats> stats_;        // (1)
};

}  // namespace hrm
