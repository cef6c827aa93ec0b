// trainer.hpp: HRM's training loop (HRM-SPEC 3.4) on the CPU backend, or, given a DeviceStep
// factory, on another backend's copy of the state (trainer/cuda: the CUDA trainer, NCCL across ranks).
//
// Per sampler batch: HRM's step counter += 1; batches past total_steps are consumed and skipped;
// otherwise one ACT training step (forward, Q target, loss, backward of total / B), then AdamATan2 on
// the dense slab and sign-SGD on the carry's puzzle rows, both at the warmup + cosine LR of that
// step. An iteration is one pass of the sampler (eval_interval epochs); after each comes an
// evaluation and, with checkpoint_every_eval, a checkpoint.
//
// TrainerState is everything a checkpoint holds, so a resumed run continues bit for bit. With a
// device step, its weights, moments and carry are the device's as of the last global_carry() or
// state pull (checkpoints); step and sampler are always current. A device step evaluates on the device.
//
// Data parallel (HRM-SPEC 3.2, 3.4, 5.1; trainer/dist): with a World of W ranks each rank keeps the
// slots [r*b, (r+1)*b) of the global batch B (b = B / W) and its own part of the ACT carry; every rank
// draws the same sampler stream and exploration draws and keeps its rows. The loss is scaled by 1/B
// (global), the dense gradient slab is summed over ranks (bucketed all-reduce), the puzzle rows and
// their gradients are all-gathered in rank order (= the global slot order) and every rank runs the
// identical AdamATan2 and sign-SGD update. The slab's all-reduce overlaps the backward pass: each
// part (heads, H, L, embeddings) is posted as soon as its gradient is final (CPU ranks: MPI here; a
// device step: its own collectives, NCCL for CUDA). Step and evaluation metric sums are reduced, so
// every rank logs the values one process with batch B logs (up to the order of float sums).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "datasets/dataset.hpp"
#include "datasets/sampler.hpp"
#include "trainer/cpu/cpu_ops.hpp"
#include "trainer/dist/world.hpp"
#include "trainer/loop/evaluate.hpp"
#include "trainer/model/act.hpp"

namespace hrm {

struct TrainerState {
  HrmWeights<float> weights;
  std::vector<float> adam_m, adam_v;  // (layout.total) AdamATan2 moments
  std::int64_t step = 0;              // HRM's train_state.step: batches taken, skipped ones included
  SamplerState sampler;               // position of the training sampler
  bool iteration_evaluated = false;   // the evaluation after the current iteration has run
  ActCarry<float> carry;              // the ACT carry (slots mid-puzzle)
};

// What one optimizer step logs (HRM-SPEC 2.4, normalised as HRM logs it: losses / B, the rest /
// max(count, 1), so count is 1 or 0).
struct StepLog {
  std::int64_t step = 0;
  double lr = 0, loss = 0, lm_loss = 0, q_halt_loss = 0, q_continue_loss = 0;
  double count = 0, accuracy = 0, exact_accuracy = 0, q_halt_accuracy = 0, steps = 0;
  double grad_norm = 0;  // L2 norm of the dense gradient of total / B (puzzle rows excluded)
  double seconds = 0;    // wall time of the step
};

// The HRM-SPEC 3.1/3.2 update after a backward pass: AdamATan2 on `grads`, sign-SGD on the puzzle rows
// `puzzle_ids` with gradients `puzzle_grads` (rows x ndim), at optimizer step `t` (1-based).
void apply_optimizers(HrmWeights<float>& w, std::vector<float>& adam_m, std::vector<float>& adam_v,
                      const std::vector<float>& grads, const std::int32_t* puzzle_ids, const float* puzzle_grads,
                      std::int64_t rows, std::int64_t t, double lr, double puzzle_lr, const TrainConfig& tc);

// A training step that runs on another backend's copy of the state (trainer/cuda/cuda_train_step.hpp).
// load() copies the trainer's state there; step() runs one ACT training step and the optimizer
// update at optimizer step `t` there, throwing as the CPU path does on a non-finite loss, gradient or
// parameter; store() copies weights, moments and carry back; evaluate() runs hrm::evaluate's loop
// on the backend's copy of the weights (the batch of `o` is the step's local batch times the world).
// Called once per step or evaluation (no hot loop).
struct DeviceStepResult {
  ActStepStats stats;
  double grad_sq = 0;  // sum of squares of the dense gradient of total / B
};
class DeviceStep {
 public:
  virtual ~DeviceStep() = default;
  virtual void load(const TrainerState& s) = 0;
  virtual DeviceStepResult step(const ActBatch& batch, const std::int32_t* min_halt_steps, double loss_scale,
                                std::int64_t t, double lr, double puzzle_lr, const TrainConfig& tc) = 0;
  virtual void store(TrainerState& s) = 0;
  virtual EvalResult evaluate(const DatasetSplit& test, const EvalOptions& o) = 0;
};
// Makes the device step for a model of shape `d` and local batch `batch`, one of the ranks of `world`
// (the device step then sums its gradients and gathers its puzzle rows over them itself).
using DeviceStepFactory =
    std::function<std::unique_ptr<DeviceStep>(const HrmDims& d, std::int64_t batch, const World& world)>;

// Collective: the step's loss and metric sums over the ranks (in place; a world of one keeps them).
void allreduce_stats(const World& w, ActStepStats& s);

// The model shape of `cfg` trained on a dataset with metadata `m` (vocab, seq_len, identifiers).
HrmDims dims_for(const Config& cfg, const DatasetMetadata& m);

class Trainer {
 public:
  // Fresh weights from the config's seed, or `init` (weights only) when given. `world` (which must
  // outlive the trainer) gives the rank and world size; none is one process. Every rank constructs
  // its trainer from the same config and dataset. With `device` every step runs on the step it makes
  // (given the world), loaded with the initial state; the CPU path's model is never allocated.
  Trainer(const Config& cfg, const std::string& dataset_dir, std::optional<HrmWeights<float>> init = std::nullopt,
          const World* world = nullptr, const DeviceStepFactory& device = {});

