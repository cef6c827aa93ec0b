// test_build_maze.cpp: the Maze builder (HRM-SPEC 4.3) against a NumPy transcription of HRM's
// build_maze_dataset.py on small fixture mazes (tests/fixtures/maze, made by
// tests/reference/make_maze_fixtures.py), the shared dihedral transforms, and bad input named by
// file:line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <vector>

#include "common/error.hpp"
#include "datasets/build_maze.hpp"
#include "datasets/dataset.hpp"
#include "datasets/dihedral.hpp"
#include "test_util.hpp"

using namespace hrm;
using hrm_test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = hrm_test::source_dir() + "/tests/fixtures/maze";
const std::string kTrain = kFixtures + "/train.csv", kTest = kFixtures + "/test.csv";

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  return lines;
}

struct Row {
  std::string q, a;
};

// The fixture rows: source "hrmkit-fixture", no quotes, the rating last.
Row row_of(const std::string& line) {
  const std::size_t c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1);
  return {line.substr(c1 + 1, c2 - c1 - 1), line.substr(c2 + 1, c3 - c2 - 1)};
}

std::string csv(const std::vector<Row>& rows) {
  std::string s = "source,question,answer,rating\n";
  for (const auto& r : rows) s += "x," + r.q + "," + r.a + ",\n";
  return s;
}

MazeBuildOptions options(const std::string& out) {
  MazeBuildOptions o;
  o.csv = kTrain;
  o.test_csv = kTest;
  o.out = out;
  return o;
}

void check_rejected(const MazeBuildOptions& o, const std::string& where, const std::string& what) {
  INFO("expected: ", where, ": ", what);
  try {
    build_maze(o);
    FAIL("the build succeeded");
  } catch (const InputError& e) {
    const std::string msg = e.what();
    INFO("got: ", msg);
    CHECK(msg.find(where) != std::string::npos);
    CHECK(msg.find(what) != std::string::npos);
  }
  CHECK_FALSE(fs::exists(o.out));
}

}  // namespace

TEST_CASE("maze builder: HRM-SPEC 4.3: the fixture mazes build byte for byte as HRM's build_maze_dataset.py, with and without --aug") {
  if (!hrm_test::have_numpy()) { MESSAGE("python3-numpy missing: skipped"); return; }
  for (const bool aug : {false, true}) {
    INFO("aug = ", aug);
    TempDir d;
    MazeBuildOptions o = options(d / "ours");
    o.aug = aug;
    const BuildSummary s = build_maze(o);
    CHECK(s.train_groups == 12);
    CHECK(s.train_examples == (aug ? 96 : 12));
    CHECK(s.test_examples == 5);
    const auto r = hrm_test::run(std::string(HRM_PYTHON) + " " + hrm_test::source_dir() + "/tests/reference/build_maze_reference.py " + kTrain +
                                 " " + kTest + " " + (d / "hrm") + (aug ? " 1" : " 0"));
    INFO(r.out);
    REQUIRE(r.code == 0);
    std::vector<std::string> files{"identifiers.json"};
    for (const char* split : {"train", "test"}) {
      files.push_back(std::string(split) + "/dataset.json");
      for (const char* a : {"inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"})
        files.push_back(std::string(split) + "/all__" + a + ".npy");
    }
    for (const auto& f : files) {
      INFO(f);
      REQUIRE(fs::exists(d / ("hrm/" + f)));
      CHECK(hrm_test::read_file(d / ("ours/" + f)) == hrm_test::read_file(d / ("hrm/" + f)));
    }
  }
}

TEST_CASE("maze builder: HRM-SPEC 4.3: '# SGo' are ids 1..5, vocab 6, seq_len side*side, --aug puts 8 dihedral versions in one train group, test stays 1") {
  TempDir d;
  MazeBuildOptions o = options(d / "out");
  o.aug = true;
  build_maze(o);
  const DatasetSplit train = DatasetSplit::open(d / "out", "train"), test = DatasetSplit::open(d / "out", "test");
  for (const DatasetSplit* s : {&train, &test}) {
    CHECK(s->meta().seq_len == 121);
    CHECK(s->meta().vocab_size == 6);
    CHECK(s->meta().pad_id == 0);
    CHECK(s->meta().ignore_label_id == 0);
    CHECK(s->meta().num_puzzle_identifiers == 1);
    CHECK(s->meta().mean_puzzle_examples == 1.0);
  }
  CHECK(train.num_groups() == 12);
  CHECK(train.num_puzzles() == 96);
  for (std::size_t g = 0; g <= 12; ++g) CHECK(train.group_indices()[g] == static_cast<std::int64_t>(8 * g));
  CHECK(test.num_puzzles() == test.num_groups());

  const Row first = row_of(lines_of(kTrain)[1]);
  std::vector<std::uint8_t> in(121), lab(121);
  train.inputs().copy_row_u8(0, in.data());
  train.labels().copy_row_u8(0, lab.data());
  const std::string charset = "# SGo";
  for (std::size_t i = 0; i < 121; ++i) {
    CHECK(in[i] == charset.find(first.q[i]) + 1);
    CHECK(lab[i] == charset.find(first.a[i]) + 1);
  }
  // Version 2 of the group is the maze turned by 180 degrees.
  train.inputs().copy_row_u8(2, in.data());
  for (std::size_t i = 0; i < 121; ++i) CHECK(in[i] == charset.find(first.q[120 - i]) + 1);
}

