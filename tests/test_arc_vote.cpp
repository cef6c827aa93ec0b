// test_arc_vote.cpp: HRM's ARC scoring (trainer/loop/arc_vote.hpp; HRM-SPEC 7.2, 11.3) against
// tests/reference/arc_vote.py, a NumPy transcription of arc_eval.ipynb, on identical synthetic
// predictions over a real augmented dataset (tests/fixtures/arc built with `hrm data build arc`);
// designed cases whose ranks are known by construction (majority, count ties broken by q, exact
// ties broken by first-seen order); bad input; and the Sudoku validity check
// (trainer/loop/sudoku_check.hpp) on real puzzles from data/sudoku.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/npy.hpp"
#include "datasets/arc_task.hpp"
#include "datasets/dataset.hpp"
#include "datasets/dihedral.hpp"
#include "datasets/puzzle_csv.hpp"
#include "datasets/sudoku.hpp"
#include "test_util.hpp"
#include "trainer/loop/arc_vote.hpp"
#include "trainer/loop/sudoku_check.hpp"

using namespace hrm;
using hrm_test::TempDir;

namespace {

constexpr std::size_t kS = 900;
std::string repo(const std::string& rel) { return hrm_test::source_dir() + "/" + rel; }

// ---- the dataset: the fixture's evaluation tasks, 1 + 8 versions each ----------------------------

struct RowInfo {
  std::string name, task;       // puzzle name and its original task
  std::size_t version = 0;      // 0 = the original
  std::size_t query = 0;        // index of the query pair inside the task
};

struct Base {
  TempDir dir;
  std::vector<std::string> names;           // identifiers.json
  std::vector<std::int32_t> ids, inputs, labels;
  std::vector<RowInfo> info;
  std::map<std::string, ArcTask> tasks;     // evaluation tasks by name, from the fixture files
  std::map<std::string, std::size_t> versions;
  std::size_t rows() const { return ids.size(); }
};

const Base& base() {
  static Base* b = [] {
    auto* b = new Base;
    const std::string out = b->dir / "arc";
    const auto r = hrm_test::run_hrm("data build arc --dirs " + repo("tests/fixtures/arc/arc1") + " " +
                                     repo("tests/fixtures/arc/concept") + " --num-aug 8 --out " + out);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    b->names = read_identifiers(out);
    for (const char* f : {"31d5ba1a", "e6de6e8f", "e872b94a", "fe9372f3"}) {
      ArcTask t = read_arc_task(repo("tests/fixtures/arc/arc1/evaluation/") + f + ".json");
      b->tasks[t.name] = t;
    }
    const DatasetSplit s = DatasetSplit::open(out, "test");
    std::vector<std::uint8_t> in(kS), lab(kS);
    for (std::int64_t g = 0; g < s.num_groups(); ++g) {
      const auto p0 = s.group_indices()[static_cast<std::size_t>(g)], p1 = s.group_indices()[static_cast<std::size_t>(g) + 1];
      for (auto p = p0; p < p1; ++p) {
        const auto id = static_cast<std::int32_t>(s.puzzle_identifiers()[static_cast<std::size_t>(p)]);
        const std::string& name = b->names[static_cast<std::size_t>(id)];
        const std::string task = name.substr(0, name.find('_'));
        b->versions[task] = static_cast<std::size_t>(p - p0 + 1);
        const auto e0 = s.puzzle_indices()[static_cast<std::size_t>(p)], e1 = s.puzzle_indices()[static_cast<std::size_t>(p) + 1];
        for (auto e = e0; e < e1; ++e) {
          s.inputs().copy_row_u8(e, in.data());
          s.labels().copy_row_u8(e, lab.data());
          b->ids.push_back(id);
          for (std::size_t i = 0; i < kS; ++i) {
            b->inputs.push_back(in[i]);
            b->labels.push_back(lab[i] == 0 ? -100 : lab[i]);  // the collate step's ignore id (HRM-SPEC 2.1)
          }
          b->info.push_back({name, task, static_cast<std::size_t>(p - p0), static_cast<std::size_t>(e - e0)});
        }
      }
    }
    return b;
  }();
  return *b;
}

// ---- predictions --------------------------------------------------------------------------------

// The builder's forward augmentation: colour map first, then the dihedral transform (HRM-SPEC 4.4).
ByteGrid augment(ByteGrid g, const std::string& name) {
  const auto u = name.find('_');
  if (u == std::string::npos) return g;
  const int t = name[u + 2] - '0';
  const std::string perm = name.substr(name.size() - 10);
  for (auto& c : g.cells) c = static_cast<std::uint8_t>(perm[c] - '0');
  return dihedral_transform(g, t);
}

// A grid on the canvas at (0, 0) with its EOS row and column, as the test split places it.
std::vector<std::int32_t> canvas(const ByteGrid& g) {
  std::vector<std::int32_t> out(kS, 0);
  for (int r = 0; r < g.h; ++r)
    for (int c = 0; c < g.w; ++c) out[static_cast<std::size_t>(r * 30 + c)] = g.cells[static_cast<std::size_t>(r * g.w + c)] + 2;
  if (g.h < 30)
    for (int c = 0; c < g.w; ++c) out[static_cast<std::size_t>(g.h * 30 + c)] = 1;
  if (g.w < 30)
    for (int r = 0; r < g.h; ++r) out[static_cast<std::size_t>(r * 30 + g.w)] = 1;
  return out;
}

ByteGrid recolour(ByteGrid g, std::size_t cell, int by) {
  g.cells[cell] = static_cast<std::uint8_t>((g.cells[cell] + by) % 10);
  return g;
}

// Wrong answers in the task's own frame; every version that predicts one renders it in its frame,
// so the scorer must undo the augmentation to see the votes agree.
ByteGrid wrong1(const ByteGrid& g) { return recolour(g, 0, 1); }
ByteGrid wrong2(const ByteGrid& g) { return recolour(g, g.cells.size() - 1, 2); }
ByteGrid wrong_shape(const ByteGrid& g) {  // one row fewer, or one more
  ByteGrid out = g;
  if (g.h > 1) {
    out.h -= 1;
    out.cells.resize(static_cast<std::size_t>(out.h * out.w));
  } else {
    out.h += 1;
    out.cells.insert(out.cells.end(), g.cells.begin(), g.cells.end());
  }
  return out;
}

enum class Pick { Correct, Wrong1, Wrong2, WrongShape, Noise, Full };

struct Predictions {
  std::vector<std::int32_t> ids, inputs, labels, preds;
  std::vector<float> q;
  ArcRows rows() const { return {ids, inputs, labels, preds, q}; }
};

// One prediction per row of the dataset, chosen by `pick(row) -> (what, q logit)`; `blank_every`
// > 0 inserts a padding row (identifier 0, garbage tokens) after every that many rows.
template <class Fn>
Predictions predict(const Base& b, Fn pick, std::size_t blank_every = 0, std::uint32_t seed = 1) {
  std::mt19937 rng(seed);
  Predictions p;
  auto add = [&](std::int32_t id, std::span<const std::int32_t> in, std::span<const std::int32_t> lab,
                 const std::vector<std::int32_t>& pred, float q) {
    p.ids.push_back(id);
    p.inputs.insert(p.inputs.end(), in.begin(), in.end());
    p.labels.insert(p.labels.end(), lab.begin(), lab.end());
    p.preds.insert(p.preds.end(), pred.begin(), pred.end());
    p.q.push_back(q);
  };
  for (std::size_t i = 0; i < b.rows(); ++i) {
    const RowInfo& r = b.info[i];
    const std::span<const std::int32_t> in(b.inputs.data() + i * kS, kS), lab(b.labels.data() + i * kS, kS);
    const ByteGrid& truth = b.tasks.at(r.task).test.at(r.query).output;
    const auto [what, q] = pick(i, r, rng);
    std::vector<std::int32_t> pred;
    switch (what) {
      case Pick::Correct:
        for (std::int32_t t : lab) pred.push_back(t < 0 ? 0 : t);  // any token where the label is ignored
        break;
      case Pick::Wrong1: pred = canvas(augment(wrong1(truth), r.name)); break;
      case Pick::Wrong2: pred = canvas(augment(wrong2(truth), r.name)); break;
      case Pick::WrongShape: pred = canvas(augment(wrong_shape(truth), r.name)); break;
      case Pick::Noise: {  // one random cell of the augmented answer recoloured: mostly a new candidate
        ByteGrid g = augment(truth, r.name);
        g = recolour(g, rng() % g.cells.size(), 1 + static_cast<int>(rng() % 9));
        pred = canvas(g);
        break;
      }
      case Pick::Full: pred.assign(kS, 2); break;  // no EOS at all: a 30 x 30 grid of colour 0
    }
    add(b.ids[i], in, lab, pred, q);
    if (blank_every && (i + 1) % blank_every == 0) {
      std::vector<std::int32_t> junk(kS);
      for (auto& t : junk) t = static_cast<std::int32_t>(rng() % 12);
      add(0, junk, junk, junk, 5.0f);
    }
  }
  return p;
}

// ---- the reference ------------------------------------------------------------------------------

nlohmann::json python_score(const Base& b, const Predictions& p) {
  TempDir d;
  const auto n = static_cast<std::int64_t>(p.ids.size());
  write_npy(d / "puzzle_identifiers.npy", {n}, p.ids);
  write_npy(d / "inputs.npy", {n, 900}, p.inputs);
  write_npy(d / "labels.npy", {n, 900}, p.labels);
  write_npy(d / "preds.npy", {n, 900}, p.preds);
  write_npy(d / "q_halt.npy", {n}, p.q);
  hrm_test::write_file(d / "identifiers.json", nlohmann::json(b.names).dump());
  const auto r = hrm_test::run(std::string(HRM_PYTHON) + " " + repo("tests/reference/arc_vote.py") + " " + (d / "identifiers.json") +
                               " " + d.path.string() + " > " + (d / "out.json"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  return nlohmann::json::parse(hrm_test::read_file(d / "out.json"));
}

void require_numpy() {
  if (!hrm_test::have_numpy()) {
    MESSAGE("python3-numpy missing: skipped");
    std::exit(77);  // CTest's SKIP_RETURN_CODE
  }
}

// Every number the notebook reports, and every query's rank, equal between C++ and Python.
void check_same(const ArcScore& s, const nlohmann::json& py) {
  REQUIRE(py["tasks"].get<std::int64_t>() == s.tasks);
  CHECK(py["rows"].get<std::int64_t>() == s.rows);
  for (std::size_t k = 0; k < kArcPassK.size(); ++k) {
    CAPTURE(kArcPassK[k]);
    CHECK(py["percent"][std::to_string(kArcPassK[k])].get<double>() == s.percent[k]);  // same operations, same double
  }
  REQUIRE(py["task_results"].size() == s.task_results.size());
  for (std::size_t t = 0; t < s.task_results.size(); ++t) {
    const auto& pt = py["task_results"][t];
    const ArcTaskResult& ct = s.task_results[t];
    CAPTURE(ct.name);
    CHECK(pt["name"].get<std::string>() == ct.name);
    for (std::size_t k = 0; k < kArcPassK.size(); ++k) CHECK(pt["solved"][k].get<bool>() == ct.solved[k]);
    REQUIRE(pt["queries"].size() == ct.queries.size());
    for (std::size_t q = 0; q < ct.queries.size(); ++q) {
      CAPTURE(q);
      CHECK(pt["queries"][q]["votes"].get<std::int64_t>() == ct.queries[q].votes);
      CHECK(pt["queries"][q]["candidates"].get<std::int64_t>() == ct.queries[q].candidates);
      CHECK(pt["queries"][q]["correct_rank"].get<std::int64_t>() == ct.queries[q].correct_rank);
      const auto& top = pt["queries"][q]["top"];
      REQUIRE(top.size() == ct.queries[q].top.size());
      for (std::size_t c = 0; c < top.size(); ++c) {
        const ArcCandidate& cc = ct.queries[q].top[c];
        CHECK(top[c]["shape"] == nlohmann::json::array({cc.grid.h, cc.grid.w}));
        CHECK(top[c]["cells"].get<std::vector<int>>() == std::vector<int>(cc.grid.cells.begin(), cc.grid.cells.end()));
        CHECK(top[c]["votes"].get<std::int64_t>() == cc.votes);
        // NumPy's float32 exp and glibc's expf may round differently in the last place.
        CHECK(std::abs(top[c]["mean_q"].get<double>() - cc.mean_q) <= 1e-6);
      }
    }
  }
}

const ArcTaskResult& task(const ArcScore& s, const std::string& name) {
  const auto it = std::find_if(s.task_results.begin(), s.task_results.end(), [&](const ArcTaskResult& t) { return t.name == name; });
  REQUIRE_MESSAGE(it != s.task_results.end(), "no task " << name);
  return *it;
}

}  // namespace

TEST_CASE("arc crop: the largest top-left rectangle of colour tokens, equal areas keep the fewest rows, minus 2") {
  std::vector<std::int32_t> c(kS, 0);
  auto set = [&](int r, int col, std::int32_t v) { c[static_cast<std::size_t>(r * 30 + col)] = v; };
  // Row widths 2, 2, 1, 1 (then PAD): areas 2, 4, 3, 4 -> the first area-4 rectangle, 2 x 2.
  for (int r = 0; r < 4; ++r)
    for (int col = 0; col < (r < 2 ? 2 : 1); ++col) set(r, col, 2 + r + col);
  ByteGrid g = arc_crop(c);
  CHECK(g.h == 2);
  CHECK(g.w == 2);
  CHECK(g.cells == std::vector<std::uint8_t>{0, 1, 1, 2});
  // -100 (an ignored label) and tokens above 11 stop the scan like PAD and EOS.
  set(0, 1, -100);
  g = arc_crop(c);
  CHECK((g.h == 4 && g.w == 1));
  set(1, 0, 12);
  g = arc_crop(c);
  CHECK((g.h == 1 && g.w == 1));
  set(0, 0, 1);  // EOS in the corner: nothing to crop
  g = arc_crop(c);
  CHECK((g.h == 0 && g.w == 0 && g.cells.empty()));
  // A full canvas of colours is 30 x 30.
  std::vector<std::int32_t> full(kS, 11);
  g = arc_crop(full);
  CHECK((g.h == 30 && g.w == 30 && g.cells == std::vector<std::uint8_t>(kS, 9)));
}

TEST_CASE("arc undo augmentation: inverse dihedral transform, then the argsort of the colour map") {
  const ByteGrid g{2, 3, {0, 1, 2, 3, 4, 5}};
  for (int t = 0; t < 8; ++t) {
    const std::string name = "abc_t" + std::to_string(t) + "_0912345678";
    CAPTURE(name);
    const ByteGrid back = arc_undo_augmentation(augment(g, name), name);
    CHECK((back.h == g.h && back.w == g.w && back.cells == g.cells));
  }
  CHECK(arc_undo_augmentation(g, "abc").cells == g.cells);
  for (const char* bad : {"abc_t8_0123456789", "abc_x1_0123456789", "abc_t1_012345678", "abc_t1_0123456788", "_t1_0123456789",
                          "abc_t1"})
    CHECK_THROWS_AS(arc_undo_augmentation(g, bad), InputError);
}

TEST_CASE("arc scoring: perfect predictions solve every task at every K, and blank rows are dropped") {
  const Base& b = base();
  REQUIRE(b.tasks.size() == 4);
  for (const auto& [name, v] : b.versions) {
    CAPTURE(name);
    CHECK(v == 9);  // 1 + num_aug versions per evaluation task
  }
  const Predictions p = predict(b, [](std::size_t, const RowInfo&, std::mt19937& rng) {
    return std::pair{Pick::Correct, static_cast<float>(static_cast<int>(rng() % 7) - 3)};
  }, 5);
  const ArcScore s = score_arc(b.names, p.rows());
  CHECK(s.tasks == 4);
  CHECK(s.rows == static_cast<std::int64_t>(b.rows()));
  CHECK(s.dropped == static_cast<std::int64_t>(b.rows() / 5));
  for (std::size_t k = 0; k < kArcPassK.size(); ++k) {
    CHECK(s.solved[k] == 4);
    CHECK(s.percent[k] == 100.0);
  }
  for (const auto& t : s.task_results) {
    CHECK(t.queries.size() == b.tasks.at(t.name).test.size());
    for (const auto& q : t.queries) {
      CHECK(q.votes == 9);
      CHECK(q.candidates == 1);
      CHECK(q.correct_rank == 1);
    }
  }
  CHECK(arc_score_json(s)["pass@2"].get<double>() == 100.0);
  CHECK(arc_score_json(s)["arc_tasks"].get<std::int64_t>() == 4);
  require_numpy();
  check_same(s, python_score(b, p));
}

TEST_CASE("arc voting: a majority beats the right answer, equal counts go to the higher mean q, exact ties to the first seen") {
  const Base& b = base();
  REQUIRE(b.tasks.at("31d5ba1a").test.size() >= 2);
  // Per task (9 versions, version 0 the original, seen first):
  //  31d5ba1a: query 0 always right; later queries: 6 versions Wrong1, 3 right -> right answer ranks 2.
  //  e6de6e8f: 4 right (q -1), 4 Wrong1 (q +1), 1 Wrong2: equal counts, Wrong1's mean q is higher -> rank 2.
  //  e872b94a: 4 right, 4 Wrong1, 1 Wrong2, every q 0: an exact tie kept in first-seen order -> rank 1.
  //  fe9372f3: 4 Wrong1, 4 right, 1 Wrong2, every q 0: the same tie, Wrong1 seen first -> rank 2.
  const Predictions p = predict(b, [](std::size_t, const RowInfo& r, std::mt19937&) -> std::pair<Pick, float> {
    const std::size_t v = r.version;
    if (r.task == "31d5ba1a") return {r.query == 0 || v % 3 == 0 ? Pick::Correct : Pick::Wrong1, 0.5f};
    if (r.task == "e6de6e8f") return v < 4 ? std::pair{Pick::Correct, -1.0f} : v < 8 ? std::pair{Pick::Wrong1, 1.0f} : std::pair{Pick::Wrong2, 3.0f};
    if (r.task == "e872b94a") return {v < 4 ? Pick::Correct : v < 8 ? Pick::Wrong1 : Pick::Wrong2, 0.0f};
    return {v < 4 ? Pick::Wrong1 : v < 8 ? Pick::Correct : Pick::Wrong2, 0.0f};
  });
  const ArcScore s = score_arc(b.names, p.rows());
  const ArcTaskResult& a = task(s, "31d5ba1a");
  CHECK(a.queries[0].correct_rank == 1);
  for (std::size_t q = 1; q < a.queries.size(); ++q) CHECK((a.queries[q].correct_rank == 2 && a.queries[q].candidates == 2));
  CHECK((task(s, "e6de6e8f").queries[0].correct_rank == 2 && task(s, "e6de6e8f").queries[0].candidates == 3));
  CHECK(task(s, "e872b94a").queries[0].correct_rank == 1);
  CHECK(task(s, "fe9372f3").queries[0].correct_rank == 2);
  // A task counts only if all its queries are right: 31d5ba1a fails pass@1 through its later queries.
  CHECK_FALSE(a.solved[0]);
  CHECK(a.solved_pass2());
  CHECK(s.solved == std::array<std::int64_t, 5>{1, 4, 4, 4, 4});
  CHECK(s.percent[0] == 25.0);
  CHECK(s.percent[1] == 100.0);
  require_numpy();
  check_same(s, python_score(b, p));
}

TEST_CASE("arc voting: a right answer nobody predicts is unsolved at every K, and distinct wrong answers each count once") {
  const Base& b = base();
  const Predictions p = predict(b, [](std::size_t, const RowInfo& r, std::mt19937&) -> std::pair<Pick, float> {
    if (r.task == "e6de6e8f") return {r.version % 2 ? Pick::Full : Pick::WrongShape, 2.0f};
    return {Pick::Correct, -2.0f};
  });
  const ArcScore s = score_arc(b.names, p.rows());
  const ArcTaskResult& t = task(s, "e6de6e8f");
  CHECK(t.queries[0].correct_rank == 0);
  CHECK(t.queries[0].candidates == 2);
  CHECK(t.solved == std::array<bool, 5>{});
  CHECK(s.solved == std::array<std::int64_t, 5>{3, 3, 3, 3, 3});
  CHECK(s.percent[1] == 75.0);
  require_numpy();
  check_same(s, python_score(b, p));
}

TEST_CASE("arc scoring agrees with the notebook's transcription on random mixtures of right, wrong, reshaped and noisy votes") {
  require_numpy();
  const Base& b = base();
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    // Odd seeds: every q is 0 and the votes fall on three shared answers, so equal counts are common
    // and first-seen order decides. Even seeds: q values whose sigmoid sums cannot coincide unless the
    // multisets do (no x and -x pair), so exact mean-q ties are real ties, never rounding accidents.
    const bool tie_mode = seed % 2 == 1;
    std::map<std::string, int> bias;  // per task: how often its versions are right, in tenths
    std::mt19937 task_rng(seed * 7919u);
    for (const auto& [name, t] : b.tasks) bias[name] = static_cast<int>(task_rng() % 11);
    const Predictions p = predict(b, [&](std::size_t, const RowInfo& r, std::mt19937& rng) {
      if (tie_mode) {
        static constexpr Pick kShared[] = {Pick::Correct, Pick::Wrong1, Pick::Full};
        return std::pair{kShared[rng() % 3], 0.0f};
      }
      static constexpr float kQ[] = {0.0f, 0.0f, 0.25f, 1.5f, -3.0f};
      const float q = rng() % 4 == 0 ? static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 137.0f : kQ[rng() % 5];
      if (static_cast<int>(rng() % 10) < bias.at(r.task)) return std::pair{Pick::Correct, q};
      static constexpr Pick kWrong[] = {Pick::Wrong1, Pick::Wrong1, Pick::Wrong2, Pick::WrongShape, Pick::Noise, Pick::Full};
      return std::pair{kWrong[rng() % 6], q};
    }, seed % 4 == 1 ? 7 : 0, seed);
    const ArcScore s = score_arc(b.names, p.rows());
    check_same(s, python_score(b, p));
  }
}

TEST_CASE("arc scoring rejects what the notebook cannot score, naming the row") {
  const Base& b = base();
  const Predictions good = predict(b, [](std::size_t, const RowInfo&, std::mt19937&) { return std::pair{Pick::Correct, 0.0f}; });
  auto throws_with = [&](const std::vector<std::string>& names, const Predictions& p, const std::string& what) {
    try {
      score_arc(names, p.rows());
      FAIL("no error; expected: " << what);
    } catch (const InputError& e) {
      CHECK_MESSAGE(std::string(e.what()).find(what) != std::string::npos, e.what());
    }
  };
  std::size_t first_aug = 0;
  while (b.info[first_aug].version == 0) ++first_aug;

  Predictions p = good;  // an identifier outside identifiers.json
  p.ids[3] = static_cast<std::int32_t>(b.names.size());
  throws_with(b.names, p, "outside identifiers.json");

  std::vector<std::string> names = b.names;  // a malformed augmented name
  names[static_cast<std::size_t>(b.ids[first_aug])] = b.info[first_aug].task + "_t9_0123456789";
  throws_with(names, good, "is not <task>_t<0-7>");

  p = good;  // augmented rows of a task whose original rows are missing
  for (std::size_t i = 0; i < b.rows(); ++i)
    if (b.info[i].task == "e6de6e8f" && b.info[i].version == 0) p.ids[i] = 0;
  throws_with(b.names, p, "no original row");

  p = good;  // an augmented input that is none of the task's queries
  p.inputs[first_aug * kS] = p.inputs[first_aug * kS] == 2 ? 3 : 2;
  throws_with(b.names, p, "none of task");

  p = good;  // the same query input twice among a task's original rows
  p.ids.push_back(b.ids[0]);
  p.inputs.insert(p.inputs.end(), b.inputs.begin(), b.inputs.begin() + kS);
  p.labels.insert(p.labels.end(), b.labels.begin(), b.labels.begin() + kS);
  p.preds.insert(p.preds.end(), b.labels.begin(), b.labels.begin() + kS);
  p.q.push_back(0.0f);
  throws_with(b.names, p, "same query input twice");

  p = good;  // only blank rows
  std::fill(p.ids.begin(), p.ids.end(), 0);
  throws_with(b.names, p, "no task to score");
}

// ---- Sudoku -------------------------------------------------------------------------------------

namespace {

struct SudokuRow {
  std::vector<std::int32_t> input, solution;  // HRM tokens: blank 1, digit d -> d + 1
};

std::vector<SudokuRow> sudoku_rows(std::size_t n) {
  const std::string csv = repo("data/sudoku/sudoku-extreme-train-1k.csv");
  std::vector<SudokuRow> out;
  read_puzzle_csv(csv, [&](const PuzzleCsvRow& row) {
    if (out.size() >= n) return;
    const SudokuPuzzle p = parse_sudoku_row(row, csv);
    SudokuRow r;
    for (std::size_t i = 0; i < 81; ++i) {
      r.input.push_back(p.question[i] + 1);
      r.solution.push_back(p.answer[i] + 1);
    }
    out.push_back(r);
  });
  return out;
}

}  // namespace

TEST_CASE("sudoku: the dataset's solution is valid, but a swapped pair, a changed given or a non-digit is not") {
  const auto rows = sudoku_rows(50);
  REQUIRE(rows.size() == 50);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    CAPTURE(k);
    const SudokuRow& r = rows[k];
    CHECK(is_valid_sudoku_solution(r.input, r.solution));
    // Two blank cells of one row swapped: the row stays a permutation, their columns break.
    std::vector<std::size_t> blanks;
    for (std::size_t row = 0; row < 9 && blanks.size() < 2; ++row) {
      blanks.clear();
      for (std::size_t c = 0; c < 9; ++c)
        if (r.input[row * 9 + c] == 1) blanks.push_back(row * 9 + c);
    }
    REQUIRE(blanks.size() >= 2);
    std::vector<std::int32_t> swapped = r.solution;
    std::swap(swapped[blanks[0]], swapped[blanks[1]]);
    CHECK_FALSE(is_valid_sudoku_solution(r.input, swapped));
    // A given changed in the input: the solution no longer keeps it, though still a valid grid.
    std::vector<std::int32_t> changed = r.input;
    const auto given = static_cast<std::size_t>(std::find_if(changed.begin(), changed.end(), [](std::int32_t t) { return t != 1; }) - changed.begin());
    REQUIRE(given < 81);
    changed[given] = changed[given] == 10 ? 2 : changed[given] + 1;
    CHECK_FALSE(is_valid_sudoku_solution(changed, r.solution));
    std::vector<std::int32_t> pad = r.solution;
    pad[40] = 0;
    CHECK_FALSE(is_valid_sudoku_solution(r.input, pad));
  }
  std::vector<std::int32_t> ins, preds;
  for (const auto& r : rows) {
    ins.insert(ins.end(), r.input.begin(), r.input.end());
    preds.insert(preds.end(), r.solution.begin(), r.solution.end());
  }
  preds[5] = preds[5] == 10 ? 2 : preds[5] + 1;  // breaks the first grid only
  CHECK(count_valid_sudoku_solutions(ins, preds) == 49);
}

