// dataset.cpp: dataset.json bytes, split reading with validation, split writing.
#include "datasets/dataset.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/json_format.hpp"

namespace fs = std::filesystem;

namespace hrm {
namespace {

std::string read_text(const std::string& path, const std::string& hint) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot open", hint);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::int64_t get_int(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key)) throw InputError(path, fmt::format("missing field '{}'", key), "rebuild the dataset");
  if (!j[key].is_number_integer()) throw InputError(path, fmt::format("field '{}' must be an integer", key));
  return j[key].get<std::int64_t>();
}

// Index arrays: 1-D, start at 0, non-decreasing, end at `end` (when end >= 0).
std::vector<std::int64_t> load_index(const std::string& path, std::int64_t end, const char* what) {
  NpyArray a = NpyArray::open(path);
  if (a.shape().size() != 1) throw InputError(path, fmt::format("expected a 1-D array of {}, got {} dimensions", what, a.shape().size()));
  std::vector<std::int64_t> v = a.to_int64();
  if (v.empty() || v.front() != 0)
    throw InputError(path, fmt::format("{} must start at 0", what), "the CSR offsets are corrupt; rebuild the dataset");
  for (std::size_t i = 1; i < v.size(); ++i)
    if (v[i] < v[i - 1])
      throw InputError(path, fmt::format("{} are not monotonic: element {} is {} after {}", what, i, v[i], v[i - 1]),
                       "the CSR offsets are corrupt; rebuild the dataset");
  if (end >= 0 && v.back() != end)
    throw InputError(path, fmt::format("{} end at {} but there are {}", what, v.back(), end),
                     "the arrays of this split do not belong together; rebuild the dataset");
  return v;
}

}  // namespace

std::string metadata_to_json(const DatasetMetadata& m) {
  std::vector<std::string> sets = m.sets;
  return fmt::format(
      "{{\"pad_id\": {}, \"ignore_label_id\": {}, \"blank_identifier_id\": {}, \"vocab_size\": {}, "
      "\"seq_len\": {}, \"num_puzzle_identifiers\": {}, \"total_groups\": {}, \"mean_puzzle_examples\": {}, "
      "\"sets\": {}}}",
      m.pad_id, m.ignore_label_id ? std::to_string(*m.ignore_label_id) : "null", m.blank_identifier_id,
      m.vocab_size, m.seq_len, m.num_puzzle_identifiers, m.total_groups,
      python_float_repr(m.mean_puzzle_examples), python_json_string_list(sets));
}

DatasetMetadata metadata_from_json(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path, fmt::format("malformed JSON at byte {}: {}", e.byte, e.what()), "rebuild the dataset");
  } catch (const nlohmann::json::out_of_range& e) {
    throw InputError(path, "malformed JSON: " + json_error_reason(e), "rebuild the dataset");
  }
  if (!j.is_object()) throw InputError(path, "expected a JSON object");
  DatasetMetadata m;
  m.pad_id = get_int(j, "pad_id", path);
  if (!j.contains("ignore_label_id")) throw InputError(path, "missing field 'ignore_label_id'");
  if (j["ignore_label_id"].is_null()) m.ignore_label_id.reset();
  else m.ignore_label_id = get_int(j, "ignore_label_id", path);
  m.blank_identifier_id = get_int(j, "blank_identifier_id", path);
  m.vocab_size = get_int(j, "vocab_size", path);
  m.seq_len = get_int(j, "seq_len", path);
  m.num_puzzle_identifiers = get_int(j, "num_puzzle_identifiers", path);
  m.total_groups = get_int(j, "total_groups", path);
  if (!j.contains("mean_puzzle_examples") || !j["mean_puzzle_examples"].is_number())
    throw InputError(path, "field 'mean_puzzle_examples' must be a number");
  m.mean_puzzle_examples = j["mean_puzzle_examples"].get<double>();
  if (!j.contains("sets") || !j["sets"].is_array() || j["sets"].empty())
    throw InputError(path, "field 'sets' must be a non-empty list of set names");
  m.sets.clear();
  for (auto& s : j["sets"]) {
    if (!s.is_string()) throw InputError(path, "field 'sets' must hold strings");
    m.sets.push_back(s.get<std::string>());
  }
  if (m.vocab_size <= 0 || m.vocab_size > 256) throw InputError(path, fmt::format("vocab_size {} is outside 1..256", m.vocab_size));
  if (m.seq_len <= 0) throw InputError(path, fmt::format("seq_len {} must be positive", m.seq_len));
  if (m.num_puzzle_identifiers <= 0) throw InputError(path, "num_puzzle_identifiers must be positive");
  return m;
}

