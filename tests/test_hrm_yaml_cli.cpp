// test_hrm_yaml_cli.cpp: `hrm analyze --hrm-config`, `hrm analyze -- torchrun ...` and
// `hrm config convert` end to end. The rule they check: "the YAML file and the README command line of
// every HRM-SPEC 6.2 recipe give the same analysis as the matching configs/*.toml preset"
// (tests/fixtures/hrm_yaml/recipes.tsv), on small datasets of each recipe's shape; bad input is
// exit 2 with the file and line (or the token).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "test_util.hpp"

using hrm_test::run;
using hrm_test::run_hrm;
using hrm_test::TempDir;

namespace {

std::string fixture(const std::string& rel) { return hrm_test::source_dir() + "/tests/fixtures/hrm_yaml/" + rel; }

// A dataset shaped like a recipe's: ARC (vocab 12, 900 tokens, one identifier per puzzle), Sudoku
// (vocab 11, 81 tokens) or Maze (vocab 6, 900 tokens); `groups` groups of 2 puzzles x 2 examples.
std::string make_dataset(const TempDir& t, const std::string& kind, int groups) {
  const std::string dir = t / ("ds-" + kind);
  if (std::filesystem::exists(dir)) return dir;
  const std::int64_t seq = kind == "sudoku" ? 81 : 900, vocab = kind == "arc" ? 12 : kind == "sudoku" ? 11 : 6;
  const bool ids = kind == "arc";
  hrm::SplitWriter w(seq);
  std::vector<std::uint8_t> row(static_cast<std::size_t>(seq), 2);
  std::int32_t id = 0;
  for (int g = 0; g < groups; ++g) {
    for (int p = 0; p < 2; ++p) {
      for (int e = 0; e < 2; ++e) w.add_example(row.data(), row.data());
      w.end_puzzle(ids ? ++id : 0);
    }
    w.end_group();
  }
  hrm::DatasetMetadata m;
  m.vocab_size = vocab;
  m.num_puzzle_identifiers = ids ? id + 1 : 1;
  w.write(dir, "train", m);
  return dir;
}

std::string dataset_for(const TempDir& t, const std::string& preset) {
  if (preset.rfind("arc", 0) == 0) return make_dataset(t, "arc", 40);
  if (preset.rfind("maze", 0) == 0) return make_dataset(t, "maze", 40);
  return make_dataset(t, "sudoku", preset == "sudoku-hard-full.toml" ? 3000 : 250);
}

struct Analysis {
  int code = -1;
  nlohmann::json report;
  std::string out;
};

Analysis analyze_json(const std::string& args) {
  TempDir t;
  // --format before ARGS: after `--` every word belongs to the pasted command
  const auto r = run("(" + hrm_test::hrm_bin() + " analyze --format json " + args + " > " + (t / "r.json") + ")");
  Analysis a;
  a.code = r.code;
  a.out = r.out;
  const std::string text = hrm_test::read_file(t / "r.json");
  if (r.code <= 1 && !text.empty()) a.report = nlohmann::json::parse(text);
  return a;
}

// The report minus what describes the source (file, format, overrides, the positions findings
// cite), the replay's wall time, and the config's own task.horizon (the presets write "short"/"long",
// HRM's YAML has none: "auto"; the resolved `task.horizon` stays compared).
nlohmann::json analysis_part(nlohmann::json j) {
  j.erase("config_file");
  j.erase("config_format");
  j.erase("overrides");
  j["schedule"].erase("replay_seconds");
  j["config"]["task"].erase("horizon");
  for (auto& f : j["findings"]) f.erase("location");
  return j;
}

// The first differing leaf, for the failure message.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  const auto patch = nlohmann::json::diff(a, b);
  return patch.empty() ? "" : patch[0].dump();
}

struct Recipe {
  std::string preset, yaml;
  int gpus = 0;
  std::string command;
};

