// puzzle_csv.hpp: what the Sudoku and Maze builders share: HRM's puzzle CSV (a header line, then
// rows of exactly four fields source,q,a,rating; HRM-SPEC 4.2/4.3) read one row at a time, and the
// seeded choice of rows for a held-out test split or a train subsample.
//
// HRM reads these files with Python's csv module, so quoted fields ("a,b", "" for a quote) are
// accepted; a quote left open at the end of a line is an error (no puzzle spans lines).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datasets/build_sudoku.hpp"  // BuildSummary
#include "datasets/dataset.hpp"

namespace hrm {

struct PuzzleCsvRow {
  std::int64_t line = 0;  // 1-based line in the file, for error messages
  std::string source, question, answer, rating;
};

// Calls `on_row` for every row after the header. The header's names are not checked (HRM's files
// say source,q,a,rating, the Hugging Face copies source,question,answer,rating), but a first line
// that holds a puzzle is an error: the file probably lacks its header and HRM would drop that row.
void read_puzzle_csv(const std::string& path, const std::function<void(const PuzzleCsvRow&)>& on_row);

// The rating column as an integer; empty -> nullopt (the shared Sudoku CSV has no ratings).
// Anything else that is not an integer is an InputError naming path:line.
std::optional<std::int64_t> parse_csv_rating(const PuzzleCsvRow& row, const std::string& path);

std::string csv_where(const std::string& path, std::int64_t line);  // "path:line"
std::string describe_char(char c);  // for error messages: 'x', or "byte 0x1f" when not printable

// SplitMix64 (Steele et al. 2014): tiny, fast, and identical on every platform, unlike the
// std:: distributions, so a seed gives the same dataset everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n);  // uniform on [0, n), n > 0, by rejection (no modulo bias)
  template <class T> void shuffle(T* first, std::size_t n) {  // Fisher-Yates
    for (std::size_t i = n; i > 1; --i) std::swap(first[i - 1], first[below(i)]);
  }

 private:
  std::uint64_t state_;
};

// An independent stream per (seed, purpose, index), so parallel work can draw in any order and
// still produce the same bytes.
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index = 0);
// The purposes, one value each across the builders (changing one changes every dataset built).
inline constexpr std::uint64_t kStreamGenerate = 1, kStreamHoldOut = 2, kStreamSubsample = 3, kStreamAugment = 4;

// k of the indices 0..n-1, uniformly without replacement, returned in increasing order (so the
// kept rows stay in file order).
std::vector<std::size_t> sample_indices(std::size_t n, std::size_t k, SplitMix64& rng);

// The rows 0..n-1 split by a held-out fraction (0 < fraction < 1) chosen with `rng`:
// round(fraction * n) rows go to the test split. Both parts keep file order; neither may be empty.
struct RowSplit {
  std::vector<std::size_t> train, test;
};
RowSplit hold_out_rows(std::size_t n, double fraction, SplitMix64& rng, const std::string& where);

// The rows HRM's subsample_size keeps: `subsample` of rows 0..n-1 at random (all when there are
// not more), in file order.
std::vector<std::size_t> subsample_rows(std::size_t n, std::int64_t subsample, SplitMix64& rng);

// Writes both splits and identifiers.json ["<blank>"] (one identifier: Sudoku, Maze) into a staged
// `out` that appears whole, and summarises the build begun at `start`.
BuildSummary write_blank_id_dataset(const std::string& out, const SplitWriter& train, const SplitWriter& test,
                                    const DatasetMetadata& meta, std::chrono::steady_clock::time_point start);

}  // namespace hrm
