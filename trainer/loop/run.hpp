// run.hpp: a training run in a run directory (ARCHITECTURE.md section 5): metrics.jsonl (one line
// per optimizer step), eval.jsonl (one line per evaluation), checkpoints/step_N.safetensors,
// run.json (facts and status), a progress line on a TTY, and a checkpoint on Ctrl-C.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "trainer/loop/trainer.hpp"

namespace hrm {

struct RunOptions {
  std::string run_dir;
  nlohmann::json run_info;                 // run.json's facts (config, preflight verdict, forced...)
  const std::atomic<bool>* stop = nullptr; // set asynchronously (SIGINT/SIGTERM): checkpoint and return
  bool progress = true;                    // a progress line on stderr when it is a TTY
};

struct RunOutcome {
  std::string status;                      // "finished" | "interrupted"
  std::int64_t steps = 0;                  // optimizer steps taken in this process
  std::string last_checkpoint;
};

// Trains to the end of the schedule (or until *stop), evaluating and checkpointing after every
// iteration as HRM does. A resumed trainer continues where its checkpoint left off, and its
// metrics.jsonl is cut back to the checkpoint's step first. A non-finite loss throws after marking
// run.json "failed"; the checkpoints already written stay.
RunOutcome run_training(Trainer& t, const RunOptions& o);

// Evaluation metrics with the task-specific extras: Sudoku valid-solution share, ARC pass@K.
nlohmann::json eval_metrics_json(const Trainer& t, const EvalResult& r, const EvalPredictions& p);

}  // namespace hrm
