// test_analyzer.cpp: every analyzer rule with a failing and a passing config, on small synthetic
// datasets written in HRM's format; the published step counts; the recommendation vets itself.
#include <doctest/doctest.h>

#include <algorithm>

#include "analyzer/report.hpp"
#include "common/error.hpp"
#include "datasets/dataset.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;

namespace {

// groups x puzzles_per_group puzzles; puzzle p of group g has examples(g, p) rows of seq_len tokens.
template <class F>
std::string make_dataset(const TempDir& tmp, const std::string& name, int groups, int puzzles_per_group, F examples,
                         std::int64_t seq_len = 4, std::int64_t vocab = 11, bool distinct_ids = false) {
  const std::string dir = tmp / name;
  SplitWriter w(seq_len);
  std::vector<std::uint8_t> row(static_cast<std::size_t>(seq_len), 2);
  std::int32_t id = 0;
  for (int g = 0; g < groups; ++g) {
    for (int p = 0; p < puzzles_per_group; ++p) {
      for (int e = 0; e < examples(g, p); ++e) w.add_example(row.data(), row.data());
      w.end_puzzle(distinct_ids ? ++id : 0);
    }
    w.end_group();
  }
  DatasetMetadata m;
  m.vocab_size = vocab;
  m.num_puzzle_identifiers = distinct_ids ? id + 1 : 1;
  w.write(dir, "train", m);
  return dir;
}

std::string one_example_groups(const TempDir& tmp, int groups, int puzzles_per_group = 1) {
  return make_dataset(tmp, "g" + std::to_string(groups) + "x" + std::to_string(puzzles_per_group), groups, puzzles_per_group,
                      [](int, int) { return 1; });
}

Config config_for(const std::string& path, std::int64_t B, std::int64_t W, std::int64_t epochs, std::int64_t eval_interval,
                  std::int64_t warmup) {
  Config c;
  c.data.path = path;
  c.source_file = "test.toml";
  c.train.global_batch_size = B;
  c.hardware.num_gpus = W;
  c.train.epochs = epochs;
  c.train.eval_interval = eval_interval;
  c.train.lr_warmup_steps = warmup;
  c.train.lr = 1e-4 * std::sqrt(double(B) / 768.0);
  c.task.horizon = "long";
  validate_config(c);
  return c;
}

const Finding* find(const Report& r, const std::string& id) {
  auto it = std::find_if(r.findings.begin(), r.findings.end(), [&](const Finding& f) { return f.id == id; });
  return it == r.findings.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("rule batch-not-divisible: the global batch must divide by the GPU count") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  Report bad = analyze(config_for(ds, 100, 8, 10, 10, 5));
  REQUIRE(find(bad, "batch-not-divisible"));
  CHECK(find(bad, "batch-not-divisible")->severity == Severity::Error);
  CHECK(find(bad, "batch-not-divisible")->value == 4);
  CHECK(find(bad, "batch-not-divisible")->fix.find("96 or 104") != std::string::npos);
  CHECK(bad.verdict == "rejected");
  CHECK_FALSE(find(analyze(config_for(ds, 96, 8, 10, 10, 5)), "batch-not-divisible"));
}

TEST_CASE("rule per-gpu-batch-range: the per-GPU batch should be within 16-256") {
  TempDir t;
  const auto ds = one_example_groups(t, 5000);
  const Report small = analyze(config_for(ds, 64, 8, 10, 10, 20));
  REQUIRE(find(small, "per-gpu-batch-range"));
  CHECK(find(small, "per-gpu-batch-range")->value == 8);
  CHECK(find(small, "per-gpu-batch-range")->severity == Severity::Warning);
  CHECK(small.verdict == "vetted");  // a warning alone does not reject...
  CHECK(analyze(config_for(ds, 64, 8, 10, 10, 20), AnalyzeOptions{true}).verdict == "rejected");  // ...unless --strict
  CHECK(find(analyze(config_for(ds, 4096, 8, 10, 10, 20)), "per-gpu-batch-range")->value == 512);
  CHECK_FALSE(find(analyze(config_for(ds, 256, 8, 10, 10, 20)), "per-gpu-batch-range"));
}

TEST_CASE("rule no-batches: an iteration that cannot fill one global batch trains on nothing") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  const Report bad = analyze(config_for(ds, 1536, 8, 10, 1, 5));
  REQUIRE(find(bad, "no-batches"));
  CHECK(bad.schedule.executed_steps == 0);
  CHECK(bad.schedule.empty_iterations == 10);
  CHECK(bad.verdict == "rejected");
  const Report ok = analyze(config_for(ds, 512, 8, 10, 1, 5));
  CHECK_FALSE(find(ok, "no-batches"));
  CHECK(ok.schedule.executed_steps == 10);  // one batch of 512 per 1000-row iteration
}