std::vector<Recipe> recipes() {
  std::ifstream f(fixture("recipes.tsv"));
  std::vector<Recipe> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    Recipe r;
    std::string gpus;
    std::getline(in, r.preset, '\t');
    std::getline(in, r.yaml, '\t');
    std::getline(in, gpus, '\t');
    std::getline(in, r.command);
    r.gpus = std::stoi(gpus);
    out.push_back(r);
  }
  return out;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("recipes: each HRM-SPEC 6.2 recipe's YAML and command line give the preset's analysis") {
  TempDir t;
  const auto all = recipes();
  REQUIRE(all.size() == 6);
  for (const auto& r : all) {
    CAPTURE(r.preset);
    const std::string ds = dataset_for(t, r.preset);
    const Analysis preset = analyze_json(hrm_test::source_dir() + "/configs/" + r.preset + " data.path=" + ds);
    const Analysis yaml = analyze_json("--hrm-config " + fixture("hrm/config/" + r.yaml) + " data_path=" + ds +
                                       " hardware.num_gpus=" + std::to_string(r.gpus));
    const Analysis cmd = analyze_json("-- " + r.command + " data_path=" + ds);
    CAPTURE(preset.out);
    CAPTURE(yaml.out);
    CAPTURE(cmd.out);
    REQUIRE(preset.report.is_object());
    REQUIRE(yaml.report.is_object());
    REQUIRE(cmd.report.is_object());
    CHECK(yaml.code == preset.code);
    CHECK(cmd.code == preset.code);
    const auto p = analysis_part(preset.report), y = analysis_part(yaml.report), c = analysis_part(cmd.report);
    CHECK_MESSAGE(y == p, "YAML differs from the preset at " << first_difference(p, y));
    CHECK_MESSAGE(c == p, "command line differs from the preset at " << first_difference(p, c));
    CHECK(yaml.report["config_format"] == "hrm-yaml");
    CHECK(cmd.report["config_format"] == "command-line");
    CHECK(preset.report["config_format"] == "toml");
    CHECK(cmd.report["model_family"] == "hrm");
    CHECK(cmd.report["config"]["hardware"]["num_gpus"] == r.gpus);
  }
}

TEST_CASE("all_config.yaml: a checkpoint's saved config gives the Sudoku-Extreme 1k preset's verdict and numbers") {
  TempDir t;
  const std::string ds = dataset_for(t, "sudoku-extreme-1k.toml");
  const Analysis preset = analyze_json(hrm_test::source_dir() + "/configs/sudoku-extreme-1k.toml data.path=" + ds);
  const Analysis saved = analyze_json("--hrm-config " + fixture("checkpoints/sudoku-extreme-1k/all_config.yaml") + " data_path=" + ds +
                                      " hardware.num_gpus=8");
  CAPTURE(saved.out);
  REQUIRE(saved.report.is_object());
  auto p = analysis_part(preset.report), s = analysis_part(saved.report);
  CHECK(s["config"]["arch"]["puzzle_emb_ndim"] == 512);   // resolved in the dump; the preset keeps -1 (= hidden_size)
  p["config"]["arch"].erase("puzzle_emb_ndim");
  s["config"]["arch"].erase("puzzle_emb_ndim");
  CHECK_MESSAGE(s == p, "all_config.yaml differs from the preset at " << first_difference(p, s));
  CHECK(saved.code == preset.code);
}

TEST_CASE("convert: analyzing the converted TOML gives the YAML's report (HRM file, TRM command)") {
  TempDir t;
  const std::string ds = dataset_for(t, "sudoku-hard-full.toml");
  const std::string yaml = fixture("hrm/config/sudoku_hard_full.yaml");
  auto conv = run_hrm("config convert " + yaml + " data_path=" + ds + " hardware.num_gpus=8 --out " + (t / "hard.toml"));
  REQUIRE_MESSAGE(conv.code == 0, conv.out);
  const Analysis from_yaml = analyze_json("--hrm-config " + yaml + " data_path=" + ds + " hardware.num_gpus=8");
  const Analysis from_toml = analyze_json(t / "hard.toml");
  REQUIRE(from_yaml.report.is_object());
  REQUIRE(from_toml.report.is_object());
  CHECK(analysis_part(from_toml.report) == analysis_part(from_yaml.report));
  CHECK(from_toml.report["config"] == from_yaml.report["config"]);   // task.horizon too: both "auto"

  const std::string trm = "-- python pretrain.py arch=trm data_paths=[" + ds + "] epochs=50 eval_interval=5 arch.mlp_t=True "
                          "arch.pos_encodings=none +run_name=x ema=True";
  conv = run_hrm("config convert --out " + (t / "trm.toml") + " " + trm);
  REQUIRE_MESSAGE(conv.code == 0, conv.out);
  const std::string toml = hrm_test::read_file(t / "trm.toml");
  CHECK(has(toml, "ema = True"));
  const Analysis trm_cmd = analyze_json(trm);
  const Analysis trm_toml = analyze_json(t / "trm.toml");
  REQUIRE(trm_cmd.report.is_object());
  REQUIRE(trm_toml.report.is_object());
  CHECK(trm_cmd.report["model_family"] == "trm");
  CHECK(trm_toml.report["model_family"] == "trm");
  CHECK(trm_cmd.report["memory"]["num_params"] == 5028866);   // TRM-MLP on Sudoku-shaped data
  CHECK(analysis_part(trm_toml.report) == analysis_part(trm_cmd.report));
  CHECK(run_hrm("config convert " + yaml + " --out " + (t / "x.toml") + " lrr=1").code == 2);
  CHECK(run_hrm("config frobnicate").code == 2);
}