TEST_CASE("sudoku: a different but valid solution counts when the givens allow it (an unavoidable rectangle)") {
  // Cells (r1,c1) (r1,c2) (r2,c1) (r2,c2) in two rows of one band and two columns of different stacks
  // holding a b / b a: swapping a and b gives another valid grid. With those four cells blank, the
  // puzzle has both solutions, and the one that is not the label must count as valid too.
  int found = 0;
  for (const SudokuRow& r : sudoku_rows(40)) {
    const auto& s = r.solution;
    auto at = [&](std::size_t row, std::size_t col) { return s[row * 9 + col]; };
    for (std::size_t r1 = 0; r1 < 9 && !found; ++r1)
      for (std::size_t r2 = r1 + 1; r2 < r1 / 3 * 3 + 3 && !found; ++r2)
        for (std::size_t c1 = 0; c1 < 9 && !found; ++c1)
          for (std::size_t c2 = (c1 / 3 + 1) * 3; c2 < 9 && !found; ++c2) {
            if (at(r1, c1) != at(r2, c2) || at(r1, c2) != at(r2, c1)) continue;
            std::vector<std::int32_t> input = r.solution, other = r.solution;
            for (std::size_t cell : {r1 * 9 + c1, r1 * 9 + c2, r2 * 9 + c1, r2 * 9 + c2}) input[cell] = 1;
            std::swap(other[r1 * 9 + c1], other[r1 * 9 + c2]);
            std::swap(other[r2 * 9 + c1], other[r2 * 9 + c2]);
            CHECK(other != r.solution);
            CHECK(is_valid_sudoku_solution(input, r.solution));
            CHECK(is_valid_sudoku_solution(input, other));
            ++found;
          }
    if (found) break;
  }
  CHECK(found == 1);
}
