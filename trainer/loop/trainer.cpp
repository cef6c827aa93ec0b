// trainer.cpp: HRM's training loop on the CPU backend, one sampler batch at a time.
#include "trainer/loop/trainer.hpp"

#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "common/schedule.hpp"
#include "trainer/loop/adam_atan2.hpp"
#include "trainer/loop/batches.hpp"
#include "trainer/loop/numeric_check.hpp"
#include "trainer/loop/sign_sgd.hpp"

namespace hrm {

void apply_optimizers(HrmWeights<float>& w, std::vector<float>& adam_m, std::vector<float>& adam_v,
                      const std::vector<float>& grads, const std::int32_t* puzzle_ids, const float* puzzle_grads,
                      std::int64_t rows, std::int64_t t, double lr, double puzzle_lr, const TrainConfig& tc) {
  adam_atan2_step(w.params.data(), grads.data(), adam_m.data(), adam_v.data(), w.layout.total, t, lr, tc.beta1,
                  tc.beta2, tc.weight_decay);
  if (w.dims.puzzle_ndim > 0)
    sign_sgd_step(w.puzzle_emb.data(), w.dims.num_identifiers, w.dims.puzzle_ndim, puzzle_ids, puzzle_grads, rows, puzzle_lr,
                  tc.puzzle_emb_weight_decay);
}

HrmDims dims_for(const Config& cfg, const DatasetMetadata& m) {
  return HrmDims::from(cfg.arch, cfg.puzzle_emb_ndim(), m.vocab_size, m.seq_len, m.num_puzzle_identifiers);
}

Trainer::Trainer(const Config& cfg, const std::string& dataset_dir, std::optional<HrmWeights<float>> init)
    : cfg_(cfg),
      train_(DatasetSplit::open(dataset_dir, "train")),
      dims_(dims_for(cfg, train_.meta())),
      global_batch_(cfg.train.global_batch_size),
      local_batch_(cfg.train.global_batch_size / cfg.hardware.num_gpus),
      index_(PuzzleIndex::of(train_)),
      act_(dims_, cfg.train.global_batch_size / cfg.hardware.num_gpus) {
  // One process here; the distributed launcher (trainer/dist) sets rank_ and world_.
  world_ = 1;
  local_batch_ = global_batch_;
  try {
    test_.emplace(DatasetSplit::open(dataset_dir, "test"));
  } catch (const InputError&) {
    test_.reset();  // a dataset without a test split trains without evaluation
  }
  const DatasetMetadata& m = train_.meta();
  total_steps_ = hrm_total_steps(cfg.train.epochs, m.total_groups, m.mean_puzzle_examples, global_batch_);
  total_iters_ = cfg.train.epochs / cfg.epochs_per_iter();
  draws_ = std::make_unique<PhiloxDraws>(cfg.train.seed);
  sampler_ = std::make_unique<TrainSampler>(index_, global_batch_, cfg.epochs_per_iter(), *draws_);
  state_.weights = init ? std::move(*init) : HrmWeights<float>::init(dims_, static_cast<std::uint64_t>(cfg.train.seed));
  state_.adam_m.assign(state_.weights.layout.total, 0.0f);
  state_.adam_v.assign(state_.weights.layout.total, 0.0f);
  state_.carry = ActCarry<float>::initial(dims_, local_batch_);
  state_.iteration_evaluated = true;  // no iteration open yet
  grads_.assign(state_.weights.layout.total, 0.0f);
  puzzle_grads_.assign(local_batch_ * dims_.puzzle_ndim, 0.0f);
  min_halt_.assign(local_batch_, 0);
}

void Trainer::restore(TrainerState s) {
  state_ = std::move(s);
  sampler_->restore(state_.sampler);
  at_iteration_end_ = false;
}

bool Trainer::next_batch(std::optional<StepLog>& log) {
  log.reset();
  if (at_iteration_end_) return false;
  if (state_.iteration_evaluated) {
    if (state_.sampler.iteration >= total_iters_) return false;
    sampler_->start_iteration();
    state_.iteration_evaluated = false;
  }
  GlobalBatch gb;
  const bool got = sampler_->next_batch(gb);
  state_.sampler = sampler_->state();
  if (!got) {
    at_iteration_end_ = true;
    return false;
  }
  state_.step += 1;
  if (state_.step > total_steps_) return true;  // HRM consumes but skips batches past total_steps

  const auto t0 = std::chrono::steady_clock::now();
  const TrainConfig& tc = cfg_.train;
  const std::int64_t row_begin = rank_ * local_batch_;
  load_train_batch(batch_, train_, batch_rows(gb, index_, tc.seed, row_begin, row_begin + local_batch_));
  exploration_draws(min_halt_.data(), static_cast<std::uint64_t>(tc.seed), state_.step, global_batch_, row_begin,
                    row_begin + local_batch_, dims_.halt_exploration_prob, dims_.halt_max_steps);
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  const ActStepStats s = act_.train_step(state_.weights, state_.carry, batch_, min_halt_.data(),
                                         1.0 / static_cast<double>(global_batch_), grads_.data(), puzzle_grads_.data());
  if (!std::isfinite(s.total))
    throw Error(fmt::format("step {}: the loss is {} (lm_loss {}, q_halt_loss {}, q_continue_loss {}); training stopped, "
                            "the last checkpoint is kept. hint: lower train.lr or check the data",
                            state_.step, s.total, s.lm_loss, s.q_halt_loss, s.q_continue_loss));
  const double lr = hrm_lr(tc.lr, state_.step, tc.lr_warmup_steps, total_steps_, tc.lr_min_ratio);
  const double plr = hrm_lr(tc.puzzle_emb_lr, state_.step, tc.lr_warmup_steps, total_steps_, tc.lr_min_ratio);
  double sq = 0;
  for (float g : grads_) sq += static_cast<double>(g) * g;
  // A finite loss can still have a non-finite gradient; name the tensor before the update spreads it.
  const std::span<const std::int32_t> ids(state_.carry.data.puzzle_ids);
  if (!std::isfinite(sq)) check_finite_slab(state_.step, "gradient", state_.weights.layout, grads_);
  check_finite_puzzle_rows(state_.step, "gradient", puzzle_grads_, dims_.puzzle_ndim, ids, true);
  apply_optimizers(state_.weights, state_.adam_m, state_.adam_v, grads_, state_.carry.data.puzzle_ids.data(),
                   puzzle_grads_.data(), local_batch_, state_.step, lr, plr, tc);
  check_finite_slab(state_.step, "parameter after the update", state_.weights.layout, state_.weights.params);
  check_finite_puzzle_rows(state_.step, "parameter after the update", state_.weights.puzzle_emb, dims_.puzzle_ndim, ids, false);

  StepLog l;
  l.step = state_.step;
  l.lr = lr;
  const double B = static_cast<double>(global_batch_), count = std::max(s.count, 1.0);
  l.loss = s.total / B;
  l.lm_loss = s.lm_loss / B;
  l.q_halt_loss = s.q_halt_loss / B;
  l.q_continue_loss = s.q_continue_loss / B;
  l.count = s.count / count;
  l.accuracy = s.accuracy / count;
  l.exact_accuracy = s.exact_accuracy / count;
  l.q_halt_accuracy = s.q_halt_accuracy / count;
  l.steps = s.steps / count;
  l.grad_norm = std::sqrt(sq);
  l.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log = l;
  return true;
}

void Trainer::end_iteration() {
  state_.iteration_evaluated = true;
  at_iteration_end_ = false;
}

EvalResult Trainer::evaluate(EvalPredictions* keep, const EvalOptions::Progress& progress) {
  HRM_CHECK(test_.has_value(), "evaluate() without a test split");
  EvalOptions o;
  o.global_batch = global_batch_;
  o.world_size = world_;
  o.rank = rank_;
  o.keep = keep;
  o.progress = progress;
  return hrm::evaluate(state_.weights, *test_, o);
}

}  // namespace hrm
