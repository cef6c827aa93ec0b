// puzzle_csv.cpp: the four-column CSV reader (Python csv's default dialect, one line per row) and
// seeded row selection.
#include "datasets/puzzle_csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <numeric>

#include "common/atomic_write.hpp"
#include "common/error.hpp"

namespace hrm {
namespace {

constexpr const char* kFormatHint = "expected HRM's CSV: a header line, then rows source,q,a,rating";

// Splits one line into fields, unescaping quoted fields as Python's csv module does.
// Returns false, with `why` set, when a quote is malformed.
bool split_csv_line(const std::string& line, std::vector<std::string>& fields, std::string& why) {
  fields.clear();
  std::size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) { why = "a quoted field is not closed on this line"; return false; }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') { field += '"'; i += 2; continue; }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') { why = "text after a closing quote"; return false; }
    } else {
      const std::size_t end = std::min(line.find(',', i), line.size());
      field.assign(line, i, end - i);
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

}  // namespace

std::string csv_where(const std::string& path, std::int64_t line) { return fmt::format("{}:{}", path, line); }

std::string describe_char(char c) {
  if (c >= 0x20 && c < 0x7F) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
}

void read_puzzle_csv(const std::string& path, const std::function<void(const PuzzleCsvRow&)>& on_row) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot open", kFormatHint);
  std::string text, why;
  std::vector<std::string> fields;
  PuzzleCsvRow row;
  while (std::getline(f, text)) {
    ++row.line;
    if (!text.empty() && text.back() == '\r') text.pop_back();  // CRLF files
    if (!split_csv_line(text, fields, why)) throw InputError(csv_where(path, row.line), why, kFormatHint);
    if (fields.size() != 4)
      throw InputError(csv_where(path, row.line), fmt::format("expected 4 fields (source,q,a,rating), got {}", fields.size()),
                       kFormatHint);
    if (row.line == 1) {
      // "question" is the longest header name; a longer second field is a puzzle.
      if (fields[1].size() > 8)
        throw InputError(csv_where(path, 1), "the first line holds a puzzle, not a header",
                         "add the header line source,q,a,rating (HRM skips the first line)");
      continue;
    }
    row.source = std::move(fields[0]);
    row.question = std::move(fields[1]);
    row.answer = std::move(fields[2]);
    row.rating = std::move(fields[3]);
    on_row(row);
  }
  if (f.bad()) throw InputError(path, "read error");
  if (row.line == 0) throw InputError(path, "the file is empty", kFormatHint);
}

std::optional<std::int64_t> parse_csv_rating(const PuzzleCsvRow& row, const std::string& path) {
  if (row.rating.empty()) return std::nullopt;
  std::int64_t v = 0;
  const char* end = row.rating.data() + row.rating.size();
  const auto [p, ec] = std::from_chars(row.rating.data(), end, v);
  if (ec != std::errc() || p != end)
    throw InputError(csv_where(path, row.line), fmt::format("rating '{}' is not an integer", row.rating),
                     "the fourth column is the puzzle's rating (an integer) or empty");
  return v;
}

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t SplitMix64::below(std::uint64_t n) {
  // Reject the top partial copy of [0, n) so every residue is equally likely.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  std::uint64_t v;
  do v = next(); while (v >= limit);
  return v % n;
}

std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t purpose, std::uint64_t index) {
  SplitMix64 a(seed);
  SplitMix64 b(a.next() ^ (purpose * 0xD1B54A32D192ED03ULL));
  SplitMix64 c(b.next() ^ (index * 0x8CB92BA72F3D8DD7ULL));
  return c.next();
}

std::vector<std::size_t> sample_indices(std::size_t n, std::size_t k, SplitMix64& rng) {
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  // Partial Fisher-Yates: the first k slots become a uniform sample.
  for (std::size_t i = 0; i < k; ++i) std::swap(all[i], all[i + rng.below(n - i)]);
  all.resize(k);
  std::sort(all.begin(), all.end());
  return all;
}

RowSplit hold_out_rows(std::size_t n, double fraction, SplitMix64& rng, const std::string& where) {
  const auto k = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
  if (k == 0 || k >= n)
    throw InputError(where,
                     fmt::format("--test-fraction {} of {} puzzles leaves {} for test and {} for train", fraction, n, k,
                                 n - std::min(k, n)),
                     "both splits need at least one puzzle: choose another fraction or give --test-csv");
  RowSplit s;
  s.test = sample_indices(n, k, rng);
  std::vector<char> is_test(n, 0);
  for (std::size_t i : s.test) is_test[i] = 1;
  for (std::size_t i = 0; i < n; ++i)
    if (!is_test[i]) s.train.push_back(i);
  return s;
}

std::vector<std::size_t> subsample_rows(std::size_t n, std::int64_t subsample, SplitMix64& rng) {
  return sample_indices(n, std::min(n, static_cast<std::size_t>(std::max<std::int64_t>(subsample, 0))), rng);
}

BuildSummary write_blank_id_dataset(const std::string& out, const SplitWriter& train, const SplitWriter& test,
                                    const DatasetMetadata& meta, std::chrono::steady_clock::time_point start) {
  StagingDir stage(out);
  train.write(stage.path(), "train", meta);
  test.write(stage.path(), "test", meta);
  write_identifiers(stage.path(), {"<blank>"});
  stage.commit("identifiers.json");
  BuildSummary s;
  s.out = out;
  s.train_examples = train.num_examples();
  s.train_groups = train.num_groups();
  s.test_examples = test.num_examples();
  s.test_groups = test.num_groups();
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

}  // namespace hrm
