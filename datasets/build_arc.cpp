// build_arc.cpp: ARC task folders -> HRM's dataset format (HRM-SPEC 4.4, 11.2 items 5-12).
//
// The build follows HRM's order of random draws, so seed 42 reproduces HRM's bytes:
//  1. list each DIR (in the given order): subfolders and *.json files sorted by bytes; read all;
//  2. per subfolder: shuffle its tasks, then augment each in that order (trials draw t, colours;
//     checking them for duplicates runs on all cores);
//  3. draw the train split's translations (per puzzle no_aug_id, then pad_r, pad_c per example);
//  4. render and write both splits. This draws nothing, so it runs on all cores.
// Augmented versions are kept as (dihedral id, colour map) and rendered only when written, so
// memory stays small where the output is large (num_aug 1000 writes 7.3 GB for ARC-1).
#include "datasets/build_arc.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "common/npy.hpp"
#include "common/progress.hpp"
#include "common/rng.hpp"
#include "datasets/arc_task.hpp"
#include "datasets/dataset.hpp"
#include "datasets/dihedral.hpp"

namespace fs = std::filesystem;

namespace hrm {
namespace {

constexpr int kCanvas = kArcMaxGridSize;  // every grid is placed on a 30 x 30 canvas
constexpr std::int64_t kSeqLen = kCanvas * kCanvas;
constexpr std::uint8_t kPad = 0, kEos = 1, kColour0 = 2;  // tokens; colours 0-9 are 2-11
constexpr std::int64_t kRetriesFactor = 5;                // HRM's ARCAugmentRetriesFactor
constexpr std::int64_t kRowsPerWrite = 1024;                 // rows a writer renders per write (0.9 MB)
constexpr std::int64_t kMaxTrialBatch = 4096;                  // augmentation trials encoded together
constexpr std::size_t kTrialsPerThread = 64;              // fewer trials are encoded without a new thread
// A task has at most 8 dihedral x 9! colour-map versions; asking for more only burns trials.
constexpr std::int64_t kMaxNumAug = 8LL * 362880 - 1;

struct Version {
  int t = 0;                                                          // dihedral id
  std::array<std::uint8_t, 10> colour{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};  // c -> colour[c]; 0 stays 0
};

struct Task {
  std::string path;
  bool evaluation = false;  // from a subfolder named `evaluation`: its query pairs form the test split
  ArcTask arc;
  std::vector<Version> versions;  // the original, then the accepted augmentations in order
};

std::size_t worker_count() { return std::max(1u, std::thread::hardware_concurrency()); }

// Runs fn(i, worker) for every i in [0, n), on up to worker_count() threads but one per `grain`
// items (fewer are not worth starting a thread); `worker` indexes per-thread scratch space. When
// calls throw, the exception of the smallest such i is rethrown, so which error a user sees does
// not depend on thread timing.
template <class Fn>
void parallel_for(std::size_t n, std::size_t grain, Fn fn) {
  std::vector<std::exception_ptr> errors(n);
  std::atomic<std::size_t> next{0};
  auto work = [&](std::size_t worker) {
    for (std::size_t i; (i = next++) < n;) {
      try { fn(i, worker); } catch (...) { errors[i] = std::current_exception(); }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < std::min(worker_count(), (n + grain - 1) / grain); ++w) threads.emplace_back(work, w);
  work(0);
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Entry names of `folder`, sorted by bytes. HRM lists subfolders with os.scandir (hidden ones
// included) and files with glob("*.json") (whose '*' skips names starting with '.'), both in raw
// filesystem order; sorting is HRM-SPEC 11.2 item 5's portability fix.
std::vector<std::string> sorted_entries(const fs::path& folder, bool subfolders) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;  // a dangling link is neither a folder nor a file, as for HRM
    const std::string name = it->path().filename().string();
    const bool keep = subfolders ? it->is_directory(type_ec)
                                 : it->is_regular_file(type_ec) && name.ends_with(".json") && name[0] != '.';
    if (keep) names.push_back(name);
  }
  if (ec) throw InputError(folder.string(), "cannot list the folder: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

struct Subfolder {
  bool evaluation = false;
  std::vector<std::string> files;
};

std::vector<Subfolder> list_dataset_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(dir, "not a folder", "--dirs takes folders whose subfolders hold ARC task files, e.g. data/arc-agi-1");
  std::vector<Subfolder> subs;
  std::size_t files = 0;
  for (const std::string& name : sorted_entries(dir, true)) {
    Subfolder s;
    s.evaluation = name == "evaluation";
    for (const std::string& f : sorted_entries(fs::path(dir) / name, false)) s.files.push_back((fs::path(dir) / name / f).string());
    files += s.files.size();
    subs.push_back(std::move(s));
  }
  if (files == 0)
    throw InputError(dir, "no *.json task file in any of its immediate subfolders",
                     "the layout is DIR/<subfolder>/<task>.json, e.g. data/arc-agi-1 or data/conceptarc/corpus");
  return subs;
}

// HRM keeps an augmentation trial when the SHA-256 of the augmented task is new. That digest covers
// the sorted digests of all (input, output) pairs of both splits, shapes included, so a trial is
// kept exactly when its multiset of pairs differs from that of every version kept so far. This set
// compares the multisets themselves (each pair encoded as shape + cells, which is self-delimiting;
// the encodings sorted and concatenated): the same decisions, with no hash to trust.
class VersionSet {
 public:
  struct Scratch {  // one per thread that encodes
    std::string buf;                     // the encoded pairs of one trial
    std::vector<std::size_t> ends;       // pair k is buf[ends[k - 1], ends[k])
    std::vector<std::string_view> pairs;
  };

  explicit VersionSet(const ArcTask& task) {
    for (int t = 0; t < 8; ++t)
      for (const auto* pairs : {&task.train, &task.test})
        for (const ArcPair& p : *pairs) {
          images_[t].push_back(dihedral_transform(p.input, t));
          images_[t].push_back(dihedral_transform(p.output, t));
        }
    for (const ByteGrid& g : images_[0])
      for (std::uint8_t c : g.cells) used_[c] = true;
  }

  // True when an earlier trial had v's dihedral id and v's colour map on the colours the task
  // uses: v then gives that trial's task again and can be rejected without encoding. Tasks with
  // few colours, which run all 5 x num_aug trials, are mostly such repeats.
  bool repeats_plan(const Version& v) {
    std::uint64_t plan = static_cast<std::uint64_t>(v.t);
    for (std::size_t c = 1; c < used_.size(); ++c)
      if (used_[c]) plan |= static_cast<std::uint64_t>(v.colour[c]) << (4 * c);
    return !plans_.insert(plan).second;
  }

  std::string encode(const Version& v, Scratch& s) const {
    const std::vector<ByteGrid>& grids = images_[static_cast<std::size_t>(v.t)];
    s.buf.clear();
    s.ends.clear();
    for (std::size_t k = 0; k < grids.size(); k += 2) {
      append(grids[k], v, s.buf);
      append(grids[k + 1], v, s.buf);
      s.ends.push_back(s.buf.size());
    }
    s.pairs.clear();
    for (std::size_t k = 0; k < s.ends.size(); ++k) {
      const std::size_t begin = k ? s.ends[k - 1] : 0;
      s.pairs.emplace_back(s.buf.data() + begin, s.ends[k] - begin);
    }
    std::sort(s.pairs.begin(), s.pairs.end());
    std::string key;
    key.reserve(s.buf.size());
    for (std::string_view p : s.pairs) key += p;
    return key;
  }

  bool insert(std::string key) { return seen_.insert(std::move(key)).second; }  // true if new

 private:
  static void append(const ByteGrid& g, const Version& v, std::string& buf) {
    const std::size_t at = buf.size();
    buf.resize(at + 2 + g.cells.size());
    buf[at] = static_cast<char>(g.h);
    buf[at + 1] = static_cast<char>(g.w);
    for (std::size_t i = 0; i < g.cells.size(); ++i) buf[at + 2 + i] = static_cast<char>(v.colour[g.cells[i]]);
  }

  std::array<std::vector<ByteGrid>, 8> images_;  // [t][2 * pair + (0 input | 1 output)]
  std::array<bool, 10> used_{};                  // colours that occur in the task
  std::unordered_set<std::uint64_t> plans_;      // t and the colour map on used colours, 4 bits each
  std::unordered_set<std::string> seen_;
};

// HRM's convert_single_arc_puzzle: up to 5 x num_aug trials, each drawing a dihedral id and a
// permutation of colours 1-9 (0, black, stays), until the task has 1 + num_aug distinct versions.
void augment(Task& task, std::int64_t num_aug, NumpyLegacyRng& rng) {
  task.versions.assign(1, Version{});
  if (num_aug == 0) return;
  VersionSet seen(task.arc);
  std::vector<VersionSet::Scratch> scratch(worker_count());
  seen.repeats_plan(task.versions[0]);
  seen.insert(seen.encode(task.versions[0], scratch[0]));
  const auto wanted = static_cast<std::size_t>(num_aug + 1);
  std::int64_t trials_left = kRetriesFactor * num_aug;
  std::vector<std::uint8_t> perm(9);
  while (task.versions.size() < wanted && trials_left > 0) {
    // HRM stops a task the moment it is full. A trial adds at most one version, so the next
    // (wanted - versions) trials all run: draw them in HRM's order, encode them in parallel, then
    // accept in order. kMaxTrialBatch bounds the memory of the encodings.
    const auto batch = static_cast<std::size_t>(
        std::min({static_cast<std::int64_t>(wanted - task.versions.size()), trials_left, kMaxTrialBatch}));
    trials_left -= static_cast<std::int64_t>(batch);
    std::vector<Version> trials(batch);
    std::vector<char> repeat(batch);
    for (std::size_t i = 0; i < batch; ++i) {
      Version& v = trials[i];
      v.t = static_cast<int>(rng.randint(0, 8));
      std::iota(perm.begin(), perm.end(), std::uint8_t{1});
      rng.shuffle(perm);  // np.random.permutation(np.arange(1, 10))
      std::copy(perm.begin(), perm.end(), v.colour.begin() + 1);
      repeat[i] = seen.repeats_plan(v);
    }
    std::vector<std::string> keys(batch);
    parallel_for(batch, kTrialsPerThread, [&](std::size_t i, std::size_t worker) {
      if (!repeat[i]) keys[i] = seen.encode(trials[i], scratch[worker]);
    });
    for (std::size_t i = 0; i < batch; ++i)
      if (!repeat[i] && seen.insert(std::move(keys[i]))) task.versions.push_back(trials[i]);
  }
}

// The pairs of a task's puzzle in one split, in HRM's order: JSON key order, file order inside a key.
std::vector<const ArcPair*> split_pairs(const Task& task, bool test_split) {
  std::vector<const ArcPair*> out;
  auto add = [&](const std::vector<ArcPair>& v) { for (const ArcPair& p : v) out.push_back(&p); };
  if (test_split) add(task.arc.test);
  else if (task.evaluation) add(task.arc.train);
  else if (task.arc.test_first) { add(task.arc.test); add(task.arc.train); }
  else { add(task.arc.train); add(task.arc.test); }
  return out;
}

bool swaps_axes(int t) { return t == 1 || t == 3 || t == 6 || t == 7; }  // rot90, rot270, transposes

struct Offset {
  std::uint8_t r = 0, c = 0;  // top-left corner of both grids of an example on the canvas
};

struct GroupPlan {
  const Task* task = nullptr;
  std::vector<const ArcPair*> pairs;
  std::int32_t first_id = 0;     // identifier of version 0; version v has first_id + v
  std::int64_t first_row = 0;    // row of its first example in the split
  std::int64_t rows() const { return static_cast<std::int64_t>(task->versions.size() * pairs.size()); }
};

// HRM-SPEC 11.2 item 7 (ii)-(iii), train split: per puzzle (= version) no_aug_id picks the example
// that stays at (0, 0); every other example draws pad_r, then pad_c, uniform over the canvas room
// left by the larger of its two grids. HRM also draws no_aug_id for every test puzzle, but nothing
// is drawn after those, so they change no output and are not drawn here.
std::vector<Offset> draw_translations(const std::vector<GroupPlan>& groups, std::int64_t rows, NumpyLegacyRng& rng) {
  std::vector<Offset> out(static_cast<std::size_t>(rows));
  std::size_t row = 0;
  for (const GroupPlan& g : groups) {
    for (const Version& v : g.task->versions) {
      const std::uint64_t no_aug = rng.bounded(g.pairs.size() - 1);
      for (std::size_t k = 0; k < g.pairs.size(); ++k, ++row) {
        if (k == no_aug) continue;
        const ArcPair& p = *g.pairs[k];
        int h = std::max(p.input.h, p.output.h), w = std::max(p.input.w, p.output.w);
        if (swaps_axes(v.t)) std::swap(h, w);
        out[row].r = static_cast<std::uint8_t>(rng.bounded(static_cast<std::uint64_t>(kCanvas - h)));
        out[row].c = static_cast<std::uint8_t>(rng.bounded(static_cast<std::uint64_t>(kCanvas - w)));
      }
    }
  }
  return out;
}

// HRM's np_grid_to_seq_translational_augment for one grid: tokens at (r0, c0), an EOS row below the
// grid and an EOS column right of it where the canvas has room (their corner cell stays PAD).
void render(const ByteGrid& g, const std::array<std::uint8_t, 10>& token, Offset at, std::uint8_t* row) {
  std::fill(row, row + kSeqLen, kPad);
  for (int i = 0; i < g.h; ++i) {
    std::uint8_t* dst = row + (at.r + i) * kCanvas + at.c;
    const std::uint8_t* src = g.cells.data() + static_cast<std::ptrdiff_t>(i) * g.w;
    for (int j = 0; j < g.w; ++j) dst[j] = token[src[j]];
    if (at.c + g.w < kCanvas) dst[g.w] = kEos;
  }
  if (at.r + g.h < kCanvas) std::fill_n(row + (at.r + g.h) * kCanvas + at.c, g.w, kEos);
}

// A rows x 900 uint8 .npy file whose rows several threads write, each at its own offset.
class TokenFile {
 public:
  TokenFile(std::string path, std::int64_t rows) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw InputError(path_, std::string("cannot create: ") + std::strerror(errno));
    const std::string header = npy_header(DType::U8, {rows, kSeqLen});
    header_bytes_ = static_cast<std::int64_t>(header.size());
    write_at(0, reinterpret_cast<const std::uint8_t*>(header.data()), header.size());
  }
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;
  ~TokenFile() { if (fd_ >= 0) ::close(fd_); }

  void write_rows(std::int64_t first_row, const std::uint8_t* rows, std::int64_t count) {
    write_at(header_bytes_ + first_row * kSeqLen, rows, static_cast<std::size_t>(count * kSeqLen));
  }
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw InputError(path_, std::string("write failed: ") + std::strerror(errno));
  }

 private:
  void write_at(std::int64_t offset, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t k = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) throw InputError(path_, std::string("write failed: ") + std::strerror(errno), "is the disk full?");
      p += k;
      n -= static_cast<std::size_t>(k);
      offset += k;
    }
  }

