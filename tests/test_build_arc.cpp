// test_build_arc.cpp: the ARC builder (HRM-SPEC 4.4, 7.2, 11.2 items 5-12) against HRM's own
// build_arc_dataset.py (SHA-256 of its output, tests/fixtures/arc/hashes, made by
// tests/reference/hrm_arc_reference.py), the reference counts of the real ARC-1 data, the
// evaluator's inverse augmentation, and strict reading of task files.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "common/error.hpp"
#include "datasets/arc_task.hpp"
#include "datasets/build_arc.hpp"
#include "datasets/dataset.hpp"
#include "datasets/dihedral.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string repo(const std::string& rel) { return hrm_test::source_dir() + "/" + rel; }

// "sha256  relative/path" lines of every file under `dir`, sorted by path (sha256sum's format).
std::string tree_hashes(const std::string& dir) {
  const auto r = hrm_test::run("cd '" + dir + "' && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum");
  REQUIRE(r.code == 0);
  return r.out;
}

// A reference made by tests/reference/hrm_arc_reference.py: the build it describes (its second
// comment line is the equivalent hrm command) and the hash lines.
struct Reference {
  ArcBuildOptions options;
  std::string hashes;
};

Reference read_reference(const std::string& name) {
  std::istringstream in(hrm_test::read_file(repo("tests/fixtures/arc/hashes/" + name)));
  Reference ref;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#   hrm data build arc ", 0) == 0) {
      std::istringstream words(line.substr(std::string("#   hrm data build arc ").size()));
      std::string w, flag;
      while (words >> w) {
        if (w.rfind("--", 0) == 0) { flag = w; continue; }
        if (flag == "--dirs") ref.options.dirs.push_back(repo(w));
        if (flag == "--num-aug") ref.options.num_aug = std::stoll(w);
        if (flag == "--seed") ref.options.seed = static_cast<std::uint32_t>(std::stoul(w));
      }
    } else if (!line.empty() && line[0] != '#') {
      ref.hashes += line + "\n";
    }
  }
  REQUIRE(!ref.options.dirs.empty());
  return ref;
}

// Builds what a reference describes and compares every output file's hash with HRM's.
ArcBuildSummary check_against_hrm(const std::string& name) {
  Reference ref = read_reference(name);
  TempDir d;
  ref.options.out = d / "out";
  const ArcBuildSummary s = build_arc(ref.options);
  CHECK(tree_hashes(ref.options.out) == ref.hashes);
  return s;
}

}  // namespace

TEST_CASE("seed 42 reproduces HRM's build_arc_dataset.py byte for byte: fixture tasks, num_aug 0 and 8") {
  const ArcBuildSummary aug0 = check_against_hrm("fixture-aug0.sha256");
  CHECK(aug0.identifiers == 14);
  const ArcBuildSummary aug8 = check_against_hrm("fixture-aug8.sha256");
  CHECK(aug8.identifiers == 1 + 13 * 9);
  CHECK(aug8.incomplete.empty());
}

TEST_CASE("seed 7, DIRs in the other order, num_aug 100: HRM's bytes and its 'augmentation not full' tasks") {
  const ArcBuildSummary s = check_against_hrm("fixture-aug100-seed7.sha256");
  std::map<std::string, std::int64_t> incomplete(s.incomplete.begin(), s.incomplete.end());
  CHECK(incomplete == std::map<std::string, std::int64_t>{{"Count5", 72}, {"e872b94a", 72}, {"6f8cd79b", 18}});
}

TEST_CASE("real ARC-1 data (data/arc-agi-1 + data/conceptarc/corpus), num_aug 0 and 8: HRM's bytes and HRM-SPEC 11.2 item 12's counts") {
  struct Expected { const char* ref; std::int64_t train_puzzles, train_examples, test_puzzles, test_examples, identifiers; };
  for (const Expected& e : {Expected{"arc1-aug0.sha256", 960, 3988, 400, 419, 961},
                            Expected{"arc1-aug8.sha256", 8640, 35892, 3600, 3771, 8641}}) {
    CAPTURE(e.ref);
    Reference ref = read_reference(e.ref);
    TempDir d;
    ref.options.out = d / "out";
    const ArcBuildSummary s = build_arc(ref.options);
    const DatasetSplit train = DatasetSplit::open(ref.options.out, "train"), test = DatasetSplit::open(ref.options.out, "test");
    CHECK(train.num_groups() == 960);
    CHECK(train.num_puzzles() == e.train_puzzles);
    CHECK(train.num_examples() == e.train_examples);
    CHECK(test.num_groups() == 400);
    CHECK(test.num_puzzles() == e.test_puzzles);
    CHECK(test.num_examples() == e.test_examples);
    CHECK(train.meta().num_puzzle_identifiers == e.identifiers);
    CHECK(test.meta().num_puzzle_identifiers == e.identifiers);
    CHECK(s.identifiers == e.identifiers);
    CHECK(s.incomplete.empty());
    CHECK(tree_hashes(ref.options.out) == ref.hashes);
  }
}

