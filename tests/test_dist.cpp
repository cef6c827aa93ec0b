// test_dist.cpp: data-parallel training on CPU ranks under mpirun (trainer/dist, HRM-SPEC 3.2, 3.4,
// 5.1): two ranks give the losses and parameters of one process with the same global batch; a
// checkpoint resumes bit for bit with its world size and is refused with another; a rank that dies or
// fails alone ends the job with an error within a bounded time; the launched world must equal
// hardware.num_gpus. Two CUDA ranks (NCCL) against one GPU process, where two GPUs are there.
//
// Skipped (exit 77) when hrm was built without MPI or mpirun is not on PATH. Every run uses one
// OpenMP thread per rank (2 ranks on CI's 2 cores) and may run as root (OMPI_ALLOW_RUN_AS_ROOT).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/safetensors.hpp"
#include "test_util.hpp"

using hrm_test::TempDir;

namespace {

bool have_mpirun() {
#ifdef HRM_HAVE_MPI
  return hrm_test::run("command -v mpirun").code == 0;
#else
  return false;
#endif
}

#define SKIP_WITHOUT_MPI()                                                          \
  do {                                                                              \
    if (!have_mpirun()) {                                                           \
      MESSAGE("skipped: hrm built without MPI, or no mpirun on PATH");             \
      std::exit(77); /* CTest SKIP_RETURN_CODE */                                   \
    }                                                                               \
  } while (0)

const std::string kEnv = "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 ";

std::string mpirun(int np) { return kEnv + "mpirun -np " + std::to_string(np) + " --oversubscribe " + hrm_test::hrm_bin(); }
std::string solo() { return kEnv + hrm_test::hrm_bin(); }

// A tiny HRM (hidden 32, 1+1 layers, up to 3 ACT segments) on 468 real Sudoku puzzles, global batch
// 16: 2 iterations of 29 steps, an evaluation and a checkpoint after each. Half the puzzles are the
// test split, so every window of the evaluation is split over the ranks.
struct TinyRun {
  TempDir dir;
  std::string config;
  TinyRun() {
    const std::string data = dir / "sudoku";
    const auto r = hrm_test::run_hrm("data build sudoku --csv " + hrm_test::source_dir() +
                                     "/data/sudoku/sudoku-extreme-train-1k.csv --test-fraction 0.532 --out " + data);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    config = dir / "tiny.toml";
    hrm_test::write_file(config, "[data]\npath = \"" + data +
                                     "\"\n[arch]\nhidden_size = 32\nnum_heads = 2\nH_layers = 1\nL_layers = 1\n"
                                     "halt_max_steps = 3\nhalt_exploration_prob = 0.5\n"
                                     "[train]\nglobal_batch_size = 16\nepochs = 2\neval_interval = 1\nlr = 1e-3\n"
                                     "lr_warmup_steps = 3\npuzzle_emb_lr = 1e-2\nweight_decay = 0.1\n"
                                     "puzzle_emb_weight_decay = 0.1\nseed = 5\n[hardware]\nnum_gpus = 1\n");
  }
  // `hrm train` of this config into run directory `out` (--force: the analyzer rightly warns that
  // this toy schedule is far too short).
  std::string train(const std::string& launcher, const std::string& out, const std::string& extra = "") const {
    return launcher + " train " + config + " --out " + dir / out + " --quiet --force " + extra;
  }
};

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> v;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) v.push_back(nlohmann::json::parse(line));
  return v;
}

