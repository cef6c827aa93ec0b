// test_build_sudoku.cpp: the Sudoku builder (HRM-SPEC 4.2, 11.2): HRM's bytes without augmentation,
// HRM's shuffle_sudoku, valid augmented puzzles, seeded determinism, held-out test splits, the
// solver against a plain backtracking reference, the generator, and bad input named by file:line.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "datasets/build_sudoku.hpp"
#include "datasets/dataset.hpp"
#include "datasets/sudoku.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kCsv = hrm_test::source_dir() + "/data/sudoku/sudoku-extreme-train-1k.csv";
const std::string kHeader = "source,question,answer,rating\n";

// The shared CSV's lines, header first.
std::vector<std::string> csv_lines() {
  std::ifstream f(kCsv);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  return lines;
}

// The question (field 2) and answer (field 3) of a CSV line with an empty source.
std::string question_of(const std::string& line) { return line.substr(1, 81); }
std::string answer_of(const std::string& line) { return line.substr(83, 81); }

std::string row(const std::string& q, const std::string& a, const std::string& rating = "") { return "," + q + "," + a + "," + rating + "\n"; }

SudokuGrid grid_of(const std::string& s) {
  SudokuGrid g{};
  for (std::size_t i = 0; i < 81; ++i) g[i] = (s[i] == '.' || s[i] == '0') ? 0 : static_cast<std::uint8_t>(s[i] - '0');
  return g;
}

// Plain backtracking, the oracle for the optimised solver: fill the empty cell with the fewest
// candidates (recomputed from scratch), try each digit, count solutions up to `limit`.
int reference_count(SudokuGrid g, int limit) {
  auto ok = [&](int i, int d) {
    for (int j = 0; j < 81; ++j)
      if (j != i && g[static_cast<std::size_t>(j)] == d &&
          (j / 9 == i / 9 || j % 9 == i % 9 || (j / 27 == i / 27 && j % 9 / 3 == i % 9 / 3)))
        return false;
    return true;
  };
  for (int i = 0; i < 81; ++i)
    if (g[static_cast<std::size_t>(i)] && !ok(i, g[static_cast<std::size_t>(i)])) return 0;
  int count = 0;
  auto rec = [&](auto&& self) -> void {
    int best = -1, best_n = 10;
    for (int i = 0; i < 81; ++i) {
      if (g[static_cast<std::size_t>(i)]) continue;
      int n = 0;
      for (int d = 1; d <= 9; ++d) n += ok(i, d);
      if (n < best_n) { best = i; best_n = n; }
    }
    if (best < 0) { ++count; return; }
    for (int d = 1; d <= 9 && count < limit; ++d) {
      if (!ok(best, d)) continue;
      g[static_cast<std::size_t>(best)] = static_cast<std::uint8_t>(d);
      self(self);
      g[static_cast<std::size_t>(best)] = 0;
    }
  };
  rec(rec);
  return std::min(count, limit);
}

std::vector<std::uint8_t> row_u8(const NpyArray& a, std::int64_t r) {
  std::vector<std::uint8_t> v(static_cast<std::size_t>(a.dim(1)));
  a.copy_row_u8(r, v.data());
  return v;
}

SudokuGrid grid_from_tokens(const std::vector<std::uint8_t>& t) {  // 1 = blank, 2..10 = digits
  SudokuGrid g{};
  for (std::size_t i = 0; i < 81; ++i) g[i] = static_cast<std::uint8_t>(t[i] - 1);
  return g;
}

// Every file of a built dataset, so two builds can be compared byte for byte.
const std::vector<std::string> kFiles = [] {
  std::vector<std::string> f{"identifiers.json"};
  for (const char* split : {"train", "test"}) {
    f.push_back(std::string(split) + "/dataset.json");
    for (const char* a : {"inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"})
      f.push_back(std::string(split) + "/all__" + a + ".npy");
  }
  return f;
}();

void check_same_files(const std::string& a, const std::string& b) {
  for (const auto& f : kFiles) {
    INFO(f);
    REQUIRE(fs::exists(a + "/" + f));
    REQUIRE(fs::exists(b + "/" + f));
    CHECK(hrm_test::read_file(a + "/" + f) == hrm_test::read_file(b + "/" + f));
  }
}

SudokuBuildOptions options(const std::string& out) {
  SudokuBuildOptions o;
  o.csv = kCsv;
  o.out = out;
  return o;
}