DatasetSplit DatasetSplit::open(const std::string& dataset_dir, const std::string& split) {
  const std::string dir = (fs::path(dataset_dir) / split).string();
  const std::string meta_path = (fs::path(dir) / "dataset.json").string();
  if (!fs::is_directory(dataset_dir))
    throw InputError(dataset_dir, "dataset folder does not exist",
                     "build it first, e.g. `hrm data build sudoku --csv data/sudoku/sudoku-extreme-train-1k.csv --out " + dataset_dir + "`");
  DatasetMetadata meta = metadata_from_json(read_text(meta_path, "not an HRM dataset split (no dataset.json)"), meta_path);
  if (meta.sets.size() != 1)
    throw InputError(meta_path, fmt::format("{} sets; hrmkit reads datasets with exactly one set", meta.sets.size()));
  const std::string set = meta.sets[0];
  auto file = [&](const char* f) { return (fs::path(dir) / (set + "__" + f + ".npy")).string(); };

  NpyArray inputs = NpyArray::open(file("inputs"));
  NpyArray labels = NpyArray::open(file("labels"));
  for (const NpyArray* a : {&inputs, &labels}) {
    if (a->shape().size() != 2 || a->dim(1) != meta.seq_len)
      throw InputError(a->path(), fmt::format("expected shape (examples, {}) from dataset.json's seq_len", meta.seq_len));
  }
  if (labels.dim(0) != inputs.dim(0))
    throw InputError(labels.path(), fmt::format("{} rows but inputs have {}", labels.dim(0), inputs.dim(0)));

  DatasetSplit s(std::move(inputs), std::move(labels));
  s.dir_ = dir;
  s.meta_ = meta;
  s.puzzle_indices_ = load_index(file("puzzle_indices"), s.inputs_.dim(0), "puzzle_indices (example offsets)");
  const std::int64_t num_puzzles = static_cast<std::int64_t>(s.puzzle_indices_.size()) - 1;
  s.group_indices_ = load_index(file("group_indices"), num_puzzles, "group_indices (puzzle offsets)");
  {
    NpyArray ids = NpyArray::open(file("puzzle_identifiers"));
    if (ids.shape().size() != 1 || ids.dim(0) != num_puzzles)
      throw InputError(ids.path(), fmt::format("expected {} identifiers (one per puzzle)", num_puzzles));
    s.puzzle_identifiers_ = ids.to_int64();
    for (std::size_t i = 0; i < s.puzzle_identifiers_.size(); ++i) {
      const auto v = s.puzzle_identifiers_[i];
      if (v < 0 || v >= meta.num_puzzle_identifiers)
        throw InputError(ids.path(), fmt::format("identifier {} of puzzle {} is outside 0..{} (num_puzzle_identifiers)",
                                                 v, i, meta.num_puzzle_identifiers - 1));
    }
  }
  if (s.num_groups() != meta.total_groups)
    throw InputError(meta_path, fmt::format("total_groups is {} but group_indices holds {} groups", meta.total_groups, s.num_groups()));
  return s;
}

void SplitWriter::add_example(const std::uint8_t* input, const std::uint8_t* label) {
  inputs_.insert(inputs_.end(), input, input + seq_len_);
  labels_.insert(labels_.end(), label, label + seq_len_);
  ++pending_;
}

void SplitWriter::end_puzzle(std::int32_t identifier) {
  HRM_CHECK(pending_ > 0, "a puzzle needs at least one example");
  puzzle_indices_.push_back(static_cast<std::int32_t>(puzzle_indices_.back() + pending_));
  puzzle_identifiers_.push_back(identifier);
  pending_ = 0;
}

void SplitWriter::end_group() {
  HRM_CHECK(pending_ == 0, "end_puzzle() before end_group()");
  HRM_CHECK(static_cast<std::int64_t>(puzzle_identifiers_.size()) > group_indices_.back(), "a group needs a puzzle");
  group_indices_.push_back(static_cast<std::int32_t>(puzzle_identifiers_.size()));
}

void SplitWriter::write(const std::string& dataset_dir, const std::string& split, DatasetMetadata meta) const {
  HRM_CHECK(pending_ == 0 && static_cast<std::int64_t>(puzzle_identifiers_.size()) == group_indices_.back(),
            "unfinished puzzle or group");
  const fs::path dir = fs::path(dataset_dir) / split;
  fs::create_directories(dir);
  const std::int64_t rows = puzzle_indices_.back();
  const std::int64_t puzzles = static_cast<std::int64_t>(puzzle_identifiers_.size());
  meta.seq_len = seq_len_;
  meta.total_groups = num_groups();
  meta.mean_puzzle_examples = puzzles ? static_cast<double>(rows) / static_cast<double>(puzzles) : 0.0;
  const std::string set = meta.sets.at(0);
  auto file = [&](const char* f) { return (dir / (set + "__" + f + ".npy")).string(); };
  write_npy(file("inputs"), {rows, seq_len_}, inputs_);
  write_npy(file("labels"), {rows, seq_len_}, labels_);
  write_npy(file("puzzle_identifiers"), {puzzles}, puzzle_identifiers_);
  write_npy(file("puzzle_indices"), {puzzles + 1}, puzzle_indices_);
  write_npy(file("group_indices"), {num_groups() + 1}, group_indices_);
  std::ofstream f(dir / "dataset.json", std::ios::binary | std::ios::trunc);
  f << metadata_to_json(meta);
  if (!f) throw InputError((dir / "dataset.json").string(), "write failed");
}

void write_identifiers(const std::string& dataset_dir, const std::vector<std::string>& names) {
  const auto path = fs::path(dataset_dir) / "identifiers.json";
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << python_json_string_list(names);
  if (!f) throw InputError(path.string(), "write failed");
}

std::vector<std::string> read_identifiers(const std::string& dataset_dir) {
  const std::string path = (fs::path(dataset_dir) / "identifiers.json").string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text(path, "every HRM dataset has identifiers.json"));
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path, fmt::format("malformed JSON at byte {}", e.byte));
  } catch (const nlohmann::json::out_of_range& e) {
    throw InputError(path, "malformed JSON: " + json_error_reason(e));
  }
  if (!j.is_array()) throw InputError(path, "expected a JSON list of puzzle names");
  std::vector<std::string> out;
  for (auto& s : j) {
    if (!s.is_string()) throw InputError(path, "expected a JSON list of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace hrm