  std::string path_;
  int fd_ = -1;
  std::int64_t header_bytes_ = 0;
};

// Writes <stage>/<split>/: inputs and labels rendered group by group on all cores, the index
// arrays, and dataset.json. `offsets` is empty for the untranslated test split.
void write_split(const std::string& stage, const char* split, const std::vector<GroupPlan>& groups, std::int64_t rows,
                 const std::vector<Offset>& offsets, std::int64_t num_identifiers) {
  const fs::path dir = fs::path(stage) / split;
  fs::create_directories(dir);
  auto file = [&](const char* name) { return (dir / (std::string("all__") + name + ".npy")).string(); };

  TokenFile inputs(file("inputs"), rows), labels(file("labels"), rows);
  struct RowBatch {  // one worker's rendered rows, written whenever kRowsPerWrite are ready
    std::vector<std::uint8_t> in, out;
    std::int64_t first_row = 0, count = 0;
  };
  std::vector<RowBatch> batches(worker_count());
  for (RowBatch& b : batches) b.in.resize(kRowsPerWrite * kSeqLen), b.out.resize(kRowsPerWrite * kSeqLen);
  Progress progress(fmt::format("arc: writing {}", split), static_cast<std::int64_t>(groups.size()));
  std::mutex progress_mutex;
  std::int64_t groups_done = 0;
  parallel_for(groups.size(), 1, [&](std::size_t gi, std::size_t worker) {
    const GroupPlan& g = groups[gi];
    RowBatch& b = batches[worker];
    auto flush = [&] {
      inputs.write_rows(b.first_row, b.in.data(), b.count);
      labels.write_rows(b.first_row, b.out.data(), b.count);
      b.first_row += b.count;
      b.count = 0;
    };
    b.first_row = g.first_row;
    std::array<std::vector<ByteGrid>, 8> images;  // [t][2 * pair + side], made for the t in use
    for (const Version& v : g.task->versions) {
      auto& grids = images[static_cast<std::size_t>(v.t)];
      if (grids.empty())
        for (const ArcPair* p : g.pairs) {
          grids.push_back(dihedral_transform(p->input, v.t));
          grids.push_back(dihedral_transform(p->output, v.t));
        }
      std::array<std::uint8_t, 10> token;
      for (std::size_t c = 0; c < token.size(); ++c) token[c] = static_cast<std::uint8_t>(v.colour[c] + kColour0);
      for (std::size_t k = 0; k < g.pairs.size(); ++k) {
        if (b.count == kRowsPerWrite) flush();
        const std::int64_t row = b.first_row + b.count;
        const Offset at = offsets.empty() ? Offset{} : offsets[static_cast<std::size_t>(row)];
        render(grids[2 * k], token, at, b.in.data() + b.count * kSeqLen);
        render(grids[2 * k + 1], token, at, b.out.data() + b.count * kSeqLen);
        ++b.count;
      }
    }
    flush();
    std::lock_guard lock(progress_mutex);
    progress.update(++groups_done);
  });
  inputs.close();
  labels.close();
  progress.finish();

  std::vector<std::int32_t> identifiers, puzzle_indices{0}, group_indices{0};
  for (const GroupPlan& g : groups) {
    for (std::size_t v = 0; v < g.task->versions.size(); ++v) {
      identifiers.push_back(g.first_id + static_cast<std::int32_t>(v));
      puzzle_indices.push_back(puzzle_indices.back() + static_cast<std::int32_t>(g.pairs.size()));
    }
    group_indices.push_back(static_cast<std::int32_t>(identifiers.size()));
  }
  const auto puzzles = static_cast<std::int64_t>(identifiers.size());
  write_npy(file("puzzle_identifiers"), {puzzles}, identifiers);
  write_npy(file("puzzle_indices"), {puzzles + 1}, puzzle_indices);
  write_npy(file("group_indices"), {static_cast<std::int64_t>(groups.size()) + 1}, group_indices);

  DatasetMetadata meta;
  meta.vocab_size = 12;  // PAD, EOS, colours 0-9
  meta.seq_len = kSeqLen;
  meta.num_puzzle_identifiers = num_identifiers;
  meta.total_groups = static_cast<std::int64_t>(groups.size());
  meta.mean_puzzle_examples = static_cast<double>(rows) / static_cast<double>(puzzles);
  std::ofstream f(dir / "dataset.json", std::ios::binary | std::ios::trunc);
  f << metadata_to_json(meta);
  if (!f) throw InputError((dir / "dataset.json").string(), "write failed");
}