namespace {

struct Placed {
  ByteGrid grid;  // colours 0-9
  int r0 = 0, c0 = 0;
};

bool is_colour(std::uint8_t token) { return token >= 2 && token <= 11; }

// The grid on a 30 x 30 canvas: its top-left corner is the first row and column holding a colour;
// from there HRM's evaluator crop (HRM-SPEC 7.2 step 3, 11.3 item 1) takes the largest rectangle
// of colours, scanning rows from the top with a shrinking width limit.
Placed locate_and_crop(const std::vector<std::uint8_t>& canvas) {
  Placed p{{}, 30, 30};
  for (int r = 0; r < 30; ++r)
    for (int c = 0; c < 30; ++c)
      if (is_colour(canvas[static_cast<std::size_t>(r * 30 + c)])) { p.r0 = std::min(p.r0, r); p.c0 = std::min(p.c0, c); }
  REQUIRE(p.r0 < 30);
  int best_area = 0, width_limit = 30 - p.c0;
  for (int h = 1; p.r0 + h <= 30; ++h) {
    int w = 0;
    while (w < width_limit && is_colour(canvas[static_cast<std::size_t>((p.r0 + h - 1) * 30 + p.c0 + w)])) ++w;
    width_limit = w;
    if (h * w > best_area) { best_area = h * w; p.grid.h = h; p.grid.w = w; }
  }
  for (int i = 0; i < p.grid.h; ++i)
    for (int j = 0; j < p.grid.w; ++j)
      p.grid.cells.push_back(static_cast<std::uint8_t>(canvas[static_cast<std::size_t>((p.r0 + i) * 30 + p.c0 + j)] - 2));
  return p;
}

// HRM-SPEC 4.4: colours at (r0, c0), EOS under the grid and right of it where there is room, PAD
// everywhere else (the corner cell too). Written as plain loops over the whole canvas.
std::vector<std::uint8_t> expected_canvas(const Placed& p) {
  std::vector<std::uint8_t> canvas(900, 0);
  for (int r = 0; r < 30; ++r)
    for (int c = 0; c < 30; ++c) {
      const int i = r - p.r0, j = c - p.c0;
      std::uint8_t& t = canvas[static_cast<std::size_t>(r * 30 + c)];
      if (i >= 0 && i < p.grid.h && j >= 0 && j < p.grid.w) t = static_cast<std::uint8_t>(p.grid.cells[static_cast<std::size_t>(i * p.grid.w + j)] + 2);
      else if ((i == p.grid.h && j >= 0 && j < p.grid.w) || (j == p.grid.w && i >= 0 && i < p.grid.h)) t = 1;
    }
  return canvas;
}

// What HRM's evaluator does to a prediction (HRM-SPEC 7.2 step 4): parse t<id> and the colour map
// from the last two '_' fields, apply the inverse dihedral transform, then the inverse colour map.
ByteGrid undo_augmentation(const ByteGrid& g, const std::string& name) {
  const std::size_t colours_at = name.rfind('_'), t_at = name.rfind('_', colours_at - 1);
  if (colours_at == std::string::npos) return g;
  REQUIRE(name[t_at + 1] == 't');
  const int t = std::stoi(name.substr(t_at + 2, colours_at - t_at - 2));
  const std::string map = name.substr(colours_at + 1);
  REQUIRE(map.size() == 10);
  std::array<std::uint8_t, 10> inverse{};  // argsort of the map
  for (std::size_t c = 0; c < 10; ++c) inverse[static_cast<std::size_t>(map[c] - '0')] = static_cast<std::uint8_t>(c);
  ByteGrid out = dihedral_transform(g, kDihedralInverse[static_cast<std::size_t>(t)]);
  for (auto& cell : out.cells) cell = inverse[cell];
  return out;
}

bool same_grid(const ByteGrid& a, const ByteGrid& b) { return a.h == b.h && a.w == b.w && a.cells == b.cells; }

}  // namespace

