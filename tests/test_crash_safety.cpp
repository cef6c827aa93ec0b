// test_crash_safety.cpp: a training run never loses more than one checkpoint interval
// (ARCHITECTURE.md section 5, issue 8). `hrm train` runs as a child process on a tiny HRM (hidden 32,
// 1+1 layers) and real Sudoku data, with a checkpoint after every epoch, and is
//  - killed with SIGKILL at random moments, again and again, each time resumed from its newest
//    checkpoint: that checkpoint always loads and holds the same bytes as an uninterrupted run's
//    checkpoint of the same step, and the run ends with the uninterrupted run's weights and losses;
//  - run out of disk (RLIMIT_FSIZE) or pointed at a read-only directory: one clear error, and the
//    previous checkpoint stays;
//  - started twice on one run directory: the second is refused by the lock, and the lock of a
//    killed run does not block the next;
//  - fed a checkpoint holding NaN, or driven to a non-finite update: refused or stopped with the
//    step and the tensor named, the last good checkpoint kept.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/config.hpp"
#include "common/error.hpp"
#include "common/safetensors.hpp"
#include "test_util.hpp"
#include "trainer/loop/checkpoint.hpp"
#include "trainer/loop/numeric_check.hpp"
#include "trainer/loop/trainer.hpp"

using namespace hrm;
using hrm_test::TempDir;
namespace fs = std::filesystem;

namespace {

// 12 epochs of 320 Sudoku-Extreme puzzles (40 more held out) at batch 32: 10 steps per epoch, an
// evaluation and a checkpoint after each, 120 steps in all; a few seconds on one core.
constexpr const char* kConfig = R"([arch]
hidden_size = 32
num_heads = 2
H_layers = 1
L_layers = 1
H_cycles = 1
L_cycles = 1
halt_max_steps = 2
[train]
global_batch_size = 32
epochs = 12
eval_interval = 1
lr = 1e-3
lr_warmup_steps = 3
seed = 5
)";

// The dataset and the config file, made once per process. The folder is world-readable so the
// read-only case can run the trainer as an unprivileged user when the tests run as root.
struct Fixture {
  TempDir dir;
  std::string data, config;
  Fixture() {
    ::chmod(dir.path.c_str(), 0755);
    data = dir / "sudoku";
    const auto r = hrm_test::run_hrm("data build sudoku --csv " + hrm_test::source_dir() +
                                     "/data/sudoku/sudoku-extreme-train-1k.csv --test-fraction 0.04 --subsample 320 --out " + data);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    config = dir / "tiny.toml";
    hrm_test::write_file(config, "[data]\npath = \"" + data + "\"\n" + kConfig);
  }
};

const Fixture& fixture() {
  static Fixture f;
  return f;
}

struct Child {
  pid_t pid = -1;
  std::string log;
};

struct ChildLimits {
  rlim_t file_size = RLIM_INFINITY;  // RLIMIT_FSIZE: the largest file the child may write
  bool drop_root = false;            // run as nobody (uid/gid 65534) when we are root
};

// Starts `hrm train CONFIG --quiet --force ARGS...` with its output going to `log`.
Child spawn_train(const std::vector<std::string>& args, const std::string& log, const ChildLimits& lim = {}) {
  std::vector<std::string> argv{hrm_test::hrm_bin(), "train", fixture().config, "--quiet", "--force"};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) ::_exit(121);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (lim.file_size != RLIM_INFINITY) {
      const rlimit r{lim.file_size, lim.file_size};
      if (::setrlimit(RLIMIT_FSIZE, &r) != 0) ::_exit(122);
    }
    // One OpenMP thread: ctest runs tests side by side, and spinning OpenMP threads on a busy
    // machine made a run ten times slower. (Every run here uses the same count, so the bits match.)
    ::setenv("OMP_NUM_THREADS", "1", 1);
    if (lim.drop_root && ::geteuid() == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(123);
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(124);
  }
  return {pid, log};
}

