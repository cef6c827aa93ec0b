// trainer.cpp: HRM's training loop, one sampler batch at a time, on the CPU backend or a DeviceStep.
#include "trainer/loop/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "common/error.hpp"
#include "common/schedule.hpp"
#include "trainer/dist/allreduce.hpp"
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

void allreduce_stats(const World& w, ActStepStats& s) {
  if (w.size() == 1) return;
  double m[9] = {s.lm_loss, s.q_halt_loss, s.q_continue_loss, s.total, s.count, s.accuracy, s.exact_accuracy,
                 s.q_halt_accuracy, s.steps};
  allreduce_sum(w, m, 9);
  s.lm_loss = m[0], s.q_halt_loss = m[1], s.q_continue_loss = m[2], s.total = m[3], s.count = m[4];
  s.accuracy = m[5], s.exact_accuracy = m[6], s.q_halt_accuracy = m[7], s.steps = m[8];
}

HrmDims dims_for(const Config& cfg, const DatasetMetadata& m) {
  return HrmDims::from(cfg.arch, cfg.puzzle_emb_ndim(), m.vocab_size, m.seq_len, m.num_puzzle_identifiers);
}

namespace {

// HRM-SPEC 5.3: B must be divisible by W.
std::int64_t local_batch_of(std::int64_t B, std::int64_t W) {
  if (B % W != 0)
    throw InputError("train.global_batch_size",
                     fmt::format("{} is not divisible by the {} ranks of this run", B, W),
                     fmt::format("use a multiple of {} (each rank takes B / W rows)", W));
  return B / W;
}

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

// HRM_ALLREDUCE_OVERLAP=0: sum the gradient slab after the backward pass, not during it (to measure
// what the overlap saves: bench/bench_dist_overlap.py).
bool allreduce_overlap_from_env() {
  const char* v = std::getenv("HRM_ALLREDUCE_OVERLAP");
  if (!v || !*v || std::string_view(v) == "1") return true;
  if (std::string_view(v) == "0") return false;
  throw InputError("environment variable HRM_ALLREDUCE_OVERLAP", fmt::format("'{}' is not 0 or 1", v));
}

template <class T> void append_rows(std::vector<T>& out, const std::vector<T>& from, std::int64_t begin, std::int64_t n) {
  out.insert(out.end(), from.begin() + begin, from.begin() + begin + n);
}

}  // namespace

Trainer::Trainer(const Config& cfg, const std::string& dataset_dir, std::optional<HrmWeights<float>> init,
                 const World* world, const DeviceStepFactory& device)
    : cfg_(cfg),
      train_(DatasetSplit::open(dataset_dir, "train")),
      dims_(dims_for(cfg, train_.meta())),
      world_(world ? world : &solo_),
      global_batch_(cfg.train.global_batch_size),
      local_batch_(local_batch_of(global_batch_, world_->size())),
      rank_(world_->rank()),
      world_size_(world_->size()),
      index_(PuzzleIndex::of(train_)) {
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
  min_halt_.assign(local_batch_, 0);
  allreduce_overlap_ = allreduce_overlap_from_env();
  if (device) {
    device_ = device(dims_, local_batch_, *world_);
    device_->load(state_);
    return;
  }
  act_.emplace(dims_, local_batch_);
  grads_.assign(state_.weights.layout.total, 0.0f);
  puzzle_grads_.assign(local_batch_ * dims_.puzzle_ndim, 0.0f);
}

void Trainer::restore(TrainerState s) {
  state_ = std::move(s);
  sampler_->restore(state_.sampler);
  at_iteration_end_ = false;
  if (device_) device_->load(state_);
  host_stale_ = false;
}