// The build must fail with an InputError whose message contains `where` and `what`, and leave
// neither the output nor a staging folder behind.
void check_rejected(const SudokuBuildOptions& o, const std::string& where, const std::string& what) {
  INFO("expected: ", where, ": ", what);
  try {
    build_sudoku(o);
    FAIL("the build succeeded");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    INFO("got: ", msg);
    CHECK(msg.find(where) != std::string::npos);
    CHECK(msg.find(what) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(o.out));
  for (const auto& entry : fs::directory_iterator(fs::path(o.out).parent_path()))
    CHECK(entry.path().filename().string().find(".partial-") == std::string::npos);
}

}  // namespace

TEST_CASE("sudoku builder: HRM-SPEC 4.2: with no augmentation and no subsampling the 1k CSV builds byte for byte as HRM's build_sudoku_dataset.py") {
  if (!hrm_test::have_numpy()) { MESSAGE("python3-numpy missing: skipped"); return; }
  TempDir d;
  // The test split comes from another file (the last 100 rows), so both splits are checked.
  const auto lines = csv_lines();
  std::string test_csv = kHeader;
  for (std::size_t i = lines.size() - 100; i < lines.size(); ++i) test_csv += lines[i] + "\n";
  hrm_test::write_file(d / "test.csv", test_csv);

  SudokuBuildOptions o = options(d / "ours");
  o.test_csv = d / "test.csv";
  const BuildSummary s = build_sudoku(o);
  CHECK(s.train_examples == 1000);
  CHECK(s.train_groups == 1000);
  CHECK(s.test_examples == 100);

  const std::string py = std::string(HRM_PYTHON) + " " + hrm_test::source_dir() + "/tests/reference/build_sudoku_reference.py build " +
                         kCsv + " " + (d / "test.csv") + " " + (d / "hrm");
  const auto r = hrm_test::run(py);
  INFO(r.out);
  REQUIRE(r.code == 0);
  check_same_files(d / "ours", d / "hrm");
}

TEST_CASE("sudoku builder: HRM-SPEC 4.2: min_difficulty keeps rating >= R in both splits, as HRM's builder does") {
  if (!hrm_test::have_numpy()) { MESSAGE("python3-numpy missing: skipped"); return; }
  TempDir d;
  const auto lines = csv_lines();
  std::string train = kHeader, test = kHeader;
  for (std::size_t i = 1; i <= 300; ++i) train += row(question_of(lines[i]), answer_of(lines[i]), std::to_string(i % 50));
  for (std::size_t i = 301; i <= 400; ++i) test += row(question_of(lines[i]), answer_of(lines[i]), std::to_string(i % 50));
  hrm_test::write_file(d / "train.csv", train);
  hrm_test::write_file(d / "test.csv", test);

  SudokuBuildOptions o = options(d / "ours");
  o.csv = d / "train.csv";
  o.test_csv = d / "test.csv";
  o.min_difficulty = 20;
  const BuildSummary s = build_sudoku(o);
  CHECK(s.train_groups == 180);  // ratings 20..49 of each 50 rows
  CHECK(s.test_groups == 60);
  const auto r = hrm_test::run(std::string(HRM_PYTHON) + " " + hrm_test::source_dir() + "/tests/reference/build_sudoku_reference.py build " +
                               (d / "train.csv") + " " + (d / "test.csv") + " " + (d / "hrm") + " 20");
  INFO(r.out);
  REQUIRE(r.code == 0);
  check_same_files(d / "ours", d / "hrm");
}