TEST_CASE("rule epochs-not-multiple: epochs must be a multiple of eval_interval") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  const Report bad = analyze(config_for(ds, 64, 1, 10, 3, 20));
  REQUIRE(find(bad, "epochs-not-multiple"));
  CHECK(find(bad, "epochs-not-multiple")->value == 1);
  CHECK(bad.verdict == "rejected");
  CHECK_FALSE(find(analyze(config_for(ds, 64, 1, 10, 5, 20)), "epochs-not-multiple"));
}

TEST_CASE("rule warmup-exceeds-run: warmup must not exceed the run, or the LR never reaches its base") {
  TempDir t;
  const auto ds = one_example_groups(t, 100);
  const Report bad = analyze(config_for(ds, 64, 1, 100, 10, 2000));  // 10 iterations x floor(1000/64) = 150 steps
  CHECK(bad.schedule.executed_steps == 150);
  REQUIRE(find(bad, "warmup-exceeds-run"));
  CHECK(find(bad, "warmup-exceeds-run")->limit == 150);
  CHECK(bad.schedule.peak_lr_fraction == doctest::Approx(150.0 / 2000.0));
  CHECK(bad.verdict == "rejected");
  CHECK_FALSE(find(analyze(config_for(ds, 64, 1, 100, 10, 100)), "warmup-exceeds-run"));
}

TEST_CASE("rule warmup-few-updates: at least 5 / 15 / 20 warmup updates for <=1K / 1K-10K / >10K examples per epoch") {
  TempDir t;
  const auto small = one_example_groups(t, 100);
  CHECK(find(analyze(config_for(small, 16, 1, 100, 10, 3)), "warmup-few-updates")->limit == 5);
  CHECK_FALSE(find(analyze(config_for(small, 16, 1, 100, 10, 200)), "warmup-few-updates"));
  const auto medium = one_example_groups(t, 2000);
  CHECK(find(analyze(config_for(medium, 64, 1, 10, 10, 10)), "warmup-few-updates")->limit == 15);
  const auto large = one_example_groups(t, 20000);
  CHECK(find(analyze(config_for(large, 64, 1, 10, 10, 10)), "warmup-few-updates")->limit == 20);
}

TEST_CASE("rule warmup-exposure: warmup covers 2 x the dataset, counted in fresh examples under ACT") {
  TempDir t;
  const auto ds = one_example_groups(t, 100);  // 100 examples per epoch; B 64 / halt 16 = 4 fresh per step
  const Report bad = analyze(config_for(ds, 64, 1, 1000, 100, 20));
  REQUIRE(find(bad, "warmup-exposure"));
  CHECK(find(bad, "warmup-exposure")->value == doctest::Approx(80));
  CHECK(find(bad, "warmup-exposure")->limit == doctest::Approx(200));
  CHECK_FALSE(find(analyze(config_for(ds, 64, 1, 1000, 100, 60)), "warmup-exposure"));
}

TEST_CASE("rule warmup-units: warmup is shown in steps, examples and epochs, and as it would read in examples") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  const Report r = analyze(config_for(ds, 768, 8, 100, 10, 2000));
  const Finding* f = find(r, "warmup-units");
  REQUIRE(f);
  CHECK(f->severity == Severity::Info);
  CHECK(r.schedule.warmup_examples == 2000.0 * 768.0);
  CHECK(r.schedule.warmup_epochs == doctest::Approx(1536.0));
  CHECK(r.schedule.warmup_updates_if_examples == doctest::Approx(2000.0 / 768.0));
  CHECK(f->message.find("2.6 updates") != std::string::npos);
}

TEST_CASE("rule survey-regime: a batch larger than the number of groups is the survey regime") {
  TempDir t;
  const auto arc_like = make_dataset(t, "arc", 50, 3, [](int g, int) { return 2 + g % 4; }, 4, 12, true);
  Config c = config_for(arc_like, 96, 1, 100, 10, 100);
  c.task.horizon = "short";
  const Report survey = analyze(c);
  CHECK(survey.regime.name == "survey");
  CHECK(survey.regime.batch_to_groups == doctest::Approx(96.0 / 50.0));
  CHECK(survey.regime.groups_per_batch == doctest::Approx(96.0 / 3.5).epsilon(0.1));
  REQUIRE(find(survey, "survey-regime"));
  c.train.global_batch_size = 32;
  const Report trad = analyze(c);
  CHECK(trad.regime.name == "traditional");
  CHECK(find(trad, "traditional-regime"));
  CHECK_FALSE(find(trad, "survey-regime"));
}

