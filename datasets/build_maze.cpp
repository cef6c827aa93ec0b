// build_maze.cpp: maze CSV -> HRM's dataset format (HRM-SPEC 4.3).
#include "datasets/build_maze.hpp"

#include <chrono>
#include <cmath>
#include <string_view>

#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/progress.hpp"
#include "datasets/dataset.hpp"
#include "datasets/dihedral.hpp"
#include "datasets/puzzle_csv.hpp"

namespace hrm {
namespace {

constexpr std::string_view kCharset = "# SGo";  // ids 1..5 in this order; 0 is PAD
constexpr std::string_view kFixed = "#SG";      // cells the solution must copy from the question

struct Maze {
  ByteGrid question, answer;  // token ids
};

struct MazeFile {
  int side = 0;
  std::vector<Maze> mazes;
};

// "row R, column C" of cell i, 1-based, for error messages.
std::string cell_name(std::size_t i, int side) {
  const auto n = static_cast<std::size_t>(side);
  return fmt::format("row {}, column {}", i / n + 1, i % n + 1);
}

ByteGrid to_tokens(const std::string& s, int side, const char* name, const std::string& where) {
  ByteGrid g{side, side, std::vector<std::uint8_t>(s.size())};
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::size_t id = kCharset.find(s[i]);
    if (id == std::string_view::npos)
      throw InputError(where, fmt::format("{} has {} at {}", name, describe_char(s[i]), cell_name(i, side)),
                       "maze cells are '#' wall, ' ' open, 'S' start, 'G' goal, 'o' path");
    g.cells[i] = static_cast<std::uint8_t>(id + 1);
  }
  return g;
}

// Every row must have the first row's size: HRM infers the grid side from the first question.
MazeFile read_maze_csv(const std::string& path) {
  MazeFile f;
  read_puzzle_csv(path, [&](const PuzzleCsvRow& row) {
    const std::string where = csv_where(path, row.line);
    if (f.side == 0) {
      const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(row.question.size()))));
      if (row.question.empty() || static_cast<std::size_t>(side) * static_cast<std::size_t>(side) != row.question.size())
        throw InputError(where, fmt::format("question has {} characters, not a square number", row.question.size()),
                         "a maze is side x side cells in row-major order");
      f.side = side;
    }
    const std::size_t cells = static_cast<std::size_t>(f.side) * static_cast<std::size_t>(f.side);
    for (const auto& [name, s] : {std::pair{"question", &row.question}, std::pair{"answer", &row.answer}})
      if (s->size() != cells)
        throw InputError(where,
                         fmt::format("{} has {} characters, expected {} ({}x{} like the first maze)", name, s->size(),
                                     cells, f.side, f.side),
                         "all mazes of a file must have the same size");
    Maze m{to_tokens(row.question, f.side, "question", where), to_tokens(row.answer, f.side, "answer", where)};
    for (std::size_t i = 0; i < cells; ++i) {
      const char q = row.question[i], a = row.answer[i];
      if (q != a && (kFixed.find(q) != std::string_view::npos || kFixed.find(a) != std::string_view::npos))
        throw InputError(where,
                         fmt::format("answer has {} at {} where the question has {}", describe_char(a), cell_name(i, f.side),
                                     describe_char(q)),
                         "the solution must keep the question's walls, S and G, and only mark open cells 'o'");
    }
    f.mazes.push_back(std::move(m));
  });
  if (f.mazes.empty()) throw InputError(path, "no mazes after the header line");
  return f;
}

std::vector<Maze> pick(const std::vector<Maze>& all, const std::vector<std::size_t>& rows) {
  std::vector<Maze> out;
  out.reserve(rows.size());
  for (std::size_t i : rows) out.push_back(all[i]);
  return out;
}

SplitWriter make_split(const std::vector<Maze>& mazes, int side, bool aug, const char* label) {
  SplitWriter w(static_cast<std::int64_t>(side) * side);
  Progress progress(label, static_cast<std::int64_t>(mazes.size()));
  for (std::size_t g = 0; g < mazes.size(); ++g) {
    for (int t = 0; t < (aug ? 8 : 1); ++t) {
      w.add_example(dihedral_transform(mazes[g].question, t).cells.data(), dihedral_transform(mazes[g].answer, t).cells.data());
      w.end_puzzle(0);
    }
    w.end_group();
    progress.update(static_cast<std::int64_t>(g + 1));
  }
  return w;
}

void check_options(const MazeBuildOptions& o) {
  if (o.out.empty()) throw InputError("--out", "no output folder given");
  if (o.csv.empty()) throw InputError("--csv", "no maze CSV given");
  if (!(o.test_fraction >= 0.0 && o.test_fraction < 1.0))
    throw InputError("--test-fraction", fmt::format("{} is not in (0, 1)", o.test_fraction));
  if (!o.test_csv.empty() && o.test_fraction > 0.0)
    throw InputError("--test-fraction", "--test-csv and --test-fraction exclude each other", "give one source for the test split");
  if (o.test_csv.empty() && o.test_fraction == 0.0)
    throw InputError("--csv", "no test split",
                     "give --test-csv FILE (HRM's recipe: maze-30x30-hard-1k's test.csv) or --test-fraction F to hold out "
                     "a random fraction of the CSV's mazes; train mazes are never reused as test mazes");
  if (o.subsample && *o.subsample < 1) throw InputError("--subsample", fmt::format("{} is not a positive count", *o.subsample));
}

}  // namespace

BuildSummary build_maze(const MazeBuildOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  check_options(o);

  MazeFile file = read_maze_csv(o.csv);
  std::vector<Maze> train, test;
  if (o.test_csv.empty()) {
    SplitMix64 rng(stream_seed(o.seed, kStreamHoldOut));
    const RowSplit split = hold_out_rows(file.mazes.size(), o.test_fraction, rng, o.csv);
    train = pick(file.mazes, split.train);
    test = pick(file.mazes, split.test);
  } else {
    train = std::move(file.mazes);
    MazeFile test_file = read_maze_csv(o.test_csv);
    if (test_file.side != file.side)
      throw InputError(o.test_csv,
                       fmt::format("mazes are {}x{}, the train mazes {}x{}", test_file.side, test_file.side, file.side, file.side),
                       "both splits share one seq_len");
    test = std::move(test_file.mazes);
  }
  if (o.subsample) {
    SplitMix64 rng(stream_seed(o.seed, kStreamSubsample));
    train = pick(train, subsample_rows(train.size(), *o.subsample, rng));
  }

  DatasetMetadata meta;
  meta.vocab_size = static_cast<std::int64_t>(kCharset.size()) + 1;  // PAD + charset
  meta.num_puzzle_identifiers = 1;
  const SplitWriter train_split = make_split(train, file.side, o.aug, "maze train");
  const SplitWriter test_split = make_split(test, file.side, false, "maze test");
  return write_blank_id_dataset(o.out, train_split, test_split, meta, start);
}

}  // namespace hrm