TEST_CASE("sudoku builder: HRM-SPEC 4.2: seq_len 81, vocab 11, pad 0, ignore_label 0, blank id 0, one identifier '<blank>', 1 blank, digit d is d+1") {
  TempDir d;
  SudokuBuildOptions o = options(d / "out");
  o.test_fraction = 0.1;
  build_sudoku(o);
  CHECK(hrm_test::read_file(d / "out/identifiers.json") == "[\"<blank>\"]");
  for (const char* split : {"train", "test"}) {
    const DatasetSplit s = DatasetSplit::open(d / "out", split);
    CHECK(s.meta().seq_len == 81);
    CHECK(s.meta().vocab_size == 11);
    CHECK(s.meta().pad_id == 0);
    CHECK(s.meta().ignore_label_id == 0);
    CHECK(s.meta().blank_identifier_id == 0);
    CHECK(s.meta().num_puzzle_identifiers == 1);
    CHECK(s.meta().mean_puzzle_examples == 1.0);
    CHECK(s.meta().sets == std::vector<std::string>{"all"});
    CHECK(s.inputs().dtype() == DType::U8);
  }
  // The first train row is the CSV's first row (the hold-out keeps file order); row 1 may be
  // held out, so look the first train puzzle up by content.
  const auto lines = csv_lines();
  const DatasetSplit train = DatasetSplit::open(d / "out", "train");
  const auto in = row_u8(train.inputs(), 0), lab = row_u8(train.labels(), 0);
  bool found = false;
  for (std::size_t l = 1; l < lines.size() && !found; ++l) {
    const std::string q = question_of(lines[l]), a = answer_of(lines[l]);
    bool same = true;
    for (std::size_t i = 0; i < 81; ++i) {
      same &= in[i] == (q[i] == '.' ? 1 : q[i] - '0' + 1);
      same &= lab[i] == a[i] - '0' + 1;
    }
    found = same;
  }
  CHECK(found);
}

TEST_CASE("sudoku builder: HRM-SPEC 4.2: one group per train puzzle of 1 + num_aug puzzles, original first, 1 example each, the test split is not augmented") {
  TempDir d;
  SudokuBuildOptions o = options(d / "out");
  o.test_fraction = 0.5;
  o.subsample = 6;
  o.num_aug = 4;
  const BuildSummary s = build_sudoku(o);
  CHECK(s.train_groups == 6);
  CHECK(s.train_examples == 30);
  CHECK(s.test_groups == 500);
  CHECK(s.test_examples == 500);

  const DatasetSplit train = DatasetSplit::open(d / "out", "train");
  CHECK(train.num_puzzles() == 30);
  for (std::int64_t g = 0; g <= 6; ++g) CHECK(train.group_indices()[static_cast<std::size_t>(g)] == 5 * g);
  for (std::int64_t p = 0; p <= 30; ++p) CHECK(train.puzzle_indices()[static_cast<std::size_t>(p)] == p);
  for (std::int64_t id : train.puzzle_identifiers()) CHECK(id == 0);
  // Originals come straight from the CSV: their inputs are among the CSV's questions.
  std::set<std::string> questions;
  for (const auto& l : csv_lines()) questions.insert(question_of(l));
  for (std::int64_t g = 0; g < 6; ++g) {
    std::string q;
    for (std::uint8_t t : row_u8(train.inputs(), 5 * g)) q += t == 1 ? '.' : static_cast<char>('0' + t - 1);
    CHECK(questions.count(q) == 1);
  }
  const DatasetSplit test = DatasetSplit::open(d / "out", "test");
  CHECK(test.num_puzzles() == 500);
  CHECK(test.num_groups() == 500);
}

TEST_CASE("sudoku builder: an augmented Sudoku is still a valid puzzle whose unique solution is the augmented solution (all augmentations of 20 puzzles)") {
  TempDir d;
  SudokuBuildOptions o = options(d / "out");
  o.test_fraction = 0.5;
  o.subsample = 20;
  o.num_aug = 50;
  o.seed = 11;
  build_sudoku(o);
  const DatasetSplit train = DatasetSplit::open(d / "out", "train");
  REQUIRE(train.num_examples() == 20 * 51);
  int changed = 0;
  for (std::int64_t g = 0; g < 20; ++g) {
    const auto orig = grid_from_tokens(row_u8(train.inputs(), 51 * g));
    const auto clues = std::count_if(orig.begin(), orig.end(), [](std::uint8_t v) { return v != 0; });
    for (std::int64_t k = 1; k <= 50; ++k) {
      const auto q = grid_from_tokens(row_u8(train.inputs(), 51 * g + k));
      const auto a = grid_from_tokens(row_u8(train.labels(), 51 * g + k));
      CHECK(sudoku_solution_error(a).empty());
      CHECK(std::count_if(q.begin(), q.end(), [](std::uint8_t v) { return v != 0; }) == clues);
      for (std::size_t i = 0; i < 81; ++i)
        if (q[i]) CHECK(q[i] == a[i]);
      const SudokuSolveResult r = solve_sudoku(q, 2);
      CHECK(r.solutions == 1);
      CHECK(r.solution == a);
      changed += q != orig;
    }
  }
  CHECK(changed >= 20 * 50 - 5);  // a copy equal to its original is possible but rare
}