// Waits for the child: its exit code, or 128 + the signal that ended it.
int wait_child(const Child& c) {
  int st = 0;
  while (::waitpid(c.pid, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int run_train(const std::vector<std::string>& args, const std::string& log, const ChildLimits& lim = {}) {
  return wait_child(spawn_train(args, log, lim));
}

// step -> path of every checkpoints/step_N.safetensors in a run directory.
std::map<std::int64_t, std::string> checkpoints(const std::string& run_dir) {
  std::map<std::int64_t, std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(run_dir) / "checkpoints", ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("step_", 0) == 0 && n.size() > 17 && n.substr(n.size() - 12) == ".safetensors")
      out[std::stoll(n.substr(5, n.size() - 17))] = e.path().string();
  }
  return out;
}

// Hidden files in checkpoints/ (temporary names a writer left behind).
std::vector<std::string> temporaries(const std::string& run_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(run_dir) / "checkpoints", ec))
    if (e.path().filename().string()[0] == '.') out.push_back(e.path().string());
  return out;
}

// The checkpoint loads as a full checkpoint of this config's model (every check load_checkpoint
// makes: shapes, dtypes, finite values, metadata).
TrainerState load(const std::string& path) {
  const Config c = load_config(fixture().config);
  const DatasetSplit train = DatasetSplit::open(c.data.path, "train");
  return load_checkpoint(path, dims_for(c, train.meta()), c.train.global_batch_size);
}

// Both files hold the same tensors with the same bytes, and the same metadata.
std::string difference(const std::string& a_path, const std::string& b_path) {
  const SafetensorsFile a = SafetensorsFile::open(a_path), b = SafetensorsFile::open(b_path);
  if (a.names() != b.names()) return "tensor names differ";
  for (const auto& n : a.names()) {
    const auto x = a.bytes(n), y = b.bytes(n);
    if (x.size() != y.size() || std::memcmp(x.data(), y.data(), x.size()) != 0) return "tensor '" + n + "' differs";
  }
  if (a.metadata() != b.metadata()) return "metadata differs";
  return "";
}

// (step, loss) of every line of metrics.jsonl.
std::vector<std::pair<std::int64_t, double>> losses(const std::string& run_dir) {
  std::vector<std::pair<std::int64_t, double>> out;
  std::istringstream in(hrm_test::read_file(run_dir + "/metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    out.emplace_back(j["step"].get<std::int64_t>(), j["loss"].get<double>());
  }
  return out;
}

// An uninterrupted run of `epochs` epochs (the config's own when 0), made once per process.
struct Reference {
  TempDir dir;
  std::string run;
  std::map<std::int64_t, std::string> ckpts;
  double seconds = 0;
  explicit Reference(int epochs) {
    run = dir / "run";
    std::vector<std::string> args{"--out", run};
    if (epochs) args.push_back("train.epochs=" + std::to_string(epochs));
    const auto t0 = std::chrono::steady_clock::now();
    const int code = run_train(args, dir / "log");
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE_MESSAGE(code == 0, hrm_test::read_file(dir / "log"));
    ckpts = checkpoints(run);
    REQUIRE(ckpts.size() == static_cast<std::size_t>(epochs ? epochs : 12));
  }
};

// The first checkpoint of a short run: what the fault cases start from.
const std::string& first_checkpoint() {
  static Reference r(1);
  return r.ckpts.begin()->second;
}

std::int64_t first_step() {
  const std::string n = fs::path(first_checkpoint()).stem().string();  // step_N
  return std::stoll(n.substr(5));
}

// A run directory holding a copy of the first checkpoint only (a run stopped there).
std::string run_dir_at(const TempDir& tmp, const std::string& name) {
  const std::string run = tmp / name;
  fs::create_directories(fs::path(run) / "checkpoints");
  fs::copy_file(first_checkpoint(), fs::path(run) / "checkpoints" / fs::path(first_checkpoint()).filename());
  return run;
}

// The run in run_dir, resumed from its newest checkpoint when it has one: the arguments.
std::vector<std::string> resume_args(const std::string& run_dir) {
  const auto have = checkpoints(run_dir);
  std::vector<std::string> args{"--out", run_dir};
  if (!have.empty()) args.insert(args.end(), {"--resume", have.rbegin()->second});
  return args;
}

// A finished run: every checkpoint, the end state and every logged loss are the uninterrupted run's.
void check_finished(const std::string& run_dir, const Reference& ref) {
  const auto done = checkpoints(run_dir);
  REQUIRE(!done.empty());
  for (const auto& [step, path] : done) {
    INFO(path);
    CHECK(difference(path, ref.ckpts.at(step)) == "");
  }
  CHECK(done.rbegin()->first == ref.ckpts.rbegin()->first);
  CHECK(losses(run_dir) == losses(ref.run));  // same steps, once each, same bits
  CHECK(temporaries(run_dir).empty());        // a killed writer's temporary files are cleaned up on resume
}

}  // namespace

