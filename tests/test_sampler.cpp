// test_sampler.cpp: datasets/sampler and analyzer/replay against HRM's sampler (HRM-SPEC 5).
//
// The oracle is tests/reference/sampler_numpy.py, a NumPy transcription of HRM's _sample_batch /
// _iter_train / _iter_test, run on small datasets written with SplitWriter. Every batch is compared
// twice: with NumPy's own Philox draws (so the C++ RNG replica is tested too) and with the draws
// the C++ sampler recorded (so the packing alone is tested on identical draws). The published step
// counts of HRM-SPEC 6.2 are checked on a dataset shaped like Sudoku-Extreme 1k-aug-1000.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "analyzer/replay.hpp"
#include "common/error.hpp"
#include "common/schedule.hpp"
#include "datasets/sampler.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;

namespace {

// Writes <dir>/<split>/ with one group per entry of `groups`, each a list of puzzle sizes.
void write_split(const std::string& dir, const std::string& split, const std::vector<std::vector<int>>& groups) {
  SplitWriter w(1);
  const std::uint8_t token = 1;
  for (const auto& group : groups) {
    for (int size : group) {
      for (int e = 0; e < size; ++e) w.add_example(&token, &token);
      w.end_puzzle(0);
    }
    w.end_group();
  }
  DatasetMetadata meta;
  meta.seq_len = 1;
  meta.vocab_size = 2;
  meta.num_puzzle_identifiers = 1;
  w.write(dir, split, meta);
}

// `groups` groups of `puzzles` one-example puzzles: Sudoku's shape (HRM-SPEC 4.2).
std::vector<std::vector<int>> sudoku_shape(int groups, int puzzles) {
  return std::vector<std::vector<int>>(static_cast<std::size_t>(groups), std::vector<int>(static_cast<std::size_t>(puzzles), 1));
}

// ARC's shape: groups of different sizes, puzzles of 2..10 examples (one puzzle of 1).
std::vector<std::vector<int>> arc_shape() {
  std::vector<std::vector<int>> groups;
  for (int g = 0; g < 13; ++g) {
    std::vector<int> sizes;
    for (int p = 0; p < 1 + (g * 5) % 7; ++p) sizes.push_back(g == 3 ? 1 : 2 + (g * 3 + p) % 9);
    groups.push_back(sizes);
  }
  return groups;
}

// Hands out another source's draws and keeps them, to feed them to the NumPy transcription.
class RecordingDraws final : public SamplerDraws {
 public:
  explicit RecordingDraws(SamplerDraws& inner) : inner_(inner) {}
  void begin_iteration(std::int64_t iteration, std::int64_t num_groups, std::int64_t epochs_per_iter) override {
    inner_.begin_iteration(iteration, num_groups, epochs_per_iter);
  }
  std::int64_t next_group() override { return order.emplace_back(inner_.next_group()); }
  std::int64_t pick_puzzle(std::int64_t lo, std::int64_t hi) override { return picks.emplace_back(inner_.pick_puzzle(lo, hi)); }
  std::vector<std::int64_t> order, picks;

