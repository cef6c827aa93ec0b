// bench_analyzer.cpp: times the census and the schedule replay (analyzer/replay) on datasets shaped
// like Sudoku-Extreme 1k-aug-1000 and ARC-1 with their published recipes (HRM-SPEC 6.2), against
// the NumPy transcription of HRM's sampler (tests/reference/sampler_numpy.py) timed in the same run.
//
// The NumPy replica runs one iteration of the schedule (fewer epochs for ARC, so it takes seconds,
// not minutes); the ratio compares it with the C++ replay of exactly the same iteration on one
// thread. Real datasets under data/built are used when present, otherwise index-identical ones are
// synthesised in a temporary folder (seq_len 1: the sampler reads only the index arrays).
//
// Usage: bench_analyzer [--no-numpy]. Prints a table; writes bench/results/analyzer.json. The
// repository is found from this file's path; HRM_PYTHON (default /usr/bin/python3) runs NumPy.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "analyzer/replay.hpp"
#include "bench/bench_common.hpp"
#include "common/schedule.hpp"
#include "datasets/census.hpp"
#include "datasets/dataset.hpp"

namespace fs = std::filesystem;
using namespace hrm;

namespace {

struct Timing {
  double wall = 1e300, cpu = 1e300;  // seconds; cpu = process CPU time, all threads
};

// Best of `reps` runs: the replay is deterministic, so the minimum is the least disturbed timing.
// CPU time is reported too: on a shared machine the wall time of one thread is not its cost.
template <class F> Timing best_of(int reps, F&& f) {
  Timing best;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    f();
    best.cpu = std::min(best.cpu, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    best.wall = std::min(best.wall, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Writes groups of one-token examples: sizes(g) lists the example counts of group g's puzzles.
template <class Sizes> void synthesise(const std::string& dir, std::int64_t groups, Sizes&& sizes) {
  SplitWriter w(1);
  const std::uint8_t token = 1;
  for (std::int64_t g = 0; g < groups; ++g) {
    for (int n : sizes(g)) {
      for (int e = 0; e < n; ++e) w.add_example(&token, &token);
      w.end_puzzle(0);
    }
    w.end_group();
  }
  DatasetMetadata meta;
  meta.seq_len = 1;
  meta.vocab_size = 2;
  meta.num_puzzle_identifiers = 1;
  w.write(dir, "train", meta);
}

struct Case {
  std::string name;
  std::vector<std::string> built;  // data/built folders to use when present
  std::int64_t batch, epochs, eval_interval;
  std::int64_t numpy_epochs;       // epochs of the one iteration the NumPy replica runs
};

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 || (argc == 2 && std::strcmp(argv[1], "--no-numpy") != 0)) {
    std::fprintf(stderr, "usage: bench_analyzer [--no-numpy]  (writes bench/results/analyzer.json)\n");
    return 2;
  }
  const bool numpy = argc == 1;
  const std::string root = bench::repo_root();
  const char* python_env = std::getenv("HRM_PYTHON");
  const std::string python = python_env ? python_env : "/usr/bin/python3";
  const fs::path tmp = fs::temp_directory_path() / ("hrm-bench-analyzer-" + std::to_string(::getpid()));

  const std::vector<Case> cases = {
      {"sudoku-extreme-1k-aug-1000", {"sudoku-extreme-1k-aug-1000"}, 768, 20000, 2000, 2000},
      {"arc-1 (arc-aug-1000)", {"arc-1", "arc-aug-1000"}, 768, 100000, 10000, 1000},
  };
  nlohmann::json results = nlohmann::json::array();
  std::printf("# bench_analyzer: schedule replay of HRM's sampler; NumPy replica = tests/reference/sampler_numpy.py\n");
  std::printf("%-28s %-9s %8s %9s %9s %9s %10s %12s %10s %8s %11s %11s %8s\n", "dataset", "source", "groups", "examples",
              "census_s", "steps", "replay1_s", "replay1_cpu_s", "replayN_s", "threads", "numpy_it_s", "cpp_it_s", "ratio");
  for (const Case& c : cases) {
    std::string dir, source = "synthetic";
    for (const auto& b : c.built)
      if (fs::exists(fs::path(root) / "data/built" / b / "train/dataset.json")) {
        dir = (fs::path(root) / "data/built" / b).string();
        source = "built";
        break;
      }
    if (dir.empty()) {
      dir = (tmp / c.built.front()).string();
      if (c.name.starts_with("sudoku")) {
        // 1000 groups: the original puzzle and 1000 augmentations, one example each.
        synthesise(dir, 1000, [](std::int64_t) { return std::vector<int>(1001, 1); });
      } else {
        // 960 tasks of 2..7 examples (mean ~4.19, ARC-1's is 4.15); most keep all 1001 versions,
        // every 20th has fewer (symmetric or few-colour tasks).
        static const int kSizes[] = {3, 4, 4, 5, 3, 4, 6, 4, 3, 5, 4, 2, 5, 4, 7, 4};
        synthesise(dir, 960, [](std::int64_t g) {
          const auto versions = static_cast<std::size_t>(g % 20 == 0 ? 200 + g % 500 : 1001);
          return std::vector<int>(versions, kSizes[g % 16]);
        });
      }
    }
    const DatasetSplit split = DatasetSplit::open(dir, "train");
    Census census;
    const double census_s = best_of(3, [&] { census = take_census(split); }).wall;

    ReplaySpec spec;
    spec.global_batch_size = c.batch;
    spec.epochs = c.epochs;
    spec.epochs_per_iter = c.eval_interval;
    spec.total_steps = hrm_total_steps(c.epochs, split.meta().total_groups, split.meta().mean_puzzle_examples, c.batch);
    ReplayResult full;
    spec.threads = 1;
    const Timing replay1 = best_of(3, [&] { full = replay_schedule(split, spec); });
    spec.threads = 0;
    const double replay_n_s = best_of(3, [&] { full = replay_schedule(split, spec); }).wall;
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());

    // One iteration of numpy_epochs epochs, the same work for both.
    ReplaySpec one = spec;
    one.epochs = one.epochs_per_iter = c.numpy_epochs;
    one.threads = 1;
    one.total_steps = hrm_total_steps(c.numpy_epochs, split.meta().total_groups, split.meta().mean_puzzle_examples, c.batch);
    ReplayResult one_result;
    const double cpp_it_s = best_of(3, [&] { one_result = replay_schedule(split, one); }).wall;
    nlohmann::json numpy_json = nullptr;
    double numpy_s = 0, ratio = 0;
    if (numpy) {
      const std::string out = bench::shell(python + " " + root + "/tests/reference/sampler_numpy.py train " + dir +
                                    " - --summary --batch " + std::to_string(c.batch) + " --epochs-per-iter " +
                                    std::to_string(c.numpy_epochs) + " --seed 0 --iterations 1 2>&1");
      const auto j = nlohmann::json::parse(out, nullptr, false);
      if (j.is_object()) {
        numpy_s = j["seconds"].get<double>();
        ratio = numpy_s / cpp_it_s;
        const bool same = j["batches_per_iteration"][0].get<std::int64_t>() == one_result.yielded_batches;
        numpy_json = {{"epochs_per_iter", c.numpy_epochs}, {"seconds", numpy_s}, {"cpp_seconds", cpp_it_s},
                      {"ratio", ratio}, {"batches", j["batches_per_iteration"][0]}, {"same_batches", same}};
        if (!same) std::printf("# %s: NumPy replica yields %lld batches, C++ %lld\n", c.name.c_str(),
                               static_cast<long long>(j["batches_per_iteration"][0].get<std::int64_t>()),
                               static_cast<long long>(one_result.yielded_batches));
      } else {
        std::printf("# NumPy replica unavailable: %s\n", out.substr(0, 200).c_str());
      }
    }
    std::printf("%-28s %-9s %8lld %9lld %9.4f %9lld %10.3f %12.3f %10.3f %8u %11.2f %11.4f %8.0f\n", c.name.c_str(),
                source.c_str(), static_cast<long long>(census.groups), static_cast<long long>(census.examples), census_s,
                static_cast<long long>(full.executed_steps), replay1.wall, replay1.cpu, replay_n_s, threads, numpy_s, cpp_it_s,
                ratio);
    results.push_back({{"dataset", c.name}, {"source", source}, {"path", dir}, {"groups", census.groups},
                       {"puzzles", census.puzzles}, {"examples", census.examples}, {"global_batch_size", c.batch},
                       {"epochs", c.epochs}, {"eval_interval", c.eval_interval}, {"total_steps", spec.total_steps},
                       {"executed_steps", full.executed_steps}, {"census_seconds", census_s},
                       {"replay_seconds_1_thread", replay1.wall}, {"replay_cpu_seconds_1_thread", replay1.cpu}, {"replay_seconds_all_threads", replay_n_s},
                       {"threads", threads}, {"numpy", numpy_json}});
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);

  bench::write_results("analyzer", nlohmann::json::object(), results);
  std::printf("# wrote bench/results/analyzer.json; ratio = NumPy replica time / C++ replay time, same iteration, one thread\n");
  return 0;
}