// Run `w2` (two ranks) against run `w1` (one process, same global batch): the per-step logged values
// within 1e-5 relative, every checkpoint tensor of the last step within 1e-4 absolute (the
// carry's integer tensors exactly), the evaluations alike. Tolerances: the runs differ only in the
// order of float additions (each rank sums the gradients of its 8 rows, then the two partial sums
// are added; one process sums 16 rows in its own order), a few fp32 roundings (~1e-7 relative) per
// step. Measured on CPU ranks: 1.2e-6 relative on the losses, 6e-6 absolute on the parameters after
// 116 steps. 1e-5 relative / 1e-4 absolute is far above that and far below what a different batch
// row, halting decision or sign-SGD sign would cause (a full step moves a weight by ~lr = 1e-3, a
// puzzle-embedding element by 1e-2).
void check_same_training(const TinyRun& run, const std::string& w1, const std::string& w2) {
  const auto a = read_jsonl(run.dir / (w1 + "/metrics.jsonl")), b = read_jsonl(run.dir / (w2 + "/metrics.jsonl"));
  REQUIRE(a.size() == 58);
  REQUIRE(b.size() == a.size());  // rank 0 alone wrote: one line per step, not two
  double worst_loss = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i]["step"] == b[i]["step"]);
    CHECK(a[i]["count"] == b[i]["count"]);  // the same slots halted in the same step
    CHECK(a[i]["lr"] == b[i]["lr"]);
    for (const char* k : {"loss", "lm_loss", "q_halt_loss", "accuracy", "grad_norm"}) {
      const double x = a[i][k], y = b[i][k];
      const double rel = std::abs(x - y) / std::max(std::abs(x), 1e-12);
      worst_loss = std::max(worst_loss, rel);
      CHECK_MESSAGE(rel <= 1e-5, "step ", a[i]["step"], " ", k, ": ", x, " vs ", y);
    }
  }
  MESSAGE("largest relative difference of a logged step value: ", worst_loss);

  const auto A = hrm::SafetensorsFile::open(run.dir / (w1 + "/checkpoints/step_58.safetensors"));
  const auto B = hrm::SafetensorsFile::open(run.dir / (w2 + "/checkpoints/step_58.safetensors"));
  CHECK(A.metadata("world_size") == "1");
  CHECK(B.metadata("world_size") == "2");
  REQUIRE(A.names() == B.names());
  double worst = 0;
  for (const auto& name : A.names()) {
    const auto& info = A.info(name);
    if (name.rfind("carry.steps", 0) == 0 || name.rfind("carry.halted", 0) == 0 || name.rfind("carry.inputs", 0) == 0 ||
        name.rfind("carry.labels", 0) == 0 || name.rfind("carry.puzzle", 0) == 0) {
      const auto x = A.bytes(name), y = B.bytes(name);  // the global carry: same slots, same data, same steps
      CHECK_MESSAGE(std::equal(x.begin(), x.end(), y.begin(), y.end()), name);
      continue;
    }
    const auto x = A.read_as<float>(name, info.shape), y = B.read_as<float>(name, info.shape);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double d = std::abs(static_cast<double>(x[i]) - y[i]);
      if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
    }
  }
  MESSAGE("largest absolute parameter / optimizer-state / carry difference: ", worst);
  CHECK(worst <= 1e-4);

  const auto e1 = read_jsonl(run.dir / (w1 + "/eval.jsonl")), e2 = read_jsonl(run.dir / (w2 + "/eval.jsonl"));
  REQUIRE(e1.size() == 2);
  REQUIRE(e2.size() == 2);
  for (std::size_t i = 0; i < e1.size(); ++i) {
    CHECK(e1[i]["count"] == e2[i]["count"]);  // every test example evaluated exactly once over the ranks
    for (const char* k : {"accuracy", "lm_loss", "valid_solutions"})
      CHECK_MESSAGE(std::abs(e1[i][k].get<double>() - e2[i][k].get<double>()) <= 1e-4, k);
  }
  const auto info = nlohmann::json::parse(hrm_test::read_file(run.dir / (w2 + "/run.json")));
  CHECK(info["world_size"] == 2);
  CHECK(info["launcher"] == "mpirun");
  CHECK(info["status"] == "finished");
}

}  // namespace

