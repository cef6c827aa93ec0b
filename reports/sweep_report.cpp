// sweep_report.cpp: a what-if sweep (analyzer/sweep.hpp) as JSON, a terminal table, Markdown and an
// HTML page with the table and one chart per measure. Every format marks the recommended row
// (reports/README.md, "Sweeps").
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "reports/html_page.hpp"
#include "reports/render.hpp"
#include "reports/svg_plot.hpp"

namespace hrm {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr const char* kRecommendedIs = "the vetted combination with the fewest warnings that is closest to the analyzer's recommendation";

std::string value_text(const SweepAxis& a, double v) {
  return a.integer ? fmt::format("{}", static_cast<long long>(std::llround(v))) : fmt::format("{:g}", v);
}

// "train.global_batch_size=96 hardware.num_gpus=4": the combination as the overrides that make it.
std::string combination(const SweepResult& s, const SweepRow& row, std::size_t from = 0) {
  std::string out;
  for (std::size_t a = from; a < s.axes.size(); ++a)
    out += (out.empty() ? "" : " ") + s.axes[a].key + "=" + value_text(s.axes[a], row.values[a]);
  return out;
}

std::string target_text(const SweepResult& s) {
  const auto& t = s.target;
  return fmt::format("batch {} on {} GPU{}, lr_warmup_steps {}, lr {:.3g}", t.global_batch_size, t.num_gpus, t.num_gpus == 1 ? "" : "s",
                     t.lr_warmup_steps, t.lr);
}

int vetted_count(const SweepResult& s) {
  return static_cast<int>(std::count_if(s.rows.begin(), s.rows.end(), [](const SweepRow& r) { return r.verdict == "vetted"; }));
}

// The table shared by the text, Markdown and HTML renderers: swept keys first, then the measures.
std::vector<std::string> header(const SweepResult& s) {
  std::vector<std::string> h;
  for (const auto& a : s.axes) h.push_back(a.key);
  for (const char* c : {"verdict", "regime", "updates per epoch", "warmup (epochs)", "per-GPU batch", "memory per GPU (GiB)",
                        "recommended lr", "errors / warnings", "problems"})
    h.push_back(c);
  return h;
}

// Swept values and measures are right-aligned numbers; verdict, regime and problems are words.
bool numeric_column(const SweepResult& s, std::size_t k, std::size_t columns) {
  return k < s.axes.size() || (k > s.axes.size() + 1 && k + 1 < columns);
}

std::vector<std::string> cells(const SweepResult& s, const SweepRow& r) {
  std::vector<std::string> c;
  for (std::size_t a = 0; a < s.axes.size(); ++a) c.push_back(value_text(s.axes[a], r.values[a]));
  std::string problems;
  for (const auto& p : r.problems) problems += (problems.empty() ? "" : ", ") + p;
  for (std::string v : {r.verdict, r.regime, fmt::format("{:.2f}", r.updates_per_epoch), fmt::format("{:.1f}", r.warmup_epochs),
                        fmt::format("{}", r.per_gpu_batch), fmt::format("{:.2f}", r.memory_per_gpu_bytes / kGiB),
                        fmt::format("{:.3g}", r.recommended_lr), fmt::format("{} / {}", r.errors, r.warnings),
                        problems.empty() ? "-" : problems})
    c.push_back(v);
  return c;
}

std::string summary_line(const SweepResult& s) {
  return fmt::format("{} of {} combinations vetted; recommended: {}", vetted_count(s), s.rows.size(),
                     s.recommended < 0 ? "none (no combination is vetted)" : combination(s, s.rows[s.recommended]));
}

// One chart per measure against the first swept key; the other keys' combinations are the series.
// Filled points are vetted, hollow ones rejected; a ring marks the recommended row.
std::string chart(const SweepResult& s, const std::string& id, const std::string& title, const std::string& y_label, bool y_log,
                  double (*measure)(const SweepRow&), const std::vector<svg::RefLine>& hlines) {
  const auto& ax = s.axes[0];
  svg::Plot p;
  p.id = id;
  p.title = title;
  p.width = 520;
  p.height = 300;
  const double lo = *std::min_element(ax.numbers.begin(), ax.numbers.end()), hi = *std::max_element(ax.numbers.begin(), ax.numbers.end());
  p.x.label = ax.key;
  if (lo > 0 && hi / lo >= 4) {  // a log axis ticked at the swept values: batch sizes usually double
    p.x.log = true;
    p.x.min = lo / 1.4;
    p.x.max = hi * 1.4;
    p.x.ticks = ax.numbers;
  }
  p.y.label = y_label;
  p.y.log = y_log;
  std::map<std::string, std::size_t> series_of;
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    const auto& row = s.rows[i];
    const std::string key = combination(s, row, 1);
    const auto [it, fresh] = series_of.try_emplace(key, p.series.size());
    if (fresh) {
      p.series.emplace_back();
      p.series.back().label = key;
      p.series.back().color = svg::series_color(it->second);
    }
    auto& ser = p.series[it->second];
    ser.x.push_back(row.values[0]);
    ser.y.push_back(measure(row));
    p.markers.push_back({row.values[0], measure(row), "", ser.color, row.verdict != "vetted", 4.5});
  }
  for (auto& ser : p.series) {  // rows come in odometer order; a line needs its points sorted by x
    std::vector<std::size_t> order(ser.x.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ser.x[a] < ser.x[b]; });
    std::vector<double> x, y;
    for (auto k : order) { x.push_back(ser.x[k]); y.push_back(ser.y[k]); }
    ser.x = x;
    ser.y = y;
  }
  if (s.recommended >= 0) {
    const auto& rec = s.rows[s.recommended];
    p.markers.push_back({rec.values[0], measure(rec), "recommended", svg::kInk, true, 10});
  }
  if (ax.key == "train.global_batch_size" && !s.rows.empty()) {
    const double G = double(s.rows[0].groups);
    if (G >= lo / 1.4 && G <= hi * 1.4) p.vlines.push_back({G, fmt::format("B = groups ({}): survey beyond", format_count(G)), svg::kGray, true});
  }
  p.hlines = hlines;
  return svg::render(p);
}