TEST_CASE("every augmented puzzle inverts back to its task as HRM's evaluator undoes it, rows are grid + EOS + PAD, "
          "one example per train puzzle stays untranslated") {
  Reference ref = read_reference("fixture-aug8.sha256");
  TempDir d;
  ref.options.out = d / "out";
  build_arc(ref.options);

  struct Source { ArcTask task; bool evaluation; };
  std::map<std::string, Source> tasks;
  for (const std::string& dir : ref.options.dirs)
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.path().extension() == ".json") {
        ArcTask t = read_arc_task(e.path().string());
        tasks[t.name] = {t, e.path().parent_path().filename() == "evaluation"};
      }
  const std::vector<std::string> names = read_identifiers(ref.options.out);
  REQUIRE(names.size() == 1 + tasks.size() * 9);
  CHECK(names[0] == "<blank>");

  std::set<std::int64_t> train_ids;
  for (const char* split : {"train", "test"}) {
    CAPTURE(split);
    const bool test = std::string(split) == "test";
    const DatasetSplit s = DatasetSplit::open(ref.options.out, split);
    for (std::int64_t p = 0; p < s.num_puzzles(); ++p) {
      const std::int64_t id = s.puzzle_identifiers()[static_cast<std::size_t>(p)];
      const std::string& name = names[static_cast<std::size_t>(id)];
      CAPTURE(name);
      if (test) CHECK(train_ids.count(id) == 1);  // an evaluation task's queries share its demonstrations' embedding
      else train_ids.insert(id);
      const Source& src = tasks.at(name.substr(0, name.find('_')));
      std::vector<ArcPair> pairs = test ? src.task.test : src.task.train;
      if (!test && !src.evaluation) {  // JSON key order (HRM-SPEC 11.2 item 8)
        pairs.insert(src.task.test_first ? pairs.begin() : pairs.end(), src.task.test.begin(), src.task.test.end());
      }
      const std::int64_t first = s.puzzle_indices()[static_cast<std::size_t>(p)];
      REQUIRE(s.puzzle_indices()[static_cast<std::size_t>(p) + 1] - first == static_cast<std::int64_t>(pairs.size()));
      int untranslated = 0;
      for (std::size_t k = 0; k < pairs.size(); ++k) {
        std::vector<std::uint8_t> in(900), out(900);
        s.inputs().copy_row_u8(first + static_cast<std::int64_t>(k), in.data());
        s.labels().copy_row_u8(first + static_cast<std::int64_t>(k), out.data());
        const Placed pin = locate_and_crop(in), pout = locate_and_crop(out);
        CHECK(pin.r0 == pout.r0);
        CHECK(pin.c0 == pout.c0);
        CHECK(in == expected_canvas(pin));
        CHECK(out == expected_canvas(pout));
        CHECK(same_grid(undo_augmentation(pin.grid, name), pairs[k].input));
        CHECK(same_grid(undo_augmentation(pout.grid, name), pairs[k].output));
        untranslated += pin.r0 == 0 && pin.c0 == 0;
      }
      CHECK(untranslated >= 1);
      if (test) CHECK(untranslated == static_cast<int>(pairs.size()));
    }
  }
}

namespace {

const std::string kPair = R"({"input": [[1, 0], [0, 1]], "output": [[2]]})";
const std::string kTask = R"({"train": [)" + kPair + R"(], "test": [)" + kPair + "]}";

// Reading `json` as <tmp>/<file> must fail with an InputError that names the file and says `what`.
void check_bad_task(const std::string& json, const std::string& what, const std::string& file = "task.json") {
  CAPTURE(json);
  TempDir d;
  const std::string path = d / file;
  hrm_test::write_file(path, json);
  try {
    read_arc_task(path);
    FAIL("no InputError for: " << what);
  } catch (const InputError& e) {
    CHECK(e.where() == path);
    CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
  }
}

std::string grid_rows(int rows, int cols) {
  std::string g = "[";
  for (int r = 0; r < rows; ++r) {
    g += r ? ", [" : "[";
    for (int c = 0; c < cols; ++c) g += c ? ", 0" : "0";
    g += "]";
  }
  return g + "]";
}

std::string task_with_train_input(const std::string& grid) {
  return R"({"train": [{"input": )" + grid + R"(, "output": [[1]]}], "test": [)" + kPair + "]}";
}

}  // namespace