 private:
  SamplerDraws& inner_;
};

struct TrainRun {
  std::vector<GlobalBatch> batches;
  std::vector<std::int64_t> batches_per_iteration, dropped_rows;
};

struct SamplerCase {
  std::int64_t batch, epochs_per_iter, seed, iterations, world;
};

TrainRun run_cpp(const DatasetSplit& split, const SamplerCase& c, SamplerDraws& draws) {
  TrainRun run;
  TrainSampler sampler(PuzzleIndex::of(split), c.batch, c.epochs_per_iter, draws);
  for (std::int64_t it = 0; it < c.iterations; ++it) {
    sampler.start_iteration();
    GlobalBatch b;
    std::int64_t n = 0;
    for (; sampler.next_batch(b); ++n) run.batches.push_back(b);
    run.batches_per_iteration.push_back(n);
    run.dropped_rows.push_back(sampler.dropped_rows());
  }
  return run;
}

std::vector<std::int64_t> load(const std::string& path) { return NpyArray::open(path).to_int64(); }

// Runs the NumPy transcription (with `draws_dir` when given) and compares every batch with `cpp`.
void compare_with_numpy(const std::string& dataset, const DatasetSplit& split, const SamplerCase& c, const TrainRun& cpp,
                        const std::string& out, const std::string& draws_dir) {
  const auto r = hrm_test::run(fmt::format("{} {}/tests/reference/sampler_numpy.py train {} {} --batch {} --epochs-per-iter {} "
                                           "--seed {} --iterations {}{}",
                                           HRM_PYTHON, hrm_test::source_dir(), dataset, out, c.batch, c.epochs_per_iter,
                                           c.seed, c.iterations, draws_dir.empty() ? "" : " --draws " + draws_dir));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(load(out + "/batches_per_iteration.npy") == cpp.batches_per_iteration);
  CHECK(load(out + "/dropped_rows.npy") == cpp.dropped_rows);
  const auto iteration = load(out + "/batch_iteration.npy"), offsets = load(out + "/batch_offsets.npy");
  const auto groups = load(out + "/groups.npy"), puzzles = load(out + "/puzzles.npy"), rows = load(out + "/rows.npy");
  const auto row_puzzles = load(out + "/row_puzzles.npy");
  REQUIRE(iteration.size() == cpp.batches.size());
  const PuzzleIndex index = PuzzleIndex::of(split);
  const std::int64_t b = c.batch / c.world;
  for (std::size_t k = 0; k < cpp.batches.size(); ++k) {
    const GlobalBatch& g = cpp.batches[k];
    CAPTURE(k);
    CHECK(g.iteration == iteration[k]);
    REQUIRE(static_cast<std::int64_t>(g.puzzles.size()) == offsets[k + 1] - offsets[k]);
    for (std::size_t j = 0; j < g.puzzles.size(); ++j) {
      const auto at = static_cast<std::size_t>(offsets[k]) + j;
      CHECK(g.puzzles[j].group == groups[at]);
      CHECK(g.puzzles[j].puzzle == puzzles[at]);
      CHECK(g.puzzles[j].rows == rows[at]);
    }
    // Rank r's rows are [r*b, (r+1)*b) of the global batch: a puzzle may straddle two ranks.
    for (std::int64_t rank = 0; rank < c.world; ++rank) {
      const BatchRows local = batch_rows(g, index, c.seed, rank * b, (rank + 1) * b);
      const auto first = row_puzzles.begin() + static_cast<std::ptrdiff_t>(static_cast<std::int64_t>(k) * c.batch + rank * b);
      CHECK(local.puzzle == std::vector<std::int64_t>(first, first + b));
    }
  }
}

void check_against_numpy(const std::vector<std::vector<int>>& groups, const SamplerCase& c) {
  TempDir d;
  write_split(d.path.string(), "train", groups);
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  PhiloxDraws philox(c.seed);
  RecordingDraws recorder(philox);
  const TrainRun cpp = run_cpp(split, c, recorder);
  write_npy(d / "group_order.npy", {static_cast<std::int64_t>(recorder.order.size())}, recorder.order);
  write_npy(d / "picks.npy", {static_cast<std::int64_t>(recorder.picks.size())}, recorder.picks);
  compare_with_numpy(d.path.string(), split, c, cpp, d / "numpy", "");                     // NumPy's Philox draws
  compare_with_numpy(d.path.string(), split, c, cpp, d / "replayed", d.path.string());     // the recorded draws
}

ReplayResult replay(const DatasetSplit& split, std::int64_t batch, std::int64_t epochs, std::int64_t eval_interval,
                    int threads = 0) {
  ReplaySpec s;
  s.global_batch_size = batch;
  s.epochs = epochs;
  s.epochs_per_iter = eval_interval;
  s.total_steps = hrm_total_steps(epochs, split.meta().total_groups, split.meta().mean_puzzle_examples, batch);
  s.threads = threads;
  return replay_schedule(split, s);
}

}  // namespace

#define REQUIRE_NUMPY()                          \
  if (!hrm_test::have_numpy()) {                 \
    MESSAGE("python3-numpy missing: skipped");   \
    return;                                      \
  }

TEST_CASE("Sudoku-like 1-example puzzles: each batch is B group draws, the remainder of an iteration is dropped") {
  REQUIRE_NUMPY();
  check_against_numpy(sudoku_shape(50, 11), {16, 3, 0, 3, 1});
  check_against_numpy(sudoku_shape(50, 11), {16, 3, 5, 2, 4});
}

TEST_CASE("ARC-like groups: one puzzle per group with all its examples, the batch's last puzzle cut, ranks split rows") {
  REQUIRE_NUMPY();
  check_against_numpy(arc_shape(), {24, 4, 0, 3, 3});
  check_against_numpy(arc_shape(), {10, 7, 11, 2, 2});
}

TEST_CASE("a batch larger than one iteration can fill: the iteration trains on nothing, silently") {
  REQUIRE_NUMPY();
  check_against_numpy(sudoku_shape(5, 3), {64, 2, 0, 2, 1});
}