std::string html_table(const SweepResult& s) {
  std::string out = R"(<div class="wide"><table class="sweep"><thead><tr><th></th>)";
  const auto h = header(s);
  for (std::size_t k = 0; k < h.size(); ++k) {  // long keys may break after their section's dot
    std::string name = svg::escape(h[k]);
    if (const auto dot = name.find('.'); k < s.axes.size() && dot != std::string::npos) name.insert(dot + 1, "<wbr>");
    out += fmt::format("<th{}>{}</th>", numeric_column(s, k, h.size()) ? R"( class="n")" : "", name);
  }
  out += "</tr></thead><tbody>";
  const std::size_t verdict_col = s.axes.size();
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    const bool rec = static_cast<int>(i) == s.recommended;
    out += fmt::format("<tr{}><td>{}</td>", rec ? R"( class="recommended")" : "", rec ? "\xe2\x98\x85" : "");
    const auto c = cells(s, s.rows[i]);
    for (std::size_t k = 0; k + 1 < c.size(); ++k) {
      const std::string cls = k == verdict_col ? c[k] : numeric_column(s, k, c.size()) ? "n" : "";
      out += fmt::format("<td{}>{}</td>", cls.empty() ? "" : R"( class=")" + cls + "\"", svg::escape(c[k]));
    }
    std::string problems;  // one rule id per line: the column stays narrow
    for (const auto& p : s.rows[i].problems) problems += (problems.empty() ? "" : "<br>") + svg::escape(p);
    out += fmt::format(R"(<td class="ids">{}</td>)", problems.empty() ? "-" : problems);
    out += "</tr>";
  }
  return out + "</tbody></table></div>";
}

}  // namespace