TEST_CASE("a task file is a JSON object with \"train\", \"test\" and optionally \"name\", anything else is an InputError naming the file") {
  check_bad_task(R"({"train": [)" + kPair, "malformed JSON at line 1, column");
  check_bad_task("{\n  \"train\": [,\n}", "malformed JSON at line 2, column 13");
  check_bad_task("[" + kPair + "]", "expected a JSON object, found array");
  check_bad_task(R"({"test": [)" + kPair + "]}", "no \"train\" list");
  check_bad_task(R"({"train": [)" + kPair + "]}", "no \"test\" list");
  check_bad_task(R"({"train": [)" + kPair + R"(], "test": [)" + kPair + R"(], "extra": 1})", "unexpected top-level key \"extra\"");
  check_bad_task(R"({"train": [], "test": [)" + kPair + "]}", "\"train\": expected a non-empty list of input/output pairs, found []");
  check_bad_task(R"({"train": [)" + kPair + R"(], "test": {}})", "\"test\": expected a non-empty list of input/output pairs, found object");
  check_bad_task(R"({"train": [[1]], "test": [)" + kPair + "]}", "train[0]: expected an object with \"input\" and \"output\"");
  check_bad_task(R"({"train": [)" + kPair + R"(], "test": [{"input": [[1]]}]})", "test[0]: no \"output\" grid");
}

TEST_CASE("grids are non-empty, rectangular, at most 30x30, of integer colours 0-9, errors give the JSON position") {
  check_bad_task(task_with_train_input("[[1, 2], [3]]"), "train[0].input[1]: ragged grid: this row has 1 cells, row 0 has 2");
  check_bad_task(task_with_train_input("[[1, 10]]"), "train[0].input[0][1]: colour 10 is not an integer 0-9");
  check_bad_task(task_with_train_input("[[-1]]"), "train[0].input[0][0]: colour -1 is not an integer 0-9");
  check_bad_task(task_with_train_input("[[1.0]]"), "train[0].input[0][0]: colour 1.0 is not an integer 0-9");
  check_bad_task(task_with_train_input("[[true]]"), "train[0].input[0][0]: colour true is not an integer 0-9");
  check_bad_task(task_with_train_input("[[\"1\"]]"), "train[0].input[0][0]: colour \"1\" is not an integer 0-9");
  check_bad_task(task_with_train_input("[]"), "train[0].input: expected a non-empty list of rows, found []");
  check_bad_task(task_with_train_input("[[]]"), "train[0].input[0]: expected a non-empty list of colours, found []");
  check_bad_task(task_with_train_input("[1, 2]"), "train[0].input[0]: expected a non-empty list of colours, found 1");
  check_bad_task(task_with_train_input(grid_rows(31, 2)), "train[0].input: 31 rows, more than 30");
  check_bad_task(task_with_train_input(grid_rows(2, 31)), "train[0].input[0]: 31 columns, more than 30");
  check_bad_task(R"({"train": [)" + kPair + R"(], "test": [)" + kPair + R"(, {"input": [[1]], "output": [[1], [1, 1]]}]})",
                 "test[1].output[1]: ragged grid");

  TempDir d;  // the limits themselves are fine: 30 x 30 and 1 x 1
  hrm_test::write_file(d / "big.json", task_with_train_input(grid_rows(30, 30)));
  const ArcTask big = read_arc_task(d / "big.json");
  CHECK(big.train[0].input.h == 30);
  CHECK(big.train[0].input.w == 30);
  CHECK(big.train[0].output.cells == std::vector<std::uint8_t>{1});
}

TEST_CASE("\"name\" overrides the file stem, names must not contain '_' (HRM-SPEC 11.2 item 9), key order is kept") {
  TempDir d;
  hrm_test::write_file(d / "stem.json", R"({"test": [)" + kPair + R"(], "name": "renamed", "train": [)" + kPair + "]}");
  const ArcTask t = read_arc_task(d / "stem.json");
  CHECK(t.name == "renamed");
  CHECK(t.test_first);
  hrm_test::write_file(d / "plain.json", kTask);
  CHECK(read_arc_task(d / "plain.json").name == "plain");
  CHECK_FALSE(read_arc_task(d / "plain.json").test_first);

  check_bad_task(kTask, "task name \"my_task\" contains '_'", "my_task.json");
  check_bad_task(R"({"name": "a_b", "train": [)" + kPair + R"(], "test": [)" + kPair + "]}", "task name \"a_b\" contains '_'");
  check_bad_task(R"({"name": 7, "train": [)" + kPair + R"(], "test": [)" + kPair + "]}", "\"name\": expected a non-empty string, found 7");
  check_bad_task(R"({"name": "", "train": [)" + kPair + R"(], "test": [)" + kPair + "]}", "\"name\": expected a non-empty string");
}

