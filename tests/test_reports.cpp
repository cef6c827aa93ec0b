// test_reports.cpp: the report formats of `hrm analyze`. The HTML opens in headless Chromium without
// a console message and with every plot drawn; SVG is well-formed XML; SARIF 2.1.0 places each
// finding at its config key; JSON validates against reports/preflight.schema.json and README.md
// defines every field; Markdown matches a golden file; sweeps give a row per combination; a report
// folder appears whole or not at all; colour only on a TTY without NO_COLOR. The independent checks
// live in tests/reference/check_reports.py (Debian's python3-jsonschema, python3-pil, chromium).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "reports/render.hpp"
#include "reports/svg_plot.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::read_file;
using hrm_test::run;
using hrm_test::run_hrm;
using hrm_test::TempDir;
using hrm_test::write_file;
namespace fs = std::filesystem;

namespace {

// Sudoku-shaped rows (seq_len 81, vocab 11, so the published Sudoku recipe is named): 200 groups of
// 4 puzzles with 1-3 examples each, about 400 examples per epoch.
std::string make_dataset(const TempDir& t) {
  const std::string dir = t / "dataset";
  SplitWriter w(81);
  std::vector<std::uint8_t> row(81, 2);
  for (int g = 0; g < 200; ++g) {
    for (int p = 0; p < 4; ++p) {
      for (int e = 0; e < 1 + (g + p) % 3; ++e) w.add_example(row.data(), row.data());
      w.end_puzzle(0);
    }
    w.end_group();
  }
  DatasetMetadata m;
  m.vocab_size = 11;
  m.num_puzzle_identifiers = 1;
  w.write(dir, "train", m);
  return dir;
}

// The fixed config of these tests. B 96 is above the long-horizon limit (a warning on
// train.global_batch_size, line 6), so findings sit at known positions; it is still vetted.
constexpr const char* kConfig = R"(# report-format test config
[data]
path = "{}"

[train]
global_batch_size = 96
epochs = 200
eval_interval = 20
lr = 7e-5
lr_min_ratio = 0.1
lr_warmup_steps = 100

[hardware]
num_gpus = 2
gpu_memory_gb = 80

[task]
horizon = "long"
)";

struct Setup {
  TempDir t;
  std::string dataset = make_dataset(t);
  std::string config = write_config();
  std::string write_config() const {
    const std::string path = t / "test.toml";
    write_file(path, fmt::format(kConfig, t / "dataset"));
    return path;
  }
};

std::string checker() { return std::string(HRM_PYTHON) + " " + hrm_test::source_dir() + "/tests/reference/check_reports.py"; }
std::string schema() { return hrm_test::source_dir() + "/reports/preflight.schema.json"; }

// Screenshots stay in the build folder (tests run there) for a person to look at.
std::string shots_dir() {
  fs::create_directories("test-reports");
  return fs::absolute("test-reports").string();
}

// Runs `hrm ARGS` with stdout into a file (stderr apart), and returns the exit code.
int hrm_to_file(const std::string& args, const std::string& out) {
  return run("(" + hrm_test::hrm_bin() + " " + args + " > " + out + ")").code;
}

void require_tools() {
  REQUIRE_MESSAGE(run("command -v chromium").code == 0, "chromium is missing: ./run install-deps installs it");
  REQUIRE_MESSAGE(run(std::string(HRM_PYTHON) + " -c 'import jsonschema, PIL'").code == 0,
                  "python3-jsonschema / python3-pil are missing: ./run install-deps installs them");
}

// Every object key of a JSON document (children of `skip` keys left out: those are config keys or
// swept keys, not report fields).
void collect_keys(const nlohmann::json& j, const std::set<std::string>& skip, std::set<std::string>& keys) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      keys.insert(it.key());
      if (!skip.count(it.key())) collect_keys(it.value(), skip, keys);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_keys(v, skip, keys);
  }
}

// The 1-based line of `name = ...` inside `[section]` of a TOML text (0: not set).
int toml_line(const std::string& text, const std::string& key) {
  const auto dot = key.find('.');
  const std::string section = "[" + key.substr(0, dot) + "]", name = key.substr(dot + 1) + " =";
  std::istringstream in(text);
  std::string line, current;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.rfind("[", 0) == 0) current = line;
    else if (current == section && line.rfind(name, 0) == 0) return n;
  }
  return 0;
}

}  // namespace