TEST_CASE("exit codes: 1 for a rejected YAML or command, 2 naming the file and line or the token for bad input") {
  TempDir t;
  const std::string ds = dataset_for(t, "sudoku-extreme-1k.toml");
  const std::string yaml = fixture("hrm/config/sudoku_extreme_1k.yaml");
  // a batch that does not divide by 8 GPUs is rejected, and the finding cites the override
  const Analysis bad = analyze_json("-- torchrun --nproc-per-node 8 pretrain.py data_path=" + ds + " global_batch_size=100");
  CHECK(bad.code == 1);
  CHECK(bad.report["verdict"] == "rejected");
  CHECK(analyze_json("--hrm-config " + yaml + " data_path=" + ds + " global_batch_size=100 hardware.num_gpus=8").code == 1);

  std::filesystem::create_directories(t / "arch");
  std::filesystem::copy_file(fixture("hrm/config/arch/hrm_v1.yaml"), t / "arch/hrm_v1.yaml",
                             std::filesystem::copy_options::overwrite_existing);
  const std::string head = "defaults:\n  - arch: hrm_v1\n  - _self_\ndata_path: " + ds + "\n";
  struct Case { std::string body, expect; };
  for (const Case& c : std::vector<Case>{{"lr: [1e-4\n", "malformed YAML"},
                                         {"epochz: 10\n", ":5:1: unknown key 'epochz'"},
                                         {"arch:\n  puzzle_emb_ndim: ${.hiden_size}\n", ":6:3: interpolation '${.hiden_size}'"}}) {
    hrm_test::write_file(t / "bad.yaml", head + c.body);
    const auto r = run_hrm("analyze --hrm-config " + (t / "bad.yaml"));
    CAPTURE(r.out);
    CHECK(r.code == 2);
    CHECK(has(r.out, t / "bad.yaml:"));
    CHECK(has(r.out, c.expect));
  }
  auto r = run_hrm("analyze -- torchrun --nproc-per-node 8 pretrain.py data_path=" + ds + " arch.L_cycle=8");
  CHECK(r.code == 2);
  CHECK(has(r.out, "override 'arch.L_cycle=8': unknown key 'arch.L_cycle'"));
  r = run_hrm("analyze -- torchrun --nproc-per-node 8 --bogus pretrain.py");
  CHECK(r.code == 2);
  CHECK(has(r.out, "'--bogus'"));
  r = run_hrm("analyze --hrm-config " + yaml + " -- torchrun pretrain.py");
  CHECK(r.code == 2);
  CHECK(run_hrm("analyze").code == 2);
}

TEST_CASE("json: a TRM command's report validates against reports/preflight.schema.json and names the family") {
  if (run(std::string(HRM_PYTHON) + " -c 'import jsonschema'").code != 0) {
    MESSAGE("python3-jsonschema is missing (./run install-deps): schema check skipped");
    return;
  }
  TempDir t;
  const std::string ds = dataset_for(t, "arc-1.toml");
  const std::string out = t / "trm.json";
  const auto a = run("(" + hrm_test::hrm_bin() + " analyze --format json -- torchrun --nproc-per-node 4 pretrain.py arch=trm data_paths=[" +
                     ds + "] epochs=100 eval_interval=10 +run_name=x > " + out + ")");
  REQUIRE(a.code <= 1);
  const auto c = run(std::string(HRM_PYTHON) + " " + hrm_test::source_dir() + "/tests/reference/check_reports.py schema " + out + " " +
                     hrm_test::source_dir() + "/reports/preflight.schema.json");
  CHECK_MESSAGE(c.code == 0, c.out);
  const auto j = nlohmann::json::parse(hrm_test::read_file(out));
  CHECK(j["model_family"] == "trm");
  CHECK(j["config"]["arch"]["family"] == "trm");
  CHECK(j["memory"]["num_params"] == 6829058);   // TRM-Att, ARC vocabulary
  const auto text = run_hrm("analyze -- torchrun --nproc-per-node 4 pretrain.py arch=trm data_paths=[" + ds + "] epochs=100 eval_interval=10");
  CHECK(has(text.out, "model TRM"));
  CHECK(has(text.out, "parameters (TRM count)"));
}