nlohmann::json sweep_to_json(const SweepResult& s) {
  using nlohmann::json;
  json axes = json::array(), rows = json::array();
  for (const auto& a : s.axes) {
    json values = json::array();
    for (double v : a.numbers) values.push_back(a.integer ? json(std::llround(v)) : json(v));
    axes.push_back(json{{"key", a.key}, {"values", values}});
  }
  for (const auto& r : s.rows) {
    json values = json::object();
    for (std::size_t a = 0; a < s.axes.size(); ++a)
      values[s.axes[a].key] = s.axes[a].integer ? json(std::llround(r.values[a])) : json(r.values[a]);
    rows.push_back(json{{"values", values}, {"verdict", r.verdict}, {"regime", r.regime}, {"global_batch_size", r.global_batch_size},
                        {"num_gpus", r.num_gpus}, {"per_gpu_batch", r.per_gpu_batch}, {"executed_steps", r.executed_steps},
                        {"updates_per_epoch", r.updates_per_epoch}, {"lr_warmup_steps", r.lr_warmup_steps},
                        {"warmup_epochs", r.warmup_epochs}, {"memory_per_gpu_bytes", r.memory_per_gpu_bytes},
                        {"gpu_bytes", r.gpu_bytes}, {"lr", r.lr}, {"recommended_lr", r.recommended_lr},
                        {"counts", json{{"error", r.errors}, {"warning", r.warnings}, {"info", r.notes}}}, {"problems", r.problems}});
  }
  const auto& t = s.target;
  return json{{"format_version", kReportFormatVersion},
              {"kind", "sweep"},
              {"config_file", s.config_file},
              {"overrides", s.overrides},
              {"axes", axes},
              {"target", json{{"global_batch_size", t.global_batch_size}, {"num_gpus", t.num_gpus},
                              {"lr_warmup_steps", t.lr_warmup_steps}, {"lr", t.lr}}},
              {"recommended_row", s.recommended < 0 ? json(nullptr) : json(s.recommended)},
              {"rows", rows},
              {"seconds", s.seconds}};
}

std::string render_sweep_text(const SweepResult& s, bool color) {
  auto paint = [&](const std::string& text, const char* code) { return color ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : text; };
  std::string out = fmt::format("# hrm analyze {} --sweep: {} combinations in {:.1f} s\n", s.config_file, s.rows.size(), s.seconds);
  out += fmt::format("# rec '*': {} ({})\n", kRecommendedIs, target_text(s));
  std::vector<std::vector<std::string>> table = {header(s)};
  table[0].insert(table[0].begin(), "rec");
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    table.push_back(cells(s, s.rows[i]));
    table.back().insert(table.back().begin(), static_cast<int>(i) == s.recommended ? "*" : "-");
  }
  std::vector<std::size_t> width(table[0].size(), 0);
  for (const auto& row : table)
    for (std::size_t k = 0; k < row.size(); ++k) width[k] = std::max(width[k], row[k].size());
  const std::size_t verdict_col = s.axes.size() + 1;
  for (std::size_t i = 0; i < table.size(); ++i) {
    std::string line;
    for (std::size_t k = 0; k < table[i].size(); ++k) {
      std::string cell = fmt::format("{:<{}}", table[i][k], k + 1 < table[i].size() ? width[k] : 0);
      if (i > 0 && k == verdict_col) cell = paint(cell, table[i][k] == "vetted" ? "32" : "31");
      line += (k ? "  " : "") + cell;
    }
    out += line + "\n";
  }
  out += fmt::format("sweep: {}\n", paint(summary_line(s), s.recommended < 0 ? "1;31" : "1;32"));
  return out;
}

std::string render_sweep_markdown(const SweepResult& s) {
  auto cell = [](const std::string& v) {
    std::string out;
    for (char ch : v) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
    return out;
  };
  std::string out = fmt::format("## HRM what-if sweep: `{}` ({} of {} combinations vetted)\n\n", s.config_file, vetted_count(s), s.rows.size());
  out += s.recommended < 0 ? "No combination is vetted.\n\n"
                           : fmt::format("Recommended (\xe2\x98\x85): `{}`, {} ({}).\n\n", combination(s, s.rows[s.recommended]),
                                         kRecommendedIs, target_text(s));
  const auto h = header(s);
  out += "| |";
  for (const auto& c : h) out += " " + cell(c) + " |";
  out += "\n|---|";
  for (std::size_t k = 0; k < h.size(); ++k) out += numeric_column(s, k, h.size()) ? "---:|" : "---|";
  out += "\n";
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    const bool rec = static_cast<int>(i) == s.recommended;
    out += rec ? "| \xe2\x98\x85 |" : "| |";
    for (const auto& c : cells(s, s.rows[i])) out += rec ? " **" + cell(c) + "** |" : " " + cell(c) + " |";
    out += "\n";
  }
  return out;
}

