// cmd_data_build.cpp: `hrm data build sudoku|arc|maze ...`: flags -> builder options -> build.
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>

#include "apps/hrm/commands.hpp"
#include "common/error.hpp"
#include "datasets/build_arc.hpp"
#include "datasets/build_maze.hpp"
#include "datasets/build_sudoku.hpp"

namespace po = boost::program_options;

namespace hrm::cli {

namespace {

// Parses `args` against `opts`; returns false (after printing help) when --help was given.
bool parse(const Args& args, po::options_description& opts, po::variables_map& vm) {
  opts.add_options()("help,h", "show this help");
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  if (vm.count("help")) { std::cout << opts << "\n"; return false; }
  po::notify(vm);
  return true;
}

void print_summary(const char* kind, const BuildSummary& s) {
  std::printf("built %s dataset %s in %.2f s: train %lld examples in %lld groups, test %lld examples in %lld groups\n", kind,
              s.out.c_str(), s.seconds, static_cast<long long>(s.train_examples), static_cast<long long>(s.train_groups),
              static_cast<long long>(s.test_examples), static_cast<long long>(s.test_groups));
}

int build_sudoku_cmd(const Args& args) {
  SudokuBuildOptions o;
  std::int64_t subsample = -1, min_difficulty = -1;
  po::options_description opts("hrm data build sudoku (--csv FILE | --generate N) --out DIR [options]");
  opts.add_options()
      ("csv", po::value(&o.csv), "train CSV (source,q,a,rating with a header row)")
      ("test-csv", po::value(&o.test_csv), "test CSV")
      ("test-fraction", po::value(&o.test_fraction), "hold out this fraction of the train puzzles as the test split")
      ("test-generate", po::value(&o.test_generate), "with --csv: generate N test puzzles")
      ("subsample", po::value(&subsample), "keep N random train puzzles (after --min-difficulty)")
      ("min-difficulty", po::value(&min_difficulty), "keep puzzles with rating >= R (both splits)")
      ("num-aug", po::value(&o.num_aug)->default_value(0), "augmented copies per train puzzle")
      ("generate", po::value(&o.generate)->default_value(0), "generate N puzzles instead of reading a CSV")
      ("seed", po::value(&o.seed)->default_value(0), "seed for subsampling, augmentation and generation")
      ("out", po::value(&o.out)->required(), "output dataset folder");
  po::variables_map vm;
  if (!parse(args, opts, vm)) return 0;
  if (subsample >= 0) o.subsample = subsample;
  if (min_difficulty >= 0) o.min_difficulty = min_difficulty;
  print_summary("sudoku", build_sudoku(o));
  return 0;
}

int build_maze_cmd(const Args& args) {
  MazeBuildOptions o;
  std::int64_t subsample = -1;
  po::options_description opts("hrm data build maze --csv FILE (--test-csv FILE | --test-fraction F) [--aug] --out DIR");
  opts.add_options()
      ("csv", po::value(&o.csv)->required(), "train CSV (source,q,a,rating; charset '# SGo')")
      ("test-csv", po::value(&o.test_csv), "test CSV")
      ("test-fraction", po::value(&o.test_fraction), "hold out this fraction of the CSV's mazes as the test split")
      ("subsample", po::value(&subsample), "keep N random train mazes")
      ("seed", po::value(&o.seed)->default_value(0), "seed for --test-fraction and --subsample")
      ("aug", po::bool_switch(&o.aug), "8 dihedral versions per train maze")
      ("out", po::value(&o.out)->required(), "output dataset folder");
  po::variables_map vm;
  if (!parse(args, opts, vm)) return 0;
  if (subsample >= 0) o.subsample = subsample;
  print_summary("maze", build_maze(o));
  return 0;
}

int build_arc_cmd(const Args& args) {
  ArcBuildOptions o;
  po::options_description opts("hrm data build arc --dirs DIR... [--num-aug N] [--seed S] --out DIR");
  opts.add_options()
      ("dirs", po::value(&o.dirs)->multitoken()->required(), "dataset folders; each one's subfolders hold task JSONs")
      ("num-aug", po::value(&o.num_aug)->default_value(1000), "augmented versions per task")
      ("seed", po::value(&o.seed)->default_value(42), "42 reproduces HRM's build byte for byte")
      ("out", po::value(&o.out)->required(), "output dataset folder");
  po::variables_map vm;
  if (!parse(args, opts, vm)) return 0;
  print_summary("arc", build_arc(o));
  return 0;
}

}  // namespace

int data_build(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("usage: hrm data build sudoku|arc|maze [options]   (each kind has --help)\n");
    return args.empty() ? 2 : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "sudoku") return build_sudoku_cmd(rest);
  if (args[0] == "maze") return build_maze_cmd(rest);
  if (args[0] == "arc") return build_arc_cmd(rest);
  throw InputError("hrm data build", fmt::format("unknown dataset kind '{}'", args[0]), "expected sudoku, arc or maze");
}

}  // namespace hrm::cli
