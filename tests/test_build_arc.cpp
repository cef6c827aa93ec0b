// test_build_arc.cpp: the ARC builder (HRM-SPEC 4.4, 7.2, 11.2 items 5-12) against HRM's own
// build_arc_dataset.py (SHA-256 of its output, tests/fixtures/arc/hashes, made by
// tests/reference/hrm_arc_reference.py), the reference counts of the real ARC-1 data, the
// evaluator's inverse augmentation, and strict reading of task files.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
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
