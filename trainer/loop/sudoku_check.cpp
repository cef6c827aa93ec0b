// sudoku_check.cpp: tokens back to digits, then the builder's own rule check
// (datasets/sudoku.hpp sudoku_solution_error), so the dataset and the metric share one definition.
#include "trainer/loop/sudoku_check.hpp"

#include "common/error.hpp"
#include "datasets/sudoku.hpp"

namespace hrm {

namespace {
constexpr std::size_t kCells = 81;
constexpr std::int32_t kBlank = 1, kDigit1 = 2, kDigit9 = 10;
}  // namespace

bool is_valid_sudoku_solution(std::span<const std::int32_t> input, std::span<const std::int32_t> prediction) {
  HRM_CHECK(input.size() == kCells && prediction.size() == kCells, "Sudoku rows have {} and {} tokens, not 81",
            input.size(), prediction.size());
  SudokuGrid grid{};
  for (std::size_t i = 0; i < kCells; ++i) {
    const std::int32_t in = input[i], p = prediction[i];
    if (p < kDigit1 || p > kDigit9) return false;
    if (in != kBlank && (in < kDigit1 || in > kDigit9)) return false;
    if (in != kBlank && in != p) return false;  // a given was changed
    grid[i] = static_cast<std::uint8_t>(p - 1);
  }
  return sudoku_solution_error(grid).empty();
}

std::int64_t count_valid_sudoku_solutions(std::span<const std::int32_t> inputs, std::span<const std::int32_t> predictions) {
  HRM_CHECK(inputs.size() == predictions.size() && inputs.size() % kCells == 0,
            "{} input and {} prediction tokens are not N rows of 81", inputs.size(), predictions.size());
  std::int64_t valid = 0;
  for (std::size_t r = 0; r < inputs.size(); r += kCells)
    valid += is_valid_sudoku_solution(inputs.subspan(r, kCells), predictions.subspan(r, kCells));
  return valid;
}

}  // namespace hrm