TEST_CASE("svg: text is escaped, ticks read as numbers, and a plot is one well-formed <svg> element") {
  CHECK(svg::escape("<a & 'b'>\"") == "&lt;a &amp; &#39;b&#39;&gt;&quot;");
  CHECK(svg::tick_label(0.0001) == "1e-4");
  CHECK(svg::tick_label(7e-5) == "7e-5");
  CHECK(svg::tick_label(2.5e-5) == "2.5e-5");
  CHECK(svg::tick_label(0.5) == "0.5");
  CHECK(svg::tick_label(1536) == "1,536");
  CHECK(svg::tick_label(26000) == "26k");
  CHECK(svg::tick_label(2.5e6) == "2.5M");

  svg::Plot p;
  p.id = "plot-test";
  p.title = "a <title> & more";
  p.x.label = "step <x>";
  p.y.label = "value & unit";
  svg::Series dense;
  dense.label = "dense 'series'";
  for (int i = 0; i < 100000; ++i) {  // far more points than pixels: thinned to the envelope
    dense.x.push_back(i);
    dense.y.push_back(i % 7);
  }
  p.series = {dense};
  p.vlines = {{5000, "marker \"A\"", svg::kOrange, true}};
  const std::string s = svg::render(p);
  CHECK(s.rfind("<svg id=\"plot-test\"", 0) == 0);
  CHECK(s.find("step &lt;x&gt;") != std::string::npos);
  CHECK(s.find("<x>") == std::string::npos);
  CHECK(s.size() < 80000);
  svg::Bars b;
  b.id = "plot-bars";
  b.rows = {{"row & co", {{"a < b", 1.0, nullptr}, {"c", 2.0, nullptr}}}};
  b.note = "off <scale>";
  TempDir t;
  write_file(t / "plot.svg", s);
  write_file(t / "bars.svg", svg::render(b));
  const auto xml = run(std::string(HRM_PYTHON) + " -c 'import sys, xml.etree.ElementTree as E; [E.parse(f) for f in sys.argv[1:]]' " +
                       t / "plot.svg" + " " + t / "bars.svg");
  CHECK_MESSAGE(xml.code == 0, xml.out);
}

TEST_CASE("html: --report writes preflight.{json,md,html,sarif}, the page renders in headless Chromium with no console "
          "message and every plot drawn") {
  require_tools();
  Setup s;
  const std::string dir = s.t / "report";
  const auto r = run_hrm("analyze " + s.config + " --report " + dir);
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.find("report: " + dir + "/preflight.html") != std::string::npos);
  for (const char* f : {"preflight.json", "preflight.md", "preflight.html", "preflight.sarif"}) CHECK(fs::exists(fs::path(dir) / f));
  const std::string page = read_file(dir + "/preflight.html");
  CHECK(page.find("VETTED") != std::string::npos);
  CHECK(page.find("regime-horizon-mismatch") != std::string::npos);
  CHECK(page.find(s.config + ":6:1") != std::string::npos);  // the finding's position in the config
  CHECK(page.find("Why.") != std::string::npos);
  CHECK(page.find("Fix.") != std::string::npos);
  const auto c = run(checker() + " html " + dir + "/preflight.html " + shots_dir() +
                     " plot-regime plot-lr plot-groups plot-coverage plot-act plot-memory");
  CHECK_MESSAGE(c.code == 0, c.out);
  MESSAGE(c.out);
}

TEST_CASE("json: preflight.json validates against reports/preflight.schema.json, whose format_version is the renderer's") {
  require_tools();
  Setup s;
  const std::string out = s.t / "preflight.json";
  REQUIRE(hrm_to_file("analyze " + s.config + " --format json", out) == 0);
  const auto c = run(checker() + " schema " + out + " " + schema());
  CHECK_MESSAGE(c.code == 0, c.out);
  const auto sch = nlohmann::json::parse(read_file(schema()));
  CHECK(sch["properties"]["format_version"]["const"] == kReportFormatVersion);
  CHECK(nlohmann::json::parse(read_file(out))["format_version"] == kReportFormatVersion);
}

TEST_CASE("readme: reports/README.md defines every field of preflight.json and sweep.json") {
  Setup s;
  const std::string dir = s.t / "report";
  REQUIRE(run_hrm("analyze " + s.config + " --sweep train.global_batch_size=48,96 --report " + dir).code == 0);
  std::set<std::string> keys;
  collect_keys(nlohmann::json::parse(read_file(dir + "/preflight.json")), {"config"}, keys);
  collect_keys(nlohmann::json::parse(read_file(dir + "/sweep.json")), {"values"}, keys);
  const std::string readme = read_file(hrm_test::source_dir() + "/reports/README.md");
  for (const auto& k : keys) CHECK_MESSAGE(readme.find("`" + k + "`") != std::string::npos, "README.md does not define `" << k << "`");
}

