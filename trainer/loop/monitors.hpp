// monitors.hpp: live checks on a training run, from the monitoring advice of the HRM training
// configuration report (../shared/docs/hrm-config-report.md, "Monitoring During Training"): the
// gradient norm should rise gradually during warmup, not spike; watch for loss spikes; ACT should
// neither collapse to one segment nor stay at halt_max_steps; on a GPU, compute utilisation > 90% and
// memory use > 85%.
//
// Fed one StepLog per optimizer step (the numbers the trainer logs anyway), a monitor returns the
// events of that step; run.cpp prints them as "# warning: ..." lines and appends them to
// monitors.jsonl, and `hrm report` shows them as findings. Rules:
//  - grad-norm-spike (warning): grad_norm > grad_spike x the median of the previous `window` steps
//    (after min_history steps). During warmup a smooth rise stays far below that factor.
//  - loss-spike (warning): loss > loss_spike x the median of the previous `window` steps.
//  - act-steps-collapsed (warning): after warmup, the mean ACT steps of halted slots over act_window
//    steps is <= act_collapse (every puzzle stops after its first segment).
//  - act-steps-saturated (info): after warmup, that mean is >= halt_max_steps - act_saturate_margin
//    over act_window steps (Q-halting never fires; expected early, a note when it lasts).
//  - gpu-utilisation-low / gpu-memory-low (info): the window's mean device sample below the targets.
//    Only with a DeviceSampler; the CPU backend has none (no GPU backend exists yet), so these never
//    fire on CPU and nothing is estimated in their place.
// A rule that fired stays quiet for `window` steps (spikes) or for the rest of the run (ACT, device),
// so one episode is one event.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trainer/loop/trainer.hpp"

namespace hrm {

struct MonitorEvent {
  std::int64_t step = 0;
  std::string id;        // the rule, as listed above
  std::string severity;  // "warning" | "info"
  double value = std::numeric_limits<double>::quiet_NaN();  // what was measured
  double limit = std::numeric_limits<double>::quiet_NaN();  // what it was held against
  bool in_warmup = false;
  std::string message;   // one sentence with the numbers
};
nlohmann::json monitor_event_json(const MonitorEvent& e);

// One reading of the device the step ran on: compute busy fraction and memory used / capacity.
struct DeviceSample {
  double utilisation = 0, memory_fraction = 0;
};
using DeviceSampler = std::function<std::optional<DeviceSample>()>;  // empty: no device to read (CPU)

struct MonitorLimits {
  std::size_t window = 20;        // steps of history a spike is compared with
  std::size_t min_history = 2;    // steps of history before a spike can be called (early warmup is when they matter)
  double grad_spike = 5.0;        // x median grad_norm
  double loss_spike = 2.0;        // x median loss
  std::size_t act_window = 50;    // steps with halted slots that a collapse or saturation must last
  double act_collapse = 1.25;     // mean ACT steps at or below: collapsed
  double act_saturate_margin = 0.05;
  double gpu_utilisation = 0.90, gpu_memory = 0.85;  // the report's targets
};

class TrainingMonitor {
 public:
  TrainingMonitor(std::int64_t warmup_steps, std::int64_t halt_max_steps, MonitorLimits limits = {});
  std::vector<MonitorEvent> observe(const StepLog& s, const std::optional<DeviceSample>& device = std::nullopt);

 private:
  void spike(const char* id, const char* what, double v, std::deque<double>& history, double factor,
             std::int64_t& quiet_until, const StepLog& s, std::vector<MonitorEvent>& out) const;
  void act(const StepLog& s, std::vector<MonitorEvent>& out);
  void device(const StepLog& s, const DeviceSample& d, std::vector<MonitorEvent>& out);

  std::int64_t warmup_, halt_max_;
  MonitorLimits l_;
  std::deque<double> grad_, loss_, act_steps_;
  std::deque<DeviceSample> device_;
  std::int64_t grad_quiet_ = 0, loss_quiet_ = 0;
  bool collapsed_ = false, saturated_ = false, util_low_ = false, mem_low_ = false;
};

}  // namespace hrm