TEST_CASE("rule regime-horizon-mismatch: long horizon batch <= min(64, 0.5 x groups), short <= min(2 x groups, hardware)") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  const Report long_bad = analyze(config_for(ds, 128, 1, 10, 10, 20));
  REQUIRE(find(long_bad, "regime-horizon-mismatch"));
  CHECK(find(long_bad, "regime-horizon-mismatch")->limit == 64);
  CHECK_FALSE(find(analyze(config_for(ds, 64, 1, 10, 10, 20)), "regime-horizon-mismatch"));
  const auto small = one_example_groups(t, 100);
  Config c = config_for(small, 256, 1, 100, 10, 50);
  c.task.horizon = "short";
  REQUIRE(find(analyze(c), "regime-horizon-mismatch"));
  CHECK(find(analyze(c), "regime-horizon-mismatch")->limit == 200);
  c.train.global_batch_size = 192;
  CHECK_FALSE(find(analyze(c), "regime-horizon-mismatch"));
}

TEST_CASE("rule groups-repeat-in-batch: a batch wider than the groups repeats puzzle types within one update") {
  TempDir t;
  const auto few = one_example_groups(t, 10);
  const Report bad = analyze(config_for(few, 40, 1, 100, 100, 20));
  REQUIRE(find(bad, "groups-repeat-in-batch"));
  CHECK(bad.regime.repeated_groups_per_batch > 5.0);
  const auto many = one_example_groups(t, 1000);
  CHECK_FALSE(find(analyze(config_for(many, 64, 1, 10, 10, 20)), "groups-repeat-in-batch"));
}

TEST_CASE("rule memory-exceeds-gpu: the per-GPU estimate must fit the GPU") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  Config c = config_for(ds, 64, 1, 10, 10, 20);
  c.hardware.gpu_memory_gb = 0.5;
  const Report bad = analyze(c);
  REQUIRE(find(bad, "memory-exceeds-gpu"));
  CHECK(bad.verdict == "rejected");
  c.hardware.gpu_memory_gb = 80;
  CHECK_FALSE(find(analyze(c), "memory-exceeds-gpu"));
}

TEST_CASE("CUDA trainer memory: bf16 storage needs less than fp32 and more than its parameters' master, copy and moments") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  Config c = config_for(ds, 64, 1, 10, 10, 20);
  c.arch.forward_dtype = "bfloat16";
  const Report r = analyze(c);
  CHECK(r.cuda_storage == "bf16");
  const MemoryEstimate bf16 = cuda_memory_in(r, true), fp32 = cuda_memory_in(r, false);
  CHECK(r.cuda_memory.per_gpu_bytes == bf16.per_gpu_bytes);
  CHECK(bf16.activation_bytes < fp32.activation_bytes);
  CHECK(bf16.per_gpu_bytes < fp32.per_gpu_bytes);
  // the fp32 master and the bf16 copy: 6 bytes per parameter
  CHECK(bf16.params_bytes == doctest::Approx(6.0 * static_cast<double>(bf16.num_params)));
  CHECK(fp32.params_bytes == doctest::Approx(4.0 * static_cast<double>(fp32.num_params)));
  c.arch.forward_dtype = "float32";
  const Report f = analyze(c);
  CHECK(f.cuda_storage == "fp32");
  CHECK(f.cuda_memory.per_gpu_bytes == fp32.per_gpu_bytes);
}

TEST_CASE("rule memory-cuda-trainer: a config that fits HRM's training but not hrmkit's CUDA trainer is warned") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  Config c = config_for(ds, 64, 1, 10, 10, 20);
  const Report roomy = analyze(c);
  CHECK_FALSE(find(roomy, "memory-cuda-trainer"));
  const double torch_gib = roomy.memory.per_gpu_bytes / 1073741824.0, cuda_gib = roomy.cuda_memory.per_gpu_bytes / 1073741824.0;
  // float32 activations for every saved block and the attention scores, against HRM's bf16 ones
  REQUIRE(cuda_gib > torch_gib);
  CHECK(roomy.cuda_memory.per_gpu_bytes > roomy.cpu_memory.per_gpu_bytes);
  c.hardware.gpu_memory_gb = (torch_gib + cuda_gib) / 2;
  const Report tight = analyze(c);
  const Finding* f = find(tight, "memory-cuda-trainer");
  REQUIRE(f);
  CHECK(f->severity == Severity::Warning);
  CHECK(tight.verdict == "vetted");  // HRM's own training fits: not an error
  CHECK_FALSE(find(tight, "memory-exceeds-gpu"));
}