// Lays out one split: the groups in task order, each with its first row; checks HRM's int32 indices.
std::vector<GroupPlan> plan_split(const std::vector<Task>& tasks, const std::vector<std::int32_t>& first_ids, bool test_split,
                                  std::int64_t* rows) {
  std::vector<GroupPlan> groups;
  *rows = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (test_split && !tasks[i].evaluation) continue;
    GroupPlan g{&tasks[i], split_pairs(tasks[i], test_split), first_ids[i], *rows};
    *rows += g.rows();
    groups.push_back(std::move(g));
  }
  if (*rows > std::numeric_limits<std::int32_t>::max())
    throw InputError("--num-aug", fmt::format("the {} split would hold {} examples, more than HRM's int32 indices allow",
                                              test_split ? "test" : "train", *rows),
                     "lower --num-aug");
  return groups;
}

std::string version_name(const std::string& task, const Version& v) {  // <task>_t<t>_<10 colour digits>
  std::string name = fmt::format("{}_t{}_", task, v.t);
  for (std::uint8_t c : v.colour) name += static_cast<char>('0' + c);
  return name;
}

void check_options(const ArcBuildOptions& o) {
  if (o.out.empty()) throw InputError("--out", "no output folder given");
  if (o.dirs.empty()) throw InputError("--dirs", "no folder given", "e.g. --dirs data/arc-agi-1 data/conceptarc/corpus");
  if (o.num_aug < 0 || o.num_aug > kMaxNumAug)
    throw InputError("--num-aug", fmt::format("{} is not in 0..{}", o.num_aug, kMaxNumAug),
                     "a task has at most 8 x 9! = 2,903,040 versions (dihedral transform x colour permutation)");
}

}  // namespace

