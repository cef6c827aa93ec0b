// html_report.cpp: the Report as one self-contained HTML page that reads top-down: the verdict and the
// key numbers, the findings (severity, measured value, limit, why, fix, config position), the
// recommendation, the regime picture, plots of the schedule replay, memory, the census, every number
// and the resolved config. Plots are inline SVG (svg_plot.hpp); reports/README.md defines the numbers.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/schedule.hpp"
#include "reports/html_page.hpp"
#include "reports/render.hpp"
#include "reports/probe_rows.hpp"
#include "reports/scaling_rows.hpp"
#include "reports/summary_rows.hpp"
#include "reports/svg_plot.hpp"

namespace hrm {

using svg::escape;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

constexpr const char* kCss = R"CSS(
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --panel:#f6f8fa; --ok:#007a5a; --bad:#c24e00; --warn:#9a6700; --info:#0067a3; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1112px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 24px; margin: 2px 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 4px; }
a { color: var(--info); }
.kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted); margin: 0; }
.sub { color: var(--muted); margin: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
code { background: var(--panel); padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
pre { background: var(--panel); padding: 12px 14px; border-radius: 6px; overflow-x: auto; line-height: 1.4; }
.verdict { display: flex; gap: 20px; align-items: center; border: 2px solid; border-radius: 10px; padding: 14px 20px; margin: 18px 0; }
.verdict.vetted { border-color: var(--ok); background: #e8f5f0; }
.verdict.rejected { border-color: var(--bad); background: #fcefe6; }
.verdict p { margin: 2px 0; }
.verdict .counts { font-weight: 700; font-size: 17px; }
.badge { font-size: 26px; font-weight: 800; letter-spacing: .05em; color: #fff; padding: 6px 16px; border-radius: 8px; white-space: nowrap; }
.vetted .badge, .badge.vetted { background: var(--ok); }
.rejected .badge, .badge.rejected { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .k { font-size: 12px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.card .v { font-size: 22px; font-weight: 700; }
.card .s { font-size: 13px; color: var(--muted); }
.finding { border: 1px solid var(--line); border-left: 6px solid; border-radius: 6px; padding: 10px 14px; margin: 10px 0; break-inside: avoid; }
.finding p { margin: 4px 0; }
.finding .head { display: flex; flex-wrap: wrap; gap: 10px; align-items: baseline; }
.finding .loc { color: var(--muted); font-size: 13px; margin-left: auto; }
.finding .nums { color: var(--muted); font-size: 14px; }
.sev { font-weight: 800; font-size: 12px; letter-spacing: .06em; padding: 1px 8px; border-radius: 4px; color: #fff; }
.sev-error { border-left-color: var(--bad); } .sev-error .sev { background: var(--bad); }
.sev-warning { border-left-color: #e69f00; } .sev-warning .sev { background: var(--warn); }
.sev-info { border-left-color: var(--info); } .sev-info .sev { background: var(--info); }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
tr.recommended td { background: #fff3cd; font-weight: 700; }
.wide { overflow-x: auto; }
table.sweep { font-size: 13px; }
table.sweep th, table.sweep td { padding: 4px 6px; }
td.ids { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; white-space: nowrap; }
td.vetted { color: var(--ok); font-weight: 700; } td.rejected { color: var(--bad); font-weight: 700; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; margin: 18px 0; }
figure { margin: 18px 0; break-inside: avoid; }
.grid figure { margin: 0; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
svg.plot { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media (max-width: 800px) { .grid, .cards { grid-template-columns: 1fr; } }
@media print {
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  .verdict, .badge, .sev, .finding, tr.recommended td, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  pre { white-space: pre-wrap; }
  a { color: inherit; text-decoration: none; }
  .grid { grid-template-columns: 1fr 1fr; gap: 14px; }  /* paper is narrower than the screen layout */
  .cards { grid-template-columns: repeat(3, 1fr); }
  @page { margin: 12mm; }
}
)CSS";

std::string num2(double v) { return fmt::format("{:.2f}", v); }
std::string count(double v) { return format_count(v); }
std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / kGiB); }
std::string epochs(double v) { return v >= 100 ? format_count(std::round(v)) : num2(v); }  // "1,536" or "1.30"

std::string finding_html(const Report& r, const Finding& f) {
  const char* label = f.severity == Severity::Error ? "ERROR" : f.severity == Severity::Warning ? "WARNING" : "NOTE";
  std::string out = fmt::format(R"(<article class="finding sev-{}"><div class="head"><span class="sev">{}</span> <code>{}</code>)",
                                severity_name(f.severity), label, escape(f.id));
  if (!f.key.empty())
    out += fmt::format(R"(<span class="loc">{} &#183; <code>{}</code></span>)", escape(r.config.position_of(f.key).str()), escape(f.key));
  out += fmt::format("</div><p>{}</p>", escape(f.message));
  if (std::isfinite(f.value) || std::isfinite(f.limit))
    out += fmt::format(R"(<p class="nums">measured <b>{}</b> &#183; limit <b>{}</b></p>)", count(f.value), count(f.limit));
  if (f.fix != "none needed") out += fmt::format("<p><b>Why.</b> {}</p><p><b>Fix.</b> {}</p>", escape(f.why), escape(f.fix));
  return out + "</article>";
}

// The regime picture: the global batch on one log-scale line with the groups (the regime boundary)
// and the examples per epoch, so "traditional vs survey" and "how much of an epoch one update sees"
// are read off positions instead of ratios.
std::string regime_plot(const Report& r) {
  const double B = double(r.config.train.global_batch_size), G = double(std::max<std::int64_t>(1, r.census.groups));
  const double E = std::max(1.0, r.census.examples_per_epoch), b = double(std::max<std::int64_t>(1, r.per_gpu_batch));
  const double lo = std::min({b, B, G, E}), hi = std::max({b, B, G, E});
  svg::Plot p;
  p.id = "plot-regime";
  p.title = "Global batch against the groups and the examples per epoch";
  p.width = kPageWidth;
  p.height = 200;
  p.x.label = "rows per update, groups, examples (log scale)";
  p.x.log = true;
  p.x.min = std::pow(10.0, std::floor(std::log10(lo / 3)));
  p.x.max = std::pow(10.0, std::ceil(std::log10(hi * 3)));
  p.y.hidden = true;
  p.y.min = 0;
  p.y.max = 1;
  p.bands = {{p.x.min, G, "traditional: batch \xe2\x89\xa4 groups", svg::kSky}, {G, p.x.max, "survey: batch > groups", svg::kOrange}};
  p.vlines = {{b, "per-GPU batch " + count(b), svg::kGray, true},
              {G, "groups G = " + count(G), svg::kGreen, false},
              {E, "examples per epoch E = " + count(E), svg::kPurple, false},
              {B, fmt::format("global batch B = {}  (B / G = {}, B / E = {})", count(B), num2(B / G), num2(B / E)), svg::kBlue, false}};
  p.markers = {{B, 0.5, "", svg::kBlue, false, 7}};
  return svg::render(p);
}

// The LR over the whole planned run (HRM's schedule, common/schedule.hpp), the executed part solid:
// a run that stops before total_steps, or a warmup longer than the run, is visible at once.
std::string lr_plot(const Report& r) {
  const auto& s = r.schedule;
  const auto& t = r.config.train;
  const std::int64_t span = std::max({s.total_steps, s.executed_steps, s.warmup_steps, std::int64_t{1}});
  std::vector<std::int64_t> steps = {s.warmup_steps - 1, s.warmup_steps, s.warmup_steps + 1, s.executed_steps, s.total_steps};
  for (int k = 0; k <= 600; ++k) steps.push_back(1 + (span - 1) * k / 600);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  svg::Series planned, executed;
  planned.label = fmt::format("planned: total_steps = {}", count(double(s.total_steps)));
  planned.color = svg::kGray;
  planned.dashed = true;
  executed.label = fmt::format("executed: {} steps", count(double(s.executed_steps)));
  executed.color = svg::kBlue;
  for (auto step : steps) {
    if (step < 1) continue;
    const double lr = hrm_lr(t.lr, step, s.warmup_steps, s.total_steps, t.lr_min_ratio);
    if (step <= s.total_steps) { planned.x.push_back(double(step)); planned.y.push_back(lr); }
    if (step <= s.executed_steps) { executed.x.push_back(double(step)); executed.y.push_back(lr); }
  }
  svg::Plot p;
  p.id = "plot-lr";
  p.title = "Learning-rate schedule over the whole run";
  p.width = kPageWidth;
  p.height = 320;
  p.x.label = "optimizer step";
  p.y.label = "learning rate";
  p.series = {planned, executed};
  if (s.warmup_steps > 0) {
    p.bands = {{0, double(s.warmup_steps), "warmup", svg::kOrange}};
    p.vlines.push_back({double(s.warmup_steps),
                        fmt::format("warmup ends: step {} ({} epochs)", count(double(s.warmup_steps)), epochs(s.warmup_epochs)),
                        svg::kOrange, true});
  }
  if (s.executed_steps == s.total_steps) {
    p.vlines.push_back({double(s.executed_steps), "executed = total_steps = " + count(double(s.total_steps)), svg::kBlue, false});
  } else {
    p.vlines.push_back({double(s.total_steps), "planned total_steps " + count(double(s.total_steps)), svg::kGray, true});
    p.vlines.push_back({double(s.executed_steps), "executed " + count(double(s.executed_steps)), svg::kBlue, false});
  }
  p.empty_note = "no optimizer step runs";
  return svg::render(p);
}

// The replay records the first steps; showing a few epochs (and twice the steps it takes to see every
// group) keeps the early behaviour readable instead of a flat line over thousands of steps.
std::size_t early_window(const Report& r) {
  double want = std::max(10.0, std::ceil(3.0 * r.schedule.updates_per_epoch));
  if (r.replay.steps_to_cover_all_groups > 0) want = std::max(want, 2.0 * double(r.replay.steps_to_cover_all_groups) + 2.0);
  return std::min(r.replay.coverage.size(), static_cast<std::size_t>(want));
}

std::string step_axis_label(const Report& r) {
  return r.schedule.updates_per_epoch > 0 ? fmt::format("optimizer step (1 epoch \xe2\x89\x88 {} steps)", num2(r.schedule.updates_per_epoch))
                                          : "optimizer step";
}

std::string groups_plot(const Report& r) {
  const std::size_t n = std::min(early_window(r), r.replay.groups_per_step.size());
  svg::Series s;
  s.label = "group draws in the step";
  s.style = svg::Style::Step;
  double top = 0;
  for (std::size_t i = 0; i < n; ++i) {
    s.x.push_back(double(i + 1));
    s.y.push_back(double(r.replay.groups_per_step[i]));
    top = std::max(top, s.y.back());
  }
  svg::Plot p;
  p.id = "plot-groups";
  p.title = "Groups per update";
  p.width = kPageHalfWidth;
  p.x.label = step_axis_label(r);
  p.y.label = "groups drawn per update";
  p.series = {s};
  const double G = double(r.census.groups);
  if (G <= 5 * top) p.hlines.push_back({G, "all groups G = " + count(G), svg::kGreen, true});
  if (n > 0)
    p.hlines.push_back({r.replay.mean_groups_per_batch, fmt::format("mean over the run {:.1f}", r.replay.mean_groups_per_batch),
                        svg::kOrange, true});
  p.empty_note = "no batch was drawn";
  return svg::render(p);
}

std::string coverage_plot(const Report& r) {
  const std::size_t n = early_window(r);
  svg::Series s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0) { s.x.push_back(0); s.y.push_back(0); }  // before the first update no group has been seen
    s.x.push_back(double(i + 1));
    s.y.push_back(100.0 * r.replay.coverage[i]);
  }
  svg::Plot p;
  p.id = "plot-coverage";
  p.title = "Coverage of all groups";
  p.width = kPageHalfWidth;
  p.x.label = step_axis_label(r);
  p.y.label = "groups seen so far (%)";
  p.y.max = 100;
  p.series = {s};
  p.hlines = {{100, "every group", svg::kGreen, true}};
  const auto cover = r.replay.steps_to_cover_all_groups;
  if (cover > 0 && static_cast<std::size_t>(cover) <= n)
    p.vlines = {{double(cover), "all seen after step " + count(double(cover)), svg::kGreen, true}};
  p.empty_note = "no batch was drawn";
  return svg::render(p);
}

// HRM-SPEC 1.8: early in training q_halt never beats q_continue, so every row runs all
// halt_max_steps segments in lockstep and only halted rows take fresh data from the loader.
std::string act_plot(const Report& r) {
  const auto halt = std::max<std::int64_t>(1, r.config.arch.halt_max_steps);
  const double B = double(r.config.train.global_batch_size);
  const std::int64_t n = std::max<std::int64_t>(3 * halt + 4, 12);
  svg::Series s;
  s.label = "fresh examples taken in the step";
  s.style = svg::Style::Stems;
  for (std::int64_t step = 1; step <= n; ++step) {
    s.x.push_back(double(step));
    s.y.push_back((step - 1) % halt == 0 ? B : 0.0);
  }
  svg::Plot p;
  p.id = "plot-act";
  p.title = "Fresh examples per step under ACT";
  p.width = kPageHalfWidth;
  p.x.label = "optimizer step (early training)";
  p.x.max = double(n + 1);
  p.y.label = "examples";
  p.series = {s};
  p.hlines = {{B, "loader yields B = " + count(B) + " rows", svg::kGray, true},
              {r.schedule.fresh_examples_per_step, fmt::format("mean B / halt_max_steps = {:.1f}", r.schedule.fresh_examples_per_step),
               svg::kVermillion, true}};
  return svg::render(p);
}

std::string memory_plot(const Report& r) {
  const auto& m = r.memory;
  const double cap = r.config.hardware.gpu_memory_gb;
  svg::Bars b;
  b.id = "plot-memory";
  b.title = "Memory per GPU";
  b.width = kPageWidth;
  b.x.label = "GiB per GPU";
  b.rows = {{"estimate", {{"parameters " + gib(m.params_bytes), m.params_bytes / kGiB, svg::kBlue},
                          {"optimizer state " + gib(m.optimizer_bytes), m.optimizer_bytes / kGiB, svg::kSky},
                          {"gradients " + gib(m.gradient_bytes), m.gradient_bytes / kGiB, svg::kGreen},
                          {"puzzle embeddings " + gib(m.puzzle_emb_bytes), m.puzzle_emb_bytes / kGiB, svg::kPurple},
                          {"activations " + gib(m.activation_bytes), m.activation_bytes / kGiB, svg::kOrange},
                          {"workspace " + gib(m.workspace_bytes), m.workspace_bytes / kGiB, svg::kGray}}}};
  // Far below capacity the capacity line would squash the bar to a sliver: say it in words instead.
  const double used = m.per_gpu_bytes / (cap * kGiB);
  if (used >= 0.4)
    b.vlines = {{cap, fmt::format("GPU memory {:.0f} GiB", cap), used > 1 ? svg::kVermillion : svg::kInk, false}};
  else
    b.note = fmt::format("GPU memory {:.0f} GiB is off this scale: the estimate uses {:.0f}% of it", cap, 100 * used);
  return svg::render(b);
}

std::string verdict_section(const Report& r) {
  const auto& t = r.config.train;
  const auto& s = r.schedule;
  const std::string gist = fmt::format(
      "Global batch {} on {} GPU{} ({} per GPU) &#183; {} regime (batch / groups {}) &#183; {} updates per epoch &#183; warmup {} "
      "steps = {} epochs &#183; {} of {:.0f} GiB per GPU",
      t.global_batch_size, r.config.hardware.num_gpus, r.config.hardware.num_gpus == 1 ? "" : "s", r.per_gpu_batch,
      escape(r.regime.name), num2(r.regime.batch_to_groups), num2(s.updates_per_epoch), count(double(s.warmup_steps)),
      epochs(s.warmup_epochs), escape(format_bytes(r.memory.per_gpu_bytes)), r.config.hardware.gpu_memory_gb);
  const int e = r.count(Severity::Error), w = r.count(Severity::Warning), i = r.count(Severity::Info);
  return fmt::format(R"(<section id="verdict" class="verdict {}">{}<div><p class="counts">{} error{} &#183; {} warning{} &#183; {} note{}{}</p><p>{}</p></div></section>)",
                     escape(r.verdict), html_verdict_badge(r.verdict), e, e == 1 ? "" : "s", w, w == 1 ? "" : "s", i,
                     i == 1 ? "" : "s", r.strict ? " &#183; --strict: warnings reject" : "", gist);
}

std::string cards(const Report& r) {
  const auto& s = r.schedule;
  const auto& c = r.census;
  const double cap = r.config.hardware.gpu_memory_gb;
  std::string out = R"(<section class="cards">)";
  out += html_card("regime", r.regime.name, fmt::format("batch / groups {} ({}-horizon task)", num2(r.regime.batch_to_groups), r.horizon));
  out += html_card("updates per epoch", num2(s.updates_per_epoch),
              fmt::format("{} of {} planned steps run", count(double(s.executed_steps)), count(double(s.total_steps))));
  out += html_card("warmup", epochs(s.warmup_epochs) + " epochs",
              fmt::format("{} steps = {} examples", count(double(s.warmup_steps)), count(s.warmup_examples)));
  out += html_card("batch", fmt::format("{} = {} \xc3\x97 {}", r.config.train.global_batch_size, r.config.hardware.num_gpus, r.per_gpu_batch),
              "global = GPUs \xc3\x97 per GPU");
  out += html_card("memory per GPU", format_bytes(r.memory.per_gpu_bytes),
              fmt::format("of {:.0f} GiB ({:.0f}%)", cap, 100.0 * r.memory.per_gpu_bytes / (cap * kGiB)));
  out += html_card("dataset", fmt::format("{} groups", count(double(c.groups))),
              fmt::format("{} examples per epoch ({})", count(c.examples_per_epoch), r.recommendation.size_class));
  return out + "</section>";
}

std::string recommendation_section(const Report& r) {
  const auto& rec = r.recommendation;
  const auto& t = r.config.train;
  std::vector<std::vector<std::string>> rows = {
      {"global batch", count(double(t.global_batch_size)), count(double(rec.global_batch_size))},
      {"GPUs", count(double(r.config.hardware.num_gpus)), count(double(rec.num_gpus))},
      {"per-GPU batch", count(double(r.per_gpu_batch)), count(double(rec.per_gpu_batch))},
      {"lr_warmup_steps", count(double(t.lr_warmup_steps)), count(double(rec.lr_warmup_steps))},
      {"lr", fmt::format("{:.3g}", t.lr), fmt::format("{:.3g}", rec.lr)},
  };
  std::vector<std::string> head = {"", "this config", "recommended"};
  if (!rec.recipe_name.empty()) {
    head.push_back("published: " + rec.recipe_name);
    rows[0].push_back(count(double(rec.recipe_batch)));
    rows[1].push_back("");
    rows[2].push_back("");
    rows[3].push_back(count(double(rec.recipe_warmup)));
    rows[4].push_back(fmt::format("{:.3g}", rec.recipe_lr));
  }
  return R"(<section id="recommendation"><h2>Recommendation</h2>)" + html_table(head, rows, 1) +
         fmt::format("<p>{}.</p></section>", escape(rec.rationale));
}

std::string regime_section(const Report& r) {
  const auto& g = r.regime;
  const std::string caption = fmt::format(
      "The {} regime: the global batch is {} the number of groups. An update draws about {:.1f} groups ({:.1f}% of them; "
      "{:.1f} drawn twice or more) and sees {:.2f} of an epoch's examples; {}.",
      g.name, g.batch_to_groups <= 1.0 ? fmt::format("{} of", num2(g.batch_to_groups)) : fmt::format("{}\xc3\x97", num2(g.batch_to_groups)),
      g.groups_per_batch, 100.0 * g.group_fraction_per_update, g.repeated_groups_per_batch,
      double(r.config.train.global_batch_size) / std::max(1.0, r.census.examples_per_epoch),
      g.updates_to_cover_groups < 0 ? "the replayed steps never see every group"
                                    : fmt::format("every group is seen after {} updates", count(double(g.updates_to_cover_groups))));
  return R"(<section id="regime"><h2>Regime</h2>)" + html_figure("Batch against groups and examples per epoch", regime_plot(r), caption) +
         "</section>";
}

std::string schedule_section(const Report& r) {
  const auto& s = r.schedule;
  std::string out = R"(<section id="schedule"><h2>Schedule replay</h2>)";
  out += html_figure(
      "Learning rate over the whole run", lr_plot(r),
      fmt::format("HRM's warmup + cosine schedule (lr {:.3g}, lr_min_ratio {}). The sampler yields {} of the {} planned steps; "
                  "{} iteration{} yield no batch, {} rows are dropped by drop-last. Peak LR reached: {:.1f}% of train.lr.",
                  r.config.train.lr, r.config.train.lr_min_ratio, count(double(s.executed_steps)), count(double(s.total_steps)),
                  s.empty_iterations, s.empty_iterations == 1 ? "" : "s", count(double(s.dropped_rows)), 100.0 * s.peak_lr_fraction));
  out += R"(<div class="grid">)";
  out += html_figure("Groups per update", groups_plot(r),
                     "Group draws in each of the first optimizer steps (replay of HRM's sampler); a group drawn twice counts twice.");
  out += html_figure("Coverage of all groups", coverage_plot(r), "Share of the dataset's groups that some update has drawn so far.");
  out += html_figure(
      "Fresh examples per step under ACT", act_plot(r),
      fmt::format("Early in training every row runs all {} ACT segments, so fresh data enters only when the whole batch halts: "
                  "{:.1f} fresh examples per step on average. Over the warmup that is {} fresh examples ({} epochs), not {}.",
                  r.config.arch.halt_max_steps, s.fresh_examples_per_step, count(s.warmup_fresh_examples),
                  epochs(r.census.examples_per_epoch > 0 ? s.warmup_fresh_examples / r.census.examples_per_epoch : 0.0),
                  count(s.warmup_examples)));
  out += R"(<div><h3>Steps and epochs</h3>)" +
         html_table({"quantity", "value"},
               {{"total_steps (HRM formula)", count(double(s.total_steps))},
                {"executed steps", count(double(s.executed_steps))},
                {"iterations (empty)", fmt::format("{} ({})", s.iterations, s.empty_iterations)},
                {"updates per epoch", fmt::format("{:.3f}", s.updates_per_epoch)},
                {"rows dropped / puzzles truncated", fmt::format("{} / {}", count(double(s.dropped_rows)), count(double(s.truncated_puzzles)))},
                {"warmup: steps / examples / epochs", fmt::format("{} / {} / {}", count(double(s.warmup_steps)), count(s.warmup_examples), epochs(s.warmup_epochs))},
                {"warmup read as examples: updates", num2(s.warmup_updates_if_examples)},
                {"effective epochs (early-training rate)", epochs(s.effective_epochs)},
                {"final LR", fmt::format("{:.3g}", s.final_lr)}},
               1) +
         "</div>";
  return out + "</div></section>";
}

std::string memory_section(const Report& r) {
  const auto& m = r.memory;
  auto row = [&](const char* name, double bytes) {
    return std::vector<std::string>{name, format_bytes(bytes), fmt::format("{:.1f}%", 100.0 * bytes / std::max(1.0, m.per_gpu_bytes))};
  };
  return R"(<section id="memory"><h2>Memory per GPU</h2>)" +
         html_figure("Estimated memory per GPU by component", memory_plot(r),
                     fmt::format("{} trainable parameters (as HRM counts them), per-GPU batch {}; the largest global batch that fits is {}.",
                                 count(double(m.num_params)), r.per_gpu_batch, count(double(r.hardware_batch_limit)))) +
         html_table({"component", "bytes", "share"},
               {row("parameters (fp32)", m.params_bytes), row("optimizer state", m.optimizer_bytes), row("gradients", m.gradient_bytes),
                row("puzzle embeddings", m.puzzle_emb_bytes), row("activations", m.activation_bytes), row("workspace", m.workspace_bytes),
                row("total", m.per_gpu_bytes)},
               1) +
         "</section>";
}

// Predicted scaling (analyzer/comm_model.hpp): efficiency and the step's compute/communication split
// against the GPU count.
std::string scaling_section(const Report& r) {
  const CommModel& c = r.comm;
  svg::Plot p;
  p.id = "plot-scaling";
  p.title = "Predicted scaling efficiency and communication share against the GPU count";
  p.x.label = "GPUs";
  p.x.log = true;
  p.y.label = "fraction";
  p.y.min = 0;
  p.y.max = 1.05;
  svg::Series eff, share;
  eff.label = "efficiency step(1) / (W step(W))";
  eff.color = svg::kBlue;
  share.label = "communication share of the step";
  share.color = svg::kVermillion;
  share.dashed = true;
  for (const auto& q : c.scaling) {
    p.x.ticks.push_back(static_cast<double>(q.num_gpus));
    eff.x.push_back(static_cast<double>(q.num_gpus));
    eff.y.push_back(q.efficiency);
    share.x.push_back(static_cast<double>(q.num_gpus));
    share.y.push_back(q.step_s > 0 ? q.comm_s / q.step_s : 0.0);
  }
  p.series = {eff, share};
  svg::RefLine configured;
  configured.at = static_cast<double>(r.config.hardware.num_gpus);
  configured.label = fmt::format("configured: {} GPU(s)", r.config.hardware.num_gpus);
  p.vlines = {configured};
  std::vector<std::vector<std::string>> rows;
  for (const auto& q : c.scaling)
    rows.push_back({fmt::format("{}{}", q.num_gpus, q.divisible ? "" : " (B not divisible)"), count(double(q.per_gpu_batch)),
                    format_ms(q.compute_s), format_ms(q.allreduce_s), format_ms(q.allgather_s), format_ms(q.step_s),
                    fmt::format("{:.0f}%", 100.0 * q.efficiency)});
  return R"(<section id="scaling"><h2>Communication and scaling (predicted)</h2>)" +
         html_figure("Predicted scaling", svg::render(p),
                     fmt::format("Per step: {} of fp32 gradients all-reduced and {} of puzzle-embedding rows all-gathered, "
                                 "{:.3g} FLOPs; ring collectives at {:g} Gbit/s ({}), compute at {:g} TFLOP/s per GPU, no overlap.",
                                 escape(format_bytes(c.dense_gradient_bytes)), escape(format_bytes(c.puzzle_gather_bytes)),
                                 c.flops_per_step, c.interconnect_gbps, escape(c.interconnect), c.gpu_tflops)) +
         html_table({"GPUs", "per-GPU batch", "compute", "all-reduce", "all-gather", "step", "efficiency"}, rows, 1) + "</section>";
}

std::string census_section(const Report& r) {
  const auto& c = r.census;
  return R"(<section id="census"><h2>Dataset census</h2>)" +
         html_table({"quantity", "value"},
               {{"examples", count(double(c.examples))},
                {"puzzles", count(double(c.puzzles))},
                {"groups", count(double(c.groups))},
                {"examples per puzzle (min / mean / max)", fmt::format("{} / {:.3f} / {}", c.min_puzzle_examples, c.mean_puzzle_examples, c.max_puzzle_examples)},
                {"puzzles per group (min / mean / max)", fmt::format("{} / {:.2f} / {}", c.min_group_puzzles, c.mean_group_puzzles, c.max_group_puzzles)},
                {"examples per epoch (one puzzle per group)", fmt::format("{:.1f} ({})", c.examples_per_epoch, r.recommendation.size_class)},
                {"sequence length", count(double(c.seq_len))},
                {"vocabulary", count(double(c.vocab_size))},
                {"puzzle identifiers (used by this split)", fmt::format("{} ({})", count(double(c.num_puzzle_identifiers)), count(double(c.distinct_identifiers)))}},
               1) +
         "</section>";
}

}  // namespace

std::string html_card(const std::string& key, const std::string& value, const std::string& sub) {
  return fmt::format(R"(<div class="card"><div class="k">{}</div><div class="v">{}</div><div class="s">{}</div></div>)",
                     escape(key), escape(value), escape(sub));
}

std::string html_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows, std::size_t numeric_from) {
  std::string out = "<table><thead><tr>";
  for (std::size_t i = 0; i < head.size(); ++i) out += fmt::format("<th{}>{}</th>", i >= numeric_from ? R"( class="n")" : "", escape(head[i]));
  out += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) out += fmt::format("<td{}>{}</td>", i >= numeric_from ? R"( class="n")" : "", escape(row[i]));
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

std::string html_page(const std::string& title, const std::string& body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{}</style></head>\n"
      "<body><main>\n{}\n</main></body></html>\n",
      escape(title), kCss, body);
}

std::string html_figure(const std::string& heading, const std::string& svg, const std::string& caption) {
  return fmt::format("<figure><h3>{}</h3>{}<figcaption>{}</figcaption></figure>", escape(heading), svg, escape(caption));
}

std::string html_verdict_badge(const std::string& verdict) {
  return fmt::format(R"(<span class="badge {}">{} {}</span>)", escape(verdict), verdict == "vetted" ? "\xe2\x9c\x93" : "\xe2\x9c\x97",
                     verdict == "vetted" ? "VETTED" : "REJECTED");
}

// A measured noise scale (hrm probe): McCandlish's steps and examples against their minimum over the
// candidate batches, with the configured batch and B_crit marked, and B_simple per module.
std::string noise_scale_section(const Report& r) {
  if (!r.probe) return "";
  const NoiseProbe& n = *r.probe;
  std::vector<std::vector<std::string>> rows;
  for (const auto& pt : n.points)
    for (const auto& m : pt.modules)
      rows.push_back({pt.at, m.module, format_noise_scale(m.estimate.b_simple, m.estimate.ci_low, m.estimate.ci_high)});
  std::string plot;
  if (!n.tradeoffs.empty()) {
    svg::Plot p;
    p.id = "plot-noise-scale";
    p.title = "Steps and examples against their minimum, by batch size";
    p.x.label = "global batch";
    p.x.log = true;
    p.y.label = "multiple of the minimum";
    p.y.log = true;
    svg::Series steps, examples;
    steps.label = "steps / S_min = 1 + B_crit / B";
    steps.color = svg::kBlue;
    examples.label = "examples / E_min = 1 + B / B_crit";
    examples.color = svg::kVermillion;
    examples.dashed = true;
    for (const auto& t : n.tradeoffs) {
      steps.x.push_back(static_cast<double>(t.batch));
      steps.y.push_back(t.steps_over_min);
      examples.x.push_back(static_cast<double>(t.batch));
      examples.y.push_back(t.examples_over_min);
    }
    p.series = {steps, examples};
    svg::RefLine configured, crit;
    configured.at = static_cast<double>(r.config.train.global_batch_size);
    configured.label = fmt::format("configured: {}", r.config.train.global_batch_size);
    crit.at = n.b_crit;
    crit.label = fmt::format("B_crit {:.3g}", n.b_crit);
    crit.color = svg::kGreen;
    p.vlines = {configured, crit};
    plot = html_figure("Predicted steps/examples trade-off", svg::render(p),
                       fmt::format("Measured with B_small {} and B_big {} over {} repeats (hrm probe).", n.b_small, n.b_big, n.repeats));
  }
  return R"(<section id="noise-scale"><h2>Gradient noise scale (measured)</h2>)" + plot +
         html_table({"weights", "module", "B_simple"}, rows, 2) + "</section>";
}

std::string render_html(const Report& r) {
  std::string overrides;
  for (const auto& o : r.config.overrides) overrides += " <code>" + escape(o) + "</code>";
  std::string body = fmt::format(R"(<header><p class="kicker">hrmkit &#183; HRM pre-flight report</p><h1>{}</h1><p class="sub">dataset <code>{}</code>{} &#183; {}-horizon task</p></header>)",
                                 escape(r.config.source_file), escape(r.config.data.path),
                                 overrides.empty() ? "" : " &#183; overrides" + overrides, escape(r.horizon));
  body += verdict_section(r) + cards(r);
  body += R"(<section id="findings"><h2>Findings</h2>)";
  for (const auto& f : r.findings) body += finding_html(r, f);
  if (r.findings.empty()) body += "<p>No findings.</p>";
  body += "</section>";
  body += recommendation_section(r) + regime_section(r) + schedule_section(r) + memory_section(r) + scaling_section(r) +
          noise_scale_section(r) + census_section(r);
  std::vector<std::vector<std::string>> all;
  for (const auto& row : summary_rows(r)) all.push_back({row.section, row.quantity, row.value});
  body += R"(<section id="numbers"><h2>Every number</h2>)" + html_table({"section", "quantity", "value"}, all, 2) + "</section>";
  body += fmt::format(R"(<section id="config"><h2>Resolved configuration</h2><pre>{}</pre></section>)", escape(config_to_toml(r.config)));
  body += fmt::format("<footer>Report format_version {} &#183; every number is defined in hrmkit's reports/README.md &#183; "
                      "the same data: preflight.json, preflight.md, preflight.sarif</footer>",
                      r.format_version);
  return html_page(fmt::format("HRM pre-flight: {} \xe2\x80\x94 {}", r.verdict, r.config.source_file), body);
}

}  // namespace hrm
