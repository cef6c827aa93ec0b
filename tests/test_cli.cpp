// test_cli.cpp: the `hrm` binary end to end: exit codes 0 vetted / 1 rejected / 2 could not
// analyze, one clear message for bad input, JSON output that tests can read.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "datasets/dataset.hpp"
#include "test_util.hpp"

using hrm_test::run_hrm;
using hrm_test::TempDir;

namespace {

// A Sudoku-shaped dataset: `groups` groups of one one-example puzzle.
std::string write_dataset(const TempDir& t, int groups) {
  const std::string dir = t / "ds";
  hrm::SplitWriter w(81);
  std::vector<std::uint8_t> row(81, 2);
  for (int g = 0; g < groups; ++g) {
    w.add_example(row.data(), row.data());
    w.end_puzzle(0);
    w.end_group();
  }
  hrm::DatasetMetadata m;
  m.vocab_size = 11;
  m.num_puzzle_identifiers = 1;
  w.write(dir, "train", m);
  hrm::write_identifiers(dir, {"<blank>"});
  return dir;
}

std::string write_config(const TempDir& t, const std::string& dataset, const std::string& train_section) {
  const std::string path = t / "c.toml";
  hrm_test::write_file(path, "[data]\npath = \"" + dataset + "\"\n\n[train]\n" + train_section + "\n[hardware]\nnum_gpus = 2\n");
  return path;
}

}  // namespace

TEST_CASE("hrm analyze: exit 0 for a vetted config, with a one-line verdict at the end") {
  TempDir t;
  const auto cfg = write_config(t, write_dataset(t, 1000), "global_batch_size = 64\nepochs = 100\neval_interval = 10\nlr_warmup_steps = 600\n");
  const auto r = run_hrm("analyze " + cfg);
  CAPTURE(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("verdict: vetted") != std::string::npos);
}

TEST_CASE("hrm analyze: exit 1 for a rejected config, and --format json is one object tests can read") {
  TempDir t;
  const auto cfg = write_config(t, write_dataset(t, 1000), "global_batch_size = 63\nepochs = 100\neval_interval = 10\n");
  const auto r = run_hrm("analyze " + cfg + " --format json");
  CAPTURE(r.out);
  CHECK(r.code == 1);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["verdict"] == "rejected");
  CHECK(j["format_version"] == 1);
  bool found = false;
  for (const auto& f : j["findings"]) found |= f["id"] == "batch-not-divisible";
  CHECK(found);
  CHECK(j["dataset"]["groups"] == 1000);
  CHECK(j["memory"]["num_params"] == 27275266);
}

TEST_CASE("hrm analyze: KEY=VALUE overrides change the analysis, --strict rejects on warnings") {
  TempDir t;
  const auto cfg = write_config(t, write_dataset(t, 1000), "global_batch_size = 64\nepochs = 100\neval_interval = 10\nlr_warmup_steps = 600\n");
  CHECK(run_hrm("analyze " + cfg + " train.global_batch_size=65").code == 1);
  CHECK(run_hrm("analyze " + cfg + " hardware.num_gpus=8").code == 0);          // per-GPU 8: a warning only
  CHECK(run_hrm("analyze " + cfg + " hardware.num_gpus=8 --strict").code == 1);
}

TEST_CASE("hrm analyze: exit 2 with one clear message for unreadable or malformed input") {
  TempDir t;
  const auto ds = write_dataset(t, 100);
  auto r = run_hrm("analyze " + (t / "missing.toml"));
  CHECK(r.code == 2);
  CHECK(r.out.find("missing.toml: cannot open config file") != std::string::npos);

  hrm_test::write_file(t / "bad.toml", "[data]\npath = \"" + ds + "\"\n[train]\nglobal_batch_size = = 3\n");
  r = run_hrm("analyze " + (t / "bad.toml"));
  CHECK(r.code == 2);
  CHECK(r.out.find("bad.toml:4:") != std::string::npos);

  const auto cfg = write_config(t, t / "nodata", "global_batch_size = 64\n");
  r = run_hrm("analyze " + cfg);
  CHECK(r.code == 2);
  CHECK(r.out.find("nodata") != std::string::npos);
  CHECK(r.out.find("hint:") != std::string::npos);

  r = run_hrm("analyze " + cfg + " train.lr=fast");
  CHECK(r.code == 2);
  CHECK(r.out.find("'fast' is not a number") != std::string::npos);

  r = run_hrm("analyze " + cfg + " --format yaml");
  CHECK(r.code == 2);
  CHECK(run_hrm("frobnicate").code == 2);
}

TEST_CASE("hrm analyze: a corrupt index array is exit 2 naming the file") {
  TempDir t;
  const auto ds = write_dataset(t, 100);
  // puzzle_indices that do not end at the row count
  std::vector<std::int32_t> bad(101);
  for (int i = 0; i <= 100; ++i) bad[static_cast<std::size_t>(i)] = i;
  bad[100] = 99;
  hrm::write_npy(ds + "/train/all__puzzle_indices.npy", {101}, bad);
  const auto cfg = write_config(t, ds, "global_batch_size = 64\n");
  const auto r = run_hrm("analyze " + cfg);
  CHECK(r.code == 2);
  CHECK(r.out.find("all__puzzle_indices.npy") != std::string::npos);
  bad[100] = 100;
  bad[50] = 60;
  hrm::write_npy(ds + "/train/all__puzzle_indices.npy", {101}, bad);
  CHECK(run_hrm("analyze " + cfg).out.find("not monotonic") != std::string::npos);
}

TEST_CASE("hrm data info: census of a built dataset, and exit 2 on a folder that is not one") {
  TempDir t;
  const auto ds = write_dataset(t, 100);
  const auto r = run_hrm("data info " + ds + " --format json");
  CAPTURE(r.out);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["train"]["groups"] == 100);
  CHECK(j["train"]["examples"] == 100);
  CHECK(run_hrm("data info " + (t / "nothing")).code == 2);
}