ArcBuildSummary build_arc(const ArcBuildOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  check_options(o);

  // 1. List everything, then read and check every task before anything is drawn or written.
  std::vector<Subfolder> subfolders;
  for (const std::string& dir : o.dirs)
    for (Subfolder& s : list_dataset_dir(dir)) subfolders.push_back(std::move(s));
  std::vector<Task> listed;
  for (const Subfolder& s : subfolders)
    for (const std::string& f : s.files) listed.push_back(Task{f, s.evaluation, {}, {}});
  parallel_for(listed.size(), 16, [&](std::size_t i, std::size_t) { listed[i].arc = read_arc_task(listed[i].path); });

  // HRM keys identifiers by name, so two tasks with one name would share a puzzle embedding.
  std::unordered_map<std::string, const std::string*> owner;
  bool any_evaluation = false;
  for (const Task& t : listed) {
    const auto [it, fresh] = owner.emplace(t.arc.name, &t.path);
    if (!fresh)
      throw InputError(t.path, fmt::format("task name \"{}\" is also the name of {}", t.arc.name, *it->second),
                       "each task needs its own name; its identifier (puzzle embedding) is keyed by the name");
    any_evaluation = any_evaluation || t.evaluation;
  }
  if (!any_evaluation)
    throw InputError("--dirs", "no subfolder is named `evaluation`, so the test split would be empty",
                     "HRM's test split holds the query pairs of DIR/evaluation/*.json (e.g. data/arc-agi-1)");

  // 2. Per subfolder: shuffle, then augment in shuffled order (HRM-SPEC 11.2 item 7 (i)).
  NumpyLegacyRng rng(o.seed);
  std::vector<Task> tasks;
  tasks.reserve(listed.size());
  ArcBuildSummary summary;
  Progress augmenting("arc: augmenting", static_cast<std::int64_t>(listed.size()));
  std::size_t first = 0;
  for (const Subfolder& s : subfolders) {
    std::vector<std::size_t> order(s.files.size());
    std::iota(order.begin(), order.end(), first);
    first += s.files.size();
    rng.shuffle(order);
    for (std::size_t i : order) {
      Task& t = tasks.emplace_back(std::move(listed[i]));
      augment(t, o.num_aug, rng);
      if (static_cast<std::int64_t>(t.versions.size()) < o.num_aug + 1)
        summary.incomplete.emplace_back(t.arc.name, static_cast<std::int64_t>(t.versions.size()));
      augmenting.update(static_cast<std::int64_t>(tasks.size()));
    }
  }
  augmenting.finish();

  // Identifiers: 0 = "<blank>", then every version in train-split order. Every task has a train
  // puzzle and names are unique, so this is HRM's first-seen map over the train then test split.
  std::vector<std::string> names{"<blank>"};
  std::vector<std::int32_t> first_ids;
  for (const Task& t : tasks) {
    first_ids.push_back(static_cast<std::int32_t>(names.size()));
    names.push_back(t.arc.name);
    for (std::size_t v = 1; v < t.versions.size(); ++v) names.push_back(version_name(t.arc.name, t.versions[v]));
  }

  // 3. Translations, then 4. the files.
  std::int64_t train_rows = 0, test_rows = 0;
  const std::vector<GroupPlan> train = plan_split(tasks, first_ids, false, &train_rows);
  const std::vector<GroupPlan> test = plan_split(tasks, first_ids, true, &test_rows);
  const std::vector<Offset> offsets = draw_translations(train, train_rows, rng);

  StagingDir stage(o.out);
  const auto num_identifiers = static_cast<std::int64_t>(names.size());
  write_split(stage.path(), "train", train, train_rows, offsets, num_identifiers);
  write_split(stage.path(), "test", test, test_rows, {}, num_identifiers);
  write_identifiers(stage.path(), names);
  stage.commit("identifiers.json");

  summary.out = o.out;
  summary.train_examples = train_rows;
  summary.train_groups = static_cast<std::int64_t>(train.size());
  summary.test_examples = test_rows;
  summary.test_groups = static_cast<std::int64_t>(test.size());
  summary.identifiers = num_identifiers;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace hrm
