// census.hpp: counts of a dataset split (ARCHITECTURE.md 4.1), from index arrays only.
#pragma once

#include <cstdint>
#include <string>

#include "datasets/dataset.hpp"

namespace hrm {

struct Census {
  std::int64_t examples = 0, puzzles = 0, groups = 0;
  std::int64_t min_puzzle_examples = 0, max_puzzle_examples = 0;
  double mean_puzzle_examples = 0.0;                 // examples / puzzles
  std::int64_t min_group_puzzles = 0, max_group_puzzles = 0;
  double mean_group_puzzles = 0.0;
  double examples_per_epoch = 0.0;                   // one puzzle drawn per group: sum over groups of its mean puzzle size
  std::int64_t seq_len = 0, vocab_size = 0, num_puzzle_identifiers = 0;
  std::int64_t distinct_identifiers = 0;             // identifiers used by this split's puzzles
};

Census take_census(const DatasetSplit& s);

}  // namespace hrm