TEST_CASE("a group order that fills its last batch exactly drops nothing") {
  REQUIRE_NUMPY();
  check_against_numpy(sudoku_shape(8, 2), {4, 2, 1, 2, 2});
}

TEST_CASE("test split: windows of B in storage order, rank r takes rows s + r*b up to min(s + (r+1)*b, e), padded to b") {
  REQUIRE_NUMPY();
  TempDir d;
  write_split(d.path.string(), "test", arc_shape());
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "test");
  for (const auto& [batch, world] : {std::pair<std::int64_t, std::int64_t>{16, 4}, {48, 8}, {1000, 2}, {7, 1}}) {
    CAPTURE(batch);
    const std::string out = d / fmt::format("out{}_{}", batch, world);
    const auto r = hrm_test::run(fmt::format("{} {}/tests/reference/sampler_numpy.py test {} {} --batch {} --world {}", HRM_PYTHON,
                                             hrm_test::source_dir(), d.path.string(), out, batch, world));
    REQUIRE_MESSAGE(r.code == 0, r.out);
    const auto windows = load(out + "/windows.npy"), row_puzzles = load(out + "/row_puzzles.npy");
    const std::int64_t n = test_batch_count(split.num_examples(), batch);
    REQUIRE(static_cast<std::int64_t>(windows.size()) == 6 * world * n);
    std::size_t w = 0, row = 0;
    for (std::int64_t rank = 0; rank < world; ++rank) {
      for (std::int64_t i = 0; i < n; ++i, w += 6) {
        const TestBatch t = test_batch(split.num_examples(), batch, world, rank, i);
        CHECK(t.begin == windows[w + 1]);
        CHECK(t.end == windows[w + 2]);
        CHECK(t.local_begin == windows[w + 3]);
        CHECK(t.local_end == std::max(windows[w + 3], windows[w + 4]));
        CHECK(t.pad_rows == windows[w + 5]);
        for (std::int64_t e = t.local_begin; e < t.local_end; ++e, ++row)
          CHECK(puzzle_of_example(split.puzzle_indices(), e) == row_puzzles[row]);
      }
    }
    CHECK(row == row_puzzles.size());
  }
}

TEST_CASE("replay counts agree with the NumPy transcription: batches per iteration, dropped and truncated rows") {
  REQUIRE_NUMPY();
  TempDir d;
  write_split(d.path.string(), "train", arc_shape());
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  const std::int64_t batch = 24, epochs = 60, eval_interval = 20;
  const ReplayResult r = replay(split, batch, epochs, eval_interval);
  const auto res = hrm_test::run(fmt::format("{} {}/tests/reference/sampler_numpy.py train {} {} --batch {} --epochs-per-iter {} "
                                             "--seed 0 --iterations 3",
                                             HRM_PYTHON, hrm_test::source_dir(), d.path.string(), d / "out", batch, eval_interval));
  REQUIRE_MESSAGE(res.code == 0, res.out);
  const auto per_iteration = load(d / "out/batches_per_iteration.npy"), dropped = load(d / "out/dropped_rows.npy");
  CHECK(r.batches_per_iteration == per_iteration);
  CHECK(r.dropped_rows == dropped[0] + dropped[1] + dropped[2]);
  const auto offsets = load(d / "out/batch_offsets.npy"), puzzles = load(d / "out/puzzles.npy"), rows = load(d / "out/rows.npy");
  const PuzzleIndex index = PuzzleIndex::of(split);
  std::int64_t truncated = 0, truncated_rows = 0, draws = 0;
  const auto executed = std::min<std::int64_t>(static_cast<std::int64_t>(offsets.size()) - 1,
                                                hrm_total_steps(epochs, split.meta().total_groups, split.meta().mean_puzzle_examples, batch));
  for (std::int64_t k = 0; k < executed; ++k) {
    const auto last = static_cast<std::size_t>(offsets[static_cast<std::size_t>(k) + 1] - 1);
    const auto cut = index.puzzle_size(puzzles[last]) - rows[last];
    truncated += cut > 0;
    truncated_rows += cut;
    draws += offsets[static_cast<std::size_t>(k) + 1] - offsets[static_cast<std::size_t>(k)];
  }
  CHECK(r.executed_steps == executed);
  CHECK(r.truncated_puzzles == truncated);
  CHECK(r.truncated_rows == truncated_rows);
  CHECK(r.mean_groups_per_batch == doctest::Approx(double(draws) / double(executed)));
}

