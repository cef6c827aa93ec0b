// arc_task.cpp: ARC task JSON -> ArcTask. nlohmann's ordered_json keeps the key order HRM walks
// (HRM-SPEC 11.2 item 8); for repeated keys it keeps the first position and the last value, as
// Python's json.load does.
#include "datasets/arc_task.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/json_format.hpp"

namespace hrm {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kGridHint =
    "an ARC grid is a list of equal-length rows of integers 0-9, between 1x1 and 30x30";

std::string read_whole_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path, "cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw InputError(path, "cannot read");
  return ss.str();
}

// nlohmann reports the byte offset of the character where parsing stopped (1-based).
std::string line_col(const std::string& text, std::size_t byte) {
  const std::size_t end = std::min(byte > 0 ? byte - 1 : 0, text.size());
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
  }
  return fmt::format("line {}, column {}", line, col);
}

ByteGrid read_grid(const Json& j, const std::string& path, const std::string& at) {
  if (!j.is_array() || j.empty())
    throw InputError(path, fmt::format("{}: expected a non-empty list of rows, found {}", at, j.dump()), kGridHint);
  ByteGrid g;
  g.h = static_cast<int>(j.size());
  if (g.h > kArcMaxGridSize)
    throw InputError(path, fmt::format("{}: {} rows, more than {}", at, g.h, kArcMaxGridSize), kGridHint);
  for (std::size_t r = 0; r < j.size(); ++r) {
    const Json& row = j[r];
    const std::string row_at = fmt::format("{}[{}]", at, r);
    if (!row.is_array() || row.empty())
      throw InputError(path, fmt::format("{}: expected a non-empty list of colours, found {}", row_at, row.dump()), kGridHint);
    if (r == 0) {
      g.w = static_cast<int>(row.size());
      if (g.w > kArcMaxGridSize)
        throw InputError(path, fmt::format("{}: {} columns, more than {}", row_at, g.w, kArcMaxGridSize), kGridHint);
      g.cells.reserve(static_cast<std::size_t>(g.h) * row.size());
    } else if (static_cast<int>(row.size()) != g.w) {
      throw InputError(path, fmt::format("{}: ragged grid: this row has {} cells, row 0 has {}", row_at, row.size(), g.w), kGridHint);
    }
    for (std::size_t c = 0; c < row.size(); ++c) {
      const Json& v = row[c];
      const bool ok = v.is_number_unsigned() ? v.get<std::uint64_t>() <= 9
                      : v.is_number_integer() ? v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= 9
                                              : false;
      if (!ok) throw InputError(path, fmt::format("{}[{}]: colour {} is not an integer 0-9", row_at, c, v.dump()), kGridHint);
      g.cells.push_back(static_cast<std::uint8_t>(v.get<std::int64_t>()));
    }
  }
  return g;
}

std::vector<ArcPair> read_pairs(const Json& j, const char* key, const std::string& path) {
  if (!j.is_array() || j.empty())
    throw InputError(path, fmt::format("\"{}\": expected a non-empty list of input/output pairs, found {}", key,
                                       j.is_array() ? "[]" : j.type_name()),
                     "every ARC task has demonstration (\"train\") and query (\"test\") pairs");
  std::vector<ArcPair> pairs;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string at = fmt::format("{}[{}]", key, i);
    const Json& p = j[i];
    if (!p.is_object()) throw InputError(path, fmt::format("{}: expected an object with \"input\" and \"output\"", at));
    for (const char* side : {"input", "output"})
      if (!p.contains(side))
        throw InputError(path, fmt::format("{}: no \"{}\" grid", at, side), "HRM needs the output of query pairs too");
    pairs.push_back({read_grid(p["input"], path, at + ".input"), read_grid(p["output"], path, at + ".output")});
  }
  return pairs;
}

}  // namespace

ArcTask read_arc_task(const std::string& path) {
  const std::string text = read_whole_file(path);
  Json j;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path, "malformed JSON at " + line_col(text, e.byte));
  } catch (const nlohmann::json::out_of_range& e) {
    throw InputError(path, "malformed JSON: " + json_error_reason(e));
  }
  if (!j.is_object()) throw InputError(path, fmt::format("expected a JSON object, found {}", j.type_name()));

  ArcTask task;
  const std::string file = path.substr(path.find_last_of('/') + 1);
  task.name = file.substr(0, file.size() - (file.ends_with(".json") ? 5 : 0));  // Path(f).stem
  bool seen_train = false;
  for (const auto& [key, value] : j.items()) {
    if (key == "train") {
      task.train = read_pairs(value, "train", path);
      seen_train = true;
    } else if (key == "test") {
      task.test = read_pairs(value, "test", path);
      task.test_first = !seen_train;
    } else if (key == "name") {
      if (!value.is_string() || value.get<std::string>().empty())
        throw InputError(path, fmt::format("\"name\": expected a non-empty string, found {}", value.dump()));
      task.name = value.get<std::string>();
    } else {
      throw InputError(path, fmt::format("unexpected top-level key \"{}\"", key),
                       "an ARC task has \"train\", \"test\" and optionally \"name\"");
    }
  }
  for (const char* key : {"train", "test"})
    if (!j.contains(key)) throw InputError(path, fmt::format("no \"{}\" list", key), "every ARC task has \"train\" and \"test\" pairs");
  if (task.name.find('_') != std::string::npos)
    throw InputError(path, fmt::format("task name \"{}\" contains '_'", task.name),
                     "HRM's evaluator splits augmented names (<task>_t<id>_<colours>) on '_'; rename the file or set \"name\"");
  return task;
}

}  // namespace hrm
