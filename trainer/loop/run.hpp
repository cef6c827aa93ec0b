// run.hpp: a training run in a run directory (ARCHITECTURE.md section 5): metrics.jsonl (one line
// per optimizer step), eval.jsonl (one line per evaluation), monitors.jsonl (one line per monitor
// event, trainer/loop/monitors.hpp, also printed live as "# warning: ..." on stderr),
// checkpoints/step_N.safetensors, run.json (facts and status), a progress line on a TTY, and a
// checkpoint on Ctrl-C.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "trainer/loop/monitors.hpp"
#include "trainer/loop/trainer.hpp"

namespace hrm {

// An exclusive lock on a run directory (flock on RUN_DIR/.lock), held for the life of the object:
// two trainers writing one directory would interleave metrics and overwrite each other's
// checkpoints. The kernel drops a flock when its process dies, however it dies, so the lock of a
// killed run never blocks the next one; the .lock file itself stays and is reused. A directory
// another live process holds is an InputError naming it (`hrm` exits 2). Taken before anything is
// written into the directory (hrm train does it first thing; in a distributed run only the rank
// that writes takes it).
class RunDirLock {
 public:
  explicit RunDirLock(const std::string& run_dir);  // creates run_dir if needed
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;
  ~RunDirLock();

 private:
  int fd_ = -1;
};

struct RunOptions {
  std::string run_dir;
  nlohmann::json run_info;                 // run.json's facts (config, preflight verdict, forced...)
  const std::atomic<bool>* stop = nullptr; // set asynchronously (SIGINT/SIGTERM): checkpoint and return
  bool progress = true;                    // a progress line on stderr when it is a TTY
  DeviceSampler device;                    // GPU utilisation and memory per step; empty on CPU
};

struct RunOutcome {
  std::string status;                      // "finished" | "interrupted"
  std::int64_t steps = 0;                  // optimizer steps taken in this process
  std::string last_checkpoint;
};

// Trains to the end of the schedule (or until *stop), evaluating and checkpointing after every
// iteration as HRM does. A resumed trainer continues where its checkpoint left off, and its
// metrics.jsonl is cut back to the checkpoint's step first. A non-finite loss, gradient or
// parameter, or a write that fails (full disk, read-only directory), throws after marking run.json
// "failed" where it still can; the checkpoints already written stay. Temporary checkpoint files a
// killed run left in checkpoints/ are removed first (the caller holds the RunDirLock, so no other
// process is writing them).
RunOutcome run_training(Trainer& t, const RunOptions& o);

// Evaluation metrics with the task-specific extras: Sudoku valid-solution share, ARC pass@K.
nlohmann::json eval_metrics_json(const Trainer& t, const EvalResult& r, const EvalPredictions& p);

}  // namespace hrm
