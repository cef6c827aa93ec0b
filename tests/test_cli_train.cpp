// test_cli_train.cpp: `hrm train` and `hrm eval` as a user runs them: the analyzer gates training,
// a run directory holds what ARCHITECTURE.md section 5 lists, eval reproduces the in-training
// evaluation, Ctrl-C checkpoints and resumes bit for bit, the monitors flag an unstable run and only
// that, `hrm probe` measures the noise scale that `hrm analyze --probe` folds into the preflight
// report, and bad input is exit 2 naming what differs.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/safetensors.hpp"
#include "test_util.hpp"

using hrm_test::run_hrm;
using hrm_test::TempDir;
using nlohmann::json;

namespace {

// 200 real Sudoku-Extreme puzzles to train on, 200 held out; built once per process.
const std::string& dataset() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string out = dir / "sudoku";
    const auto r = run_hrm("data build sudoku --csv " + hrm_test::source_dir() +
                           "/data/sudoku/sudoku-extreme-train-1k.csv --test-fraction 0.2 --subsample 200 --seed 3 --out " + out);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    return out;
  }();
  return path;
}

// A tiny HRM: 2 epochs of 200 puzzles at B = 16 -> 12 steps per iteration, an evaluation and a
// checkpoint after each of the 2 iterations. `train_extra` is appended to [train].
std::string write_config(const TempDir& t, const std::string& train_extra = "", const std::string& data = "") {
  const std::string path = t / "tiny.toml";
  hrm_test::write_file(path, "[data]\npath = \"" + (data.empty() ? dataset() : data) +
                                 "\"\n[arch]\nhidden_size = 32\nnum_heads = 2\nH_layers = 1\nL_layers = 1\n"
                                 "halt_max_steps = 2\n[train]\nglobal_batch_size = 16\nepochs = 2\neval_interval = 1\n"
                                 "lr = 1e-3\nlr_warmup_steps = 5\n" + train_extra +
                                 "\n[hardware]\nnum_gpus = 1\n[task]\nhorizon = \"long\"\n");
  return path;
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> v;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) v.push_back(json::parse(line));
  return v;
}

// The bytes of every tensor whose name starts with `prefix`, by name.
std::map<std::string, std::string> tensor_bytes(const std::string& path, const std::string& prefix) {
  const hrm::SafetensorsFile f = hrm::SafetensorsFile::open(path);
  std::map<std::string, std::string> out;
  for (const auto& name : f.names())
    if (name.rfind(prefix, 0) == 0) {
      const auto raw = f.bytes(name);
      out[name] = std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
    }
  return out;
}

}  // namespace

TEST_CASE("hrm train: a vetted config trains, the run directory has metrics, evaluations, checkpoints and reports") {
  TempDir t;
  const std::string run = t / "run";
  const auto r = run_hrm("train " + write_config(t) + " --out " + run + " --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  for (const char* f : {"resolved.toml", "preflight.json", "preflight.md", "preflight.html", "metrics.jsonl", "eval.jsonl",
                        "run.json", "report.html", "checkpoints/step_12.safetensors", "checkpoints/step_24.safetensors"})
    CHECK_MESSAGE(std::filesystem::exists(run + "/" + f), f);
  const auto metrics = read_jsonl(run + "/metrics.jsonl");
  REQUIRE(metrics.size() == 24);  // analyzer: int(2 * 200 / 16) = 25 planned, 2 x 12 = 24 executed
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    CHECK(metrics[i]["step"] == static_cast<int>(i + 1));
    for (const char* k : {"loss", "accuracy", "exact_accuracy", "q_halt_accuracy", "steps", "lr", "grad_norm", "examples_per_s"})
      CHECK_MESSAGE(metrics[i].contains(k), k);
  }
  CHECK(metrics[0]["lr"].get<double>() == doctest::Approx(1e-3 / 5));  // warmup: base * step / warmup
  const json info = json::parse(hrm_test::read_file(run + "/run.json"));
  CHECK(info["status"] == "finished");
  CHECK(info["forced"] == false);
  CHECK(info["total_steps"] == 25);
  CHECK(read_jsonl(run + "/eval.jsonl").size() == 2);
}

