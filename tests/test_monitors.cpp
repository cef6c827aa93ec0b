// test_monitors.cpp: the training monitors (trainer/loop/monitors.hpp) on made-up step logs: each
// rule quotes the report's advice and is shown a run it must flag and one it must leave alone.
#include <doctest/doctest.h>

#include <cmath>

#include "trainer/loop/monitors.hpp"

using namespace hrm;

namespace {

StepLog step(std::int64_t n, double grad_norm, double loss, double act_steps = 2, double count = 1) {
  StepLog s;
  s.step = n;
  s.grad_norm = grad_norm;
  s.loss = loss;
  s.steps = act_steps;
  s.count = count;
  return s;
}

std::vector<MonitorEvent> feed(TrainingMonitor& m, const std::vector<StepLog>& logs) {
  std::vector<MonitorEvent> all;
  for (const auto& s : logs)
    for (auto& e : m.observe(s)) all.push_back(e);
  return all;
}

}  // namespace

TEST_CASE("monitors: a gradient norm rising smoothly through warmup is not a spike, a 10x jump is") {
  // "Gradient norms during warmup should increase gradually, not spike."
  TrainingMonitor smooth(100, 16);
  std::vector<StepLog> logs;
  for (int i = 1; i <= 100; ++i) logs.push_back(step(i, 0.1 * std::pow(1.03, i), 2.0));  // x19 over warmup
  CHECK(feed(smooth, logs).empty());

  TrainingMonitor spiky(100, 16);
  logs.clear();
  for (int i = 1; i <= 30; ++i) logs.push_back(step(i, i == 25 ? 10.0 : 1.0 + 0.01 * (i % 3), 2.0));
  const auto events = feed(spiky, logs);
  REQUIRE(events.size() == 1);
  CHECK(events[0].id == "grad-norm-spike");
  CHECK(events[0].step == 25);
  CHECK(events[0].in_warmup);
  CHECK(events[0].value == doctest::Approx(10.0 / 1.01));
}

TEST_CASE("monitors: a loss spike is flagged once per episode, a noisy falling loss is not") {
  // "Watch for loss spikes during warmup."
  TrainingMonitor falling(10, 16);
  std::vector<StepLog> logs;
  for (int i = 1; i <= 200; ++i) logs.push_back(step(i, 1.0, 3.0 / std::sqrt(i) * (1.0 + 0.2 * ((i * 7) % 5 - 2) / 2.0)));
  CHECK(feed(falling, logs).empty());

  TrainingMonitor exploding(10, 16);
  logs.clear();
  for (int i = 1; i <= 30; ++i) logs.push_back(step(i, 1.0, i < 20 ? 2.0 : 50.0));  // stays up: one episode
  const auto events = feed(exploding, logs);
  REQUIRE(events.size() == 1);
  CHECK(events[0].id == "loss-spike");
  CHECK(events[0].step == 20);
  CHECK_FALSE(events[0].in_warmup);
}

TEST_CASE("monitors: ACT collapsing to one segment is a warning, staying at halt_max_steps past warmup a note") {
  TrainingMonitor collapse(20, 8);
  std::vector<StepLog> logs;
  for (int i = 1; i <= 100; ++i) logs.push_back(step(i, 1.0, 2.0, i <= 30 ? 8.0 : 1.0));
  auto events = feed(collapse, logs);
  REQUIRE(events.size() == 1);
  CHECK(events[0].id == "act-steps-collapsed");
  CHECK(events[0].severity == "warning");
  CHECK(events[0].step == 79);  // the 50-step window's mean reaches 1.25 once at most one step of 8 is left in it

  TrainingMonitor saturated(20, 8);
  logs.clear();
  for (int i = 1; i <= 100; ++i) logs.push_back(step(i, 1.0, 2.0, 8.0));
  events = feed(saturated, logs);
  REQUIRE(events.size() == 1);
  CHECK(events[0].id == "act-steps-saturated");
  CHECK(events[0].severity == "info");
  CHECK(events[0].step == 50);

  TrainingMonitor healthy(20, 8);
  logs.clear();
  for (int i = 1; i <= 100; ++i) logs.push_back(step(i, 1.0, 2.0, i <= 30 ? 8.0 : 3.0 + (i % 4), i % 2));
  events = feed(healthy, logs);
  CHECK(events.empty());  // saturation during warmup and 30 steps past it is shorter than the 50-step window
}

TEST_CASE("monitors: device utilisation and memory are checked only when a device reports them") {
  TrainingMonitor cpu(5, 4), gpu(5, 4);
  std::vector<MonitorEvent> on_cpu, on_gpu;
  for (int i = 1; i <= 40; ++i) {
    for (auto& e : cpu.observe(step(i, 1.0, 2.0, 2.0))) on_cpu.push_back(e);
    for (auto& e : gpu.observe(step(i, 1.0, 2.0, 2.0), DeviceSample{0.5, 0.95})) on_gpu.push_back(e);
  }
  CHECK(on_cpu.empty());
  REQUIRE(on_gpu.size() == 1);
  CHECK(on_gpu[0].id == "gpu-utilisation-low");
  CHECK(on_gpu[0].value == doctest::Approx(0.5));
}