TEST_CASE("rule lr-scaling: the LR is compared with the square-root rule from B 768, lr 1e-4") {
  TempDir t;
  const auto ds = one_example_groups(t, 1000);
  Config c = config_for(ds, 384, 1, 10, 10, 20);
  c.train.lr = 7e-5;
  const Report r = analyze(c);  // kept: a pointer into a temporary Report dangled (found by the ASan suite)
  const Finding* f = find(r, "lr-scaling");
  REQUIRE(f);
  CHECK(f->limit == doctest::Approx(7.0711e-5).epsilon(1e-3));
  CHECK(f->fix == "none needed");
  c.train.lr = 1e-3;
  CHECK(find(analyze(c), "lr-scaling")->fix.find("consider train.lr") != std::string::npos);
}

TEST_CASE("parameter count: 27,275,266 for HRM's Sudoku model, as HRM counts it") {
  TempDir t;
  const auto ds = make_dataset(t, "sudoku", 10, 1, [](int, int) { return 1; }, 81, 11);
  const Report r = analyze(config_for(ds, 8, 1, 10, 10, 5));
  CHECK(r.memory.num_params == 27275266);
  Config learned = config_for(ds, 8, 1, 10, 10, 5);
  learned.arch.pos_encodings = "learned";
  CHECK(analyze(learned).memory.num_params == 27317250);
}

TEST_CASE("published case: Sudoku-Extreme 1k-aug-1000 runs 26,040 of 26,041 steps at B 768 and 52,080 of 52,083 at B 384") {
  TempDir t;
  const auto ds = make_dataset(t, "sudoku1k", 1000, 1001, [](int, int) { return 1; }, 1, 11);
  Report r = analyze(config_for(ds, 768, 8, 20000, 2000, 2000));
  CHECK(r.census.examples == 1001000);
  CHECK(r.census.examples_per_epoch == doctest::Approx(1000));
  CHECK(r.schedule.total_steps == 26041);
  CHECK(r.schedule.executed_steps == 26040);
  CHECK(r.verdict == "vetted");
  r = analyze(config_for(ds, 384, 1, 20000, 2000, 2000));
  CHECK(r.schedule.total_steps == 52083);
  CHECK(r.schedule.executed_steps == 52080);
  r = analyze(config_for(ds, 768, 8, 20000, 20000, 2000));
  CHECK(r.schedule.executed_steps == 26041);
}

TEST_CASE("recommendation: the recommended batch, GPUs, warmup and LR pass every error rule and the per-GPU range") {
  TempDir t;
  const auto sudoku = one_example_groups(t, 1000, 3);
  const auto arc_like = make_dataset(t, "arc", 960, 5, [](int g, int) { return 2 + g % 6; }, 4, 12, true);
  for (const auto& [ds, horizon, W] : {std::tuple{sudoku, "long", 8}, std::tuple{arc_like, "short", 8}, std::tuple{sudoku, "long", 1}}) {
    Config c = config_for(ds, 768, W, 2000, 200, 2000);
    c.task.horizon = horizon;
    const Report r = analyze(c);
    const auto& rec = r.recommendation;
    CAPTURE(horizon);
    CHECK(rec.global_batch_size % rec.num_gpus == 0);
    Config applied = c;
    applied.train.global_batch_size = rec.global_batch_size;
    applied.hardware.num_gpus = rec.num_gpus;
    applied.train.lr_warmup_steps = rec.lr_warmup_steps;
    applied.train.lr = rec.lr;
    const Report again = analyze(applied);
    CHECK(again.count(Severity::Error) == 0);
    CHECK_FALSE(find(again, "per-gpu-batch-range"));
    CHECK_FALSE(find(again, "regime-horizon-mismatch"));
    CHECK_FALSE(find(again, "warmup-exposure"));
    CHECK_FALSE(find(again, "warmup-few-updates"));
  }
}

TEST_CASE("bad input: a missing dataset folder is one clear error naming it") {
  Config c;
  c.data.path = "/nonexistent/dataset";
  CHECK_THROWS_WITH_AS(analyze(c), doctest::Contains("/nonexistent/dataset"), InputError);
}
