// arc_vote.hpp: HRM's ARC scoring (arc_eval.ipynb; HRM-SPEC 7.2 and 11.3) over the rows of one
// evaluation: every augmented version of a query votes for its prediction once the augmentation is
// undone; candidates rank by vote count, then mean sigmoid(q_halt); a task counts as solved at K
// only if every one of its query inputs has its true output among the top K candidates.
//
// Rows are 30 x 30 canvases of tokens (PAD 0, EOS 1, colour c -> c + 2; labels -100 where ignored),
// flat in storage order, as the evaluator keeps them (trainer/loop/evaluate.hpp EvalPredictions).
// Grids are compared by values and shape (the notebook hashes bytes and shape; HRM-SPEC 11.3 item 2).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/dihedral.hpp"  // ByteGrid

namespace hrm {

inline constexpr std::array<std::int64_t, 5> kArcPassK{1, 2, 10, 100, 1000};  // the notebook's Ks
inline constexpr std::int64_t kArcCanvas = 30, kArcSeqLen = kArcCanvas * kArcCanvas;
inline constexpr std::size_t kArcTopKept = 2;  // candidates kept per query (all of them could be ~1000 grids)

// The evaluated rows, N of them: views into the caller's arrays.
struct ArcRows {
  std::span<const std::int32_t> puzzle_ids;   // (N); 0 = blank (padding rows, dropped)
  std::span<const std::int32_t> inputs;       // (N, 900)
  std::span<const std::int32_t> labels;       // (N, 900); -100 where ignored
  std::span<const std::int32_t> predictions;  // (N, 900); argmax tokens of the final segment
  std::span<const float> q_halt;              // (N); q_halt logits of the final segment
};

struct ArcCandidate {
  ByteGrid grid;        // in the task's own frame, colours 0-9
  std::int64_t votes = 0;
  double mean_q = 0;    // mean of sigmoid(q_halt) over its votes
};

struct ArcQueryResult {
  std::int64_t votes = 0;         // rows (augmented versions, original included) that predicted it
  std::int64_t candidates = 0;    // distinct predicted grids once the augmentations are undone
  std::int64_t correct_rank = 0;  // 1-based rank of the true output among the ranked candidates; 0: never predicted
  std::vector<ArcCandidate> top;  // the best kArcTopKept candidates, best first: the pass@2 attempts
  bool passes(std::int64_t k) const { return correct_rank >= 1 && correct_rank <= k; }
};

struct ArcTaskResult {
  std::string name;                     // the original task name
  std::vector<ArcQueryResult> queries;  // in the order the original (non-augmented) rows list them
  std::array<bool, kArcPassK.size()> solved{};  // per kArcPassK
  bool solved_pass2() const { return solved[1]; }  // the paper's metric
};

struct ArcScore {
  std::int64_t rows = 0;     // rows scored
  std::int64_t dropped = 0;  // blank rows (identifier 0) left out
  std::int64_t tasks = 0;    // tasks with original rows: the denominator of every percentage
  std::array<std::int64_t, kArcPassK.size()> solved{};  // tasks solved, per kArcPassK
  std::array<double, kArcPassK.size()> percent{};      // 100 * solved / tasks, per kArcPassK
  std::vector<ArcTaskResult> task_results;             // in first-seen order of their original rows
};

// `identifiers` is the dataset's identifiers.json (names by identifier). Throws InputError (naming
// the row and its puzzle) for what makes the notebook fail: an identifier outside the list, an
// augmented name not of the form <task>_t<0-7>_<permutation of the 10 digits>, a task whose
// original rows repeat a query input, an augmented row of a task without original rows or whose
// input matches none of the task's queries, and no original row at all (no task to score).
ArcScore score_arc(const std::vector<std::string>& identifiers, const ArcRows& rows);

// The notebook's crop (HRM-SPEC 7.2 step 3, 11.3 item 1): the largest top-left rectangle holding
// only colour tokens (2..11), minus 2; equal areas keep the one with fewer rows.
ByteGrid arc_crop(std::span<const std::int32_t> tokens);  // 900 tokens

// Undoes `name`'s augmentation: the inverse dihedral transform, then the inverse colour map (the
// argsort of the 10 digits). A name without '_' is an original and is returned unchanged.
ByteGrid arc_undo_augmentation(const ByteGrid& grid, const std::string& name);

// {"pass@1": %, "pass@2": %, ..., "pass@1000": %, "arc_tasks": N}: the eval.jsonl fields.
nlohmann::json arc_score_json(const ArcScore& s);

}  // namespace hrm
