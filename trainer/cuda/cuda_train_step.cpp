// cuda_train_step.cpp: the CUDA trainer's step (cuda_train_step.hpp).
#include "trainer/cuda/cuda_train_step.hpp"

#include <cmath>

#include "trainer/cuda/model_device.hpp"
#include "trainer/cuda/optimizers.hpp"
#include "trainer/cuda/sum_squares.hpp"
#include "trainer/loop/numeric_check.hpp"

namespace hrm::cuda {
namespace {

class CudaTrainStep final : public DeviceStep {
 public:
  CudaTrainStep(const HrmDims& d, std::int64_t batch)
      : d_(d), b_(batch), act_(d, batch), puzzle_grads_(batch * d.puzzle_ndim), puzzle_rows_(puzzle_grads_.size()),
        min_halt_(batch) {}

  void load(const TrainerState& s) override {
    w_ = to_device(s.weights);
    m_ = DeviceBuffer<float>(s.adam_m);
    v_ = DeviceBuffer<float>(s.adam_v);
    grads_.resize(s.weights.params.size());
    carry_ = to_device(s.carry);
  }

  DeviceStepResult step(const ActBatch& batch, const std::int32_t* min_halt_steps, double loss_scale, std::int64_t t,
                        double lr, double puzzle_lr, const TrainConfig& tc) override {
    const std::int64_t n = w_.layout.total, nd = d_.puzzle_ndim;
    upload(batch_, batch);
    min_halt_.upload(min_halt_steps, static_cast<std::size_t>(b_));
    CudaOps::fill(grads_.data(), 0.0f, n);
    DeviceStepResult r;
    r.stats = act_.train_step(w_, carry_, batch_, min_halt_.data(), loss_scale, grads_.data(), puzzle_grads_.data());
    CudaOps::check_errors();
    check_finite_loss(t, r.stats);
    // A finite loss can still have a non-finite gradient; name the tensor before the update spreads it.
    r.grad_sq = sum_squares(grads_.data(), n);
    if (!std::isfinite(r.grad_sq)) check_finite_slab(t, "gradient", w_.layout, grads_.to_host());
    const std::vector<std::int32_t> ids = carry_.data.puzzle_ids.to_host();
    if (nd > 0) check_finite_puzzle_rows(t, "gradient", puzzle_grads_.to_host(), nd, ids, true);
    adam_atan2_step(w_.params.data(), grads_.data(), m_.data(), v_.data(), n, t, lr, tc.beta1, tc.beta2,
                    tc.weight_decay);
    if (nd > 0)
      sign_sgd_step(w_.puzzle_emb.data(), d_.num_identifiers, nd, carry_.data.puzzle_ids.data(), puzzle_grads_.data(),
                    b_, puzzle_lr, tc.puzzle_emb_weight_decay);
    CudaOps::check_errors();
    if (!std::isfinite(sum_squares(w_.params.data(), n)))
      check_finite_slab(t, "parameter after the update", w_.layout, w_.params.to_host());
    if (nd > 0) {
      CudaOps::gather_rows(puzzle_rows_.data(), w_.puzzle_emb.data(), carry_.data.puzzle_ids.data(), b_, nd);
      check_finite_puzzle_rows(t, "parameter after the update", puzzle_rows_.to_host(), nd, ids, true);
    }
    return r;
  }

  void store(TrainerState& s) override {
    to_host(s.weights, w_);
    s.adam_m = m_.to_host();
    s.adam_v = v_.to_host();
    to_host(s.carry, carry_);
  }

 private:
  HrmDims d_;
  std::int64_t b_;
  HrmAct<CudaOps, float> act_;
  DeviceWeights w_;
  DeviceBuffer<float> m_, v_, grads_;
  DeviceBuffer<float> puzzle_grads_, puzzle_rows_;  // (b, ndim): gradients, updated rows for the check
  DeviceCarry carry_;
  DeviceBatch batch_;
  DeviceBuffer<std::int32_t> min_halt_;
};

}  // namespace

std::unique_ptr<DeviceStep> make_train_step(const HrmDims& d, std::int64_t batch) {
  return std::make_unique<CudaTrainStep>(d, batch);
}

}  // namespace hrm::cuda