TEST_CASE("sudoku builder: apply_sudoku_shuffle is HRM's shuffle_sudoku: transpose, then (row_perm, col_perm) remapping, then the digit map (NumPy)") {
  if (!hrm_test::have_numpy()) { MESSAGE("python3-numpy missing: skipped"); return; }
  TempDir d;
  const auto lines = csv_lines();
  SplitMix64 rng(5);
  std::string cases;
  for (int n = 0; n < 200; ++n) {
    const SudokuShuffle s = random_sudoku_shuffle(rng);
    const SudokuGrid board = grid_of(n % 2 ? question_of(lines[static_cast<std::size_t>(n + 1)]) : answer_of(lines[static_cast<std::size_t>(n + 1)]));
    const SudokuGrid out = apply_sudoku_shuffle(s, board);
    for (auto v : s.digit_map) cases += std::to_string(v) + " ";
    cases += s.transpose ? "1 " : "0 ";
    for (auto v : s.row_perm) cases += std::to_string(v) + " ";
    for (auto v : s.col_perm) cases += std::to_string(v) + " ";
    for (auto v : board) cases += std::to_string(v) + " ";
    for (auto v : out) cases += std::to_string(v) + " ";
    cases += "\n";
  }
  hrm_test::write_file(d / "cases.txt", cases);
  const auto r = hrm_test::run(std::string(HRM_PYTHON) + " " + hrm_test::source_dir() + "/tests/reference/build_sudoku_reference.py shuffle " + (d / "cases.txt"));
  INFO(r.out);
  CHECK(r.code == 0);
}

TEST_CASE("sudoku builder: random_sudoku_shuffle draws HRM's family: digits permuted (blank fixed), transpose with p 0.5, bands/stacks permuted and rows/columns within them") {
  SplitMix64 rng(1);
  int transposed = 0;
  std::set<std::array<std::uint8_t, 9>> row_perms;
  for (int n = 0; n < 2000; ++n) {
    const SudokuShuffle s = random_sudoku_shuffle(rng);
    transposed += s.transpose;
    CHECK(s.digit_map[0] == 0);
    CHECK(std::is_permutation(s.digit_map.begin() + 1, s.digit_map.end(), std::array<std::uint8_t, 9>{1, 2, 3, 4, 5, 6, 7, 8, 9}.begin()));
    for (const auto& perm : {s.row_perm, s.col_perm}) {
      CHECK(std::is_permutation(perm.begin(), perm.end(), std::array<std::uint8_t, 9>{0, 1, 2, 3, 4, 5, 6, 7, 8}.begin()));
      for (std::size_t b = 0; b < 3; ++b) CHECK((perm[3 * b] / 3 == perm[3 * b + 1] / 3 && perm[3 * b] / 3 == perm[3 * b + 2] / 3));
    }
    row_perms.insert(s.row_perm);
  }
  CHECK(transposed > 900);  // binomial(2000, 0.5): 6 standard deviations is +-134
  CHECK(transposed < 1100);
  CHECK(row_perms.size() > 1000);  // 3!^4 = 1296 row permutations; 2000 draws find nearly all
}

TEST_CASE("sudoku builder: augmentation is seeded: the same seed gives the same bytes, another seed other augmented copies") {
  TempDir d;
  for (const char* name : {"a", "b", "c"}) {
    SudokuBuildOptions o = options(d / name);
    o.test_fraction = 0.2;
    o.subsample = 50;
    o.num_aug = 10;
    o.seed = std::string(name) == "c" ? 2 : 1;
    build_sudoku(o);
  }
  check_same_files(d / "a", d / "b");
  CHECK(hrm_test::read_file(d / "a/train/all__inputs.npy") != hrm_test::read_file(d / "c/train/all__inputs.npy"));
}