TEST_CASE("sarif: --format sarif is SARIF 2.1.0 with each finding at its config key's line and column") {
  require_tools();
  Setup s;
  const std::string out = s.t / "preflight.sarif";
  REQUIRE(hrm_to_file("analyze " + s.config + " --format sarif", out) == 0);
  const auto c = run(checker() + " sarif " + out);
  CHECK_MESSAGE(c.code == 0, c.out);
  const auto log = nlohmann::json::parse(read_file(out));
  const auto& results = log["runs"][0]["results"];
  REQUIRE(results.size() >= 1);
  const std::string text = read_file(s.config);
  int located = 0;
  for (const auto& res : results) {
    const std::string key = res["properties"]["key"];
    const auto& region = res["locations"][0]["physicalLocation"]["region"];
    CHECK(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file://" + s.config);
    const int line = key.empty() ? 0 : toml_line(text, key);
    CAPTURE(key);
    CHECK(region["startLine"] == (line > 0 ? line : 1));
    CHECK(region["startColumn"] == 1);
    located += line > 0;
  }
  CHECK(located >= 1);
  CHECK(run_hrm("analyze " + s.config + " --format sarif --sweep train.global_batch_size=48,96").code == 2);
}

TEST_CASE("markdown: the report of a fixed config matches tests/golden/preflight-small.md") {
  Setup s;
  std::string md = render_markdown(analyze(load_config(s.config)));
  const std::string tmp = s.t.path.string();
  for (auto at = md.find(tmp); at != std::string::npos; at = md.find(tmp)) md.replace(at, tmp.size(), "$TMP");
  const std::string golden = hrm_test::source_dir() + "/tests/golden/preflight-small.md";
  if (std::getenv("HRM_UPDATE_GOLDEN")) {
    fs::create_directories(fs::path(golden).parent_path());
    write_file(golden, md);
    MESSAGE("rewrote " << golden);
  }
  CHECK(md == read_file(golden));
}

TEST_CASE("sweep: batch size x GPU count gives one row per combination, a table and a chart, the recommended row marked") {
  require_tools();
  Setup s;
  const std::string dir = s.t / "report", out = s.t / "sweep-stdout.json";
  const std::vector<std::int64_t> batches = {96, 192, 384, 768, 1536}, gpus = {1, 2, 4, 8};
  const std::string sweep = " --sweep train.global_batch_size=96,192,384,768,1536 --sweep hardware.num_gpus=1,2,4,8";
  // 8 GiB GPUs: the largest batches on few GPUs do not fit, so some combinations are rejected.
  REQUIRE(hrm_to_file("analyze " + s.config + " hardware.gpu_memory_gb=8" + sweep + " --format json --report " + dir, out) == 0);
  const auto j = nlohmann::json::parse(read_file(out));
  CHECK(j == nlohmann::json::parse(read_file(dir + "/sweep.json")));
  REQUIRE(j["rows"].size() == 20);
  for (std::size_t i = 0; i < 20; ++i) {  // the last axis varies fastest
    const auto& row = j["rows"][i];
    CHECK(row["values"]["train.global_batch_size"] == batches[i / 4]);
    CHECK(row["values"]["hardware.num_gpus"] == gpus[i % 4]);
    CHECK(row["per_gpu_batch"] == batches[i / 4] / gpus[i % 4]);
    const bool fits = row["memory_per_gpu_bytes"].get<double>() <= 8.0 * (1 << 30);
    if (!fits) CHECK(row["verdict"] == "rejected");
    CHECK((std::find(row["problems"].begin(), row["problems"].end(), "memory-exceeds-gpu") == row["problems"].end()) == fits);
  }
  CHECK(j["rows"][4 * 4]["verdict"] == "rejected");  // 1536 rows on one 8 GiB GPU
  REQUIRE(j["recommended_row"].is_number_integer());
  const int rec = j["recommended_row"];
  CHECK(j["rows"][rec]["verdict"] == "vetted");

  // A row is exactly the analysis of its combination given as overrides.
  Config c = load_config(s.config);
  apply_override(c, "hardware.gpu_memory_gb=8");
  apply_override(c, "train.global_batch_size=192");
  apply_override(c, "hardware.num_gpus=4");
  const Report direct = analyze(c);
  const auto& row = j["rows"][1 * 4 + 2];  // batch 192 on 4 GPUs
  CHECK(row["executed_steps"] == direct.schedule.executed_steps);
  CHECK(row["verdict"] == direct.verdict);
  CHECK(row["memory_per_gpu_bytes"] == direct.memory.per_gpu_bytes);
  CHECK(row["counts"]["warning"] == direct.count(Severity::Warning));

  const auto v = run(checker() + " schema " + dir + "/sweep.json " + schema() + " sweep");
  CHECK_MESSAGE(v.code == 0, v.out);
  const std::string md = read_file(dir + "/sweep.md");
  CHECK(md.find("| \xe2\x98\x85 | **") != std::string::npos);
  const auto h = run(checker() + " html " + dir + "/sweep.html " + shots_dir() +
                     " plot-sweep-updates plot-sweep-warmup plot-sweep-per-gpu plot-sweep-memory");
  CHECK_MESSAGE(h.code == 0, h.out);
  CHECK(read_file(dir + "/sweep.html").find(R"(<tr class="recommended">)") != std::string::npos);

  const auto text = run_hrm("analyze " + s.config + " --sweep train.global_batch_size=48,96 --sweep hardware.num_gpus=1,2");
  CHECK(text.code == 0);
  CHECK(text.out.find("\n* ") != std::string::npos);
  CHECK(text.out.find("sweep: ") != std::string::npos);
}

TEST_CASE("sweep bad input: an unknown key or a non-numeric value is exit 2 with the position, and nothing is written") {
  Setup s;
  const std::string dir = s.t / "report";
  struct Case {
    std::string arg, expect;
    std::size_t column;
  };
  const std::string key = "train.global_batch_size=";
  for (const auto& [arg, expect, column] :
       {Case{"train.global_bach_size=96,192", "unknown key 'train.global_bach_size'", 1},
        Case{key + "96,abc", "'abc' is not a number", key.size() + 4},
        Case{key + "96,1.5", "must be an integer", key.size() + 4},
        Case{key + "0", "must be a positive integer", key.size() + 1},
        Case{key + "96,,192", "empty value", key.size() + 4},
        Case{"task.horizon=1,2", "not a numeric key", 1},
        Case{"train.global_batch_size", "expected KEY=V1,V2,...", 1}}) {
    const auto r = run_hrm("analyze " + s.config + " --sweep '" + arg + "' --report " + dir);
    CAPTURE(arg);
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find(fmt::format("--sweep '{}', column {}", arg, column)) != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find(expect) != std::string::npos, r.out);
    CHECK_FALSE(fs::exists(dir));
  }
  CHECK(run_hrm("analyze " + s.config + " --sweep train.global_bach_size=96").out.find("did you mean 'train.global_batch_size'") !=
        std::string::npos);
}

