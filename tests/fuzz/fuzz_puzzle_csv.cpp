// fuzz_puzzle_csv.cpp: the Sudoku and Maze CSV readers (datasets/puzzle_csv.cpp and the row checks
// of datasets/build_sudoku.cpp, datasets/build_maze.cpp). The first byte picks the builder (even:
// Sudoku, odd: Maze), the rest is the CSV; a build that accepts it writes a real (tiny) dataset
// into the scratch folder, which is removed again.
#include <filesystem>

#include "datasets/build_maze.hpp"
#include "datasets/build_sudoku.hpp"
#include "datasets/puzzle_csv.hpp"
#include "tests/fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool maze = data[0] & 1;
  const std::string csv = hrm_fuzz::write_input("input.csv", data + 1, size - 1);
  const std::string out = (hrm_fuzz::scratch_dir() / "out").string();
  hrm_fuzz::accept_input_errors([&] {
    hrm::read_puzzle_csv(csv, [&](const hrm::PuzzleCsvRow& row) { (void)hrm::parse_csv_rating(row, csv); });
  });
  hrm_fuzz::accept_input_errors([&] {
    if (maze) {
      hrm::MazeBuildOptions o;
      o.csv = csv;
      o.test_fraction = 0.5;
      o.aug = (data[0] & 2) != 0;
      o.out = out;
      hrm::build_maze(o);
    } else {
      hrm::SudokuBuildOptions o;
      o.csv = csv;
      o.test_fraction = 0.5;
      o.num_aug = (data[0] >> 1) & 3;
      if (data[0] & 8) o.min_difficulty = 1;
      o.out = out;
      hrm::build_sudoku(o);
    }
  });
  std::error_code ec;
  std::filesystem::remove_all(out, ec);
  return 0;
}
