// run_report.cpp: read a run directory strictly, then render it top-down: status and facts (a forced
// run's analyzer errors first), key numbers, training curves, evaluation curves and the last
// evaluation, throughput, and what was tolerated while reading.
#include "reports/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/json_format.hpp"
#include "reports/html_page.hpp"
#include "reports/render.hpp"
#include "reports/svg_plot.hpp"

namespace fs = std::filesystem;

namespace hrm {

using svg::escape;
using json = nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kRunHint = "RUN_DIR must be a run directory written by `hrm train`";

// ---- reading ------------------------------------------------------------------------------------

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1, column 5: " prefix.
std::string parse_reason(const json::parse_error& e) {
  const std::string w = e.what();
  const auto col = w.find("column ");
  const auto colon = col == std::string::npos ? std::string::npos : w.find(": ", col);
  return colon == std::string::npos ? w : w.substr(colon + 2);
}

const char* type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

// A metric: a number, or null (nlohmann writes NaN and inf as null), read as NaN and counted.
double read_number(const json& j, const std::string& key, const std::string& where, bool required, std::int64_t& nonfinite) {
  const auto it = j.find(key);
  if (it == j.end()) {
    if (required) throw InputError(where, fmt::format("no \"{}\"", key), "every line of a run's log holds the same fields");
    return kNaN;
  }
  if (it->is_null()) {
    ++nonfinite;
    return kNaN;
  }
  if (!it->is_number()) throw InputError(where, fmt::format("\"{}\" is {}, expected a number", key, type_name(*it)));
  return it->get<double>();
}

std::int64_t read_step(const json& j, const std::string& where, std::int64_t previous, bool first) {
  const auto it = j.find("step");
  if (it == j.end()) throw InputError(where, "no \"step\"");
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
    throw InputError(where, fmt::format("\"step\" is {}, expected a non-negative integer", it->dump()));
  const auto step = it->get<std::int64_t>();
  if (!first && step <= previous)
    throw InputError(where, fmt::format("step {} does not follow step {}", step, previous),
                     "a resumed run cuts its logs back to its checkpoint; were two runs written into one directory?");
  return step;
}

// Calls on_object(object, "path:line") for each line. Returns false when the file does not exist.
template <class Fn>
bool read_jsonl(const std::string& path, std::vector<std::string>& notes, Fn on_object) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot be read", "check its permissions");
  std::string line;
  for (std::int64_t n = 1; std::getline(in, line); ++n) {
    const bool unterminated = in.eof();  // getline hit the end before a newline
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      if (unterminated) {  // a run killed mid-write leaves a partial last line and nothing after it
        notes.push_back(fmt::format("{}:{}: the last line is cut short (a run killed while writing it) and was skipped", path, n));
        break;
      }
      throw InputError(fmt::format("{}:{}:{}", path, n, e.byte), "not a JSON line: " + parse_reason(e),
                       "each line of a run's log is one JSON object; only a cut-short last line is tolerated");
    } catch (const json::out_of_range& e) {
      throw InputError(fmt::format("{}:{}", path, n), "not a JSON line: " + json_error_reason(e),
                       "each line of a run's log is one JSON object; only a cut-short last line is tolerated");
    }
    if (!j.is_object()) throw InputError(fmt::format("{}:{}", path, n), fmt::format("{}, expected a JSON object", type_name(j)));
    on_object(j, fmt::format("{}:{}", path, n));
  }
  if (in.bad()) throw InputError(path, "read failed");
  return true;
}

std::string line_col(const std::string& text, std::size_t byte) {  // nlohmann counts bytes from 1
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
  }
  return fmt::format("{}:{}", line, col);
}

