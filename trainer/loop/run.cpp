// run.cpp: the run directory around Trainer: metrics, evaluations, checkpoints, status, progress.
#include "trainer/loop/run.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "common/atomic_write.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "trainer/loop/arc_vote.hpp"
#include "trainer/loop/checkpoint.hpp"
#include "trainer/loop/sudoku_check.hpp"

namespace fs = std::filesystem;

namespace hrm {

namespace {

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Keeps the lines of a JSONL file whose "step" is <= `step` (a resumed run rewrites what came after
// its checkpoint); a truncated last line from a killed run is dropped.
void cut_jsonl(const std::string& path, std::int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || j["step"].get<std::int64_t>() > step) continue;
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

class JsonlAppender {
 public:
  explicit JsonlAppender(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "a")) {
    if (!f_) throw InputError(path, "cannot open for appending", "check that the run directory is writable");
  }
  ~JsonlAppender() { std::fclose(f_); }
  void write(const nlohmann::json& j) {
    const std::string s = j.dump() + "\n";
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size() || std::fflush(f_) != 0)
      throw InputError(path_, "write failed (disk full?)");
  }

 private:
  std::string path_;
  std::FILE* f_;
};

nlohmann::json step_json(const StepLog& l, double examples_per_s, double tokens_per_s, double elapsed) {
  return {{"step", l.step},
          {"lr", l.lr},
          {"loss", l.loss},
          {"lm_loss", l.lm_loss},
          {"q_halt_loss", l.q_halt_loss},
          {"q_continue_loss", l.q_continue_loss},
          {"count", l.count},
          {"accuracy", l.accuracy},
          {"exact_accuracy", l.exact_accuracy},
          {"q_halt_accuracy", l.q_halt_accuracy},
          {"steps", l.steps},
          {"grad_norm", l.grad_norm},
          {"examples_per_s", examples_per_s},
          {"tokens_per_s", tokens_per_s},
          {"elapsed_s", elapsed}};
}

// One progress line on a TTY: step/total, loss, exact accuracy (of the last step where slots
// halted), examples/s, ETA.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : on_(enabled && ::isatty(STDERR_FILENO)) {}
  ~ProgressLine() {
    if (on_ && shown_) std::fputs("\n", stderr);
  }
  void show(const std::string& text) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    shown_ = true;
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
  }
  void clear() {
    if (on_ && shown_) std::fputs("\r\033[K", stderr);
  }

 private:
  bool on_, shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

std::string eta(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "?";
  const auto s = static_cast<std::int64_t>(seconds);
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, s / 60 % 60) : fmt::format("{}m{:02}s", s / 60, s % 60);
}

// Removes checkpoints/.step_N.safetensors.tmp-PID-K files: SafetensorsWriter's temporary names,
// left behind only when a process died mid-write.
void remove_stale_temporaries(const fs::path& checkpoints) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(checkpoints, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".safetensors.tmp-") != std::string::npos) fs::remove(e.path(), ec);
  }
}

void create_dirs(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw InputError(p.string(), "cannot create the folder: " + ec.message(), "check that the run directory is writable");
}

}  // namespace

