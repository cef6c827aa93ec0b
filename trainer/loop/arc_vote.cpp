// arc_vote.cpp: arc_eval.ipynb's test() in C++. Two passes over the rows as in the notebook: the
// original rows define each task's queries and true outputs, then every row (originals included,
// in row order, which fixes the first-seen order that breaks voting ties) votes.
#include "trainer/loop/arc_vote.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"

namespace hrm {

namespace {

// Grids as map keys: shape and values, so a 2x3 and a 3x2 grid with the same cells differ.
std::string grid_key(const ByteGrid& g) {
  std::string k;
  k.reserve(2 + g.cells.size());
  k += static_cast<char>(g.h);
  k += static_cast<char>(g.w);
  k.append(g.cells.begin(), g.cells.end());
  return k;
}

struct Candidate {
  std::int64_t count = 0;
  double q_sum = 0;  // Python floats: the notebook sums q.item() values
};

struct Query {
  std::string label_key;
  std::vector<std::string> keys;  // candidates in first-seen order
  std::vector<Candidate> stats;
  std::unordered_map<std::string, std::size_t> index;
};

struct Task {
  std::string name;
  std::vector<Query> queries;
  std::unordered_map<std::string, std::size_t> by_input;
};

struct Augmentation {
  bool original = true;
  int t = 0;
  std::array<std::uint8_t, 10> inverse{};  // argsort of the colour map
  std::string task;
};

// The notebook splits on '_' (orig = first field, the transform = the last two). HRM's builder
// writes exactly three fields, so anything else is rejected rather than guessed at.
Augmentation parse_name(const std::string& name, const std::string& where) {
  Augmentation a;
  const auto first = name.find('_');
  if (first == std::string::npos) {
    a.task = name;
    return a;
  }
  a.original = false;
  a.task = name.substr(0, first);
  const auto second = name.find('_', first + 1);
  const std::string t = second == std::string::npos ? "" : name.substr(first + 1, second - first - 1);
  const std::string perm = second == std::string::npos ? "" : name.substr(second + 1);
  const bool t_ok = t.size() == 2 && t[0] == 't' && t[1] >= '0' && t[1] <= '7';
  std::array<bool, 10> seen{};
  bool perm_ok = perm.size() == 10;
  for (std::size_t i = 0; perm_ok && i < 10; ++i) {
    const int d = perm[i] - '0';
    perm_ok = d >= 0 && d <= 9 && !seen[static_cast<std::size_t>(d)];
    if (perm_ok) {
      seen[static_cast<std::size_t>(d)] = true;
      a.inverse[static_cast<std::size_t>(d)] = static_cast<std::uint8_t>(i);
    }
  }
  if (a.task.empty() || !t_ok || !perm_ok)
    throw InputError(where, fmt::format("puzzle name \"{}\" is not <task>_t<0-7>_<permutation of the digits 0-9>", name),
                     "score the identifiers.json of the dataset the predictions were made on");
  a.t = t[1] - '0';
  return a;
}

ByteGrid undo(const ByteGrid& g, const Augmentation& a) {
  if (a.original) return g;
  ByteGrid out = dihedral_transform(g, kDihedralInverse[static_cast<std::size_t>(a.t)]);
  for (auto& c : out.cells) c = a.inverse[c];
  return out;
}

// As torch's float32 sigmoid; the notebook then widens each value to a Python float.
double sigmoid_f32(float x) { return static_cast<double>(1.0f / (1.0f + std::exp(-x))); }

}  // namespace

ByteGrid arc_crop(std::span<const std::int32_t> tokens) {
  HRM_CHECK(tokens.size() == static_cast<std::size_t>(kArcSeqLen), "an ARC row has {} tokens, not 900", tokens.size());
  auto at = [&](std::int64_t r, std::int64_t c) { return tokens[static_cast<std::size_t>(r * kArcCanvas + c)]; };
  std::int64_t max_area = 0, best_r = 0, best_c = 0, num_c = kArcCanvas;
  for (std::int64_t num_r = 1; num_r <= kArcCanvas; ++num_r) {
    for (std::int64_t c = 1; c <= num_c; ++c) {
      const std::int32_t x = at(num_r - 1, c - 1);
      if (x < 2 || x > 11) {
        num_c = c - 1;
        break;
      }
    }
    if (num_r * num_c > max_area) {  // strict: equal areas keep the first (fewest rows)
      max_area = num_r * num_c;
      best_r = num_r;
      best_c = num_c;
    }
  }
  ByteGrid g{static_cast<int>(best_r), static_cast<int>(best_c), {}};
  g.cells.reserve(static_cast<std::size_t>(best_r * best_c));
  for (std::int64_t r = 0; r < best_r; ++r)
    for (std::int64_t c = 0; c < best_c; ++c) g.cells.push_back(static_cast<std::uint8_t>(at(r, c) - 2));
  return g;
}

ByteGrid arc_undo_augmentation(const ByteGrid& grid, const std::string& name) { return undo(grid, parse_name(name, "")); }

ArcScore score_arc(const std::vector<std::string>& identifiers, const ArcRows& rows) {
  const std::size_t n = rows.puzzle_ids.size();
  const auto S = static_cast<std::size_t>(kArcSeqLen);
  HRM_CHECK(rows.inputs.size() == n * S && rows.labels.size() == n * S && rows.predictions.size() == n * S &&
                rows.q_halt.size() == n,
            "ARC rows: {} identifiers, {} input, {} label, {} prediction tokens and {} q values", n, rows.inputs.size(),
            rows.labels.size(), rows.predictions.size(), rows.q_halt.size());
  auto row = [&](std::span<const std::int32_t> a, std::size_t i) { return a.subspan(i * S, S); };

  // Names parse once per identifier: an evaluation holds ~1000 rows per augmented puzzle version.
  std::vector<std::optional<Augmentation>> parsed(identifiers.size());
  auto where = [&](std::size_t i) {
    return fmt::format("ARC scoring, row {} (identifier {}{})", i, rows.puzzle_ids[i],
                       static_cast<std::size_t>(rows.puzzle_ids[i]) < identifiers.size()
                           ? ", \"" + identifiers[static_cast<std::size_t>(rows.puzzle_ids[i])] + "\""
                           : std::string());
  };
  auto augmentation = [&](std::size_t i) -> const Augmentation& {
    const std::int32_t id = rows.puzzle_ids[i];
    if (id < 0 || static_cast<std::size_t>(id) >= identifiers.size())
      throw InputError(where(i), fmt::format("identifier is outside identifiers.json's {} names", identifiers.size()),
                       "score the identifiers.json of the dataset the predictions were made on");
    auto& p = parsed[static_cast<std::size_t>(id)];
    if (!p) p = parse_name(identifiers[static_cast<std::size_t>(id)], where(i));
    return *p;
  };

  ArcScore score;
  std::vector<Task> tasks;
  std::unordered_map<std::string, std::size_t> task_index;

  // Pass 1: ground truth from the original rows, keyed by the cropped input.
  for (std::size_t i = 0; i < n; ++i) {
    if (rows.puzzle_ids[i] == 0) continue;
    const Augmentation& a = augmentation(i);
    if (!a.original) continue;
    auto [it, added] = task_index.try_emplace(a.task, tasks.size());
    if (added) tasks.push_back(Task{a.task, {}, {}});
    Task& t = tasks[it->second];
    const std::string in = grid_key(arc_crop(row(rows.inputs, i)));
    if (!t.by_input.try_emplace(in, t.queries.size()).second)
      throw InputError(where(i), fmt::format("task {} lists the same query input twice", a.task),
                       "a task's query inputs must be distinct (HRM-SPEC 11.3 item 2)");
    t.queries.push_back(Query{grid_key(arc_crop(row(rows.labels, i))), {}, {}, {}});
  }
  if (tasks.empty())
    throw InputError("ARC scoring", "no original (non-augmented) row among the predictions: no task to score",
                     "evaluate the whole test split; every task's original version is part of it");

  // Pass 2: every row votes for its de-augmented prediction.
  for (std::size_t i = 0; i < n; ++i) {
    if (rows.puzzle_ids[i] == 0) {
      ++score.dropped;
      continue;
    }
    ++score.rows;
    const Augmentation& a = augmentation(i);
    const auto t_it = task_index.find(a.task);
    if (t_it == task_index.end())
      throw InputError(where(i), fmt::format("task {} has augmented rows but no original row", a.task),
                       "evaluate the whole test split; every task's original version is part of it");
    Task& t = tasks[t_it->second];
    const auto q_it = t.by_input.find(grid_key(undo(arc_crop(row(rows.inputs, i)), a)));
    if (q_it == t.by_input.end())
      throw InputError(where(i), fmt::format("the input, de-augmented, is none of task {}'s query inputs", a.task),
                       "the predictions and identifiers.json must come from the same dataset");
    Query& q = t.queries[q_it->second];
    std::string pred = grid_key(undo(arc_crop(row(rows.predictions, i)), a));
    auto [c_it, added] = q.index.try_emplace(pred, q.keys.size());
    if (added) {
      q.keys.push_back(std::move(pred));
      q.stats.emplace_back();
    }
    Candidate& c = q.stats[c_it->second];
    ++c.count;
    c.q_sum += sigmoid_f32(rows.q_halt[i]);
  }

  // Ranking: count, then mean q, both descending; std::stable_sort keeps first-seen order on ties
  // as Python's sorted(reverse=True) does. A NaN mean ranks last instead of breaking the ordering.
  score.tasks = static_cast<std::int64_t>(tasks.size());
  for (const Task& t : tasks) {
    ArcTaskResult tr;
    tr.name = t.name;
    tr.solved.fill(true);
    for (const Query& q : t.queries) {
      std::vector<std::size_t> order(q.keys.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      auto mean = [&](std::size_t k) {
        const double m = q.stats[k].q_sum / static_cast<double>(q.stats[k].count);
        return std::isnan(m) ? -std::numeric_limits<double>::infinity() : m;
      };
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (q.stats[a].count != q.stats[b].count) return q.stats[a].count > q.stats[b].count;
        return mean(a) > mean(b);
      });
      ArcQueryResult qr;
      qr.candidates = static_cast<std::int64_t>(q.keys.size());
      for (const Candidate& c : q.stats) qr.votes += c.count;
      for (std::size_t r = 0; r < order.size(); ++r)
        if (q.keys[order[r]] == q.label_key) qr.correct_rank = static_cast<std::int64_t>(r) + 1;
      for (std::size_t r = 0; r < std::min(order.size(), kArcTopKept); ++r) {
        const std::string& key = q.keys[order[r]];
        const Candidate& c = q.stats[order[r]];
        qr.top.push_back({ByteGrid{static_cast<unsigned char>(key[0]), static_cast<unsigned char>(key[1]),
                                   std::vector<std::uint8_t>(key.begin() + 2, key.end())},
                          c.count, c.q_sum / static_cast<double>(c.count)});
      }
      for (std::size_t k = 0; k < kArcPassK.size(); ++k) tr.solved[k] = tr.solved[k] && qr.passes(kArcPassK[k]);
      tr.queries.push_back(qr);
    }
    for (std::size_t k = 0; k < kArcPassK.size(); ++k) score.solved[k] += tr.solved[k];
    score.task_results.push_back(std::move(tr));
  }
  for (std::size_t k = 0; k < kArcPassK.size(); ++k)
    score.percent[k] = static_cast<double>(score.solved[k]) / static_cast<double>(score.tasks) * 100.0;  // the notebook's order
  return score;
}

nlohmann::json arc_score_json(const ArcScore& s) {
  nlohmann::json j;
  for (std::size_t k = 0; k < kArcPassK.size(); ++k) j[fmt::format("pass@{}", kArcPassK[k])] = s.percent[k];
  j["arc_tasks"] = s.tasks;
  return j;
}

}  // namespace hrm
