// census.cpp: one pass over the CSR index arrays.
#include "datasets/census.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace hrm {

Census take_census(const DatasetSplit& s) {
  Census c;
  c.examples = s.num_examples();
  c.puzzles = s.num_puzzles();
  c.groups = s.num_groups();
  c.seq_len = s.meta().seq_len;
  c.vocab_size = s.meta().vocab_size;
  c.num_puzzle_identifiers = s.meta().num_puzzle_identifiers;
  const auto& pi = s.puzzle_indices();
  const auto& gi = s.group_indices();
  c.min_puzzle_examples = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t p = 0; p < c.puzzles; ++p) {
    const auto n = pi[p + 1] - pi[p];
    c.min_puzzle_examples = std::min(c.min_puzzle_examples, n);
    c.max_puzzle_examples = std::max(c.max_puzzle_examples, n);
  }
  if (c.puzzles == 0) c.min_puzzle_examples = 0;
  c.mean_puzzle_examples = c.puzzles ? double(c.examples) / double(c.puzzles) : 0.0;
  c.min_group_puzzles = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t g = 0; g < c.groups; ++g) {
    const auto np = gi[g + 1] - gi[g];
    c.min_group_puzzles = std::min(c.min_group_puzzles, np);
    c.max_group_puzzles = std::max(c.max_group_puzzles, np);
    if (np > 0) c.examples_per_epoch += double(pi[gi[g + 1]] - pi[gi[g]]) / double(np);
  }
  if (c.groups == 0) c.min_group_puzzles = 0;
  c.mean_group_puzzles = c.groups ? double(c.puzzles) / double(c.groups) : 0.0;
  std::vector<bool> seen(static_cast<std::size_t>(c.num_puzzle_identifiers), false);
  for (auto id : s.puzzle_identifiers()) {
    if (!seen[static_cast<std::size_t>(id)]) { seen[static_cast<std::size_t>(id)] = true; ++c.distinct_identifiers; }
  }
  return c;
}

}  // namespace hrm