TEST_CASE("sudoku builder: --test-fraction holds out round(F * rows) CSV puzzles: no puzzle is in both splits, none is lost") {
  TempDir d;
  SudokuBuildOptions o = options(d / "out");
  o.test_fraction = 0.25;
  o.seed = 3;
  const BuildSummary s = build_sudoku(o);
  CHECK(s.train_groups == 750);
  CHECK(s.test_groups == 250);
  std::set<std::string> train_q, test_q;  // rows as strings: GCC 12 warns falsely on set<vector<uint8_t>>
  const DatasetSplit train = DatasetSplit::open(d / "out", "train"), test = DatasetSplit::open(d / "out", "test");
  auto key = [](const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); };
  for (std::int64_t r = 0; r < train.num_examples(); ++r) train_q.insert(key(row_u8(train.inputs(), r)));
  for (std::int64_t r = 0; r < test.num_examples(); ++r) test_q.insert(key(row_u8(test.inputs(), r)));
  CHECK(train_q.size() == 750);
  CHECK(test_q.size() == 250);
  for (const auto& q : test_q) CHECK(train_q.count(q) == 0);
}

TEST_CASE("sudoku builder: --subsample keeps N random train puzzles (seeded, file order), the test split is not subsampled") {
  TempDir d;
  SudokuBuildOptions o = options(d / "a");
  o.test_fraction = 0.1;
  o.subsample = 100;
  o.seed = 9;
  const BuildSummary s = build_sudoku(o);
  CHECK(s.train_groups == 100);
  CHECK(s.test_groups == 100);
  o.out = d / "b";
  build_sudoku(o);
  check_same_files(d / "a", d / "b");
  o.subsample = 5000;  // more than there are: all 900 train puzzles, as HRM
  o.out = d / "c";
  CHECK(build_sudoku(o).train_groups == 900);
}

TEST_CASE("sudoku builder: the solver counts solutions up to the limit and agrees with plain backtracking") {
  const auto lines = csv_lines();
  SplitMix64 rng(4);
  for (std::size_t l = 1; l <= 20; ++l) {
    const SudokuGrid q = grid_of(question_of(lines[l])), a = grid_of(answer_of(lines[l]));
    const SudokuSolveResult r = solve_sudoku(q, 2);
    CHECK(r.solutions == 1);
    CHECK(r.solution == a);
    // Blank a few more cells (often several solutions) or add a wrong given (none).
    SudokuGrid more = q;
    for (int k = 0; k < 3; ++k) more[rng.below(81)] = 0;
    CHECK(solve_sudoku(more, 2).solutions == reference_count(more, 2));
    SudokuGrid wrong = q;
    const std::size_t i = std::find(q.begin(), q.end(), 0) - q.begin();
    wrong[i] = static_cast<std::uint8_t>(a[i] % 9 + 1);
    CHECK(solve_sudoku(wrong, 2).solutions == reference_count(wrong, 2));
  }
  CHECK(solve_sudoku(SudokuGrid{}, 2).solutions == 2);
  CHECK(solve_sudoku(SudokuGrid{}, 5).solutions == 5);
  SudokuGrid clash{};
  clash[0] = clash[80] = 5;  // fine: different row, column and box
  clash[8] = 5;              // clashes with cell 0 (same row)
  CHECK(solve_sudoku(clash, 2).solutions == 0);
  // A complete grid needs no search; a grid with one blank is solved by singles.
  SudokuGrid full = grid_of(answer_of(lines[1]));
  CHECK(solve_sudoku(full, 2).guesses == 0);
  full[40] = 0;
  CHECK(solve_sudoku(full, 2).guesses == 0);
  CHECK(solve_sudoku(grid_of(question_of(lines[1])), 2).guesses > 0);  // Sudoku-Extreme needs search
}

TEST_CASE("sudoku builder: the generator makes minimal puzzles with a unique solution, the same for a seed, and honours a minimum rating") {
  const auto a = generate_sudokus(12, 77, std::nullopt), b = generate_sudokus(12, 77, std::nullopt), c = generate_sudokus(12, 78, std::nullopt);
  REQUIRE(a.size() == 12);
  for (std::size_t n = 0; n < a.size(); ++n) {
    CHECK(a[n].question == b[n].question);
    CHECK(a[n].question != c[n].question);
    CHECK(check_sudoku_puzzle(a[n]).empty());
    CHECK(reference_count(a[n].question, 2) == 1);
    CHECK(a[n].rating == solve_sudoku(a[n].question, 2).guesses);
    for (std::size_t i = 0; i < 81; ++i) {  // minimal: every given is needed
      if (!a[n].question[i]) continue;
      SudokuGrid fewer = a[n].question;
      fewer[i] = 0;
      CHECK(solve_sudoku(fewer, 2).solutions == 2);
    }
  }
  for (const auto& p : generate_sudokus(10, 5, 6)) CHECK(*p.rating >= 6);
  CHECK_THROWS_WITH_AS(generate_sudokus(1, 5, 1000000), doctest::Contains("--min-difficulty"), InputError);
}

