// scaling_rows.cpp: communication and scaling rows of a Report.
#include "reports/scaling_rows.hpp"

#include <fmt/format.h>

#include "reports/render.hpp"

namespace hrm {

std::string format_ms(double seconds) { return fmt::format("{:.3g} ms", seconds * 1e3); }

namespace {

std::string point_value(const ScalingPoint& p) {
  return fmt::format("{} = compute {} + comm {}; efficiency {:.0f}%{}", format_ms(p.step_s), format_ms(p.compute_s),
                     format_ms(p.comm_s), 100.0 * p.efficiency, p.divisible ? "" : " (batch not divisible)");
}

}  // namespace

std::vector<SummaryRow> communication_rows(const Report& r) {
  const CommModel& c = r.comm;
  return {
      {"comm", "interconnect (Gbit/s) / GPU TFLOP/s assumed", fmt::format("{} ({:g}) / {:g}", c.interconnect, c.interconnect_gbps, c.gpu_tflops)},
      {"comm", "bytes per step: gradients + puzzle rows", fmt::format("{} + {}", format_bytes(c.dense_gradient_bytes), format_bytes(c.puzzle_gather_bytes))},
      {"comm", "FLOPs per step (global batch)", fmt::format("{:.3g}", c.flops_per_step)},
      {"comm", fmt::format("predicted step at {} GPU(s)", c.configured.num_gpus), point_value(c.configured)},
  };
}

std::vector<SummaryRow> scaling_rows(const Report& r) {
  std::vector<SummaryRow> rows;
  for (const auto& p : r.comm.scaling)
    rows.push_back({"scaling", fmt::format("{} GPU(s), {} per GPU", p.num_gpus, p.per_gpu_batch), point_value(p)});
  return rows;
}

}  // namespace hrm
