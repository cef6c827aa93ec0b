// sudoku.cpp: solver, row checks, generator and augmentation for the Sudoku builder.
//
// The solver keeps, per digit, a bitboard of the cells where it may still go and places naked and
// hidden singles before each branch. Proving a Sudoku-Extreme puzzle (the hardest published set)
// unique takes about 0.1 ms on one core, so every CSV row can be checked.
#include "datasets/sudoku.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <exception>
#include <functional>
#include <mutex>
#include <numeric>
#include <thread>

#include "common/error.hpp"

namespace hrm {
namespace {

constexpr int row_of(int i) { return i / 9; }
constexpr int col_of(int i) { return i % 9; }
constexpr int box_of(int i) { return (i / 27) * 3 + (i % 9) / 3; }

// The 27 units (9 rows, 9 columns, 9 boxes), each as its 9 cell indices.
constexpr std::array<std::array<std::uint8_t, 9>, 27> make_units() {
  std::array<std::array<std::uint8_t, 9>, 27> u{};
  std::array<int, 27> n{};
  for (int i = 0; i < 81; ++i) {
    const int k[3] = {row_of(i), 9 + col_of(i), 18 + box_of(i)};
    for (int j : k) {
      const auto uj = static_cast<std::size_t>(j);
      u[uj][static_cast<std::size_t>(n[uj]++)] = static_cast<std::uint8_t>(i);
    }
  }
  return u;
}
constexpr auto kUnits = make_units();

// The solver works digit by digit on bitboards: the 81 cells are 3 bands of 27 bits (bit =
// 9 * row-in-band + column), so a row, a box or a column of a band is one mask and the checks of a
// whole band take a few instructions.
constexpr std::uint32_t kBand = (1u << 27) - 1;
constexpr std::uint32_t row_mask(int r) { return 0x1FFu << (9 * r); }       // r: row within the band
constexpr std::uint32_t box_mask(int k) { return (0x7u * 0x40201u) << (3 * k); }  // 0x40201: bits 0, 9, 18
constexpr std::uint32_t col_mask(int c) { return 0x40201u << c; }

struct Board {
  std::array<std::array<std::uint32_t, 3>, 9> pos;  // [digit-1][band]: empty cells where the digit may go
  std::array<std::uint32_t, 3> empty{kBand, kBand, kBand};
  std::array<std::uint32_t, 9> done{};  // [digit-1]: units holding it; bits 0-8 rows, 9-17 columns, 18-26 boxes
  SudokuGrid v{};

  Board() { for (auto& p : pos) p = empty; }

  bool allows(int i, int d) const { return (pos[static_cast<std::size_t>(d - 1)][static_cast<std::size_t>(i / 27)] >> (i % 27)) & 1u; }