TEST_CASE("sudoku builder: --generate N builds N train puzzles plus round(0.1 N) test puzzles, all valid, deterministic for a seed") {
  TempDir d;
  SudokuBuildOptions o;
  o.generate = 30;
  o.num_aug = 2;
  o.seed = 4;
  o.out = d / "a";
  const BuildSummary s = build_sudoku(o);
  CHECK(s.train_groups == 30);
  CHECK(s.train_examples == 90);
  CHECK(s.test_groups == 3);
  o.out = d / "b";
  build_sudoku(o);
  check_same_files(d / "a", d / "b");
  o.test_fraction = 0.5;
  o.out = d / "c";
  CHECK(build_sudoku(o).test_groups == 15);
  // The train puzzles do not depend on the size of the test split.
  CHECK(hrm_test::read_file(d / "a/train/all__inputs.npy") == hrm_test::read_file(d / "c/train/all__inputs.npy"));
  for (const char* split : {"train", "test"}) {
    const DatasetSplit sp = DatasetSplit::open(d / "c", split);
    for (std::int64_t r = 0; r < sp.num_examples(); ++r) {
      SudokuPuzzle p;
      p.question = grid_from_tokens(row_u8(sp.inputs(), r));
      p.answer = grid_from_tokens(row_u8(sp.labels(), r));
      CHECK(check_sudoku_puzzle(p).empty());
    }
  }
}

TEST_CASE("sudoku builder: --csv with --test-generate N keeps every CSV row for training and generates N valid test puzzles, seeded") {
  TempDir d;
  SudokuBuildOptions o = options(d / "a");
  o.test_generate = 20;
  o.seed = 6;
  const BuildSummary s = build_sudoku(o);
  CHECK(s.train_groups == 1000);
  CHECK(s.test_groups == 20);
  o.out = d / "b";
  build_sudoku(o);
  check_same_files(d / "a", d / "b");
  const DatasetSplit test = DatasetSplit::open(d / "a", "test");
  for (std::int64_t r = 0; r < test.num_examples(); ++r) {
    SudokuPuzzle p;
    p.question = grid_from_tokens(row_u8(test.inputs(), r));
    p.answer = grid_from_tokens(row_u8(test.labels(), r));
    CHECK(check_sudoku_puzzle(p).empty());
  }
  o.test_fraction = 0.5;
  o.out = d / "c";
  check_rejected(o, "--test-generate", "excludes --test-csv and --test-fraction");
}

TEST_CASE("sudoku builder: CSV parsing follows Python's csv module: CRLF line ends, quoted fields, header names not checked") {
  TempDir d;
  const auto lines = csv_lines();
  std::string csv = "source,q,a,rating\r\n";
  for (std::size_t i = 1; i <= 10; ++i)
    csv += "\"tdoku, \"\"hard\"\"\"," + question_of(lines[i]) + ",\"" + answer_of(lines[i]) + "\"," + std::to_string(i) + "\r\n";
  hrm_test::write_file(d / "quoted.csv", csv);
  const auto puzzles = read_sudoku_csv(d / "quoted.csv");
  REQUIRE(puzzles.size() == 10);
  CHECK(puzzles[9].question == grid_of(question_of(lines[10])));
  CHECK(puzzles[9].rating == 10);
  CHECK(puzzles[9].line == 11);
}