json read_run_json(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path, "missing", kRunHint);
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) throw InputError(path, "cannot be read", "check its permissions");
  const std::string text = ss.str();
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(path + ":" + line_col(text, e.byte), "not valid JSON: " + parse_reason(e), kRunHint);
  } catch (const json::out_of_range& e) {
    throw InputError(path, "not valid JSON: " + json_error_reason(e), kRunHint);
  }
  if (!j.is_object()) throw InputError(path, fmt::format("{}, expected a JSON object", type_name(j)), kRunHint);
  if (!j.contains("format_version")) throw InputError(path, "no \"format_version\"", kRunHint);
  if (!j["format_version"].is_number_integer() || j["format_version"].get<std::int64_t>() != 1)
    throw InputError(path, fmt::format("\"format_version\" is {}; this report reads 1", j["format_version"].dump()),
                     "written by another hrmkit version; render it with that version");
  static const std::set<std::string> kStatus{"running", "finished", "interrupted", "failed"};
  if (!j.contains("status")) throw InputError(path, "no \"status\"", kRunHint);
  if (!j["status"].is_string() || !kStatus.count(j["status"].get<std::string>()))
    throw InputError(path, fmt::format("\"status\" is {}, not running, finished, interrupted or failed", j["status"].dump()));
  auto wrong = [&](const char* key, const char* expected) {
    return InputError(path, fmt::format("\"{}\" is {}, expected {}", key, type_name(j[key]), expected));
  };
  for (const char* key : {"config", "dataset", "device", "preflight_verdict", "message", "started", "finished", "last_checkpoint", "resumed_from"})
    if (j.contains(key) && !j[key].is_string()) throw wrong(key, "a string");
  for (const char* key : {"world_size", "total_steps", "num_params"})
    if (j.contains(key) && !j[key].is_number_integer()) throw wrong(key, "an integer");
  if (j.contains("forced") && !j["forced"].is_boolean()) throw wrong("forced", "true or false");
  if (j.contains("preflight_verdict")) {
    const std::string v = j["preflight_verdict"].get<std::string>();
    if (v != "ok" && v != "warnings" && v != "errors")
      throw InputError(path, fmt::format("\"preflight_verdict\" is \"{}\", not ok, warnings or errors", v));
  }
  if (j.contains("preflight_errors")) {
    const json& e = j["preflight_errors"];
    if (!e.is_array() || !std::all_of(e.begin(), e.end(), [](const json& s) { return s.is_string(); }))
      throw wrong("preflight_errors", "an array of strings");
  }
  return j;
}

// ---- rendering helpers --------------------------------------------------------------------------

std::string str(const json& run, const char* key, const std::string& absent = "\xe2\x80\x94") {
  return run.contains(key) ? run[key].get<std::string>() : absent;
}