namespace {

// A dataset folder: files[subfolder/file.json] = contents.
std::string make_dataset(const TempDir& d, const std::string& name, const std::map<std::string, std::string>& files) {
  for (const auto& [rel, text] : files) {
    fs::create_directories(fs::path(d / (name + "/" + rel)).parent_path());
    hrm_test::write_file(d / (name + "/" + rel), text);
  }
  return d / name;
}

std::string build_error(const ArcBuildOptions& o) {
  try {
    build_arc(o);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

}  // namespace

TEST_CASE("bad folders and options are InputErrors, and a failed build writes nothing") {
  TempDir d;
  ArcBuildOptions o;
  o.out = d / "out";
  o.num_aug = 2;

  o.dirs = {make_dataset(d, "bad", {{"evaluation/ok.json", kTask}, {"training/broken.json", task_with_train_input("[[1, 2], [3]]")}})};
  CHECK(build_error(o) == d / "bad/training/broken.json" + ": train[0].input[1]: ragged grid: this row has 1 cells, row 0 has 2");
  CHECK_FALSE(fs::exists(o.out));

  o.dirs = {make_dataset(d, "dup", {{"evaluation/a.json", kTask}, {"training/b.json", R"({"name": "a", "train": [)" + kPair + R"(], "test": [)" + kPair + "]}"}})};
  CHECK(build_error(o) == d / "dup/training/b.json" + ": task name \"a\" is also the name of " + d / "dup/evaluation/a.json");

  o.dirs = {make_dataset(d, "noeval", {{"training/a.json", kTask}})};
  CHECK(build_error(o).find("no subfolder is named `evaluation`") != std::string::npos);

  o.dirs = {make_dataset(d, "flat", {{"a.json", kTask}})};  // tasks must sit one level down
  CHECK(build_error(o) == d / "flat" + ": no *.json task file in any of its immediate subfolders");

  o.dirs = {d / "missing"};
  CHECK(build_error(o) == d / "missing" + ": not a folder");

  o.dirs = {make_dataset(d, "good", {{"evaluation/a.json", kTask}})};
  o.num_aug = -1;
  CHECK(build_error(o).find("--num-aug: -1 is not in 0..2903039") == 0);
  o.num_aug = 2;
  o.out = "";
  CHECK(build_error(o) == "--out: no output folder given");
  o.out = d / "out";
  o.dirs = {};
  CHECK(build_error(o) == "--dirs: no folder given");
  CHECK_FALSE(fs::exists(o.out));
  for (const auto& e : fs::directory_iterator(d.path)) CHECK(e.path().filename().string()[0] != '.');  // no staging folder left
}

TEST_CASE("listing: subfolders and files in byte order, hidden files skipped, `evaluation` routes query pairs to the test split") {
  TempDir d;
  auto task = [](int colour) {
    const std::string pair = R"({"input": [[)" + std::to_string(colour) + R"(]], "output": [[0]]})";
    return R"({"train": [)" + pair + R"(], "test": [)" + pair + "]}";
  };
  ArcBuildOptions o;
  o.dirs = {make_dataset(d, "set", {{"evaluation/e.json", task(1)}, {"Zeta/z.json", task(2)}, {"alpha/a.json", task(3)},
                                    {"alpha/.hidden.json", "not JSON"}, {"alpha/notes.txt", "not JSON"}})};
  o.num_aug = 0;
  o.out = d / "out";
  const ArcBuildSummary s = build_arc(o);
  // Byte order: "Zeta" < "alpha" < "evaluation"; one task per subfolder, so no shuffle can reorder them.
  CHECK(read_identifiers(o.out) == std::vector<std::string>{"<blank>", "z", "a", "e"});
  CHECK(s.train_groups == 3);
  CHECK(s.train_examples == 2 + 2 + 1);  // the evaluation task keeps only its demonstration in train
  CHECK(s.test_groups == 1);
  CHECK(s.test_examples == 1);

  // Building again over a finished build replaces it (StagingDir commit with identifiers.json).
  o.num_aug = 3;
  CHECK(build_arc(o).identifiers == 1 + 3 * 4);
  CHECK(read_identifiers(o.out).size() == 13);
}