TEST_CASE("Sudoku-Extreme 1k-aug-1000 (HRM-SPEC 6.2): B=768 -> total_steps 26,041, 26,040 executed, B=384 -> 52,083 and 52,080") {
  TempDir d;
  write_split(d.path.string(), "train", sudoku_shape(1000, 1001));
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");

  const ReplayResult r768 = replay(split, 768, 20000, 2000);
  CHECK(hrm_total_steps(20000, 1000, 1.0, 768) == 26041);
  CHECK(r768.iterations == 10);
  CHECK(r768.yielded_batches == 26040);
  CHECK(r768.executed_steps == 26040);
  CHECK(r768.batches_per_iteration == std::vector<std::int64_t>(10, 2604));
  CHECK(r768.dropped_rows == 10 * (2000000 - 2604 * 768));
  CHECK(r768.empty_iterations == 0);
  CHECK(r768.truncated_puzzles == 0);  // 1-example puzzles never straddle a batch's end
  CHECK(r768.mean_groups_per_batch == 768.0);
  CHECK(r768.min_groups_per_batch == 768);
  CHECK(r768.max_groups_per_batch == 768);
  // 768 of 1000 groups per batch: the second step already reaches into the next permutation.
  CHECK(r768.mean_distinct_groups_per_batch < 768.0);
  CHECK(r768.steps_to_cover_all_groups == 2);
  CHECK(r768.coverage.size() == 2000);
  CHECK(r768.coverage[0] == doctest::Approx(0.768));
  CHECK(r768.coverage[1] == 1.0);

  const ReplayResult r384 = replay(split, 384, 20000, 2000);
  CHECK(hrm_total_steps(20000, 1000, 1.0, 384) == 52083);
  CHECK(r384.executed_steps == 52080);

  // With eval_interval 20000 (one iteration) 26,041 batches are yielded and executed.
  const ReplayResult one = replay(split, 768, 20000, 20000);
  CHECK(one.iterations == 1);
  CHECK(one.executed_steps == 26041);
  CHECK(one.dropped_rows == 20000000 - 26041 * 768);
}

TEST_CASE("replay: a batch larger than one iteration's rows gives empty iterations and no steps, though total_steps > 0") {
  TempDir d;
  write_split(d.path.string(), "train", sudoku_shape(1000, 2));
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  const ReplayResult r = replay(split, 2048, 10, 1);
  CHECK(hrm_total_steps(10, 1000, 1.0, 2048) == 4);
  CHECK(r.iterations == 10);
  CHECK(r.empty_iterations == 10);
  CHECK(r.executed_steps == 0);
  CHECK(r.dropped_rows == 10 * 1000);
  CHECK(r.steps_to_cover_all_groups == -1);
  CHECK(r.coverage.empty());
}

TEST_CASE("replay: batches past total_steps are consumed, not trained on, and left out of the batch statistics") {
  TempDir d;
  // Pairs of groups: one 10-example puzzle, nine 1-example puzzles. mean_puzzle_examples = 1.9, but an
  // epoch draws 10 + 1 rows per pair: the sampler yields far more batches than total_steps.
  std::vector<std::vector<int>> groups;
  for (int k = 0; k < 20; ++k) {
    groups.push_back({10});
    groups.push_back(std::vector<int>(9, 1));
  }
  write_split(d.path.string(), "train", groups);
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  const ReplayResult r = replay(split, 8, 30, 30);
  const std::int64_t total = hrm_total_steps(30, 40, split.meta().mean_puzzle_examples, 8);
  REQUIRE(r.yielded_batches > total);
  CHECK(r.executed_steps == total);
  PhiloxDraws draws(0);
  TrainSampler sampler(PuzzleIndex::of(split), 8, 30, draws);
  sampler.start_iteration();
  GlobalBatch g;
  std::int64_t draws_in_executed = 0, yielded = 0;
  for (; sampler.next_batch(g); ++yielded)
    if (yielded < total) draws_in_executed += static_cast<std::int64_t>(g.puzzles.size());
  CHECK(yielded == r.yielded_batches);
  CHECK(r.mean_groups_per_batch == doctest::Approx(double(draws_in_executed) / double(total)));
}