TEST_CASE("maze builder: dihedral_transform numbers the 8 symmetries as HRM's dihedral_transform (numpy rot90 counter-clockwise, fliplr, flipud, .T)") {
  // np.arange(6).reshape(2, 3) through each transform, as numpy prints it.
  const ByteGrid g{2, 3, {0, 1, 2, 3, 4, 5}};
  const struct {
    int h, w;
    std::vector<std::uint8_t> cells;
  } expected[8] = {
      {2, 3, {0, 1, 2, 3, 4, 5}}, {3, 2, {2, 5, 1, 4, 0, 3}}, {2, 3, {5, 4, 3, 2, 1, 0}}, {3, 2, {3, 0, 4, 1, 5, 2}},
      {2, 3, {2, 1, 0, 5, 4, 3}}, {2, 3, {3, 4, 5, 0, 1, 2}}, {3, 2, {0, 3, 1, 4, 2, 5}}, {3, 2, {5, 2, 4, 1, 3, 0}},
  };
  for (int t = 0; t < 8; ++t) {
    INFO("tid ", t);
    const ByteGrid r = dihedral_transform(g, t);
    CHECK(r.h == expected[t].h);
    CHECK(r.w == expected[t].w);
    CHECK(r.cells == expected[t].cells);
  }
}

TEST_CASE("maze builder: dihedral_transform: kDihedralInverse undoes every transform of a rectangular grid") {
  ByteGrid g{3, 5, std::vector<std::uint8_t>(15)};
  std::iota(g.cells.begin(), g.cells.end(), std::uint8_t{10});
  for (int t = 0; t < 8; ++t) {
    const ByteGrid back = dihedral_transform(dihedral_transform(g, t), kDihedralInverse[static_cast<std::size_t>(t)]);
    CHECK(back.h == 3);
    CHECK(back.w == 5);
    CHECK(back.cells == g.cells);
  }
}

TEST_CASE("maze builder: --test-fraction holds out seeded CSV mazes, --subsample keeps N random train mazes, the same seed gives the same bytes") {
  TempDir d;
  MazeBuildOptions o = options(d / "a");
  o.test_csv.clear();
  o.test_fraction = 0.25;
  o.subsample = 5;
  o.seed = 3;
  const BuildSummary s = build_maze(o);
  CHECK(s.test_groups == 3);   // round(0.25 * 12)
  CHECK(s.train_groups == 5);  // of the 9 left
  o.out = d / "b";
  build_maze(o);
  for (const char* f : {"train/all__inputs.npy", "test/all__inputs.npy", "train/all__labels.npy"})
    CHECK(hrm_test::read_file(d / (std::string("a/") + f)) == hrm_test::read_file(d / (std::string("b/") + f)));
}

TEST_CASE("maze builder: bad maze rows are an InputError naming file:line and what is wrong, nothing is written") {
  TempDir d;
  const auto lines = lines_of(kTrain);
  const Row good = row_of(lines[1]), other = row_of(lines[2]);
  Row not_square{good.q.substr(0, 120), good.a.substr(0, 120)};
  Row short_answer{good.q, good.a.substr(0, 119)};
  Row bad_char = good;
  bad_char.q[13] = '*';
  Row wall_removed = good;
  wall_removed.a[0] = ' ';  // the corner is a wall in the question
  Row start_moved = good;
  const std::size_t s = good.q.find('S');
  start_moved.a[s] = 'o';
  const struct {
    const char* name;
    std::vector<Row> rows;
    std::string where, what;
  } cases[] = {
      {"length not a square", {not_square, other}, ":2", "question has 120 characters, not a square number"},
      {"size differs from the first maze", {other, not_square}, ":3", "question has 120 characters, expected 121 (11x11 like the first maze)"},
      {"answer shorter", {other, short_answer}, ":3", "answer has 119 characters, expected 121"},
      {"bad character", {other, bad_char}, ":3", "question has '*' at row 2, column 3"},
      {"wall changed", {other, wall_removed}, ":3", "answer has ' ' at row 1, column 1 where the question has '#'"},
      {"start changed", {other, start_moved}, ":3", "where the question has 'S'"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    hrm_test::write_file(d / "bad.csv", csv(c.rows));
    MazeBuildOptions o = options(d / "out");
    o.csv = d / "bad.csv";
    check_rejected(o, (d / "bad.csv") + c.where, c.what);
  }
  // A test CSV of another size cannot share the train split's seq_len.
  hrm_test::write_file(d / "small.csv", csv({Row{std::string(9, ' '), std::string(9, ' ')}}));
  MazeBuildOptions o = options(d / "out");
  o.test_csv = d / "small.csv";
  check_rejected(o, d / "small.csv", "mazes are 3x3, the train mazes 11x11");
  o = options(d / "out");
  o.test_csv.clear();
  check_rejected(o, "--csv", "no test split");
  o.test_fraction = 0.5;
  o.test_csv = kTest;
  check_rejected(o, "--test-fraction", "exclude each other");
}
