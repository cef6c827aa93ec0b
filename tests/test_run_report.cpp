// test_run_report.cpp: `hrm report RUN_DIR` (reports/run_report.hpp) on synthetic run directories
// shaped as trainer/loop/run.cpp writes them: the page holds every plot as well-formed SVG; metrics
// HRM logs as zeros in steps without halted slots are left out of their plots; long series are
// downsampled with their spikes kept; a killed run's cut-short last line is tolerated and said so;
// everything else malformed or missing is one InputError naming file:line; the CLI exits 0 and 2.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "reports/run_report.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPlots[] = {"plot-loss", "plot-lr", "plot-grad-norm", "plot-train-accuracy", "plot-act-steps",
                                  "plot-throughput", "plot-eval-accuracy", "plot-eval-loss"};

// One metrics.jsonl line as run.cpp's step_json writes it. HRM normalises per step: count is 1 in
// steps where a slot halted (every 16th here, as with halt_max_steps 16 in lockstep), else 0 with
// zero accuracies and steps (HRM-SPEC 11.1 item 1).
nlohmann::json step_line(std::int64_t s) {
  const double c = s % 16 == 0 ? 1.0 : 0.0;
  const double loss = 2.5 * std::exp(-static_cast<double>(s) / 300.0) + 0.05;
  return {{"step", s}, {"lr", 1e-4 * std::min(1.0, static_cast<double>(s) / 50.0)}, {"loss", loss}, {"lm_loss", 0.9 * loss},
          {"q_halt_loss", 0.1}, {"q_continue_loss", 0.05}, {"count", c}, {"accuracy", c * 0.7}, {"exact_accuracy", c * 0.25},
          {"q_halt_accuracy", c * 0.9}, {"steps", c * 16}, {"grad_norm", 1.0 + static_cast<double>(s % 7) / 10.0},
          {"examples_per_s", 400.0}, {"tokens_per_s", 400.0 * 81}, {"elapsed_s", static_cast<double>(s) * 0.25}};
}

nlohmann::json run_json(const std::string& status, bool forced) {
  nlohmann::json j = {{"format_version", 1}, {"config", "configs/sudoku.toml"}, {"dataset", "data/built/sudoku"},
                      {"device", "cpu"}, {"world_size", 1}, {"forced", forced},
                      {"preflight_verdict", forced ? "errors" : "ok"}, {"preflight_errors", nlohmann::json::array()},
                      {"total_steps", 2000}, {"status", status}, {"started", "2025-01-01T00:00:00Z"}};
  if (forced) j["preflight_errors"] = {"warmup_exceeds_run: lr_warmup_steps must not exceed the run"};
  if (status == "finished") j["finished"] = "2025-01-01T01:00:00Z";
  return j;
}

// A run directory: `steps` metrics lines, an evaluation every 250 steps, run.json.
void write_run(const TempDir& d, std::int64_t steps, const std::string& status = "finished", bool forced = false, bool arc = false) {
  std::string m, e;
  for (std::int64_t s = 1; s <= steps; ++s) m += step_line(s).dump() + "\n";
  for (std::int64_t s = 250; s <= steps; s += 250) {
    nlohmann::json j = {{"step", s}, {"accuracy", 0.8}, {"exact_accuracy", 0.3 + static_cast<double>(s) / 1e4}, {"lm_loss", 0.4},
                        {"q_halt_accuracy", 0.9}, {"q_halt_loss", 0.2}, {"steps", 16.0}, {"count", 1000.0}};
    if (arc) {
      j["pass@1"] = 10.0;
      j["pass@2"] = 12.5;
      j["pass@10"] = 20.0;
    } else {
      j["valid_solutions"] = 0.31;
    }
    e += j.dump() + "\n";
  }
  hrm_test::write_file(d / "metrics.jsonl", m);
  hrm_test::write_file(d / "eval.jsonl", e);
  hrm_test::write_file(d / "run.json", run_json(status, forced).dump(2) + "\n");
}

