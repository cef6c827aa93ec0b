// sudoku.hpp: Sudoku grids for the builder (HRM-SPEC 4.2): CSV rows parsed and checked, a solver
// that counts solutions up to a limit and measures its search effort, a generator of puzzles with a
// unique solution, and HRM's augmentation (shuffle_sudoku in build_sudoku_dataset.py).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/puzzle_csv.hpp"

namespace hrm {

using SudokuGrid = std::array<std::uint8_t, 81>;  // row-major; 0 = blank, 1..9 = digit

struct SudokuPuzzle {
  SudokuGrid question{}, answer{};
  std::optional<std::int64_t> rating;  // CSV column, or the generator's measured guesses
  std::int64_t line = 0;               // CSV line (0 for generated puzzles), for error messages
};

struct SudokuSolveResult {
  int solutions = 0;         // 0, 1, or `max_solutions` meaning "at least that many"
  SudokuGrid solution{};     // the first solution found (when solutions > 0)
  std::int64_t guesses = 0;  // branch alternatives tried: the search effort, 0 = singles suffice
};

// Depth-first search with naked and hidden singles, branching on the cell with the fewest
// candidates, digits in increasing order (so `guesses` is a deterministic difficulty rating).
// Stops once `max_solutions` solutions are found. A grid whose givens already clash has none.
SudokuSolveResult solve_sudoku(const SudokuGrid& grid, int max_solutions = 2);

// Empty when `answer` is a complete grid with every row, column and box a permutation of 1..9;
// otherwise says where it breaks ("digit 5 repeats in row 3").
std::string sudoku_solution_error(const SudokuGrid& answer);

// One CSV row as a puzzle. Checks the lengths (81) and characters ('.' or '0' blank and 1-9 in the
// question, 1-9 in the answer) and the rating column; an InputError names path:line. The solver
// checks (answer valid, givens agree, solution unique) are in check_sudoku_puzzle.
SudokuPuzzle parse_sudoku_row(const PuzzleCsvRow& row, const std::string& path);

// Empty when the answer is a valid grid, every given agrees with it and it is the puzzle's only
// solution; otherwise what is wrong.
std::string check_sudoku_puzzle(const SudokuPuzzle& p);

// Every row of a Sudoku CSV, parsed and checked (the solver checks run on all cores). The first
// bad row, in file order, is an InputError naming path:line.
std::vector<SudokuPuzzle> read_sudoku_csv(const std::string& path);

// `count` puzzles with a unique solution, each minimal (no given can be removed without losing
// uniqueness) and rated by solve_sudoku's guesses; with `min_rating`, puzzles rated lower are
// discarded and redrawn. Puzzle i depends only on (seed, i), so the result does not depend on
// the number of threads. Throws InputError when `min_rating` is out of reach (too many redraws).
std::vector<SudokuPuzzle> generate_sudokus(std::int64_t count, std::uint64_t seed,
                                           std::optional<std::int64_t> min_rating);

// One draw of HRM's shuffle_sudoku: applied identically to a puzzle and its solution it gives an
// equivalent puzzle whose solution is the shuffled solution.
struct SudokuShuffle {
  std::array<std::uint8_t, 10> digit_map{};  // 0 -> 0 (blank stays blank), 1..9 -> a permutation
  bool transpose = false;                    // probability 0.5
  std::array<std::uint8_t, 9> row_perm{};    // 3 bands permuted, rows permuted inside each band
  std::array<std::uint8_t, 9> col_perm{};    // 3 stacks permuted, columns permuted inside each stack
};

SudokuShuffle random_sudoku_shuffle(SplitMix64& rng);

// As shuffle_sudoku's apply_transformation: transpose, then new cell (r, c) = old cell
// (row_perm[r], col_perm[c]), then the digit map.
SudokuGrid apply_sudoku_shuffle(const SudokuShuffle& s, const SudokuGrid& g);

}  // namespace hrm