TEST_CASE("SIGKILL at random moments again and again: the newest checkpoint always loads and resuming continues bit for bit" *
          doctest::test_suite("long")) {
  const Reference ref(0);
  TempDir tmp;
  // Kill times spread over the whole run (startup, training steps, evaluation, checkpoint writes);
  // each try resumes from the newest checkpoint, so the run moves on between kills. A run that
  // finishes before the tenth kill is checked and a new one started, so the ten kills happen however
  // fast this machine is against the reference timing. Seeded, so a failure replays the same kill
  // schedule.
  std::mt19937 rng(8);
  std::uniform_real_distribution<double> delay(0.05, std::max(0.3, 0.2 * ref.seconds));
  int kills = 0, loaded = 0, runs = 0;
  std::string run = tmp / "run0";
  for (int i = 0; i < 60 && kills < 10; ++i) {
    const Child c = spawn_train(resume_args(run), tmp / "log");
    std::this_thread::sleep_for(std::chrono::duration<double>(delay(rng)));
    const bool alive = ::kill(c.pid, SIGKILL) == 0;
    const int code = wait_child(c);
    if (alive && code == 128 + SIGKILL) ++kills;
    else REQUIRE_MESSAGE(code == 0, hrm_test::read_file(tmp / "log"));  // it finished before the kill
    const auto now = checkpoints(run);
    if (now.empty()) continue;
    const auto& [step, path] = *now.rbegin();
    INFO("try " << i << ", newest checkpoint " << path);
    REQUIRE_NOTHROW(load(path));
    REQUIRE(ref.ckpts.count(step) == 1);
    CHECK(difference(path, ref.ckpts.at(step)) == "");
    ++loaded;
    if (code == 0) {
      check_finished(run, ref);
      run = tmp / ("run" + std::to_string(++runs));
    }
  }
  MESSAGE(kills << " SIGKILLs over " << runs + 1 << " runs, " << loaded << " newest checkpoints loaded and compared");
  CHECK(kills >= 10);
  CHECK(loaded >= 5);
  // Finish the last run.
  const int code = run_train(resume_args(run), tmp / "log");
  REQUIRE_MESSAGE(code == 0, hrm_test::read_file(tmp / "log"));
  check_finished(run, ref);
}

TEST_CASE("a full disk (RLIMIT_FSIZE) gives one clear error and keeps the previous checkpoint") {
  TempDir tmp;
  const std::int64_t step = first_step();
  const std::string run = run_dir_at(tmp, "run");
  const std::string kept = checkpoints(run).at(step);
  // Room for run.json, the preflight pages and the logs, not for a checkpoint (about 1.4 MB here).
  const auto ckpt_size = fs::file_size(kept);
  const int code = run_train({"--out", run, "--resume", kept}, tmp / "log", {.file_size = ckpt_size / 2});
  const std::string out = hrm_test::read_file(tmp / "log");
  INFO(out);
  CHECK(code == 2);
  CHECK(out.find("error: " + run + "/checkpoints/step_") != std::string::npos);
  CHECK(out.find("File too large") != std::string::npos);
  CHECK(out.find("hint: check the free disk space") != std::string::npos);
  const auto left = checkpoints(run);
  CHECK(left.size() == 1);
  CHECK(difference(kept, first_checkpoint()) == "");
  CHECK_NOTHROW(load(kept));
  CHECK(temporaries(run).empty());
  const auto info = nlohmann::json::parse(hrm_test::read_file(run + "/run.json"));
  CHECK(info["status"] == "failed");
  CHECK(info["message"].get<std::string>().find("File too large") != std::string::npos);
}