std::string num(double v, int digits = 4) {
  if (!std::isfinite(v)) return "\xe2\x80\x94";
  if (v != 0 && (std::fabs(v) < 1e-3 || std::fabs(v) >= 1e6)) return fmt::format("{:.{}e}", v, digits - 1);
  return fmt::format("{:.{}g}", v, digits);
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "\xe2\x80\x94";
  const auto t = static_cast<std::int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h {:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m {:02}s", t / 60, t % 60);
  return fmt::format("{:.1f} s", s);
}

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return kNaN;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Plot-building: series from the step records, downsampled, with a note for the caption.
struct SeriesBuilder {
  std::size_t max_points;
  std::size_t largest = 0;  // points before downsampling, over the series built
  bool thinned = false;

  svg::Series make(const std::string& label, std::vector<double> x, std::vector<double> y, const char* color, bool dashed = false) {
    largest = std::max(largest, x.size());
    const std::size_t before = x.size();
    downsample_minmax(x, y, max_points);
    thinned = thinned || x.size() < before;
    svg::Series s;
    s.label = label;
    s.x = std::move(x);
    s.y = std::move(y);
    s.color = color;
    s.dashed = dashed;
    return s;
  }
  std::string note() const {
    return thinned ? fmt::format(" Long series ({} points) are downsampled to at most {} points: the minimum and maximum of each "
                                 "bucket of consecutive steps, so spikes stay visible.", largest, max_points)
                   : std::string();
  }
};

template <class Get>
std::vector<double> column(const std::vector<StepRecord>& s, Get get, bool halted_only = false) {
  std::vector<double> v;
  for (const auto& r : s)
    if (!halted_only || r.count > 0) v.push_back(get(r));
  return v;
}

svg::Plot plot(const std::string& id, const std::string& title, const std::string& ylabel, int width = kPageHalfWidth) {
  svg::Plot p;
  p.id = id;
  p.title = title;
  p.width = width;
  p.height = 280;
  p.x.label = "optimizer step";
  p.y.label = ylabel;
  p.empty_note = "no data yet";
  return p;
}

// Evaluations are few: a dot per value, so a single evaluation is visible and lines read as joins.
void mark_points(svg::Plot& p) {
  std::size_t n = 0;
  for (const auto& s : p.series) n += s.x.size();
  if (n > 400) return;
  for (std::size_t i = 0; i < p.series.size(); ++i)
    for (std::size_t k = 0; k < p.series[i].x.size(); ++k)
      p.markers.push_back({p.series[i].x[k], p.series[i].y[k], "", p.series[i].color ? p.series[i].color : svg::series_color(i), false, 3});
}

std::string status_block(const RunData& d) {
  const std::string status = d.run["status"].get<std::string>();
  const bool ok = status == "finished", running = status == "running";
  const char* cls = ok ? "vetted" : running ? "" : "rejected";
  const std::string badge = fmt::format(R"(<span class="badge {}"{}>{}</span>)", cls,
                                        running ? R"( style="background:#0067a3")" : "", escape(status == "finished" ? "\xe2\x9c\x93 FINISHED" :
                                        status == "running" ? "\xe2\x80\xa6 RUNNING" : status == "interrupted" ? "\xe2\x80\x96 INTERRUPTED" : "\xe2\x9c\x97 FAILED"));
  const std::int64_t last = d.steps.empty() ? 0 : d.steps.back().step;
  const std::string total = d.run.contains("total_steps") ? format_count(double(d.run["total_steps"].get<std::int64_t>())) : "?";
  std::string lines = fmt::format(R"(<p class="counts">step {} of {}</p>)", format_count(double(last)), total);
  if (d.run.contains("message")) lines += fmt::format("<p>{}</p>", escape(d.run["message"].get<std::string>()));
  lines += fmt::format("<p>started {} &#183; finished {}</p>", escape(str(d.run, "started")), escape(str(d.run, "finished")));
  return fmt::format(R"(<section class="verdict {}" id="status"{}>{}<div>{}</div></section>)", cls,
                     running ? R"( style="border-color:#0067a3")" : "", badge, lines);
}

// A forced run trained on a config the analyzer rejected: its errors head the page.
std::string forced_block(const RunData& d) {
  const bool forced = d.run.contains("forced") && d.run["forced"].get<bool>();
  if (!forced) return "";
  std::string items;
  if (d.run.contains("preflight_errors"))
    for (const auto& e : d.run["preflight_errors"]) items += "<li>" + escape(e.get<std::string>()) + "</li>";
  if (items.empty()) items = "<li>run.json lists no analyzer error</li>";
  const std::string link = d.has_preflight_html ? R"( See the <a href="preflight.html">pre-flight report</a>.)" : "";
  return fmt::format(R"(<article class="finding sev-error" id="forced"><div class="head"><span class="sev">FORCED</span> )"
                     R"(<b>trained with --force although the pre-flight analyzer rejected the config</b></div>)"
                     R"(<p>The analyzer's errors:</p><ul>{}</ul><p>Results of this run may be misleading for the reasons above.{}</p></article>)",
                     items, link);
}

std::string facts_table(const RunData& d) {
  std::vector<std::vector<std::string>> rows;
  static const std::set<std::string> kShownElsewhere{"format_version", "status", "message", "started", "finished", "forced", "preflight_errors"};
  for (const char* key : {"config", "dataset", "device", "world_size", "num_params", "total_steps", "preflight_verdict", "resumed_from", "last_checkpoint"})
    if (d.run.contains(key)) rows.push_back({key, d.run[key].is_string() ? d.run[key].get<std::string>() : d.run[key].dump()});
  for (const auto& [key, v] : d.run.items()) {  // fields added by later trainers still show
    static const std::set<std::string> kListed{"config", "dataset", "device", "world_size", "num_params", "total_steps", "preflight_verdict",
                                               "resumed_from", "last_checkpoint"};
    if (kShownElsewhere.count(key) || kListed.count(key)) continue;
    rows.push_back({key, v.is_string() ? v.get<std::string>() : v.dump()});
  }
  rows.push_back({"run directory", d.dir});
  return html_table({"fact", "value"}, rows, 9);
}

std::string cards(const RunData& d) {
  const auto& s = d.steps;
  std::string out = R"(<div class="cards">)";
  if (s.empty()) return out + html_card("steps logged", "0", "metrics.jsonl is empty") + "</div>";
  const StepRecord& last = s.back();
  out += html_card("last loss", num(last.loss), fmt::format("lm_loss {} at step {}", num(last.lm_loss), format_count(double(last.step))));
  const auto halted = std::find_if(s.rbegin(), s.rend(), [](const StepRecord& r) { return r.count > 0; });
  out += halted == s.rend() ? html_card("train exact accuracy", "\xe2\x80\x94", "no step with halted slots yet")
                            : html_card("train exact accuracy", num(halted->exact_accuracy, 3),
                                   fmt::format("last step with halted slots: {}", format_count(double(halted->step))));
  if (!d.evals.empty()) {
    const auto& m = d.evals.back().metrics;
    const auto ex = m.find("exact_accuracy");
    out += html_card("eval exact accuracy", ex == m.end() ? "\xe2\x80\x94" : num(ex->second, 3), fmt::format("at step {}", format_count(double(d.evals.back().step))));
  } else {
    out += html_card("eval exact accuracy", "\xe2\x80\x94", "no evaluation yet");
  }
  out += html_card("throughput", format_count(std::round(median(column(s, [](const StepRecord& r) { return r.examples_per_s; })))) + " ex/s",
              fmt::format("median; {} tokens/s", format_count(std::round(median(column(s, [](const StepRecord& r) { return r.tokens_per_s; }))))));
  out += html_card("elapsed", duration(last.elapsed_s), "wall clock of the logged steps");
  out += html_card("learning rate", num(last.lr, 3), fmt::format("grad norm {}", num(last.grad_norm, 3)));
  return out + "</div>";
}

std::string training_section(const RunData& d, std::size_t max_points) {
  const auto& s = d.steps;
  SeriesBuilder sb{max_points};
  auto x_all = column(s, [](const StepRecord& r) { return double(r.step); });
  auto x_halt = column(s, [](const StepRecord& r) { return double(r.step); }, true);
  std::int64_t halted_steps = static_cast<std::int64_t>(x_halt.size());

  svg::Plot loss = plot("plot-loss", "Training loss per optimizer step", "loss per example (log scale)", kPageWidth);
  loss.y.log = true;
  loss.series = {sb.make("total loss", x_all, column(s, [](const StepRecord& r) { return r.loss; }), svg::kBlue),
                 sb.make("lm_loss", x_all, column(s, [](const StepRecord& r) { return r.lm_loss; }), svg::kOrange),
                 sb.make("q_halt_loss", x_all, column(s, [](const StepRecord& r) { return r.q_halt_loss; }), svg::kGreen, true),
                 sb.make("q_continue_loss", x_all, column(s, [](const StepRecord& r) { return r.q_continue_loss; }), svg::kPurple, true)};
  svg::Plot lr = plot("plot-lr", "Learning rate per optimizer step", "learning rate");
  lr.series = {sb.make("lr", x_all, column(s, [](const StepRecord& r) { return r.lr; }), svg::kBlue)};
  svg::Plot gn = plot("plot-grad-norm", "Gradient norm per optimizer step", "gradient norm (log scale)");
  gn.y.log = true;
  gn.series = {sb.make("grad norm", x_all, column(s, [](const StepRecord& r) { return r.grad_norm; }), svg::kVermillion)};
  svg::Plot acc = plot("plot-train-accuracy", "Training accuracy over the steps where slots halted", "fraction");
  acc.y.min = 0;
  acc.y.max = 1;
  acc.series = {sb.make("exact accuracy", x_halt, column(s, [](const StepRecord& r) { return r.exact_accuracy; }, true), svg::kBlue),
                sb.make("token accuracy", x_halt, column(s, [](const StepRecord& r) { return r.accuracy; }, true), svg::kOrange),
                sb.make("q_halt accuracy", x_halt, column(s, [](const StepRecord& r) { return r.q_halt_accuracy; }, true), svg::kGreen, true)};
  svg::Plot act = plot("plot-act-steps", "Mean ACT steps of the halted slots", "ACT steps (segments)");
  act.series = {sb.make("mean ACT steps", x_halt, column(s, [](const StepRecord& r) { return r.steps; }, true), svg::kPurple)};
  svg::Plot tp = plot("plot-throughput", "Training throughput per optimizer step", "examples per second", kPageWidth);
  tp.height = 240;
  tp.series = {sb.make("examples/s", x_all, column(s, [](const StepRecord& r) { return r.examples_per_s; }), svg::kSky)};

  const std::string halted_note = fmt::format(
      "Only the {} of {} steps where some slot halted (count > 0): HRM logs these metrics per step over the slots halting in that "
      "step, and logs zeros in the other steps (HRM-SPEC 2.4, 11.1 item 1), so those steps are left out.",
      format_count(double(halted_steps)), format_count(double(s.size())));
  std::string out = R"(<section id="training"><h2>Training</h2>)";
  out += html_figure("Loss", svg::render(loss),
                     "Total loss = lm_loss + 0.5 (q_halt_loss + q_continue_loss), each per example of the global batch, at every "
                     "optimizer step (all slots, halted or not)." + sb.note());
  out += R"(<div class="grid">)";
  out += html_figure("Learning rate", svg::render(lr), "The AdamATan2 learning rate used by each step (warmup, then cosine decay).");
  out += html_figure("Gradient norm", svg::render(gn), "Global L2 norm of the dense parameters' gradient, before the update.");
  out += html_figure("Training accuracy", svg::render(acc), halted_note);
  out += html_figure("ACT steps", svg::render(act), "Mean number of segments the halted slots ran. " + halted_note);
  out += "</div>";
  out += html_figure("Throughput", svg::render(tp),
                     fmt::format("Examples (rows of the global batch) per second of each step; median {} examples/s, {} tokens/s.",
                                 format_count(std::round(median(column(s, [](const StepRecord& r) { return r.examples_per_s; })))),
                                 format_count(std::round(median(column(s, [](const StepRecord& r) { return r.tokens_per_s; }))))));
  return out + "</section>";
}

std::string eval_section(const RunData& d, std::size_t max_points) {
  std::string out = R"(<section id="evaluation"><h2>Evaluation</h2>)";
  if (d.evals.empty())
    return out + (d.has_eval_file ? "<p>No evaluation yet: eval.jsonl is empty.</p>" : "<p>No eval.jsonl in the run directory.</p>") + "</section>";
  SeriesBuilder sb{max_points};
  std::vector<double> x;
  for (const auto& e : d.evals) x.push_back(double(e.step));
  auto metric = [&](const std::string& key) {
    std::vector<double> y;
    for (const auto& e : d.evals) {
      const auto it = e.metrics.find(key);
      y.push_back(it == e.metrics.end() ? kNaN : it->second);
    }
    return y;
  };
  auto has = [&](const std::string& key) {
    return std::any_of(d.evals.begin(), d.evals.end(), [&](const EvalRecord& e) { return e.metrics.count(key) > 0; });
  };
  svg::Plot acc = plot("plot-eval-accuracy", "Evaluation accuracy per evaluation", "fraction of test rows");
  acc.y.min = 0;
  acc.y.max = 1;
  acc.series = {sb.make("exact accuracy", x, metric("exact_accuracy"), svg::kBlue),
                sb.make("token accuracy", x, metric("accuracy"), svg::kOrange),
                sb.make("q_halt accuracy", x, metric("q_halt_accuracy"), svg::kGreen, true)};
  if (has("valid_solutions")) acc.series.push_back(sb.make("valid Sudoku solutions", x, metric("valid_solutions"), svg::kPurple));
  svg::Plot loss = plot("plot-eval-loss", "Evaluation losses per evaluation", "loss per test row");
  loss.series = {sb.make("lm_loss", x, metric("lm_loss"), svg::kOrange), sb.make("q_halt_loss", x, metric("q_halt_loss"), svg::kGreen, true)};

  mark_points(acc);
  mark_points(loss);
  out += R"(<div class="grid">)";
  out += html_figure("Accuracy", svg::render(acc),
                     "Over the real test rows at the final (halt_max_steps-th) segment, after every evaluation"
                     + std::string(has("valid_solutions") ? "; valid Sudoku solutions: predictions that solve the puzzle, whether or not they equal the label." : "."));
  out += html_figure("Loss", svg::render(loss), "Summed over the test rows and divided by their count (HRM-SPEC 2.4).");
  out += "</div>";
  std::vector<std::string> pass_keys;
  for (const auto& e : d.evals)
    for (const auto& [k, v] : e.metrics)
      if (k.rfind("pass@", 0) == 0 && std::find(pass_keys.begin(), pass_keys.end(), k) == pass_keys.end()) pass_keys.push_back(k);
  std::sort(pass_keys.begin(), pass_keys.end(), [](const std::string& a, const std::string& b) {
    return std::atof(a.c_str() + 5) < std::atof(b.c_str() + 5);
  });
  if (!pass_keys.empty()) {
    svg::Plot arc = plot("plot-eval-arc", "ARC pass@K per evaluation", "tasks solved (%)", kPageWidth);
    arc.y.min = 0;
    arc.y.max = 100;
    for (std::size_t i = 0; i < pass_keys.size(); ++i) arc.series.push_back(sb.make(pass_keys[i], x, metric(pass_keys[i]), svg::series_color(i)));
    mark_points(arc);
    out += html_figure("ARC pass@K", svg::render(arc),
                       "HRM's ARC scoring (arc_eval.ipynb): every augmented version votes for its de-augmented prediction; answers rank by "
                       "votes, then mean sigmoid(q_halt); a task is solved at K when all of its query inputs have the true output among "
                       "the top K. The paper's metric is pass@2.");
  }
  const EvalRecord& last = d.evals.back();
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : last.metrics) rows.push_back({k, k.rfind("pass@", 0) == 0 ? num(v) + " %" : num(v, 6)});
  out += fmt::format(R"(<h3 id="last-eval">Last evaluation: step {}</h3>)", format_count(double(last.step))) + html_table({"metric", "value"}, rows, 1);
  return out + "</section>";
}

}  // namespace