std::string render_sweep_html(const SweepResult& s) {
  const bool any = s.recommended >= 0;
  std::string body = fmt::format(
      R"(<header><p class="kicker">hrmkit &#183; HRM what-if sweep</p><h1>{}</h1><p class="sub">{} combinations of {} &#183; )"
      R"(the unswept configuration: <a href="preflight.html">preflight.html</a></p></header>)",
      svg::escape(s.config_file), s.rows.size(),
      svg::escape([&] {
        std::string keys;
        for (const auto& a : s.axes) keys += (keys.empty() ? "" : " \xc3\x97 ") + a.key;
        return keys;
      }()));
  body += fmt::format(R"(<section id="verdict" class="verdict {}">{}<div><p class="counts">{} of {} combinations vetted</p><p>{}</p></div></section>)",
                      any ? "vetted" : "rejected", html_verdict_badge(any ? "vetted" : "rejected"), vetted_count(s), s.rows.size(),
                      svg::escape(any ? fmt::format("Recommended: {}, {} ({}).", combination(s, s.rows[s.recommended]),
                                                    kRecommendedIs, target_text(s))
                                      : "No combination is vetted: see the problems column."));
  const double cap = s.rows.empty() ? 0 : s.rows[0].gpu_bytes / kGiB;
  double most = 0;
  for (const auto& r : s.rows) most = std::max(most, r.memory_per_gpu_bytes / kGiB);
  // Far below capacity the capacity line would flatten every series: it is then named in the caption.
  std::vector<svg::RefLine> capacity;
  if (most >= 0.4 * cap) capacity.push_back({cap, fmt::format("GPU memory {:.0f} GiB", cap), svg::kVermillion, true});
  const std::string legend =
      "Filled points are vetted, hollow ones rejected; the ring marks the recommended combination. Series that coincide do not "
      "depend on their key.";
  body += R"(<section id="chart"><h2>Chart</h2><div class="grid">)";
  body += html_figure("Updates per epoch", chart(s, "plot-sweep-updates", "Updates per epoch", "updates per epoch", false,
                                                 [](const SweepRow& r) { return r.updates_per_epoch; }, {}), legend);
  body += html_figure("Warmup in epochs", chart(s, "plot-sweep-warmup", "Warmup in epochs", "warmup (epochs)", false,
                                                [](const SweepRow& r) { return r.warmup_epochs; }, {}), "lr_warmup_steps \xc3\x97 batch / examples per epoch.");
  body += html_figure("Per-GPU batch", chart(s, "plot-sweep-per-gpu", "Per-GPU batch", "rows per GPU", true,
                                             [](const SweepRow& r) { return double(r.per_gpu_batch); },
                                             {{16, "16 per GPU", svg::kGray, true}, {256, "256 per GPU", svg::kGray, true}}),
                      "global batch / GPUs; outside 16-256 a GPU is under-used or its batch statistics get coarse.");
  body += html_figure("Memory per GPU", chart(s, "plot-sweep-memory", "Memory per GPU", "GiB per GPU", false,
                                              [](const SweepRow& r) { return r.memory_per_gpu_bytes / kGiB; }, capacity),
                      fmt::format("The analyzer's estimate (parameters, optimizer state, gradients, puzzle embeddings, activations, "
                                  "workspace) against {:.0f} GiB per GPU.", cap));
  body += "</div></section>";
  body += R"(<section id="table"><h2>Every combination</h2>)" + html_table(s) + "</section>";
  body += fmt::format("<footer>Sweep format_version {} &#183; {:.1f} s for {} analyses &#183; the same data: sweep.json, sweep.md "
                      "&#183; fields are defined in hrmkit's reports/README.md</footer>",
                      kReportFormatVersion, s.seconds, s.rows.size());
  return html_page(fmt::format("HRM what-if sweep \xe2\x80\x94 {}", s.config_file), body);
}

}  // namespace hrm