TEST_CASE("sudoku builder: bad CSV rows are an InputError naming file:line and what is wrong, nothing is written") {
  TempDir d;
  const auto lines = csv_lines();
  const std::string q = question_of(lines[1]), a = answer_of(lines[1]);
  const std::string good = row(question_of(lines[2]), answer_of(lines[2]));
  std::string swapped = a;  // two cells of row 1 swapped: each digit now repeats in a column
  std::swap(swapped[0], swapped[1]);
  std::string contradicting = q, answer_dot = a, bad_char = q;
  const std::size_t given = q.find_first_not_of('.');
  contradicting[given] = static_cast<char>('1' + (a[given] - '0') % 9);
  answer_dot[5] = '.';
  bad_char[10] = 'x';
  std::string two_solutions = std::string(81, '.');
  const struct {
    const char* name;
    std::string body;
    std::string what;
  } cases[] = {
      {"short question", row(q.substr(0, 80), a), "question has 80 characters, expected 81"},
      {"long answer", row(q, a + "1"), "answer has 82 characters, expected 81"},
      {"bad character", row(bad_char, a), "question has 'x' at row 2, column 2"},
      {"blank in the answer", row(q, answer_dot), "answer has '.' at row 1, column 6"},
      {"invalid answer", row(q.substr(0, 0) + std::string(81, '.'), swapped), "the answer is not a valid Sudoku solution: digit"},
      {"given contradicts answer", row(contradicting, a), "contradicts the answer's"},
      {"two solutions", row(two_solutions, a), "more than one solution"},
      {"three fields", ",a,b\n", "expected 4 fields (source,q,a,rating), got 3"},
      {"five fields", "," + q + "," + a + ",1,2\n", "expected 4 fields (source,q,a,rating), got 5"},
      {"non-integer rating", row(q, a, "hard"), "rating 'hard' is not an integer"},
      {"open quote", ",\"" + q + "," + a + ",\n", "a quoted field is not closed on this line"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    hrm_test::write_file(d / "bad.csv", kHeader + good + c.body + good);
    SudokuBuildOptions o = options(d / "out");
    o.csv = d / "bad.csv";
    o.test_fraction = 0.5;
    check_rejected(o, (d / "bad.csv") + ":3", c.what);
  }
}

TEST_CASE("sudoku builder: bad files and options are an InputError saying what to do, nothing is written") {
  TempDir d;
  const auto lines = csv_lines();
  const std::string good = row(question_of(lines[1]), answer_of(lines[1])) + row(question_of(lines[2]), answer_of(lines[2]));
  hrm_test::write_file(d / "no_header.csv", good);
  hrm_test::write_file(d / "header_only.csv", kHeader);
  hrm_test::write_file(d / "empty.csv", "");
  hrm_test::write_file(d / "good.csv", kHeader + good);
  hrm_test::write_file(d / "rated.csv", kHeader + row(question_of(lines[1]), answer_of(lines[1]), "5") + good);

  SudokuBuildOptions o = options(d / "out");
  o.test_fraction = 0.5;
  o.csv = d / "no_header.csv";
  check_rejected(o, (d / "no_header.csv") + ":1", "the first line holds a puzzle, not a header");
  o.csv = d / "header_only.csv";
  check_rejected(o, d / "header_only.csv", "no puzzles after the header line");
  o.csv = d / "empty.csv";
  check_rejected(o, d / "empty.csv", "the file is empty");
  o.csv = d / "missing.csv";
  check_rejected(o, d / "missing.csv", "cannot open");
  // An empty rating is fine until --min-difficulty needs it.
  o.csv = d / "rated.csv";
  o.min_difficulty = 1;
  check_rejected(o, (d / "rated.csv") + ":3", "the rating column is empty");
  o.min_difficulty = 6;
  o.csv = d / "good.csv";
  check_rejected(o, (d / "good.csv") + ":2", "the rating column is empty");

  o = options(d / "out");
  check_rejected(o, "--csv", "no test split");
  o.test_csv = d / "good.csv";
  o.test_fraction = 0.5;
  check_rejected(o, "--test-fraction", "--test-csv and --test-fraction exclude each other");
  o.test_csv.clear();
  o.test_fraction = 1.0;
  check_rejected(o, "--test-fraction", "is not in (0, 1)");
  o.test_fraction = 0.0001;  // rounds to 0 of 1000 rows
  check_rejected(o, kCsv, "leaves 0 for test");
  o.test_fraction = 0.5;
  o.num_aug = -1;
  check_rejected(o, "--num-aug", "is negative");
  o.num_aug = 5000000;  // 500 train puzzles x 5,000,001 > 2^31
  check_rejected(o, "--num-aug", "exceed HRM's int32 indices");
  o.num_aug = 0;
  o.generate = 10;
  check_rejected(o, "--csv", "--csv and --generate exclude each other");
  o.csv.clear();
  o.subsample = 5;
  check_rejected(o, "--subsample", "does not apply to --generate");
  o.generate = 0;
  check_rejected(o, "--csv", "no puzzles: give --csv FILE or --generate N");
}
