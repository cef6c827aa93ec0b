// cmd_data_info.cpp: `hrm data info DIR`: census of each split of a built dataset (index arrays
// only; inputs/labels are memory-mapped and checked against their headers).
#include <cstdio>
#include <iostream>
#include <filesystem>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "apps/hrm/commands.hpp"
#include "common/error.hpp"
#include "datasets/census.hpp"

namespace po = boost::program_options;

namespace hrm::cli {

int data_info(const Args& args) {
  std::string dir, format = "text";
  po::options_description opts("hrm data info DIR [--format text|json]");
  opts.add_options()("help,h", "show this help")("dir", po::value(&dir)->required(), "dataset folder")(
      "format", po::value(&format)->default_value("text"), "text or json");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
  if (vm.count("help")) { std::cout << opts << "\n"; return 0; }
  po::notify(vm);
  if (format != "text" && format != "json") throw InputError("--format", "expected text or json");

  nlohmann::json out = nlohmann::json::object();
  for (const char* split : {"train", "test"}) {
    if (!std::filesystem::exists(std::filesystem::path(dir) / split)) continue;
    const DatasetSplit s = DatasetSplit::open(dir, split);
    const Census c = take_census(s);
    out[split] = {{"examples", c.examples}, {"puzzles", c.puzzles}, {"groups", c.groups},
                  {"min_puzzle_examples", c.min_puzzle_examples}, {"mean_puzzle_examples", c.mean_puzzle_examples},
                  {"max_puzzle_examples", c.max_puzzle_examples}, {"mean_group_puzzles", c.mean_group_puzzles},
                  {"examples_per_epoch", c.examples_per_epoch}, {"seq_len", c.seq_len},
                  {"vocab_size", c.vocab_size}, {"num_puzzle_identifiers", c.num_puzzle_identifiers},
                  {"distinct_identifiers", c.distinct_identifiers},
                  {"token_dtype", dtype_descr(s.inputs().dtype())}};
  }
  if (out.empty()) throw InputError(dir, "no train/ or test/ split found", "is this an HRM dataset folder?");
  if (format == "json") { std::printf("%s\n", out.dump(2).c_str()); return 0; }
  std::printf("# dataset %s\n", dir.c_str());
  std::printf("%-6s %10s %9s %8s %10s %10s %11s %8s %6s %10s\n", "split", "examples", "puzzles", "groups",
              "ex/puzzle", "puz/group", "ex/epoch", "seq_len", "vocab", "ids");
  for (auto& [split, c] : out.items()) {
    std::printf("%-6s %10lld %9lld %8lld %10.3f %10.2f %11.1f %8lld %6lld %10lld\n", split.c_str(),
                c["examples"].get<long long>(), c["puzzles"].get<long long>(), c["groups"].get<long long>(),
                c["mean_puzzle_examples"].get<double>(), c["mean_group_puzzles"].get<double>(),
                c["examples_per_epoch"].get<double>(), c["seq_len"].get<long long>(),
                c["vocab_size"].get<long long>(), c["num_puzzle_identifiers"].get<long long>());
  }
  return 0;
}

}  // namespace hrm::cli