  const Config& config() const { return cfg_; }
  const HrmDims& dims() const { return dims_; }
  std::int64_t total_steps() const { return total_steps_; }  // HRM's int(epochs * groups * mean / B)
  std::int64_t total_iterations() const { return total_iters_; }
  const DatasetSplit& train_split() const { return train_; }
  const DatasetSplit* test_split() const { return test_ ? &*test_ : nullptr; }
  TrainerState& state() { return state_; }
  const TrainerState& state() const { return state_; }
  const World& world() const { return *world_; }
  std::int64_t local_batch() const { return local_batch_; }

  // Takes the next sampler batch. Returns false at the end of the current iteration (call
  // end_iteration()) or of the run (done()). Sets *log when an optimizer step ran (not for skipped
  // batches past total_steps).
  bool next_batch(std::optional<StepLog>& log);
  // Closes the current iteration: the next next_batch() starts a new one.
  void end_iteration();
  bool done() const { return state_.sampler.iteration >= total_iters_ && state_.iteration_evaluated; }
  bool at_iteration_end() const { return at_iteration_end_; }
  EvalResult evaluate(EvalPredictions* keep = nullptr, const EvalOptions::Progress& progress = {});

  // Restores a checkpoint's state (same model shape, checked by the caller; the carry is this rank's).
  void restore(TrainerState s);

  // Collective: every rank's carry in rank order (the global batch's slots) on rank 0, empty
  // elsewhere; first checks that all ranks hold identical weights (DistError if not). With a device
  // step, first copies the device's state back into state().
  ActCarry<float> global_carry();
  // FNV-1a of the weights, the puzzle table and H/L init: equal on every rank of a healthy run.
  std::uint64_t weights_checksum() const;

 private:
  Config cfg_;
  DatasetSplit train_;
  std::optional<DatasetSplit> test_;
  HrmDims dims_;
  World solo_;                 // the world of one when none is given
  const World* world_;
  std::int64_t global_batch_, local_batch_, rank_ = 0, world_size_ = 1;
  std::int64_t total_steps_ = 0, total_iters_ = 0;
  PuzzleIndex index_;
  std::unique_ptr<PhiloxDraws> draws_;
  std::unique_ptr<TrainSampler> sampler_;
  bool at_iteration_end_ = false;
  TrainerState state_;
  std::optional<HrmAct<CpuOps, float>> act_;  // the CPU path's model (none with a device step)
  std::vector<float> grads_, puzzle_grads_, all_puzzle_grads_;  // all_*: every rank's rows (W > 1)
  std::vector<std::int32_t> all_puzzle_ids_;
  std::vector<std::int32_t> min_halt_;
  ActBatch batch_;
  std::unique_ptr<DeviceStep> device_;  // null: the CPU path
  bool host_stale_ = false;             // the device's state is newer than state_'s
  bool allreduce_overlap_ = true;       // W > 1: sum gradient parts during the backward (HRM_ALLREDUCE_OVERLAP)

  // One step on the CPU backend (gradients all-reduced over ranks); *grad_sq gets the gradient's
  // sum of squares. The caller logs.
  ActStepStats cpu_step(double lr, double puzzle_lr, double* grad_sq);
  void pull_device_state();

  // Collective: every rank's predictions on rank 0, in the test split's storage order.
  EvalPredictions gather_predictions(const EvalPredictions& local) const;
};

}  // namespace hrm