// ---- public -------------------------------------------------------------------------------------

void downsample_minmax(std::vector<double>& x, std::vector<double>& y, std::size_t max_points) {
  std::vector<double> fx, fy;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) {
      fx.push_back(x[i]);
      fy.push_back(y[i]);
    }
  const std::size_t buckets = std::max<std::size_t>(1, max_points / 2);
  if (fx.size() <= max_points || max_points < 2) {
    x = std::move(fx);
    y = std::move(fy);
    return;
  }
  std::vector<double> ox, oy;
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t lo = fx.size() * b / buckets, hi = fx.size() * (b + 1) / buckets;
    if (lo >= hi) continue;
    std::size_t mn = lo, mx = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      if (fy[i] < fy[mn]) mn = i;
      if (fy[i] > fy[mx]) mx = i;
    }
    for (std::size_t k : {std::min(mn, mx), std::max(mn, mx)}) {
      ox.push_back(fx[k]);
      oy.push_back(fy[k]);
      if (mn == mx) break;
    }
  }
  x = std::move(ox);
  y = std::move(oy);
}

RunData read_run_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir, "not a directory", kRunHint);
  RunData d;
  d.dir = dir;
  const fs::path p(dir);
  d.run = read_run_json((p / "run.json").string());

  std::int64_t nonfinite = 0;
  const std::string metrics_path = (p / "metrics.jsonl").string();
  const bool has_metrics = read_jsonl(metrics_path, d.notes, [&](const json& j, const std::string& where) {
    StepRecord r;
    r.step = read_step(j, where, d.steps.empty() ? 0 : d.steps.back().step, d.steps.empty());
    auto get = [&](const char* key, bool required = true) { return read_number(j, key, where, required, nonfinite); };
    r.lr = get("lr");
    r.loss = get("loss");
    r.lm_loss = get("lm_loss");
    r.q_halt_loss = get("q_halt_loss");
    r.q_continue_loss = get("q_continue_loss", false);  // absent when halt_max_steps = 1 (HRM-SPEC 11.1 item 4)
    r.count = get("count");
    r.accuracy = get("accuracy");
    r.exact_accuracy = get("exact_accuracy");
    r.q_halt_accuracy = get("q_halt_accuracy");
    r.steps = get("steps");
    r.grad_norm = get("grad_norm");
    r.examples_per_s = get("examples_per_s");
    r.tokens_per_s = get("tokens_per_s");
    r.elapsed_s = get("elapsed_s");
    d.steps.push_back(r);
  });
  if (!has_metrics) throw InputError(metrics_path, "missing", kRunHint);
  if (nonfinite) d.notes.push_back(fmt::format("{}: {} values are null (NaN or infinite when written); the plots leave them out", metrics_path, nonfinite));

  nonfinite = 0;
  const std::string eval_path = (p / "eval.jsonl").string();
  d.has_eval_file = read_jsonl(eval_path, d.notes, [&](const json& j, const std::string& where) {
    EvalRecord e;
    e.step = read_step(j, where, d.evals.empty() ? 0 : d.evals.back().step, d.evals.empty());
    for (const char* key : {"accuracy", "exact_accuracy", "lm_loss", "q_halt_accuracy", "q_halt_loss", "steps", "count"})
      e.metrics[key] = read_number(j, key, where, true, nonfinite);
    for (const auto& [key, v] : j.items()) {
      const bool extra = key == "valid_solutions" || key.rfind("pass@", 0) == 0;
      if (key == "step" || e.metrics.count(key)) continue;
      if (extra) e.metrics[key] = read_number(j, key, where, true, nonfinite);
      else if (v.is_number()) e.metrics[key] = v.get<double>();  // later extras are shown, not rejected
    }
    d.evals.push_back(std::move(e));
  });
  if (nonfinite) d.notes.push_back(fmt::format("{}: {} values are null (NaN or infinite when written); the plots leave them out", eval_path, nonfinite));
  d.has_monitor_file = read_jsonl((p / "monitors.jsonl").string(), d.notes, [&](const json& j, const std::string& where) {
    MonitorRecord m;
    m.step = read_step(j, where, 0, true);  // several events may share a step
    for (const char* key : {"id", "severity", "message"})
      if (!j.contains(key) || !j[key].is_string()) throw InputError(where, fmt::format("\"{}\" is missing or not a string", key));
    m.id = j["id"].get<std::string>();
    m.severity = j["severity"].get<std::string>();
    m.message = j["message"].get<std::string>();
    m.in_warmup = j.value("in_warmup", false);
    d.monitors.push_back(std::move(m));
  });
  d.has_preflight_html = fs::is_regular_file(p / "preflight.html", ec);
  return d;
}