  // Fills cell i with d: no other digit may go there, and d may not go anywhere else in its row,
  // column and box. Dead ends show up in propagate().
  void assign(int i, int d) {
    const int band = i / 27, r = (i % 27) / 9, c = i % 9;
    const std::uint32_t bit = 1u << (i % 27);
    auto& p = pos[static_cast<std::size_t>(d - 1)];
    v[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(d);
    empty[static_cast<std::size_t>(band)] &= ~bit;
    for (auto& q : pos) q[static_cast<std::size_t>(band)] &= ~bit;
    for (int ob = 0; ob < 3; ++ob) p[static_cast<std::size_t>(ob)] &= ~col_mask(c);
    p[static_cast<std::size_t>(band)] &= ~(row_mask(r) | box_mask(c / 3));
    done[static_cast<std::size_t>(d - 1)] |= (1u << (band * 3 + r)) | (1u << (9 + c)) | (1u << (18 + band * 3 + c / 3));
  }
};

int cell_of(int band, std::uint32_t bits) { return band * 27 + std::countr_zero(bits); }

// std::has_single_bit is popcount == 1, a library call on baseline x86-64 (no POPCNT): too slow here.
bool single_bit(std::uint32_t x) { return x && !(x & (x - 1)); }

enum class Step { none, progress, dead_end };

// Naked singles: a cell with one possible digit is filled. A dead end when a cell has none.
Step naked_singles(Board& b) {
  Step step = Step::none;
  for (int band = 0; band < 3; ++band) {
    std::uint32_t one = 0, two = 0;  // cells with >= 1 and >= 2 possible digits
    for (const auto& p : b.pos) {
      two |= one & p[static_cast<std::size_t>(band)];
      one |= p[static_cast<std::size_t>(band)];
    }
    if (b.empty[static_cast<std::size_t>(band)] & ~one) return Step::dead_end;
    for (std::uint32_t s = one & ~two; s; s &= s - 1) {
      const int i = cell_of(band, s & -s);
      int d = 1;
      while (d <= 9 && !b.allows(i, d)) ++d;
      if (d > 9) return Step::dead_end;  // an earlier single in this loop took its last digit
      b.assign(i, d);
      step = Step::progress;
    }
  }
  return step;
}

// Hidden singles: a digit with one place left in a row, column or box goes there. A dead end when
// a digit has no place left in a unit that still needs it.
Step hidden_singles(Board& b) {
  Step step = Step::none;
  for (int d = 1; d <= 9; ++d) {
    const auto& p = b.pos[static_cast<std::size_t>(d - 1)];
    const std::uint32_t& done = b.done[static_cast<std::size_t>(d - 1)];
    for (int band = 0; band < 3; ++band) {
      for (int k = 0; k < 3; ++k) {
        for (const auto& [unit, mask] : {std::pair{band * 3 + k, row_mask(k)}, std::pair{18 + band * 3 + k, box_mask(k)}}) {
          if ((done >> unit) & 1u) continue;
          const std::uint32_t m = p[static_cast<std::size_t>(band)] & mask;
          if (!m) return Step::dead_end;
          if (single_bit(m)) { b.assign(cell_of(band, m), d); step = Step::progress; }
        }
      }
    }
    for (int c = 0; c < 9; ++c) {
      if ((done >> (9 + c)) & 1u) continue;
      const std::uint32_t m0 = p[0] & col_mask(c), m1 = p[1] & col_mask(c), m2 = p[2] & col_mask(c);
      if (!(m0 | m1 | m2)) return Step::dead_end;
      if (single_bit(m0 | m1 << 1 | m2 << 2)) {  // the shifts keep the three bands' bits apart
        b.assign(m0 ? cell_of(0, m0) : m1 ? cell_of(1, m1) : cell_of(2, m2), d);
        step = Step::progress;
      }
    }
  }
  return step;
}

// Applies both rules until neither makes progress. False at a dead end. (Locked candidates cut
// the tree by a seventh on Sudoku-Extreme but cost more time than they save.)
bool propagate(Board& b) {
  for (;;) {
    Step s = naked_singles(b);
    if (s == Step::none) s = hidden_singles(b);
    if (s == Step::dead_end) return false;
    if (s == Step::none) return true;
  }
}

// The empty cell with the fewest possible digits (propagate() left every empty cell with >= 2).
int branch_cell(const Board& b) {
  int best = -1, best_n = 10;
  for (int i = 0; i < 81 && best_n > 2; ++i) {
    if (!((b.empty[static_cast<std::size_t>(i / 27)] >> (i % 27)) & 1u)) continue;
    int n = 0;
    for (int d = 1; d <= 9; ++d) n += b.allows(i, d);
    if (n < best_n) { best = i; best_n = n; }
  }
  return best;
}

struct Search {
  int max_solutions;
  SplitMix64* rng;  // when set, candidate digits are tried in random order (the generator's fill)
  int found = 0;
  SudokuGrid first{};
  std::int64_t guesses = 0;

