// run_report.hpp: `hrm report RUN_DIR`: one self-contained HTML page (reports/html_page.hpp, inline
// SVG plots from reports/svg_plot.hpp) from the files a training run writes (trainer/loop/run.hpp):
// run.json (facts and status), metrics.jsonl (one object per optimizer step), eval.jsonl (one per
// evaluation), monitors.jsonl (one per monitor event, trainer/loop/monitors.hpp; absent in runs of
// earlier trainers) and, when present, a link to preflight.html.
//
// Reading is strict (ARCHITECTURE.md section 6 item 7): a missing run.json or metrics.jsonl, a line
// that is not a JSON object, a missing or non-numeric field, or steps that do not increase is one
// InputError naming file:line. The one exception is a last line cut short without its newline, which
// is what a killed run leaves: it is skipped and the page says so. A null metric is what nlohmann
// writes for NaN/inf (a diverged step); it reads as NaN, is left out of the plots and is counted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hrm {

// One line of metrics.jsonl (HRM-SPEC 2.4 and 11.1 item 1): losses are per global batch; count is 1
// in steps where some slot halted and 0 otherwise, and then the accuracies and steps are 0 too.
struct StepRecord {
  std::int64_t step = 0;
  double lr = 0, loss = 0, lm_loss = 0, q_halt_loss = 0, q_continue_loss = 0;
  double count = 0, accuracy = 0, exact_accuracy = 0, q_halt_accuracy = 0, steps = 0;
  double grad_norm = 0, examples_per_s = 0, tokens_per_s = 0, elapsed_s = 0;
};

// One line of eval.jsonl: every numeric field by name (accuracy, exact_accuracy, lm_loss,
// q_halt_accuracy, q_halt_loss, steps, count, and the task extras valid_solutions, pass@K).
struct EvalRecord {
  std::int64_t step = 0;
  std::map<std::string, double> metrics;
};

// One line of monitors.jsonl: a monitor's event, shown as a finding.
struct MonitorRecord {
  std::int64_t step = 0;
  std::string id, severity, message;  // severity "warning" | "info"
  bool in_warmup = false;
};

struct RunData {
  std::string dir;
  nlohmann::json run;                  // run.json, checked (format_version 1, status, field types)
  std::vector<StepRecord> steps;
  std::vector<EvalRecord> evals;
  bool has_eval_file = false;
  std::vector<MonitorRecord> monitors;
  bool has_monitor_file = false;
  bool has_preflight_html = false;
  std::vector<std::string> notes;      // what was tolerated: a truncated last line, non-finite values
};

// Reads and checks the run directory; InputError naming file:line on anything malformed.
RunData read_run_dir(const std::string& dir);

// The page. `plot_points` caps the points per plotted series (min/max envelope per bucket).
std::string render_run_report(const RunData& run, std::size_t plot_points = 2000);

// Reads `dir`, renders, writes `out` (default: DIR/report.html) atomically; returns the path written.
std::string write_run_report(const std::string& dir, const std::string& out = {});

// The points of a series kept for plotting: at most `max_points`, by splitting the x range into
// max_points / 2 buckets of equal point counts and keeping each bucket's minimum and maximum (in x
// order), so spikes survive. Non-finite y values are dropped.
void downsample_minmax(std::vector<double>& x, std::vector<double>& y, std::size_t max_points);

}  // namespace hrm