TEST_CASE("replay results do not depend on the number of threads") {
  TempDir d;
  write_split(d.path.string(), "train", arc_shape());
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  const ReplayResult a = replay(split, 24, 300, 20, 1), b = replay(split, 24, 300, 20, 5);
  CHECK(a.batches_per_iteration == b.batches_per_iteration);
  CHECK(a.dropped_rows == b.dropped_rows);
  CHECK(a.truncated_rows == b.truncated_rows);
  CHECK(a.mean_distinct_groups_per_batch == b.mean_distinct_groups_per_batch);
  CHECK(a.mean_repeated_groups_per_batch == b.mean_repeated_groups_per_batch);
  CHECK(a.groups_per_step == b.groups_per_step);
  CHECK(a.coverage == b.coverage);
  CHECK(a.steps_to_cover_all_groups == b.steps_to_cover_all_groups);
}

TEST_CASE("replay: rank r's slice is rows r*b up to (r+1)*b of the global batch") {
  TempDir d;
  write_split(d.path.string(), "train", sudoku_shape(100, 3));
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  ReplaySpec s;
  s.global_batch_size = 96;
  s.world_size = 8;
  s.epochs = s.epochs_per_iter = 4;
  s.total_steps = 4;
  const ReplayResult r = replay_schedule(split, s);
  REQUIRE(r.rank_rows.size() == 8);
  CHECK(r.rank_rows[0] == std::pair<std::int64_t, std::int64_t>{0, 12});
  CHECK(r.rank_rows[7] == std::pair<std::int64_t, std::int64_t>{84, 96});
}

TEST_CASE("checkpoint: a sampler restored from state() continues with the same batches") {
  TempDir d;
  write_split(d.path.string(), "train", arc_shape());
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  PhiloxDraws da(3), db(3);
  TrainSampler a(PuzzleIndex::of(split), 12, 5, da), b(PuzzleIndex::of(split), 12, 5, db);
  GlobalBatch x, y;
  a.start_iteration();
  a.start_iteration();
  for (int k = 0; k < 4; ++k) REQUIRE(a.next_batch(x));
  b.restore(a.state());
  CHECK(b.state().iteration == 2);
  CHECK(b.state().batches == 4);
  while (a.next_batch(x)) {
    REQUIRE(b.next_batch(y));
    CHECK(x.index == y.index);
    CHECK(x.puzzles.size() == y.puzzles.size());
    for (std::size_t j = 0; j < x.puzzles.size(); ++j) CHECK(x.puzzles[j].puzzle == y.puzzles[j].puzzle);
  }
  CHECK_FALSE(b.next_batch(y));
  CHECK(a.dropped_rows() == b.dropped_rows());
  CHECK_THROWS_AS(b.restore({2, 1000}), InputError);
}

TEST_CASE("example choice (trainer only): distinct examples of the puzzle, identical on every rank, seeded") {
  TempDir d;
  write_split(d.path.string(), "train", arc_shape());
  const DatasetSplit split = DatasetSplit::open(d.path.string(), "train");
  const PuzzleIndex index = PuzzleIndex::of(split);
  PhiloxDraws draws(0);
  TrainSampler sampler(index, 24, 3, draws);
  sampler.start_iteration();
  GlobalBatch g;
  while (sampler.next_batch(g)) {
    const BatchRows all = batch_rows(g, index, 0, 0, 24);
    REQUIRE(all.example.size() == 24);
    std::size_t row = 0;
    for (const auto& bp : g.puzzles) {
      std::set<std::int64_t> seen;
      for (std::int64_t k = 0; k < bp.rows; ++k, ++row) {
        CHECK(all.puzzle[row] == bp.puzzle);
        CHECK(all.example[row] >= index.puzzle_indices[bp.puzzle]);
        CHECK(all.example[row] < index.puzzle_indices[bp.puzzle + 1]);
        seen.insert(all.example[row]);
      }
      CHECK(static_cast<std::int64_t>(seen.size()) == bp.rows);
    }
    for (std::int64_t rank = 0; rank < 4; ++rank) {
      const BatchRows local = batch_rows(g, index, 0, rank * 6, rank * 6 + 6);
      CHECK(local.example == std::vector<std::int64_t>(all.example.begin() + rank * 6, all.example.begin() + rank * 6 + 6));
    }
    CHECK(batch_rows(g, index, 0, 0, 24).example == all.example);
  }
}

TEST_CASE("a group without puzzles is rejected: HRM's rng.integers(lo, lo) raises on it") {
  const std::vector<std::int64_t> puzzle_indices{0, 1, 2}, group_indices{0, 1, 1, 2};
  PhiloxDraws draws(0);
  CHECK_THROWS_WITH_AS((TrainSampler(PuzzleIndex{puzzle_indices, group_indices, "x"}, 2, 1, draws)),
                       doctest::Contains("group 1 has no puzzles"), InputError);
}