// The monitors' events (trainer/loop/monitors.hpp) as findings, in step order.
std::string monitors_section(const RunData& d) {
  std::string out = R"(<section id="monitors"><h2>Monitors</h2>)";
  if (!d.has_monitor_file) return out + "<p>This run has no monitors.jsonl (written by earlier trainers).</p></section>";
  if (d.monitors.empty()) return out + "<p>No monitor fired: no gradient-norm or loss spike, ACT neither collapsed nor saturated.</p></section>";
  for (const MonitorRecord& m : d.monitors)
    out += fmt::format(R"(<article class="finding sev-{}"><div class="head"><span class="sev">{}</span> <code>{}</code>)"
                       R"(<span class="loc">step {}{}</span></div><p>{}</p></article>)",
                       m.severity == "warning" ? "warning" : "info", m.severity == "warning" ? "WARNING" : "NOTE", escape(m.id),
                       m.step, m.in_warmup ? " &#183; warmup" : "", escape(m.message));
  return out + "</section>";
}

std::string render_run_report(const RunData& d, std::size_t plot_points) {
  const std::string name = fs::path(d.dir).lexically_normal().filename().string().empty()
                               ? fs::path(d.dir).lexically_normal().parent_path().filename().string()
                               : fs::path(d.dir).lexically_normal().filename().string();
  std::string body = fmt::format(R"(<header><p class="kicker">hrmkit &#183; HRM training run</p><h1>{}</h1><p class="sub">config <code>{}</code> &#183; dataset <code>{}</code> &#183; device {} &#183; world size {}{}</p></header>)",
                                 escape(name), escape(str(d.run, "config")), escape(str(d.run, "dataset")), escape(str(d.run, "device")),
                                 d.run.contains("world_size") ? d.run["world_size"].dump() : "\xe2\x80\x94",
                                 d.has_preflight_html ? R"( &#183; <a href="preflight.html">pre-flight report</a>)" : "");
  body += forced_block(d) + status_block(d) + cards(d) + monitors_section(d);
  body += training_section(d, plot_points) + eval_section(d, plot_points);
  body += R"(<section id="facts"><h2>Run facts</h2>)" + facts_table(d) + "</section>";
  body += R"(<section id="notes"><h2>Reading notes</h2>)";
  if (d.notes.empty()) {
    body += "<p>Every line of the logs was read.</p>";
  } else {
    body += "<ul>";
    for (const auto& n : d.notes) body += "<li>" + escape(n) + "</li>";
    body += "</ul>";
  }
  body += "</section>";
  body += fmt::format("<footer>From run.json (format_version 1), metrics.jsonl ({} steps) and eval.jsonl ({} evaluations) &#183; "
                      "`hrm report` re-renders this page at any time, also while the run is going</footer>",
                      d.steps.size(), d.evals.size());
  return html_page(fmt::format("HRM run: {} \xe2\x80\x94 {}", name, d.run["status"].get<std::string>()), body);
}

std::string write_run_report(const std::string& dir, const std::string& out) {
  const RunData d = read_run_dir(dir);
  const std::string path = out.empty() ? (fs::path(dir) / "report.html").string() : out;
  const std::string html = render_run_report(d);
  try {
    write_file_atomic(path, html);
  } catch (const InputError& e) {
    throw InputError("", e.what(), "give a writable --out path");  // e names the path already
  }
  return path;
}

}  // namespace hrm
