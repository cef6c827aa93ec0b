// dataset.hpp: HRM's on-disk dataset format (HRM-SPEC 4.1): reading, validating, writing.
//
// <dir>/identifiers.json, <dir>/<split>/dataset.json, <dir>/<split>/all__{inputs,labels,
// puzzle_identifiers,puzzle_indices,group_indices}.npy. Hierarchy: group -> puzzles (CSR offsets in
// group_indices) -> examples (CSR offsets in puzzle_indices) -> one row of inputs/labels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/npy.hpp"

namespace hrm {

struct DatasetMetadata {
  std::int64_t pad_id = 0;
  std::optional<std::int64_t> ignore_label_id = 0;
  std::int64_t blank_identifier_id = 0;
  std::int64_t vocab_size = 0;
  std::int64_t seq_len = 0;
  std::int64_t num_puzzle_identifiers = 0;
  std::int64_t total_groups = 0;
  double mean_puzzle_examples = 0.0;
  std::vector<std::string> sets{"all"};
};

// dataset.json exactly as HRM's json.dump writes it (HRM-SPEC 11.2 item 2).
std::string metadata_to_json(const DatasetMetadata& m);
DatasetMetadata metadata_from_json(const std::string& text, const std::string& path);

// One split of a built dataset, opened for reading. Index arrays are loaded and validated (start at
// 0, non-decreasing, end at the row/puzzle count; identifiers within num_puzzle_identifiers);
// inputs/labels stay memory-mapped and only their headers and sizes are checked.
class DatasetSplit {
 public:
  static DatasetSplit open(const std::string& dataset_dir, const std::string& split);

  const std::string& dir() const { return dir_; }
  const DatasetMetadata& meta() const { return meta_; }
  std::int64_t num_examples() const { return puzzle_indices_.back(); }
  std::int64_t num_puzzles() const { return static_cast<std::int64_t>(puzzle_identifiers_.size()); }
  std::int64_t num_groups() const { return static_cast<std::int64_t>(group_indices_.size()) - 1; }
  const std::vector<std::int64_t>& puzzle_indices() const { return puzzle_indices_; }
  const std::vector<std::int64_t>& group_indices() const { return group_indices_; }
  const std::vector<std::int64_t>& puzzle_identifiers() const { return puzzle_identifiers_; }
  const NpyArray& inputs() const { return inputs_; }
  const NpyArray& labels() const { return labels_; }

 private:
  std::string dir_;
  DatasetMetadata meta_;
  std::vector<std::int64_t> puzzle_indices_, group_indices_, puzzle_identifiers_;
  NpyArray inputs_, labels_;
  DatasetSplit(NpyArray in, NpyArray lab) : inputs_(std::move(in)), labels_(std::move(lab)) {}
};

// Accumulates one split in memory, in HRM's nesting order, for the builders.
class SplitWriter {
 public:
  explicit SplitWriter(std::int64_t seq_len) : seq_len_(seq_len) {}
  void add_example(const std::uint8_t* input, const std::uint8_t* label);  // seq_len tokens each
  void end_puzzle(std::int32_t identifier);   // closes the examples added since the last puzzle
  void end_group();                           // closes the puzzles added since the last group
  std::int64_t num_examples() const { return static_cast<std::int64_t>(puzzle_indices_.back()) + pending_; }
  std::int64_t num_puzzles() const { return static_cast<std::int64_t>(puzzle_identifiers_.size()); }
  std::int64_t num_groups() const { return static_cast<std::int64_t>(group_indices_.size()) - 1; }
  // Writes <dir>/<split>/ with dataset.json; fills total_groups and mean_puzzle_examples of `meta`.
  void write(const std::string& dataset_dir, const std::string& split, DatasetMetadata meta) const;

 private:
  std::int64_t seq_len_;
  std::int64_t pending_ = 0;
  std::vector<std::uint8_t> inputs_, labels_;
  std::vector<std::int32_t> puzzle_identifiers_;
  std::vector<std::int32_t> puzzle_indices_{0};
  std::vector<std::int32_t> group_indices_{0};
};

void write_identifiers(const std::string& dataset_dir, const std::vector<std::string>& names);
std::vector<std::string> read_identifiers(const std::string& dataset_dir);

}  // namespace hrm