RunDirLock::RunDirLock(const std::string& run_dir) {
  create_dirs(run_dir);
  const std::string path = (fs::path(run_dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw InputError(run_dir, fmt::format("cannot create the lock file .lock: {}", std::strerror(errno)),
                     "the run directory must be writable; pick another with --out");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw InputError(run_dir, "is in use by another training run (its .lock is held)",
                       "wait for that run to finish or stop it, or pick another run directory with --out");
    throw InputError(run_dir, fmt::format("cannot lock .lock: {}", std::strerror(err)));
  }
  // The holder's pid, for a person looking at the directory; best effort, the flock is the lock.
  if (::ftruncate(fd_, 0) == 0) {
    const std::string pid = std::to_string(::getpid()) + "\n";
    [[maybe_unused]] const auto n = ::write(fd_, pid.data(), pid.size());
  }
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

RunOutcome run_training(Trainer& t, const RunOptions& o) {
  const fs::path dir(o.run_dir);
  // Every rank trains; rank 0 alone writes the run directory (metrics, evaluations, run.json,
  // checkpoints). Collectives (the checkpoint's carry gather, the stop vote) run on every rank.
  const World& world = t.world();
  const bool writer = world.is_root();
  const std::string metrics_path = (dir / "metrics.jsonl").string(), eval_path = (dir / "eval.jsonl").string();
  const std::string monitors_path = (dir / "monitors.jsonl").string();
  std::optional<JsonlAppender> metrics, evals, monitor_log;
  if (writer) {
    create_dirs(dir / "checkpoints");
    remove_stale_temporaries(dir / "checkpoints");
    const std::int64_t start_step = t.state().step;
    cut_jsonl(metrics_path, start_step);
    cut_jsonl(eval_path, start_step);
    cut_jsonl(monitors_path, start_step);
    metrics.emplace(metrics_path);
    evals.emplace(eval_path);
    monitor_log.emplace(monitors_path);
  }

  nlohmann::json info = o.run_info;
  info["format_version"] = 1;
  info["total_steps"] = t.total_steps();
  info["status"] = "running";
  if (!info.contains("started")) info["started"] = now_iso();
  auto write_info = [&] {
    if (writer) write_file_atomic((dir / "run.json").string(), info.dump(2) + "\n");
  };
  write_info();

  const std::string config_toml = config_to_toml(t.config());
  RunOutcome out;
  auto checkpoint = [&] {
    const std::string path = (dir / "checkpoints" / fmt::format("step_{}.safetensors", t.state().step)).string();
    const ActCarry<float> carry = t.global_carry();  // collective: every rank's slots, on rank 0
    if (writer) save_checkpoint(path, t.state(), config_toml, carry, world.size());
    out.last_checkpoint = path;
    info["last_checkpoint"] = path;
  };

  ProgressLine progress(o.progress && writer);
  const auto t0 = std::chrono::steady_clock::now();
  const double B = static_cast<double>(t.config().train.global_batch_size);
  const double tokens = B * static_cast<double>(t.dims().seq_len);
  double last_exact = 0;
  TrainingMonitor monitor(t.config().train.lr_warmup_steps, t.dims().halt_max_steps);
  try {
    while (!t.done()) {
      // A signal may reach the ranks at different steps: they agree before any of them stops.
      if (world.any(o.stop && o.stop->load())) {
        progress.clear();
        checkpoint();
        info["status"] = out.status = "interrupted";
        info["message"] = fmt::format("interrupted at step {}; resume with --resume {}", t.state().step, out.last_checkpoint);
        write_info();
        return out;
      }
      std::optional<StepLog> log;
      if (t.next_batch(log)) {
        if (!log) continue;  // a batch past total_steps: consumed, not trained on
        ++out.steps;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (writer) metrics->write(step_json(*log, B / log->seconds, tokens / log->seconds, elapsed));
        for (const MonitorEvent& e : monitor.observe(*log, o.device ? o.device() : std::nullopt)) {
          if (!writer) continue;
          progress.clear();
          std::fprintf(stderr, "# %s: [%s] %s\n", e.severity.c_str(), e.id.c_str(), e.message.c_str());
          monitor_log->write(monitor_event_json(e));
        }
        if (log->count > 0) last_exact = log->exact_accuracy;
        const double rate = static_cast<double>(out.steps) / elapsed;
        const std::int64_t left = std::max<std::int64_t>(0, t.total_steps() - t.state().step);
        progress.show(fmt::format("step {}/{}  loss {:.4f}  exact {:.3f}  {:.0f} ex/s  ETA {}", log->step,
                                  t.total_steps(), log->loss, last_exact, B * rate, eta(static_cast<double>(left) / rate)));
        continue;
      }
      if (!t.at_iteration_end()) break;
      progress.clear();
      if (t.test_split()) {
        EvalPredictions preds;
        const EvalResult r = t.evaluate(&preds, [&](std::int64_t done, std::int64_t total) {
          progress.show(fmt::format("eval {}/{} batches", done, total));
        });
        progress.clear();
        if (writer) {  // the predictions were gathered on rank 0
          nlohmann::json j = eval_metrics_json(t, r, preds);
          j["step"] = t.state().step;
          evals->write(j);
          std::fprintf(stderr, "# eval at step %lld: exact_accuracy %.4f, accuracy %.4f, lm_loss %.4f\n",
                       static_cast<long long>(t.state().step), r.metrics.at("exact_accuracy"), r.metrics.at("accuracy"),
                       r.metrics.at("lm_loss"));
        }
      }
      t.end_iteration();
      if (t.config().train.checkpoint_every_eval || t.done()) checkpoint();
      write_info();
    }
  } catch (const std::exception& e) {
    progress.clear();
    info["status"] = "failed";
    info["message"] = e.what();
    info["finished"] = now_iso();
    // On a full disk or a read-only directory this write fails too; the first error is the one to
    // report, so this one is dropped.
    try {
      write_info();
    } catch (const std::exception&) {
    }
    throw;
  }
  info["status"] = out.status = "finished";
  info["finished"] = now_iso();
  write_info();
  return out;
}

}  // namespace hrm

namespace hrm {

nlohmann::json eval_metrics_json(const Trainer& t, const EvalResult& r, const EvalPredictions& p) {
  nlohmann::json j;
  for (const auto& [k, v] : r.metrics) j[k] = v;
  const HrmDims& d = t.dims();
  const auto n = static_cast<double>(p.puzzle_ids.size());
  if (d.seq_len == 81 && d.vocab == 11 && n > 0) {  // Sudoku: predicted grids that are valid solutions
    j["valid_solutions"] = static_cast<double>(count_valid_sudoku_solutions(p.inputs, p.predictions)) / n;
  } else if (d.seq_len == kArcSeqLen && d.vocab == 12 && n > 0) {  // ARC: HRM's voting and pass@K (HRM-SPEC 7.2)
    const auto names = read_identifiers(fs::path(t.train_split().dir()).parent_path().string());
    const ArcScore score = score_arc(names, ArcRows{p.puzzle_ids, p.inputs, p.labels, p.predictions, p.q_halt});
    j.update(arc_score_json(score));
  }
  return j;
}

}  // namespace hrm