// The SVG elements of a page: each from "<svg" to its "</svg>" (plots do not nest).
std::vector<std::string> svgs(const std::string& html) {
  std::vector<std::string> out;
  for (std::size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const auto end = html.find("</svg>", at);
    REQUIRE(end != std::string::npos);
    out.push_back(html.substr(at, end + 6 - at));
  }
  return out;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The InputError's message, or "" when none was thrown.
std::string input_error(const std::string& dir) {
  try {
    read_run_dir(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("run report: every plot is in the page as well-formed SVG with data, and the facts are in the header") {
  TempDir d;
  write_run(d, 1000);
  const std::string path = write_run_report(d.path.string());
  CHECK(path == d / "report.html");
  const std::string html = hrm_test::read_file(path);
  REQUIRE(has(html, "<!DOCTYPE html>"));
  const auto plots = svgs(html);
  for (const char* id : kPlots) {
    CAPTURE(id);
    const auto it = std::find_if(plots.begin(), plots.end(), [&](const std::string& s) { return has(s, fmt::format("id=\"{}\"", id)); });
    REQUIRE(it != plots.end());
    CHECK(std::regex_search(*it, std::regex(R"(<path d="M[0-9.]+ [0-9.]+L)")));  // a series line (legend swatches are M..H..)
  }
  CHECK_FALSE(has(html, "plot-eval-arc"));  // no pass@K in a Sudoku run
  CHECK(has(html, "valid Sudoku solutions"));
  CHECK(has(html, "configs/sudoku.toml"));
  CHECK(has(html, "FINISHED"));
  CHECK_FALSE(has(html, "id=\"forced\""));
  CHECK(has(html, "Last evaluation: step 1,000"));
  CHECK(has(html, "Every line of the logs was read."));
  if (hrm_test::run(std::string(HRM_PYTHON) + " -c 'import xml'").code == 0) {
    TempDir t;
    for (std::size_t i = 0; i < plots.size(); ++i) hrm_test::write_file(t / fmt::format("{}.svg", i), plots[i]);
    const auto r = hrm_test::run(std::string(HRM_PYTHON) +
                                 " -c 'import sys, glob, xml.etree.ElementTree as E; [E.parse(f) for f in glob.glob(sys.argv[1] + \"/*.svg\")]' " +
                                 t.path.string());
    CHECK_MESSAGE(r.code == 0, r.out);
  }
}

TEST_CASE("run report: training accuracy and ACT steps use only the steps where slots halted (count > 0), and say so") {
  TempDir d;
  write_run(d, 1000);
  const RunData run = read_run_dir(d.path.string());
  REQUIRE(run.steps.size() == 1000);
  const std::string html = render_run_report(run);
  CHECK(has(html, "Only the 62 of 1,000 steps where some slot halted (count &gt; 0)"));
  // With the zero steps the accuracy line would touch 0; without them it stays at 0.25: the plot's
  // exact-accuracy path has one y value only.
  const auto plots = svgs(html);
  const auto acc = std::find_if(plots.begin(), plots.end(), [](const std::string& s) { return has(s, "id=\"plot-train-accuracy\""); });
  REQUIRE(acc != plots.end());
  std::smatch m;
  // The exact-accuracy line: kBlue, drawn with L segments (its legend swatch is M..H..).
  REQUIRE(std::regex_search(*acc, m, std::regex(R"re(<path d="(M[^"]*L[^"]*)" stroke="#0072B2")re")));
  std::set<std::string> ys;
  const std::string path = m[1].str();
  const std::regex point(R"([ML]([-0-9.]+) ([-0-9.]+))");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), point); it != std::sregex_iterator(); ++it) ys.insert((*it)[2].str());
  CHECK(ys.size() == 1);
}

TEST_CASE("run report: long series are downsampled to min/max envelopes that keep spikes, and the caption says so") {
  std::vector<double> x, y;
  for (int i = 0; i < 100000; ++i) {
    x.push_back(i);
    y.push_back(i == 54321 ? 1e3 : i == 777 ? -5.0 : 1.0);
  }
  y[10] = std::numeric_limits<double>::quiet_NaN();
  downsample_minmax(x, y, 2000);
  CHECK(x.size() <= 2000);
  CHECK(x.size() == y.size());
  CHECK(std::find(y.begin(), y.end(), 1e3) != y.end());
  CHECK(std::find(y.begin(), y.end(), -5.0) != y.end());
  CHECK(std::is_sorted(x.begin(), x.end()));
  CHECK(std::all_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); }));
  std::vector<double> sx{1, 2, 3}, sy{4, 5, 6};
  downsample_minmax(sx, sy, 2000);
  CHECK(sx == std::vector<double>{1, 2, 3});  // short series are untouched

  TempDir d;
  write_run(d, 5000);
  const std::string html = render_run_report(read_run_dir(d.path.string()));
  CHECK(has(html, "Long series (5000 points) are downsampled to at most 2000 points: the minimum and maximum of each bucket"));
}

TEST_CASE("run report: a killed run's cut-short last line is tolerated and noted, and a forced run is flagged with the analyzer's errors") {
  TempDir d;
  write_run(d, 300, "running", true);
  hrm_test::write_file(d / "preflight.html", "<!DOCTYPE html><title>p</title>");
  {
    std::string m = hrm_test::read_file(d / "metrics.jsonl");
    m += step_line(301).dump().substr(0, 40);  // the process died inside this write
    hrm_test::write_file(d / "metrics.jsonl", m);
  }
  const RunData run = read_run_dir(d.path.string());
  CHECK(run.steps.size() == 300);
  REQUIRE(run.notes.size() == 1);
  CHECK(has(run.notes[0], "metrics.jsonl:301: the last line is cut short"));
  const std::string html = render_run_report(run);
  CHECK(has(html, "id=\"forced\""));
  CHECK(has(html, "warmup_exceeds_run: lr_warmup_steps must not exceed the run"));
  CHECK(has(html, "<a href=\"preflight.html\">"));
  CHECK(has(html, "RUNNING"));
  CHECK(has(html, "the last line is cut short"));
}

TEST_CASE("run report: ARC pass@K gets its own plot, and null metrics (NaN when written) are counted and left out") {
  TempDir d;
  write_run(d, 500, "failed", false, true);
  std::string m = hrm_test::read_file(d / "metrics.jsonl");
  nlohmann::json bad = step_line(501);
  bad["loss"] = std::numeric_limits<double>::quiet_NaN();  // nlohmann writes null
  bad["grad_norm"] = std::numeric_limits<double>::infinity();
  hrm_test::write_file(d / "metrics.jsonl", m + bad.dump() + "\n");
  const RunData run = read_run_dir(d.path.string());
  REQUIRE(run.steps.size() == 501);
  CHECK(std::isnan(run.steps.back().loss));
  REQUIRE(run.notes.size() == 1);
  CHECK(has(run.notes[0], "2 values are null"));
  const std::string html = render_run_report(run);
  CHECK(has(html, "id=\"plot-eval-arc\""));
  CHECK(has(html, "pass@2"));
  CHECK(has(html, "FAILED"));
}

TEST_CASE("run report: anything malformed is one InputError naming file:line") {
  struct Case {
    const char* rule;
    std::string file, text, expect;  // text replaces the file; "" deletes it
  };
  const std::string l1 = step_line(1).dump(), l2 = step_line(2).dump(), l3 = step_line(3).dump();
  nlohmann::json no_loss = step_line(2);
  no_loss.erase("loss");
  nlohmann::json text_loss = step_line(2);
  text_loss["loss"] = "0.5";
  const std::vector<Case> cases = {
      {"a malformed middle line", "metrics.jsonl", l1 + "\n" + l2.substr(0, 30) + "\n" + l3 + "\n", "metrics.jsonl:2:"},
      {"a malformed last line that ends with its newline was written whole", "metrics.jsonl", l1 + "\n{\"step\": 2,}\n", "metrics.jsonl:2:"},
      {"a blank line", "metrics.jsonl", l1 + "\n\n" + l3 + "\n", "metrics.jsonl:2:"},
      {"a line that is not an object", "metrics.jsonl", l1 + "\n[1, 2]\n", "metrics.jsonl:2: an array, expected a JSON object"},
      {"a missing field", "metrics.jsonl", l1 + "\n" + no_loss.dump() + "\n", "metrics.jsonl:2: no \"loss\""},
      {"a field that is not a number", "metrics.jsonl", l1 + "\n" + text_loss.dump() + "\n", "metrics.jsonl:2: \"loss\" is a string"},
      {"steps that do not increase", "metrics.jsonl", l1 + "\n" + l2 + "\n" + l2 + "\n", "metrics.jsonl:3: step 2 does not follow step 2"},
      {"a missing metrics.jsonl", "metrics.jsonl", "", "metrics.jsonl: missing"},
      {"an eval line without exact_accuracy", "eval.jsonl", "{\"step\": 1, \"accuracy\": 0.5}\n", "eval.jsonl:1: no \"exact_accuracy\""},
      {"an ARC extra that is not a number", "eval.jsonl",
       R"({"step": 1, "accuracy": 0.5, "exact_accuracy": 0.5, "lm_loss": 1, "q_halt_accuracy": 1, "q_halt_loss": 1, "steps": 16, "count": 4, "pass@2": "12%"})" "\n",
       "eval.jsonl:1: \"pass@2\" is a string"},
      {"a missing run.json", "run.json", "", "run.json: missing"},
      {"run.json that is not JSON", "run.json", "{\n  \"format_version\": 1,\n  \"status\": \n}\n", "run.json:4:1"},
      {"an unknown status", "run.json", R"({"format_version": 1, "status": "done"})", "run.json: \"status\" is \"done\", not running"},
      {"another format_version", "run.json", R"({"format_version": 2, "status": "running"})", "\"format_version\" is 2; this report reads 1"},
      {"a field of the wrong type", "run.json", R"({"format_version": 1, "status": "running", "world_size": "8"})", "run.json: \"world_size\" is a string, expected an integer"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.rule);
    TempDir d;
    write_run(d, 600);
    if (c.text.empty()) fs::remove(d / c.file);
    else hrm_test::write_file(d / c.file, c.text);
    const std::string what = input_error(d.path.string());
    CHECK_MESSAGE(has(what, c.expect), what);
    CHECK(has(what, d / c.file));  // the full path, so the message can be acted on
  }
  CHECK(has(input_error("/nonexistent/run"), "/nonexistent/run: not a directory"));
}

TEST_CASE("run report: a run that has only started renders: empty metrics, no eval.jsonl") {
  TempDir d;
  hrm_test::write_file(d / "run.json", run_json("running", false).dump());
  hrm_test::write_file(d / "metrics.jsonl", "");
  const RunData run = read_run_dir(d.path.string());
  CHECK(run.steps.empty());
  CHECK_FALSE(run.has_eval_file);
  const std::string html = render_run_report(run);
  CHECK(has(html, "No eval.jsonl in the run directory."));
  CHECK(has(html, "no data yet"));
}

TEST_CASE("hrm report: exit 0 writing RUN_DIR/report.html or --out, and exit 2 naming the file and line, writing nothing") {
  TempDir d;
  write_run(d, 400, "interrupted");
  auto r = hrm_test::run_hrm("report " + d.path.string());
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "report: " + (d / "report.html")));
  CHECK(fs::is_regular_file(d / "report.html"));
  r = hrm_test::run_hrm("report " + d.path.string() + " --out " + (d / "elsewhere.html"));
  CHECK(r.code == 0);
  CHECK(fs::is_regular_file(d / "elsewhere.html"));
  CHECK(hrm_test::read_file(d / "elsewhere.html") == hrm_test::read_file(d / "report.html"));

  r = hrm_test::run_hrm("report --help");
  CHECK(r.code == 0);
  CHECK(has(r.out, "--out"));
  r = hrm_test::run_hrm("report");
  CHECK(r.code == 2);

  TempDir bad;
  write_run(bad, 10);
  const std::string m = hrm_test::read_file(bad / "metrics.jsonl");
  hrm_test::write_file(bad / "metrics.jsonl", m.substr(0, 200) + "\n" + m.substr(200));
  r = hrm_test::run_hrm("report " + bad.path.string());
  CHECK(r.code == 2);
  CHECK_MESSAGE(std::regex_search(r.out, std::regex("error: .*metrics\\.jsonl:1:")), r.out);
  CHECK_FALSE(fs::exists(bad / "report.html"));

  fs::remove(bad / "metrics.jsonl");
  r = hrm_test::run_hrm("report " + bad.path.string());
  CHECK(r.code == 2);
  CHECK(has(r.out, "metrics.jsonl: missing"));
  CHECK(has(r.out, "hint:"));
  r = hrm_test::run_hrm("report " + (d / "nope"));
  CHECK(r.code == 2);
  r = hrm_test::run_hrm("report " + d.path.string() + " --out /nonexistent-dir/report.html");
  CHECK(r.code == 2);
  CHECK(has(r.out, "/nonexistent-dir/report.html"));
}