TEST_CASE("a read-only run directory gives one clear error and keeps the previous checkpoint") {
  TempDir tmp;
  ::chmod(tmp.path.c_str(), 0755);
  const std::int64_t step = first_step();
  const std::string run = run_dir_at(tmp, "run");
  const std::string kept = checkpoints(run).at(step);
  for (const auto& p : {fs::path(run) / "checkpoints", fs::path(run)}) ::chmod(p.c_str(), 0555);
  // root writes anywhere; the trainer then runs as nobody, which can read the data but not write here.
  const int code = run_train({"--out", run, "--resume", kept}, tmp / "log", {.drop_root = true});
  for (const auto& p : {fs::path(run), fs::path(run) / "checkpoints"}) ::chmod(p.c_str(), 0755);
  const std::string out = hrm_test::read_file(tmp / "log");
  INFO(out);
  REQUIRE(code != 123);  // could not drop root: nothing was tested
  CHECK(code == 2);
  CHECK(out.find("error: " + run + ": cannot create the lock file .lock: Permission denied") != std::string::npos);
  CHECK(out.find("hint: the run directory must be writable") != std::string::npos);
  CHECK(checkpoints(run).size() == 1);
  CHECK(difference(kept, first_checkpoint()) == "");
}

TEST_CASE("two runs on one run directory: the second is refused by the lock, a killed run's lock does not block") {
  TempDir tmp;
  const std::string run = tmp / "run";
  // A run long enough to be still going when the second starts.
  const Child first = spawn_train({"train.epochs=200", "train.eval_interval=100", "--out", run}, tmp / "first.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(run + "/metrics.jsonl") || fs::file_size(run + "/metrics.jsonl") == 0) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, hrm_test::read_file(tmp / "first.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string resolved = hrm_test::read_file(run + "/resolved.toml");
  const int second = run_train({"train.epochs=1", "--out", run}, tmp / "second.log");
  const std::string out = hrm_test::read_file(tmp / "second.log");
  INFO(out);
  CHECK(second == 2);
  CHECK(out.find("error: " + run + ": is in use by another training run") != std::string::npos);
  CHECK(hrm_test::read_file(run + "/resolved.toml") == resolved);  // refused before writing anything
  ::kill(first.pid, SIGKILL);
  CHECK(wait_child(first) == 128 + SIGKILL);
  CHECK(fs::exists(run + "/.lock"));  // left behind by the killed run, and no obstacle:
  const int third = run_train({"train.epochs=1", "--out", run}, tmp / "third.log");
  CHECK_MESSAGE(third == 0, hrm_test::read_file(tmp / "third.log"));
}

TEST_CASE("NaN or infinity in a checkpoint is refused, naming the tensor and the checkpoint's step") {
  TempDir tmp;
  const std::int64_t step = first_step();
  const std::string src = first_checkpoint();
  // Overwrites element 3 of `tensor` with `value` in a copy of the checkpoint.
  auto corrupt = [&](const std::string& tensor, float value) {
    const std::string path = tmp / ("bad-" + std::to_string(std::hash<std::string>()(tensor)) + ".safetensors");
    fs::copy_file(src, path, fs::copy_options::overwrite_existing);
    std::uint64_t header = 0;
    std::string bytes = hrm_test::read_file(path);
    std::memcpy(&header, bytes.data(), 8);
    const SafetensorsFile f = SafetensorsFile::open(src);
    const auto& info = f.info(tensor);
    REQUIRE(info.dtype == StDType::F32);
    std::memcpy(bytes.data() + 8 + header + info.begin + 3 * sizeof(float), &value, sizeof value);
    hrm_test::write_file(path, bytes);
    return path;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  struct Case { std::string tensor; float value; std::string said; };
  for (const Case& c : {Case{"model.inner.lm_head.weight", nan, "nan"},
                        Case{"optimizer.v.model.inner.H_level.layers.0.mlp.down_proj.weight", inf, "inf"},
                        Case{"carry.z_H", -inf, "-inf"}}) {
    const std::string bad = corrupt(c.tensor, c.value);
    INFO(c.tensor);
    try {
      load(bad);
      FAIL("loaded a checkpoint holding " << c.said);
    } catch (const InputError& e) {
      CHECK(std::string(e.what()) == fmt::format("{}: tensor '{}' element 3 is {} (checkpoint of step {})", bad, c.tensor,
                                                 c.said, step));
    }
    const int code = run_train({"--out", tmp / "run", "--resume", bad}, tmp / "log");
    const std::string out = hrm_test::read_file(tmp / "log");
    CHECK(code == 2);
    CHECK(out.find("tensor '" + c.tensor + "' element 3 is " + c.said) != std::string::npos);
  }
}

TEST_CASE("a step that produces a non-finite parameter stops with the step and the tensor named, the last checkpoint stays") {
  TempDir tmp;
  const std::int64_t step = first_step();
  const std::string run = run_dir_at(tmp, "run");
  const std::string kept = checkpoints(run).at(step);
  // lr = 3e38 with weight decay 1: the decay factor (1 - lr * wd) and the update lr * atan2(...)
  // overflow float on the first resumed step.
  const int code = run_train({"train.lr=3e38", "train.weight_decay=1.0", "--out", run, "--resume", kept}, tmp / "log");
  const std::string out = hrm_test::read_file(tmp / "log");
  INFO(out);
  CHECK(code == 2);
  CHECK(out.find(fmt::format("error: step {}: non-finite parameter after the update: tensor 'model.inner.", step + 1)) !=
        std::string::npos);
  CHECK(checkpoints(run).size() == 1);
  CHECK(difference(kept, first_checkpoint()) == "");
  const auto info = nlohmann::json::parse(hrm_test::read_file(run + "/run.json"));
  CHECK(info["status"] == "failed");
}

TEST_CASE("a non-finite gradient is named by tensor and element before the optimizer sees it") {
  ArchConfig a;
  a.hidden_size = 8;
  a.num_heads = 2;
  a.H_layers = 1;
  a.L_layers = 1;
  const ParamLayout l = ParamLayout::of(HrmDims::from(a, 0, 5, 4, 1));
  std::vector<float> g(static_cast<std::size_t>(l.total), 0.5f);
  CHECK_NOTHROW(check_finite_slab(7, "gradient", l, g));
  const TensorSlot& t = l.tensors.at(l.tensors.size() / 2);
  g[static_cast<std::size_t>(t.offset + 2)] = std::numeric_limits<float>::quiet_NaN();
  const auto bad = find_nonfinite(l, g);
  REQUIRE(bad.has_value());
  CHECK(bad->tensor == t.name);
  CHECK(bad->index == 2);
  try {
    check_finite_slab(7, "gradient", l, g);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).rfind("step 7: non-finite gradient: tensor '" + t.name + "' element 2 is nan", 0) == 0);
  }
  // Puzzle-embedding rows: slot 1 (identifier 3) of a batch's gradient rows.
  std::vector<float> rows(2 * 4, 0.0f);
  rows[4 + 1] = std::numeric_limits<float>::infinity();
  const std::vector<std::int32_t> ids{0, 3};
  try {
    check_finite_puzzle_rows(9, "gradient", rows, 4, ids, true);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).rfind(fmt::format("step 9: non-finite gradient: tensor '{}' element 13 is inf", kPuzzleEmbName), 0) == 0);
  }
}