TEST_CASE("report folder: one that cannot be written is exit 2 naming it, and leaves no partial files") {
  Setup s;
  auto listing = [&] {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(s.t.path)) names.insert(e.path().filename().string());
    return names;
  };
  write_file(s.t / "afile", "x");
  const auto before = listing();
  const auto r = run_hrm("analyze " + s.config + " --report " + s.t / "afile/sub");
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("--report " + s.t / "afile/sub") != std::string::npos, r.out);
  CHECK(listing() == before);

  fs::create_directories(s.t / "notes");  // a folder that is not a report is never replaced
  write_file(s.t / "notes/todo.txt", "keep me");
  const auto notes = run_hrm("analyze " + s.config + " --report " + s.t / "notes");
  CHECK(notes.code == 2);
  CHECK(read_file(s.t / "notes/todo.txt") == "keep me");
  CHECK_FALSE(fs::exists(s.t / "notes/preflight.json"));
  for (const auto& name : listing()) CHECK_MESSAGE(name.find(".partial") == std::string::npos, name);

  fs::create_directories(s.t / "empty");  // an empty folder, or an earlier report, is replaced
  CHECK(run_hrm("analyze " + s.config + " --report " + s.t / "empty").code == 0);
  CHECK(fs::exists(s.t / "empty/preflight.html"));
  CHECK(run_hrm("analyze " + s.config + " --report " + s.t / "empty").code == 0);
}

TEST_CASE("terminal colour: escape codes only on a TTY, never with NO_COLOR or through a pipe") {
  Setup s;
  const std::string cmd = hrm_test::hrm_bin() + " analyze " + s.config;
  const auto piped = run(cmd);
  CHECK(piped.code == 0);
  CHECK(piped.out.find("\x1b[") == std::string::npos);
  // `script` runs the command on a pseudo-terminal, so isatty(stdout) is true.
  const auto tty = run("script -qec '" + cmd + "' /dev/null");
  CHECK(tty.out.find("\x1b[") != std::string::npos);
  const auto no_color = run("NO_COLOR=1 script -qec '" + cmd + "' /dev/null");
  CHECK(no_color.out.find("verdict: vetted") != std::string::npos);
  CHECK(no_color.out.find("\x1b[") == std::string::npos);
}
