// sudoku_check.hpp: is a predicted Sudoku grid a solution of its puzzle? An extra evaluation metric
// beside HRM's exact accuracy: a puzzle with several solutions can be solved correctly by a grid
// that differs from the dataset's label.
//
// Tokens are HRM's Sudoku layout (datasets/build_sudoku.cpp, HRM-SPEC 4.5): PAD 0, blank 1, digit d
// -> d + 1 (2..10); 81 tokens per row, row-major.
#pragma once

#include <cstdint>
#include <span>

namespace hrm {

// True when every predicted token is a digit (2..10), every row, column and 3x3 box holds each of
// 1..9 once, and every given of the input (tokens 2..10) is kept. An input token other than blank
// or a digit (not a Sudoku puzzle row) makes it false.
bool is_valid_sudoku_solution(std::span<const std::int32_t> input, std::span<const std::int32_t> prediction);

// Rows (N, 81) of inputs and predictions: how many predictions are valid solutions.
std::int64_t count_valid_sudoku_solutions(std::span<const std::int32_t> inputs, std::span<const std::int32_t> predictions);

}  // namespace hrm