TEST_CASE("two ranks under mpirun: the same per-step losses and final parameters as one process with the same global batch" * doctest::test_suite("long")) {
  SKIP_WITHOUT_MPI();
  TinyRun run;
  const auto one = hrm_test::run(run.train(solo(), "w1"));
  REQUIRE_MESSAGE(one.code == 0, one.out);
  // Buckets of 1000 floats: the 58,114-parameter slab goes out as 59 all-reduces, all in flight.
  const auto two = hrm_test::run("HRM_ALLREDUCE_BUCKET_FLOATS=1000 " + run.train(mpirun(2), "w2", "hardware.num_gpus=2"));
  REQUIRE_MESSAGE(two.code == 0, two.out);
  check_same_training(run, "w1", "w2");

  // The slab's all-reduce overlapped with the backward pass (the default: heads, H, L, embeddings
  // each posted when final) against one all-reduce after it: each element is the same sum of the two
  // ranks' partial gradients either way, so the checkpoints must be byte-identical. A part posted
  // before its gradient was final, or a part never posted, would show here.
  const auto late = hrm_test::run("HRM_ALLREDUCE_OVERLAP=0 " + run.train(mpirun(2), "w2late", "hardware.num_gpus=2"));
  REQUIRE_MESSAGE(late.code == 0, late.out);
  const auto B = hrm::SafetensorsFile::open(run.dir / "w2/checkpoints/step_58.safetensors");
  const auto L = hrm::SafetensorsFile::open(run.dir / "w2late/checkpoints/step_58.safetensors");
  REQUIRE(L.names() == B.names());
  for (const auto& name : B.names()) {
    const auto x = B.bytes(name), y = L.bytes(name);
    CHECK_MESSAGE(std::equal(x.begin(), x.end(), y.begin(), y.end()), name);
  }
}

// Two GPUs: each rank trains on GPU `local rank`, the gradient slab is summed by NCCL during the
// backward and the puzzle rows gathered (trainer/cuda/nccl_exchange.hpp); the same comparison
// against one GPU process. Runs only where mpirun, this build's NCCL and two GPUs are there.
TEST_CASE("two CUDA ranks under mpirun (NCCL): the per-step losses and final parameters of one GPU process") {
  SKIP_WITHOUT_MPI();
  if (hrm_test::run("test \"$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')\" -ge 2").code != 0) {
    MESSAGE("skipped: fewer than two GPUs (nvidia-smi -L)");
    std::exit(77);
  }
  TinyRun run;
  const auto one = hrm_test::run(run.train(solo(), "g1", "--device cuda"));
  REQUIRE_MESSAGE(one.code == 0, one.out);
  const auto two = hrm_test::run(run.train(mpirun(2), "g2", "--device cuda hardware.num_gpus=2"));
  REQUIRE_MESSAGE(two.code == 0, two.out);
  check_same_training(run, "g1", "g2");
}

TEST_CASE("resume: the world size the checkpoint was written with continues bit for bit, and another one is refused (exit 2)") {
  SKIP_WITHOUT_MPI();
  TinyRun run;
  const auto straight = hrm_test::run(run.train(mpirun(2), "straight", "hardware.num_gpus=2"));
  REQUIRE_MESSAGE(straight.code == 0, straight.out);
  const std::string mid = run.dir / "straight/checkpoints/step_29.safetensors";

  const auto resumed = hrm_test::run(run.train(mpirun(2), "resumed", "hardware.num_gpus=2 --resume " + mid));
  REQUIRE_MESSAGE(resumed.code == 0, resumed.out);
  CHECK(hrm_test::read_file(run.dir / "straight/checkpoints/step_58.safetensors") ==
        hrm_test::read_file(run.dir / "resumed/checkpoints/step_58.safetensors"));

  // One process, config saying 1 GPU: the checkpoint's carry belongs to 2 ranks.
  const auto one = hrm_test::run(run.train(solo(), "one", "--resume " + mid));
  CHECK(one.code == 2);
  CHECK_MESSAGE(one.out.find("was written by a run of 2 rank(s)") != std::string::npos, one.out);
  CHECK_MESSAGE(one.out.find("mpirun -np 2") != std::string::npos, one.out);
  // Three ranks with a config saying 3: refused by the checkpoint's world size too.
  const auto three = hrm_test::run(run.train(mpirun(3), "three", "hardware.num_gpus=3 train.global_batch_size=15 --resume " + mid));
  CHECK(three.code == 2);
}