TEST_CASE("hrm eval: a checkpoint reproduces the in-training evaluation under HRM's metric names, predictions saved") {
  TempDir t;
  const std::string run = t / "run";
  REQUIRE(run_hrm("train " + write_config(t) + " --out " + run + " --quiet").code == 0);
  const auto r = run_hrm("eval " + run + "/checkpoints/step_24.safetensors --format json --predictions " + (t / "preds"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  const json j = json::parse(r.out.substr(r.out.find('{')));
  const json in_training = read_jsonl(run + "/eval.jsonl").back();
  for (const char* k : {"accuracy", "exact_accuracy", "lm_loss", "q_halt_accuracy", "q_halt_loss", "steps", "valid_solutions"}) {
    CAPTURE(k);
    REQUIRE(j["all"].contains(k));
    CHECK(j["all"][k].get<double>() == in_training[k].get<double>());  // same weights, same arithmetic
  }
  CHECK(j["all"]["steps"] == 2.0);  // eval runs exactly halt_max_steps segments
  for (const char* f : {"inputs.npy", "labels.npy", "predictions.npy", "puzzle_identifiers.npy", "q_halt_logits.npy"})
    CHECK_MESSAGE(std::filesystem::exists(t / ("preds/" + std::string(f))), f);

  // On a GPU (--device cuda, fp32 GEMMs): the loss within fp32 reordering (1e-4 relative), the
  // accuracies within 4 of the 200 test puzzles (a reordered sum may flip an argmax tie); without one, or
  // without the CUDA backend, exit 2 saying which.
  const std::string ckpt = run + "/checkpoints/step_24.safetensors";
  const auto gpu_eval_close = [&](const std::string& options, double loss_tol, double puzzles) {
    CAPTURE(options);
    const auto g = run_hrm("eval " + ckpt + " --format json --device cuda " + options);
    if (g.code != 0) {
      CHECK(g.code == 2);
      CHECK((g.out.find("hrm eval --device cuda: no CUDA device found") != std::string::npos ||
             g.out.find("has no CUDA backend") != std::string::npos));
      return;
    }
    const json jg = json::parse(g.out.substr(g.out.find('{')));
    const double loss = j["all"]["lm_loss"].get<double>();
    CHECK(std::abs(jg["all"]["lm_loss"].get<double>() - loss) <= loss_tol * std::abs(loss));
    for (const char* k : {"accuracy", "exact_accuracy", "q_halt_accuracy"}) {
      CAPTURE(k);
      CHECK(std::abs(jg["all"][k].get<double>() - j["all"][k].get<double>()) <= puzzles / 200);
    }
  };
  gpu_eval_close("--gemm-math fp32 --predictions " + (t / "gpu"), 1e-4, 4);
  // bf16 storage (HRM's): every activation rounded to bf16 through 16 segments of a recurrent model, so
  // a looser bound (reasoned, not yet measured): the loss within 5%, accuracies within 20 of 200.
  gpu_eval_close("--storage bf16", 5e-2, 20);
  const auto bad = run_hrm("eval " + ckpt + " --gemm-math bf16");
  CHECK(bad.code == 2);
  CHECK(bad.out.find("--gemm-math: applies to the CUDA backend only") != std::string::npos);
  const auto bad_storage = run_hrm("eval " + ckpt + " --storage bf16");
  CHECK(bad_storage.code == 2);
  CHECK(bad_storage.out.find("--storage: applies to the CUDA backend only") != std::string::npos);
}

TEST_CASE("hrm train: a rejected config does not start (exit 1), --force trains and records why it was rejected") {
  TempDir t;
  // Warmup longer than the run: an error finding.
  const std::string cfg = write_config(t, "", "");
  const auto rejected = run_hrm("train " + cfg + " train.lr_warmup_steps=500 --out " + (t / "r1") + " --quiet");
  CHECK(rejected.code == 1);
  CHECK(rejected.out.find("--force") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(t / "r1/metrics.jsonl"));

  const auto forced = run_hrm("train " + cfg + " train.lr_warmup_steps=500 --out " + (t / "r2") + " --quiet --force");
  REQUIRE_MESSAGE(forced.code == 0, forced.out);
  const json info = json::parse(hrm_test::read_file(t / "r2/run.json"));
  CHECK(info["forced"] == true);
  CHECK(info["preflight_verdict"] == "errors");
  REQUIRE(info["preflight_errors"].size() >= 1);
  CHECK(info["preflight_errors"].dump().find("warmup") != std::string::npos);
}

TEST_CASE("hrm train: Ctrl-C writes a checkpoint and exits 130, --resume finishes bit-identical to an uninterrupted run") {
  TempDir t;
  const std::string cfg = write_config(t, "checkpoint_every_eval = false");
  REQUIRE(run_hrm("train " + cfg + " --out " + (t / "straight") + " --quiet").code == 0);

  // Start in the background, wait for the first steps, send SIGINT.
  const std::string run = t / "cut";
  const std::string cmd = hrm_test::hrm_bin() + " train " + cfg + " --out " + run + " --quiet > " + (t / "log") + " 2>&1";
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_jsonl(run + "/metrics.jsonl").size() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE_MESSAGE(WIFEXITED(status), hrm_test::read_file(t / "log"));
  CHECK(WEXITSTATUS(status) == 130);
  const json info = json::parse(hrm_test::read_file(run + "/run.json"));
  CHECK(info["status"] == "interrupted");
  const std::string ckpt = info["last_checkpoint"];
  REQUIRE(std::filesystem::exists(ckpt));
  const std::int64_t cut_step = read_jsonl(run + "/metrics.jsonl").back()["step"];
  CHECK(cut_step < 24);

  const auto resumed = run_hrm("train " + cfg + " --resume " + ckpt + " --out " + run + " --quiet");
  REQUIRE_MESSAGE(resumed.code == 0, resumed.out);
  const auto a = tensor_bytes(t / "straight/checkpoints/step_24.safetensors", "");
  const auto b = tensor_bytes(run + "/checkpoints/step_24.safetensors", "");
  REQUIRE(a.size() == b.size());
  for (const auto& [name, bytes] : a) CHECK_MESSAGE(b.at(name) == bytes, name);
  // metrics.jsonl is continuous: one line per step, each step once, equal to the straight run's.
  const auto m1 = read_jsonl(t / "straight/metrics.jsonl"), m2 = read_jsonl(run + "/metrics.jsonl");
  REQUIRE(m1.size() == m2.size());
  for (std::size_t i = 0; i < m1.size(); ++i) CHECK(m1[i]["loss"] == m2[i]["loss"]);
}

TEST_CASE("bad input: resume with another model, data that does not fit the model, a truncated checkpoint: exit 2 naming it") {
  TempDir t;
  const std::string cfg = write_config(t);
  const std::string run = t / "run";
  REQUIRE(run_hrm("train " + cfg + " --out " + run + " --quiet").code == 0);
  const std::string ckpt = run + "/checkpoints/step_12.safetensors";

  auto r = run_hrm("train " + cfg + " arch.hidden_size=64 --resume " + ckpt + " --out " + (t / "r2") + " --quiet");
  CHECK(r.code == 2);
  CHECK(r.out.find("arch.hidden_size") != std::string::npos);

  // A maze dataset (11 x 11 fixture mazes: seq_len 121, vocab 6) for a checkpoint trained on Sudoku
  // (seq_len 81, vocab 11): the first size that differs is named.
  const std::string maze = t / "maze";
  REQUIRE(run_hrm("data build maze --csv " + hrm_test::source_dir() + "/tests/fixtures/maze/train.csv --test-fraction 0.5 --out " + maze).code == 0);
  r = run_hrm("eval " + ckpt + " --data " + maze);
  CHECK(r.code == 2);
  CHECK(r.out.find("seq_len = 81") != std::string::npos);
  CHECK(r.out.find("121") != std::string::npos);

  const std::string bytes = hrm_test::read_file(ckpt);
  hrm_test::write_file(t / "cut.safetensors", bytes.substr(0, bytes.size() - 100));
  r = run_hrm("train " + cfg + " --resume " + (t / "cut.safetensors") + " --out " + (t / "r3") + " --quiet");
  CHECK(r.code == 2);
  CHECK(r.out.find("cut.safetensors") != std::string::npos);

  // Device options that cannot be honoured: exit 2 naming what is wrong (the CPU backend multiplies
  // in fp32 only, so --gemm-math and --storage need --device cuda).
  for (const auto& [options, says] :
       {std::pair{"--device tpu", "tpu"},
        std::pair{"--device cuda --gemm-math fp16", "--gemm-math: 'fp16' is not a GEMM mode"},
        std::pair{"--gemm-math bf16", "applies to the CUDA backend only"},
        std::pair{"--device cuda --storage fp16", "--storage: 'fp16' is not a storage type"},
        std::pair{"--device cuda --storage bf16 --gemm-math tf32",
                  "bf16 storage multiplies bf16 on the tensor cores, not tf32"}}) {
    CAPTURE(options);
    r = run_hrm("train " + cfg + " " + options + " --quiet");
    CHECK(r.code == 2);
    CHECK(r.out.find(says) != std::string::npos);
  }
  // Without a device (CUDA build) or without the CUDA backend: exit 2 saying which. A machine with
  // a device trains, on cuda.
  r = run_hrm("train " + cfg + " --device cuda --out " + (t / "cuda") + " --quiet");
  if (r.code == 0) {
    CHECK(json::parse(hrm_test::read_file(t / "cuda/run.json"))["device"] == "cuda");
  } else {
    CHECK(r.code == 2);
    CHECK((r.out.find("no CUDA device found") != std::string::npos ||
           r.out.find("has no CUDA backend") != std::string::npos));
  }
}

TEST_CASE("a non-finite loss stops the run with the step named and keeps the last good checkpoint") {
  TempDir t;
  const std::string cfg = write_config(t);
  const std::string run = t / "run";
  REQUIRE(run_hrm("train " + cfg + " --out " + run + " --quiet").code == 0);
  const std::string good = run + "/checkpoints/step_12.safetensors";
  const std::string before = hrm_test::read_file(good);
  // The learning rate is not pinned by a checkpoint: resuming with lr 1e30 blows the weights up.
  const auto r = run_hrm("train " + cfg + " train.lr=1e30 --force --resume " + good + " --out " + run + " --quiet");
  CHECK(r.code == 2);
  CHECK(r.out.find("step 1") != std::string::npos);  // "step 13: the loss is nan" or later
  CHECK(r.out.find("nan") != std::string::npos);
  CHECK(hrm_test::read_file(good) == before);
  const json info = json::parse(hrm_test::read_file(run + "/run.json"));
  CHECK(info["status"] == "failed");
}

TEST_CASE("HRM weights: checkpoint -> PyTorch state dict -> safetensors evaluates identically and initialises a run") {
  if (hrm_test::run(std::string(HRM_PYTHON) + " -c 'import torch'").code != 0) {
    MESSAGE("skipped: Debian's python3-torch is not installed");
    std::exit(77);
  }
  TempDir t;
  const std::string cfg = write_config(t);
  const std::string run = t / "run";
  REQUIRE(run_hrm("train " + cfg + " --out " + run + " --quiet").code == 0);
  const std::string ckpt = run + "/checkpoints/step_24.safetensors", tool = hrm_test::source_dir() + "/tools/hrm_checkpoint.py";
  const std::string py = std::string(HRM_PYTHON) + " " + tool;
  REQUIRE(hrm_test::run(py + " to-torch " + ckpt + " " + (t / "hrm_state.pt")).code == 0);
  REQUIRE(hrm_test::run(py + " to-safetensors " + (t / "hrm_state.pt") + " " + (t / "weights.safetensors")).code == 0);

  // A weights-only file carries no config: hrm eval asks for one, then matches the checkpoint.
  auto r = run_hrm("eval " + (t / "weights.safetensors"));
  CHECK(r.code == 2);
  CHECK(r.out.find("--config") != std::string::npos);
  const auto a = run_hrm("eval " + ckpt + " --format json --predictions " + (t / "p1"));
  const auto b = run_hrm("eval " + (t / "weights.safetensors") + " --config " + cfg + " --format json --predictions " + (t / "p2"));
  REQUIRE_MESSAGE(b.code == 0, b.out);
  CHECK(json::parse(a.out.substr(a.out.find('{'))) == json::parse(b.out.substr(b.out.find('{'))));

  // --init-weights starts a new run from them (step 1, fresh optimizer) and records where from.
  r = run_hrm("train " + cfg + " --init-weights " + (t / "weights.safetensors") + " --out " + (t / "r2") + " --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(read_jsonl(t / "r2/metrics.jsonl").front()["step"] == 1);
  // A weights file of another shape is refused by name.
  r = run_hrm("train " + cfg + " arch.hidden_size=64 --init-weights " + (t / "weights.safetensors") + " --out " + (t / "r3") + " --quiet");
  CHECK(r.code == 2);
}

TEST_CASE("hrm eval on ARC: augmentations undone, votes counted, pass@1/2/10 reported next to HRM's metrics") {
  TempDir t;
  const std::string arc = t / "arc";
  const std::string fx = hrm_test::source_dir() + "/tests/fixtures/arc/";
  REQUIRE(run_hrm("data build arc --dirs " + fx + "arc1 " + fx + "concept --num-aug 2 --out " + arc).code == 0);
  const std::string cfg = t / "arc.toml";
  hrm_test::write_file(cfg, "[data]\npath = \"" + arc +
                                "\"\n[arch]\nhidden_size = 32\nnum_heads = 2\nH_layers = 1\nL_layers = 1\nH_cycles = 1\n"
                                "L_cycles = 1\nhalt_max_steps = 2\n[train]\nglobal_batch_size = 8\nepochs = 2\n"
                                "eval_interval = 2\nlr_warmup_steps = 1\n[hardware]\nnum_gpus = 1\n[task]\nhorizon = \"short\"\n");
  const auto tr = run_hrm("train " + cfg + " --out " + (t / "run") + " --quiet --force");
  REQUIRE_MESSAGE(tr.code == 0, tr.out);
  const json last = read_jsonl(t / "run/eval.jsonl").back();
  for (const char* k : {"accuracy", "exact_accuracy", "lm_loss", "q_halt_accuracy", "q_halt_loss", "steps", "pass@1", "pass@2",
                        "pass@10"}) {
    CAPTURE(k);
    REQUIRE(last.contains(k));
    CHECK(last[k].get<double>() >= 0);
  }
  CHECK(last["pass@1"].get<double>() <= last["pass@2"].get<double>());
  CHECK(last["pass@2"].get<double>() <= last["pass@10"].get<double>());
}

TEST_CASE("hrm train: the monitors flag a deliberately unstable run (lr = 10) and stay quiet on a normal one") {
  // "Gradient norms during warmup should increase gradually, not spike"; "watch for loss spikes".
  TempDir t;
  const std::string cfg = write_config(t);
  const auto normal = run_hrm("train " + cfg + " --out " + (t / "normal") + " --quiet");
  REQUIRE_MESSAGE(normal.code == 0, normal.out);
  CHECK(normal.out.find("# warning: [") == std::string::npos);
  REQUIRE(std::filesystem::exists(t / "normal/monitors.jsonl"));
  CHECK(read_jsonl(t / "normal/monitors.jsonl").empty());
  CHECK(hrm_test::read_file(t / "normal/report.html").find("No monitor fired") != std::string::npos);

  const auto unstable = run_hrm("train " + cfg + " train.lr=10 --out " + (t / "unstable") + " --quiet --force");
  REQUIRE_MESSAGE(unstable.code == 0, unstable.out);  // AdamATan2's bounded step keeps it finite; it just thrashes
  const auto events = read_jsonl(t / "unstable/monitors.jsonl");
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e["id"].get<std::string>());
  CHECK(ids.count("loss-spike") == 1);  // 13x the median at step 4 here, against a limit of 2x
  // (gradient-norm spikes of this run sit near their 5x limit, so which of them fire is left to the
  // monitor's own tests; every event here must be a spike)
  for (const auto& id : ids) CHECK((id == "loss-spike" || id == "grad-norm-spike"));
  CHECK(unstable.out.find("# warning: [loss-spike] step ") != std::string::npos);  // live, not only in the file
  const std::string html = hrm_test::read_file(t / "unstable/report.html");
  CHECK(html.find("id=\"monitors\"") != std::string::npos);
  CHECK(html.find("loss-spike") != std::string::npos);
}

TEST_CASE("hrm probe: B_crit per module at init and at a checkpoint, and hrm analyze --probe puts it in the preflight report") {
  TempDir t;
  const std::string cfg = write_config(t);
  REQUIRE(run_hrm("train " + cfg + " --out " + (t / "run") + " --quiet").code == 0);
  const auto r = run_hrm("probe " + cfg + " --steps 3 --checkpoint " + (t / "run/checkpoints/step_24.safetensors") + " --out " +
                         (t / "probe.json") + " --quiet");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(r.out.find("B_crit: ") != std::string::npos);
  const json p = json::parse(hrm_test::read_file(t / "probe.json"));
  CHECK(p["format_version"] == 1);
  CHECK(p["b_big"] == 16);  // train.global_batch_size
  CHECK(p["b_small"] == 2);  // B_big / 8
  REQUIRE(p["points"].size() == 2);
  CHECK(p["points"][0]["at"] == "init");
  CHECK(p["points"][1]["step"] == 24);
  std::vector<std::string> modules;
  for (const auto& m : p["points"][1]["modules"]) modules.push_back(m["module"].get<std::string>());
  CHECK(modules == std::vector<std::string>{"all", "H_level", "L_level", "embeddings", "heads"});
  // The parts add up: |G|^2 and tr(Sigma) of "all" are the sums over the modules.
  double g2 = 0, tr = 0;
  for (std::size_t i = 1; i < 5; ++i) {
    g2 += p["points"][1]["modules"][i]["grad_sq"].get<double>();
    tr += p["points"][1]["modules"][i]["trace_sigma"].get<double>();
  }
  CHECK(p["points"][1]["modules"][0]["grad_sq"].get<double>() == doctest::Approx(g2));
  CHECK(p["points"][1]["modules"][0]["trace_sigma"].get<double>() == doctest::Approx(tr));
  REQUIRE(p["b_crit"].is_number());
  CHECK(p["b_crit"].get<double>() > 0);

  const auto a = run_hrm("analyze " + cfg + " --probe " + (t / "probe.json") + " --format json --report " + (t / "pre"));
  REQUIRE_MESSAGE(a.code <= 1, a.out);
  const json j = json::parse(a.out.substr(0, a.out.rfind("report: ")));
  REQUIRE(j.contains("noise_probe"));
  CHECK(j["noise_probe"]["b_crit"] == p["b_crit"]);
  std::set<std::string> ids;
  for (const auto& f : j["findings"]) ids.insert(f["id"].get<std::string>());
  CHECK(ids.count("noise-scale-recommendation") == 1);
  CHECK(ids.count("noise-scale-batch-above-critical") + ids.count("noise-scale-batch-below-critical") +
            ids.count("noise-scale-batch-near-critical") == 1);
  CHECK(hrm_test::read_file(t / "pre/preflight.html").find("id=\"noise-scale\"") != std::string::npos);
  CHECK(hrm_test::read_file(t / "pre/preflight.md").find("Gradient noise scale") != std::string::npos);
  if (hrm_test::run(std::string(HRM_PYTHON) + " -c 'import jsonschema'").code == 0) {
    const auto c = hrm_test::run(std::string(HRM_PYTHON) + " " + hrm_test::source_dir() + "/tests/reference/check_reports.py schema " +
                                 (t / "pre/preflight.json") + " " + hrm_test::source_dir() + "/reports/preflight.schema.json");
    CHECK_MESSAGE(c.code == 0, c.out);
  }
}

TEST_CASE("bad input: a small batch that does not divide the big one, a probe file that is not one: exit 2 naming it") {
  TempDir t;
  const std::string cfg = write_config(t);
  const auto bad_batch = run_hrm("probe " + cfg + " --small-batch 3 --quiet");
  CHECK(bad_batch.code == 2);
  CHECK(bad_batch.out.find("--small-batch") != std::string::npos);
  hrm_test::write_file(t / "bad.json", "{\"format_version\": 1, \"config_file\": \"x\"}");
  const auto bad_file = run_hrm("analyze " + cfg + " --probe " + (t / "bad.json"));
  CHECK(bad_file.code == 2);
  CHECK(bad_file.out.find(t / "bad.json") != std::string::npos);
  CHECK(bad_file.out.find("dataset") != std::string::npos);  // the first missing field
}
