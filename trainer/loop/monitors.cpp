// monitors.cpp: the spike, ACT and device rules of a training run.
#include "trainer/loop/monitors.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace hrm {

namespace {

double median(const std::deque<double>& d) {
  std::vector<double> v(d.begin(), d.end());
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

template <class T> void push_window(std::deque<T>& d, const T& v, std::size_t n) {
  d.push_back(v);
  if (d.size() > n) d.pop_front();
}

double mean(const std::deque<double>& d) {
  double s = 0;
  for (double v : d) s += v;
  return s / static_cast<double>(d.size());
}

}  // namespace

nlohmann::json monitor_event_json(const MonitorEvent& e) {
  const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"step", e.step},         {"id", e.id},         {"severity", e.severity}, {"value", num(e.value)},
          {"limit", num(e.limit)}, {"in_warmup", e.in_warmup}, {"message", e.message}};
}

TrainingMonitor::TrainingMonitor(std::int64_t warmup_steps, std::int64_t halt_max_steps, MonitorLimits limits)
    : warmup_(warmup_steps), halt_max_(halt_max_steps), l_(limits) {}

std::vector<MonitorEvent> TrainingMonitor::observe(const StepLog& s, const std::optional<DeviceSample>& d) {
  std::vector<MonitorEvent> out;
  spike("grad-norm-spike", "gradient norm", s.grad_norm, grad_, l_.grad_spike, grad_quiet_, s, out);
  spike("loss-spike", "loss", s.loss, loss_, l_.loss_spike, loss_quiet_, s, out);
  act(s, out);
  if (d) device(s, *d, out);
  return out;
}

void TrainingMonitor::spike(const char* id, const char* what, double v, std::deque<double>& history, double factor,
                            std::int64_t& quiet_until, const StepLog& s, std::vector<MonitorEvent>& out) const {
  if (history.size() >= l_.min_history && s.step >= quiet_until) {
    const double m = median(history);
    if (m > 0 && v > factor * m) {
      MonitorEvent e{s.step, id, "warning", v / m, factor, s.step <= warmup_, ""};
      e.message = fmt::format("step {}{}: {} {:.4g} is {:.1f}x the median {:.4g} of the previous {} steps (limit {:g}x)",
                              s.step, e.in_warmup ? " (warmup)" : "", what, v, v / m, m, history.size(), factor);
      out.push_back(e);
      quiet_until = s.step + static_cast<std::int64_t>(l_.window);
    }
  }
  if (std::isfinite(v)) push_window(history, v, l_.window);
}

void TrainingMonitor::act(const StepLog& s, std::vector<MonitorEvent>& out) {
  if (halt_max_ < 2 || s.count <= 0) return;  // steps is measured only where slots halted
  push_window(act_steps_, s.steps, l_.act_window);
  if (s.step <= warmup_ || act_steps_.size() < l_.act_window) return;
  const double m = mean(act_steps_), top = static_cast<double>(halt_max_) - l_.act_saturate_margin * (halt_max_ - 1);
  if (!collapsed_ && m <= l_.act_collapse) {
    collapsed_ = true;
    out.push_back({s.step, "act-steps-collapsed", "warning", m, l_.act_collapse, false,
                   fmt::format("step {}: halted puzzles took {:.2f} ACT segments on average over the last {} steps (of up to "
                               "{}): halting collapsed to the first segment",
                               s.step, m, act_steps_.size(), halt_max_)});
  }
  if (!saturated_ && m >= top) {
    saturated_ = true;
    out.push_back({s.step, "act-steps-saturated", "info", m, top, false,
                   fmt::format("step {}: halted puzzles took {:.2f} of up to {} ACT segments on average over the last {} "
                               "steps: Q-halting has not started to stop puzzles early",
                               s.step, m, halt_max_, act_steps_.size())});
  }
}

void TrainingMonitor::device(const StepLog& s, const DeviceSample& d, std::vector<MonitorEvent>& out) {
  push_window(device_, d, l_.window);
  if (device_.size() < l_.window) return;
  double util = 0, mem = 0;
  for (const DeviceSample& x : device_) {
    util += x.utilisation / static_cast<double>(device_.size());
    mem += x.memory_fraction / static_cast<double>(device_.size());
  }
  if (!util_low_ && util < l_.gpu_utilisation) {
    util_low_ = true;
    out.push_back({s.step, "gpu-utilisation-low", "info", util, l_.gpu_utilisation, s.step <= warmup_,
                   fmt::format("step {}: GPU compute utilisation {:.0f}% over the last {} steps (target > {:.0f}%)", s.step,
                               100 * util, device_.size(), 100 * l_.gpu_utilisation)});
  }
  if (!mem_low_ && mem < l_.gpu_memory) {
    mem_low_ = true;
    out.push_back({s.step, "gpu-memory-low", "info", mem, l_.gpu_memory, s.step <= warmup_,
                   fmt::format("step {}: GPU memory use {:.0f}% over the last {} steps (target > {:.0f}%)", s.step, 100 * mem,
                               device_.size(), 100 * l_.gpu_memory)});
  }
}

}  // namespace hrm