TEST_CASE("a rank killed mid-run (kill -9) ends the job non-zero with an error within 60 s, never a hang") {
  SKIP_WITHOUT_MPI();
  TinyRun run;
  const std::string out = run.dir / "killed";
  // 40 epochs: far longer than the test waits. `timeout 120` turns a hang into exit 124 (a failure).
  const std::string script =
      "timeout 120 " + run.train(mpirun(2), "killed", "hardware.num_gpus=2 train.epochs=40 train.eval_interval=20") +
      " > " + run.dir / "log" + " 2>&1 & M=$!\n"
      "for i in $(seq 600); do [ \"$(cat " + out + "/metrics.jsonl 2>/dev/null | wc -l)\" -ge 3 ] && break; sleep 0.1; done\n"
      "R=$(pgrep -f '^" + hrm_test::hrm_bin() + " train .*" + out + "' | tail -1)\n"
      "[ -n \"$R\" ] || { echo 'no rank found'; kill $M; exit 3; }\n"
      "S=$(date +%s); kill -9 $R; wait $M; rc=$?; E=$(date +%s)\n"
      "cat " + run.dir / "log" + "\n"
      "echo \"rc=$rc seconds=$((E - S))\"\n";
  hrm_test::write_file(run.dir / "kill.sh", script);
  const auto r = hrm_test::run("bash " + run.dir / "kill.sh");
  MESSAGE(r.out.substr(r.out.size() > 600 ? r.out.size() - 600 : 0));
  const auto at = r.out.rfind("rc=");
  REQUIRE(at != std::string::npos);
  const int rc = std::stoi(r.out.substr(at + 3));
  CHECK(rc != 0);
  CHECK(rc != 124);  // not the timeout: the job ended by itself
  const double seconds = std::stod(r.out.substr(r.out.rfind("seconds=") + 8));
  CHECK(seconds <= 60);
  CHECK_MESSAGE(r.out.find("signal 9") != std::string::npos, "the launcher names the killed rank");
}

TEST_CASE("a rank that fails alone prints its error naming the rank and ends every rank (exit 2)") {
  SKIP_WITHOUT_MPI();
  TinyRun run;
  // Rank 0 cannot lock the run directory (another process holds it); rank 1 would go on training and
  // wait in the first all-reduce forever if rank 0 did not take it down.
  std::filesystem::create_directories(run.dir / "locked");
  const auto start = std::chrono::steady_clock::now();
  const auto r = hrm_test::run("flock " + run.dir / "locked/.lock " + "timeout 120 " +
                               run.train(mpirun(2), "locked", "hardware.num_gpus=2"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.code == 2);
  CHECK_MESSAGE(r.out.find("error: rank 0/2 on ") != std::string::npos, r.out);
  CHECK(r.out.find("is in use by another training run") != std::string::npos);
  CHECK(seconds <= 60);
}

TEST_CASE("the launched world must equal hardware.num_gpus: a mismatch is exit 2 naming both numbers and the fix") {
  SKIP_WITHOUT_MPI();
  TinyRun run;
  const auto two = hrm_test::run(run.train(mpirun(2), "m2"));  // config: num_gpus = 1
  CHECK(two.code == 2);
  CHECK_MESSAGE(two.out.find("launched 2 rank(s), config says hardware.num_gpus = 1") != std::string::npos, two.out);
  CHECK(two.out.find("mpirun -np 1") != std::string::npos);
  CHECK(two.out.find("hardware.num_gpus=2") != std::string::npos);
  const auto one = hrm_test::run(run.train(solo(), "m1", "hardware.num_gpus=2"));
  CHECK(one.code == 2);
  CHECK_MESSAGE(one.out.find("launched 1 rank(s), config says hardware.num_gpus = 2") != std::string::npos, one.out);
  CHECK(one.out.find("mpirun -np 2") != std::string::npos);
  CHECK(!std::filesystem::exists(run.dir / "m1/metrics.jsonl"));  // nothing was started
}