void Trainer::pull_device_state() {
  if (!host_stale_) return;
  device_->store(state_);
  host_stale_ = false;
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
  const std::int64_t row_begin = rank_ * local_batch_;  // HRM-SPEC 5.1: rank r keeps rows [r*b, (r+1)*b)
  load_train_batch(batch_, train_, batch_rows(gb, index_, tc.seed, row_begin, row_begin + local_batch_));
  exploration_draws(min_halt_.data(), static_cast<std::uint64_t>(tc.seed), state_.step, global_batch_, row_begin,
                    row_begin + local_batch_, dims_.halt_exploration_prob, dims_.halt_max_steps);
  const double lr = hrm_lr(tc.lr, state_.step, tc.lr_warmup_steps, total_steps_, tc.lr_min_ratio);
  const double plr = hrm_lr(tc.puzzle_emb_lr, state_.step, tc.lr_warmup_steps, total_steps_, tc.lr_min_ratio);
  ActStepStats s;
  double sq = 0;
  if (device_) {
    const DeviceStepResult r = device_->step(batch_, min_halt_.data(), 1.0 / static_cast<double>(global_batch_),
                                             state_.step, lr, plr, tc);
    s = r.stats;
    sq = r.grad_sq;
    host_stale_ = true;
  } else {
    s = cpu_step(lr, plr, &sq);
  }

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

ActStepStats Trainer::cpu_step(double lr, double puzzle_lr, double* grad_sq) {
  std::fill(grads_.begin(), grads_.end(), 0.0f);
  // W > 1: each part of the gradient slab is summed over the ranks from the moment the backward
  // pass has finished it (HrmModel::backward's hook), while the rest of the backward runs; the
  // global sums are what one process with batch B computes, up to the order of float additions.
  SlabAllreduce grad_sum(*world_, grads_.data(), static_cast<std::int64_t>(grads_.size()));
  GradsReady ready;
  if (world_size_ > 1 && allreduce_overlap_)
    ready = [&grad_sum](std::int64_t begin, std::int64_t end) {
      grad_sum.start(begin, end);
      grad_sum.progress();
    };
  ActStepStats s = act_->train_step(state_.weights, state_.carry, batch_, min_halt_.data(),
                                   1.0 / static_cast<double>(global_batch_), grads_.data(), puzzle_grads_.data(), ready);
  if (!ready) grad_sum.start(0, static_cast<std::int64_t>(grads_.size()));
  grad_sum.wait();
  const std::int32_t* puzzle_ids = state_.carry.data.puzzle_ids.data();
  const float* puzzle_grads = puzzle_grads_.data();
  std::int64_t puzzle_rows = local_batch_;
  allreduce_stats(*world_, s);
  if (world_size_ > 1 && dims_.puzzle_ndim > 0) {  // HRM-SPEC 3.2 step 1: every rank's rows, in the global slot order
    allgather_rows(*world_, puzzle_ids, puzzle_grads, local_batch_, dims_.puzzle_ndim, all_puzzle_ids_, all_puzzle_grads_);
    puzzle_ids = all_puzzle_ids_.data();
    puzzle_grads = all_puzzle_grads_.data();
    puzzle_rows = local_batch_ * world_size_;
  }
  check_finite_loss(state_.step, s);
  double sq = 0;
  for (float g : grads_) sq += static_cast<double>(g) * g;
  *grad_sq = sq;
  // A finite loss can still have a non-finite gradient; name the tensor before the update spreads it.
  // (With W ranks: the gathered rows of every rank, so all ranks check, and fail, alike.)
  const std::span<const std::int32_t> ids(puzzle_ids, static_cast<std::size_t>(puzzle_rows));
  if (!std::isfinite(sq)) check_finite_slab(state_.step, "gradient", state_.weights.layout, grads_);
  check_finite_puzzle_rows(state_.step, "gradient",
                           std::span<const float>(puzzle_grads, static_cast<std::size_t>(puzzle_rows * dims_.puzzle_ndim)),
                           dims_.puzzle_ndim, ids, true);
  apply_optimizers(state_.weights, state_.adam_m, state_.adam_v, grads_, puzzle_ids, puzzle_grads, puzzle_rows,
                   state_.step, lr, puzzle_lr, cfg_.train);
  check_finite_slab(state_.step, "parameter after the update", state_.weights.layout, state_.weights.params);
  check_finite_puzzle_rows(state_.step, "parameter after the update", state_.weights.puzzle_emb, dims_.puzzle_ndim, ids, false);
  return s;
}

void Trainer::end_iteration() {
  state_.iteration_evaluated = true;
  at_iteration_end_ = false;
}

EvalResult Trainer::evaluate(EvalPredictions* keep, const EvalOptions::Progress& progress) {
  HRM_CHECK(test_.has_value(), "evaluate() without a test split");
  EvalOptions o;
  o.global_batch = global_batch_;
  o.world_size = world_size_;
  o.rank = rank_;
  EvalPredictions local;
  o.keep = keep ? &local : nullptr;
  o.progress = progress;
  // This rank's slice of every window (HRM-SPEC 5.2), on the device step's weights where there is one.
  EvalResult r = device_ ? device_->evaluate(*test_, o) : hrm::evaluate(state_.weights, *test_, o);
  if (world_size_ > 1) {
    allreduce_sum(*world_, r.sums.data(), static_cast<std::int64_t>(r.sums.size()));
    set_eval_metrics(r);
  }
  if (keep) *keep = world_size_ > 1 ? gather_predictions(local) : std::move(local);
  return r;
}

EvalPredictions Trainer::gather_predictions(const EvalPredictions& local) const {
  EvalPredictions all, out;
  gather_to_root(*world_, local.inputs, all.inputs);
  gather_to_root(*world_, local.labels, all.labels);
  gather_to_root(*world_, local.predictions, all.predictions);
  gather_to_root(*world_, local.puzzle_ids, all.puzzle_ids);
  gather_to_root(*world_, local.q_halt, all.q_halt);
  if (!world_->is_root()) return out;
  // Rank order holds each rank's rows of every window; storage order is window by window, rank by
  // rank within a window (HRM-SPEC 5.2), which ARC's voting (first seen wins ties) depends on.
  const std::int64_t N = test_->num_examples(), S = dims_.seq_len, n_batches = test_batch_count(N, global_batch_);
  std::vector<std::int64_t> begin(static_cast<std::size_t>(world_size_), 0);  // each rank's first row in `all`
  for (std::int64_t r = 1; r < world_size_; ++r) {
    std::int64_t n = 0;
    for (std::int64_t k = 0; k < n_batches; ++k) {
      const TestBatch tb = test_batch(N, global_batch_, world_size_, r - 1, k);
      n += tb.local_end - tb.local_begin;
    }
    begin[r] = begin[r - 1] + n;
  }
  out.seq_len = S;
  for (std::int64_t k = 0; k < n_batches; ++k)
    for (std::int64_t r = 0; r < world_size_; ++r) {
      const TestBatch tb = test_batch(N, global_batch_, world_size_, r, k);
      const std::int64_t n = tb.local_end - tb.local_begin, at = begin[r];
      append_rows(out.inputs, all.inputs, at * S, n * S);
      append_rows(out.labels, all.labels, at * S, n * S);
      append_rows(out.predictions, all.predictions, at * S, n * S);
      append_rows(out.puzzle_ids, all.puzzle_ids, at, n);
      append_rows(out.q_halt, all.q_halt, at, n);
      begin[r] += n;
    }
  return out;
}

std::uint64_t Trainer::weights_checksum() const {
  const HrmWeights<float>& w = state_.weights;
  std::uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, w.params.data(), w.params.size() * sizeof(float));
  h = fnv1a(h, w.puzzle_emb.data(), w.puzzle_emb.size() * sizeof(float));
  h = fnv1a(h, w.H_init.data(), w.H_init.size() * sizeof(float));
  h = fnv1a(h, w.L_init.data(), w.L_init.size() * sizeof(float));
  return h;
}

ActCarry<float> Trainer::global_carry() {
  pull_device_state();
  if (world_size_ == 1) return state_.carry;
  check_identical(*world_, weights_checksum(), fmt::format("the weights checksum at step {}", state_.step));
  const ActCarry<float>& c = state_.carry;
  ActCarry<float> g;
  gather_to_root(*world_, c.zH, g.zH);
  gather_to_root(*world_, c.zL, g.zL);
  gather_to_root(*world_, c.steps, g.steps);
  gather_to_root(*world_, c.halted, g.halted);
  gather_to_root(*world_, c.data.inputs, g.data.inputs);
  gather_to_root(*world_, c.data.labels, g.data.labels);
  gather_to_root(*world_, c.data.puzzle_ids, g.data.puzzle_ids);
  return g;
}

}  // namespace hrm
