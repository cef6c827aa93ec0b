// cuda_train_step.cpp: the CUDA trainer's step (cuda_train_step.hpp).
#include "trainer/cuda/cuda_train_step.hpp"

#include <cmath>
#include <type_traits>

#include "trainer/cuda/model_device.hpp"
#include "trainer/cuda/optimizers.hpp"
#include "trainer/cuda/step_report.hpp"
#include "trainer/cuda/sum_squares.hpp"
#include "trainer/loop/numeric_check.hpp"
#if defined(HRM_HAVE_NCCL)
#include "trainer/cuda/nccl_exchange.hpp"
#endif

namespace hrm::cuda {
namespace {

#if defined(HRM_HAVE_NCCL)
using Exchange = NcclExchange;
#else
struct Exchange {};  // never made: without NCCL the step trains one process
#endif

std::unique_ptr<Exchange> make_exchange(const World& world, const HrmDims& d, std::int64_t batch, bool when_alone) {
  if (world.size() == 1 && !when_alone) return nullptr;
#if defined(HRM_HAVE_NCCL)
  return std::make_unique<NcclExchange>(world, batch, d.puzzle_ndim);
#else
  (void)d, (void)batch;  // hrm train refuses several CUDA ranks without NCCL before it gets here
  HRM_CHECK(false, "a CUDA step of {} ranks (or NCCL when alone) in a build without NCCL", world.size());
#endif
}

template <class T> class CudaTrainStep final : public DeviceStep {
  static constexpr bool kBf16 = std::is_same_v<T, bf16>;

 public:
  CudaTrainStep(const HrmDims& d, std::int64_t batch, const World& world, bool nccl_when_alone)
      : exchange_(make_exchange(world, d, batch, nccl_when_alone)), world_(world), d_(d), b_(batch), act_(d, batch),
        puzzle_grads_(batch * d.puzzle_ndim), puzzle_rows_(batch * d.puzzle_ndim * world.size()), min_halt_(batch) {}

  void load(const TrainerState& s) override {
    // The kernels index by the step's own sizes (layout, table rows, b): a state of other sizes would
    // make them run past a device allocation without an error.
    const auto total = static_cast<std::size_t>(s.weights.layout.total);
    HRM_CHECK(s.weights.params.size() == total && s.adam_m.size() == total && s.adam_v.size() == total,
              "CUDA step: {} parameters, {} and {} moments; the layout has {}", s.weights.params.size(),
              s.adam_m.size(), s.adam_v.size(), total);
    HRM_CHECK(s.weights.puzzle_emb.size() == static_cast<std::size_t>(d_.num_identifiers * d_.puzzle_ndim),
              "CUDA step: a puzzle table of {} values for {} identifiers of {}", s.weights.puzzle_emb.size(),
              d_.num_identifiers, d_.puzzle_ndim);
    HRM_CHECK(s.carry.steps.size() == static_cast<std::size_t>(b_), "CUDA step: a carry of {} slots for a batch of {}",
              s.carry.steps.size(), b_);
    w_ = to_device<T>(s.weights);
    if constexpr (kBf16) master_ = DeviceBuffer<float>(s.weights.params);
    m_ = DeviceBuffer<float>(s.adam_m);
    v_ = DeviceBuffer<float>(s.adam_v);
    grads_.resize(s.weights.params.size());
    carry_ = to_device<T>(s.carry);
  }

  // The whole step is queued before the host waits, once, for its StepReport (step_report.hpp): the
  // checks between the backward and the update gate the optimizer kernels on the device, and a
  // failed one is named from the tensor downloaded afterwards (the weights are then unchanged).
  DeviceStepResult step(const ActBatch& batch, const std::int32_t* min_halt_steps, double loss_scale, std::int64_t t,
                        double lr, double puzzle_lr, const TrainConfig& tc) override {
    const std::int64_t n = w_.layout.total, nd = d_.puzzle_ndim;
    upload(batch_, batch);
    min_halt_.upload(min_halt_steps, static_cast<std::size_t>(b_));
    CudaOps::fill(grads_.data(), 0.0f, n);
    // The puzzle rows the update touches: this rank's, or every rank's in the global slot order.
    const std::int32_t* ids = carry_.data.puzzle_ids.data();
    const float* puzzle_grads = puzzle_grads_.data();
    std::int64_t rows = b_;
    const StepReport* report = nullptr;
    try {
      report_.start();
      act_.queue_train_step(w_, carry_, batch_, min_halt_.data(), loss_scale, grads_.data(), puzzle_grads_.data(),
                            hook());
      if constexpr (kBf16) round_to_bf16(puzzle_grads_.data(), b_ * nd);  // HRM's bf16 row gradients
#if defined(HRM_HAVE_NCCL)
      if (exchange_) {
        if (nd > 0) {
          exchange_->gather_rows(ids, puzzle_grads);
          ids = exchange_->all_ids();
          puzzle_grads = exchange_->all_grads();
          rows = exchange_->all_rows();
        }
        exchange_->join();
      }
#endif
      sum_squares_into(report_.grad_sq(), grads_.data(), n);
      if (nd > 0) sum_squares_into(report_.puzzle_grad_sq(), puzzle_grads, rows * nd);
      report_.open_gate(act_.stats().data());
      adam_atan2_step(master(), bf16_params(), grads_.data(), m_.data(), v_.data(), n, t, lr, tc.beta1, tc.beta2,
                      tc.weight_decay, report_.gate());
      if (nd > 0)
        sign_sgd_step(w_.puzzle_emb.data(), d_.num_identifiers, nd, ids, puzzle_grads, rows, puzzle_lr,
                      tc.puzzle_emb_weight_decay, report_.gate());
      sum_squares_into(report_.param_sq(), master(), n);
      if (nd > 0) {
        CudaOps::gather_rows(puzzle_rows_.data(), w_.puzzle_emb.data(), ids, rows, nd);
        sum_squares_into(report_.puzzle_param_sq(), puzzle_rows_.data(), rows * nd);
      }
#if defined(HRM_HAVE_NCCL)
      if (exchange_) exchange_->wait(fmt::format("the gradient all-reduce of step {}", t));
#endif
      report = &report_.collect();
    } catch (...) {
      drain_exchange();
      throw;
    }
    DeviceStepResult r{report->stats, report->grad_sq};
    allreduce_stats(world_, r.stats);
    check_finite_loss(t, r.stats);
    // A finite loss can still have a non-finite gradient; the tensor is named from the unchanged state.
    if (!std::isfinite(report->grad_sq)) check_finite_slab(t, "gradient", w_.layout, grads_.to_host());
    if (!std::isfinite(report->puzzle_grad_sq))
      check_finite_puzzle_rows(t, "gradient", download(puzzle_grads, rows * nd), nd, download(ids, rows), true);
    HRM_CHECK(report->gate == 1, "step {}: the CUDA step skipped its update though its checks passed on the host", t);
    if (!std::isfinite(report->param_sq))
      check_finite_slab(t, "parameter after the update", w_.layout, master_params_to_host());
    if (!std::isfinite(report->puzzle_param_sq))
      check_finite_puzzle_rows(t, "parameter after the update", puzzle_rows_.to_host(), nd, download(ids, rows), true);
    return r;
  }

  // HRM's evaluation on the device weights: per test batch the rows go up, the carry restarts (all
  // slots halted, steps 0: the first segment takes every row and resets z to H_init / L_init),
  // halt_max_steps segments run, and the last one's stats (and, when kept, predictions) come back.
  EvalResult evaluate(const DatasetSplit& test, const EvalOptions& o) override {
    HRM_CHECK(o.global_batch == b_ * o.world_size, "evaluation batch {} over {} ranks, the step's local batch is {}",
              o.global_batch, o.world_size, b_);
    DeviceCarry<T> carry = to_device<T>(ActCarry<float>::initial(d_, b_));
    const std::vector<std::int32_t> no_steps(static_cast<std::size_t>(b_), 0);
    const std::vector<std::uint8_t> all_halted(static_cast<std::size_t>(b_), 1);
    return evaluate_with(d_, test, o, [&](const ActBatch& batch, std::int64_t real, EvalPredictions* keep) {
      upload(batch_, batch);
      carry.steps.upload(no_steps.data(), no_steps.size());
      carry.halted.upload(all_halted.data(), all_halted.size());
      for (std::int64_t seg = 0; seg < d_.halt_max_steps; ++seg) act_.queue_eval_step(w_, carry, batch_);
      const ActStepStats s = act_.read_stats();
      CudaOps::check_errors();
      if (keep) {
        const std::vector<std::int32_t> pred = download(act_.predictions().data(), real * d_.seq_len);
        const std::vector<float> q = host_float(download(act_.q().data(), real * 2));
        keep->predictions.insert(keep->predictions.end(), pred.begin(), pred.end());
        for (std::int64_t i = 0; i < real; ++i) keep->q_halt.push_back(q[static_cast<std::size_t>(i * 2)]);
      }
      return s;
    });
  }

  void store(TrainerState& s) override {
    to_host(s.weights, w_);
    s.weights.params = master_params_to_host();
    s.adam_m = m_.to_host();
    s.adam_v = v_.to_host();
    to_host(s.carry, carry_);
  }

 private:
  std::unique_ptr<Exchange> exchange_;  // first: selects this rank's GPU before anything is allocated
  const World& world_;
  HrmDims d_;
  std::int64_t b_;
  HrmAct<CudaOps, T> act_;
  DeviceWeights<T> w_;           // the model's weights: the master itself (fp32) or its bf16 copy
  DeviceBuffer<float> master_;   // bf16 only: the fp32 master weights
  DeviceBuffer<float> m_, v_, grads_;
  DeviceBuffer<float> puzzle_grads_;  // (b, ndim)
  DeviceBuffer<float> puzzle_rows_;   // (W b, ndim): the updated rows of every rank, for the check
  DeviceCarry<T> carry_;
  DeviceBatch batch_;
  DeviceBuffer<std::int32_t> min_halt_;
  StepReporter report_;

  // After an error inside the step: the collectives already posted are waited for within
  // HRM_DIST_TIMEOUT_S (the communicator is aborted past it), so that no destructor's cudaFree waits
  // for NCCL kernels whose peer is gone. The caller rethrows the first error; this one's is dropped.
  void drain_exchange() noexcept {
#if defined(HRM_HAVE_NCCL)
    if (!exchange_) return;
    try {
      exchange_->finish("the posted exchanges, after an error in the step");
    } catch (...) {  // NOLINT(bugprone-empty-catch): the step's own error is the one to report
    }
#endif
  }

  // The fp32 master weights (the optimizer's and the checkpoints'), and the bf16 working copy.
  float* master() {
    if constexpr (kBf16) {
      return master_.data();
    } else {
      return w_.params.data();
    }
  }
  bf16* bf16_params() {  // null in fp32 storage: AdamATan2 then writes no copy
    if constexpr (kBf16) {
      return w_.params.data();
    } else {
      return nullptr;
    }
  }
  std::vector<float> master_params_to_host() const {
    if constexpr (kBf16) {
      return master_.to_host();
    } else {
      return w_.params.to_host();
    }
  }

  // Each part of the gradient slab as the backward finishes it: rounded to bf16 values first in bf16
  // storage (HRM's weight gradients are bf16, the grads of its per-use casts, then fp32 .grad: each
  // weight gets one gradient op per step, so the fp32 sum rounded once is HRM's), then all-reduced.
  GradsReady hook() {
    GradsReady send;
#if defined(HRM_HAVE_NCCL)
    if (exchange_) send = exchange_->slab_hook(grads_.data());
#endif
    if constexpr (kBf16) {
      return [this, send](std::int64_t begin, std::int64_t end) {
        round_to_bf16(grads_.data() + begin, end - begin);
        if (send) send(begin, end);
      };
    } else {
      return send;
    }
  }

  template <class U> static std::vector<U> download(const U* device, std::int64_t count) {
    std::vector<U> host(static_cast<std::size_t>(count));
    if (count > 0) CUDA_CHECK(cudaMemcpy(host.data(), device, host.size() * sizeof(U), cudaMemcpyDeviceToHost));
    return host;
  }
};

}  // namespace

const char* storage_name(Storage s) { return s == Storage::bf16 ? "bf16" : "fp32"; }

Storage storage_named(const std::string& name) {
  for (const Storage s : {Storage::fp32, Storage::bf16})
    if (name == storage_name(s)) return s;
  HRM_CHECK(false, "'{}' is not a CUDA storage type; expected fp32 or bf16", name);
}

std::unique_ptr<DeviceStep> make_train_step(const HrmDims& d, std::int64_t batch, const World& world, Storage storage,
                                            bool nccl_when_alone) {
  if (storage == Storage::bf16) return std::make_unique<CudaTrainStep<bf16>>(d, batch, world, nccl_when_alone);
  return std::make_unique<CudaTrainStep<float>>(d, batch, world, nccl_when_alone);
}

bool train_step_has_nccl() {
#if defined(HRM_HAVE_NCCL)
  return true;
#else
  return false;
#endif
}

}  // namespace hrm::cuda