  void run(Board b) {
    if (!propagate(b)) return;
    const int i = branch_cell(b);
    if (i < 0) {
      if (found++ == 0) first = b.v;
      return;
    }
    std::array<int, 9> digits{};
    std::size_t n = 0;
    for (int d = 1; d <= 9; ++d)
      if (b.allows(i, d)) digits[n++] = d;
    if (rng) rng->shuffle(digits.data(), n);
    for (std::size_t k = 0; k < n && found < max_solutions; ++k) {
      ++guesses;
      Board next = b;
      next.assign(i, digits[k]);
      run(next);
    }
  }
};

SudokuSolveResult search(const SudokuGrid& grid, int max_solutions, SplitMix64* rng) {
  Board b;
  for (int i = 0; i < 81; ++i) {
    const int d = grid[static_cast<std::size_t>(i)];
    if (!d) continue;
    if (!b.allows(i, d)) return {};  // the givens already clash
    b.assign(i, d);
  }
  Search s{max_solutions, rng};
  s.run(b);
  return {std::min(s.found, max_solutions), s.first, s.guesses};
}

// Runs fn(i) for every i in [0, n) on all cores, handing out `chunk` indices at a time in
// increasing order. Once fn(i) returns false no chunk starting after i is begun, yet every index
// before the first failing one is still visited. An exception thrown by fn is rethrown here.
void parallel_for(std::size_t n, std::size_t chunk, const std::function<bool(std::size_t)>& fn) {
  if (n == 0) return;
  const std::size_t workers = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, (n + chunk - 1) / chunk);
  std::atomic<std::size_t> next{0}, stop_at{n};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (std::size_t start; (start = next.fetch_add(chunk)) < stop_at.load();) {
        for (std::size_t i = start; i < std::min(start + chunk, n); ++i) {
          if (fn(i)) continue;
          for (std::size_t s = stop_at.load(); i < s && !stop_at.compare_exchange_weak(s, i);) {}
          break;
        }
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      stop_at = 0;
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

// One 81-character field of a CSV row into a grid; `blank_ok` allows '.' and '0'.
SudokuGrid parse_grid(const std::string& s, const char* name, bool blank_ok, const std::string& where) {
  const char* expected = blank_ok ? "'.' or '0' for a blank, or a digit 1-9" : "a digit 1-9";
  if (s.size() != 81)
    throw InputError(where, fmt::format("{} has {} characters, expected 81", name, s.size()),
                     "a Sudoku is 81 cells in row-major order");
  SudokuGrid g{};
  for (std::size_t i = 0; i < 81; ++i) {
    const char c = s[i];
    if (c >= '1' && c <= '9') g[i] = static_cast<std::uint8_t>(c - '0');
    else if (blank_ok && (c == '.' || c == '0')) g[i] = 0;
    else
      throw InputError(where,
                       fmt::format("{} has {} at row {}, column {}; expected {}", name, describe_char(c), i / 9 + 1, i % 9 + 1,
                                   expected));
  }
  return g;
}

// Generator attempts per puzzle before --min-difficulty is declared out of reach.
constexpr int kMaxGenerateAttempts = 2000;

SudokuPuzzle generate_one(SplitMix64& rng) {
  SudokuPuzzle p;
  p.answer = search(SudokuGrid{}, 1, &rng).solution;
  p.question = p.answer;
  std::array<std::uint8_t, 81> order{};
  std::iota(order.begin(), order.end(), std::uint8_t{0});
  rng.shuffle(order.data(), order.size());
  // Remove givens in random order while the solution stays unique: the result is minimal.
  for (std::uint8_t i : order) {
    const std::uint8_t given = p.question[i];
    p.question[i] = 0;
    if (solve_sudoku(p.question, 2).solutions != 1) p.question[i] = given;
  }
  p.rating = solve_sudoku(p.question, 2).guesses;
  return p;
}

}  // namespace

SudokuSolveResult solve_sudoku(const SudokuGrid& grid, int max_solutions) {
  HRM_CHECK(max_solutions >= 1, "max_solutions must be positive");
  return search(grid, max_solutions, nullptr);
}

std::string sudoku_solution_error(const SudokuGrid& answer) {
  static const char* kUnitNames[3] = {"row", "column", "box"};
  for (std::size_t u = 0; u < kUnits.size(); ++u) {
    std::uint16_t seen = 0;
    for (std::uint8_t c : kUnits[u]) {
      const int d = answer[c];
      if (d < 1 || d > 9) return fmt::format("cell at row {}, column {} is not a digit 1-9", c / 9 + 1, c % 9 + 1);
      const auto bit = static_cast<std::uint16_t>(1u << (d - 1));
      if (seen & bit) return fmt::format("digit {} repeats in {} {}", d, kUnitNames[u / 9], u % 9 + 1);
      seen |= bit;
    }
  }
  return {};
}

SudokuPuzzle parse_sudoku_row(const PuzzleCsvRow& row, const std::string& path) {
  const std::string where = csv_where(path, row.line);
  SudokuPuzzle p;
  p.question = parse_grid(row.question, "question", true, where);
  p.answer = parse_grid(row.answer, "answer", false, where);
  p.rating = parse_csv_rating(row, path);
  p.line = row.line;
  return p;
}

std::string check_sudoku_puzzle(const SudokuPuzzle& p) {
  if (std::string e = sudoku_solution_error(p.answer); !e.empty()) return "the answer is not a valid Sudoku solution: " + e;
  for (std::size_t i = 0; i < 81; ++i)
    if (p.question[i] && p.question[i] != p.answer[i])
      return fmt::format("the given {} at row {}, column {} contradicts the answer's {}", p.question[i], i / 9 + 1,
                         i % 9 + 1, p.answer[i]);
  // The answer solves the puzzle (checked above); a second solution would make the label arbitrary.
  if (solve_sudoku(p.question, 2).solutions > 1) return "the puzzle has more than one solution, so its answer is not determined";
  return {};
}

std::vector<SudokuPuzzle> read_sudoku_csv(const std::string& path) {
  std::vector<SudokuPuzzle> puzzles;
  read_puzzle_csv(path, [&](const PuzzleCsvRow& row) { puzzles.push_back(parse_sudoku_row(row, path)); });
  if (puzzles.empty()) throw InputError(path, "no puzzles after the header line");
  // The solver checks run in parallel; the first bad row in file order is the one reported.
  std::mutex bad_mutex;
  std::size_t bad = puzzles.size();
  std::string why;
  parallel_for(puzzles.size(), 64, [&](std::size_t i) {
    std::string e = check_sudoku_puzzle(puzzles[i]);
    if (e.empty()) return true;
    const std::lock_guard<std::mutex> lock(bad_mutex);
    if (i < bad) { bad = i; why = std::move(e); }
    return false;
  });
  if (bad < puzzles.size()) throw InputError(csv_where(path, puzzles[bad].line), why, "fix or remove this row");
  return puzzles;
}

std::vector<SudokuPuzzle> generate_sudokus(std::int64_t count, std::uint64_t seed, std::optional<std::int64_t> min_rating) {
  HRM_CHECK(count >= 0, "negative puzzle count");
  std::vector<SudokuPuzzle> puzzles(static_cast<std::size_t>(count));
  parallel_for(puzzles.size(), 1, [&](std::size_t i) {  // puzzles take 0.1-100 ms: hand out one at a time
    SplitMix64 rng(stream_seed(seed, kStreamGenerate, i));
    for (int attempt = 0; attempt < kMaxGenerateAttempts; ++attempt) {
      puzzles[i] = generate_one(rng);
      if (!min_rating || *puzzles[i].rating >= *min_rating) return true;
    }
    throw InputError("--min-difficulty", fmt::format("no generated puzzle reached rating {} in {} tries", *min_rating, kMaxGenerateAttempts),
                     "generated puzzles are rated by solver guesses, mostly 0-10; lower --min-difficulty");
  });
  return puzzles;
}

SudokuShuffle random_sudoku_shuffle(SplitMix64& rng) {
  SudokuShuffle s;
  std::array<std::uint8_t, 9> digits{1, 2, 3, 4, 5, 6, 7, 8, 9};
  rng.shuffle(digits.data(), digits.size());
  std::copy(digits.begin(), digits.end(), s.digit_map.begin() + 1);
  s.transpose = rng.below(2) == 1;
  for (auto* perm : {&s.row_perm, &s.col_perm}) {
    std::array<std::uint8_t, 3> blocks{0, 1, 2};
    rng.shuffle(blocks.data(), blocks.size());
    for (std::size_t b = 0; b < 3; ++b) {
      std::array<std::uint8_t, 3> inner{0, 1, 2};
      rng.shuffle(inner.data(), inner.size());
      for (std::size_t k = 0; k < 3; ++k) (*perm)[b * 3 + k] = static_cast<std::uint8_t>(blocks[b] * 3 + inner[k]);
    }
  }
  return s;
}

SudokuGrid apply_sudoku_shuffle(const SudokuShuffle& s, const SudokuGrid& g) {
  SudokuGrid out{};
  for (std::size_t r = 0; r < 9; ++r)
    for (std::size_t c = 0; c < 9; ++c) {
      const std::size_t sr = s.row_perm[r], sc = s.col_perm[c];
      const std::uint8_t v = s.transpose ? g[sc * 9 + sr] : g[sr * 9 + sc];
      out[r * 9 + c] = s.digit_map[v];
    }
  return out;
}

}  // namespace hrm
