// cmd_train.cpp: `hrm train CONFIG [KEY=VALUE...] [--device cpu|cuda|auto] [--out RUN_DIR]
// [--resume CKPT] [--init-weights FILE] [--force]`.
//
// The analyzer runs first and its verdict is printed; a rejected config does not train unless
// --force, and a forced run records that it was forced and why the analyzer rejected it.
// Exit code: 0 finished, 1 rejected (not started), 2 could not run, 130 interrupted (checkpoint
// written; resume with --resume).
//
// Data parallel: `mpirun -np N hrm train ...` or `srun hrm train ...` starts N ranks (trainer/dist's
// World); N must equal hardware.num_gpus, the GPU count the analyzer vetted (else exit 2 with the
// fix). Every rank analyzes and trains; rank 0 alone prints and writes the run directory. An error
// on any rank prints that rank's message and ends the whole job (MPI_Abort), never a hang.
//
// --device cuda (builds with the CUDA backend, HRM_HAVE_CUDA): each rank trains on GPU `local rank`
// of its node (trainer/cuda/cuda_train_step.hpp; several ranks sum their gradients with NCCL),
// evaluation runs there too; no device, a build without CUDA, or several ranks in a build without
// NCCL, is exit 2 with why.
#include <csignal>
#include <cstdio>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "analyzer/report.hpp"
#include "apps/hrm/commands.hpp"
#include "apps/hrm/device_options.hpp"
#include "common/atomic_write.hpp"
#include "common/error.hpp"
#include "reports/render.hpp"
#include "reports/run_report.hpp"
#include "trainer/dist/world.hpp"
#include "trainer/loop/checkpoint.hpp"
#include "trainer/loop/run.hpp"
#if defined(HRM_HAVE_CUDA)
#include "trainer/cuda/cuda_check.hpp"
#include "trainer/cuda/cuda_train_step.hpp"
#endif

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hrm::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

std::string default_run_dir(const std::string& config_path) {
  const std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  return (fs::path("runs") / (fs::path(config_path).stem().string() + "-" + stamp)).string();
}

// A checkpoint continues only the run it belongs to: the model shape, the batch and the seed must be
// the config's (they fix the carry, the sampler and the exploration draws).
void check_resume_config(const Config& now, const std::string& ckpt) {
  const std::string stored = checkpoint_config(ckpt);
  if (stored.empty())
    throw InputError(ckpt, "is a weights-only file, not a full hrmkit checkpoint",
                     "use --init-weights to start a new run from these weights");
  Config then = parse_config(stored, ckpt + " (stored config)");
  std::vector<std::string> keys;
  Config now_copy = now;
  auto a = config_fields(then), b = config_fields(now_copy);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string& k = a[i].key;
    const bool pinned = k.rfind("arch.", 0) == 0 || k == "train.global_batch_size" || k == "train.seed" ||
                        k == "hardware.num_gpus";
    if (!pinned) continue;
    const auto str = [](const FieldRef& r) {
      return std::visit([](auto* p) { return fmt::format("{}", *p); }, r);
    };
    if (str(a[i].ref) != str(b[i].ref) && k == "hardware.num_gpus")
      throw InputError(ckpt, fmt::format("was written by a run of {} rank(s) (hardware.num_gpus = {}), the config has {}: "
                                         "the ACT carry is per rank, so a run resumes only with its world size",
                                         str(a[i].ref), str(a[i].ref), str(b[i].ref)),
                       fmt::format("resume with mpirun -np {} and hardware.num_gpus = {}, or start a new run from its "
                                   "weights with --init-weights", str(a[i].ref), str(a[i].ref)));
    if (str(a[i].ref) != str(b[i].ref))
      throw InputError(ckpt, fmt::format("was written with {} = {}, the config has {}", k, str(a[i].ref), str(b[i].ref)),
                       "resume with the config the run started with, or start a new run with --init-weights");
  }
}

struct TrainOptions {
  std::string config_path, out_dir, resume, init_weights;
  DeviceOptions device;
  bool force = false, quiet = false;
};
int train_ranks(const World& world, const Config& config, const TrainOptions& a);

// The launched world must be the one the analyzer vetted: hardware.num_gpus is what its per-GPU batch
// and memory checks assumed. Every rank sees the same mismatch; rank 0 prints it, and no rank exits
// before that (the launcher kills the job at the first non-zero exit, which could cut rank 0 short).
bool world_matches_config(const World& world, const Config& config) {
  const std::int64_t W = world.size(), n = config.hardware.num_gpus;
  if (W == n) return true;
  const InputError e(config.position_of("hardware.num_gpus").str(),
                     fmt::format("launched {} rank(s), config says hardware.num_gpus = {}", W, n),
                     W == 1 && !world_has_mpi()
                         ? fmt::format("this build of hrm has no MPI (it trains one process): set hardware.num_gpus=1")
                         : fmt::format("start {} ranks (mpirun -np {} hrm train ..., or srun -n {} hrm train ...), or "
                                       "set hardware.num_gpus={}",
                                       n, n, n, W));
  if (W == 1) throw e;
  if (world.is_root()) {
    const std::string message = fmt::format("error: {}\nhint: {}\n", e.what(), e.hint());
    std::fwrite(message.data(), 1, message.size(), stderr);
    std::fflush(stderr);
  }
  world.barrier();
  return false;
}

// A rank that fails alone would leave the others waiting in a collective: print its error (naming
// the rank and host) as main() would, then end every rank. The message goes out in one write, and
// the abort waits a moment: mpirun forwards a rank's stderr through its daemon, which drops what it
// has not read yet when MPI_Abort kills the job.
[[noreturn]] void abort_world(const World& world, std::exception_ptr e) {
  std::string message;
  try {
    std::rethrow_exception(e);
  } catch (const InputError& x) {
    message = fmt::format("error: {}: {}\n", world.origin(), x.what());
    if (!x.hint().empty()) message += fmt::format("hint: {}\n", x.hint());
  } catch (const std::exception& x) {
    message = fmt::format("error: {}: {}\n", world.origin(), x.what());
  }
  message += fmt::format("# {}: ending all {} ranks\n", world.origin(), world.size());
  std::fwrite(message.data(), 1, message.size(), stderr);
  std::fflush(stderr);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  world.abort(2);
}

}  // namespace

int train(const Args& args) {
  std::string config_path, out_dir, resume, init_weights;
  DeviceOptions device;
  std::vector<std::string> overrides;
  bool force = false, quiet = false;
  po::options_description opts("hrm train CONFIG [KEY=VALUE...] [options]");
  opts.add_options()
      ("help,h", "show this help");
  add_device_options(opts, device, "train");
  opts.add_options()
      ("out", po::value(&out_dir), "run directory (default runs/<config>-<time>)")
      ("resume", po::value(&resume), "continue from a full checkpoint (checkpoints/step_N.safetensors)")
      ("init-weights", po::value(&init_weights), "start from these weights (hrmkit checkpoint or HRM weights file)")
      ("force", po::bool_switch(&force), "train even if the analyzer rejects the config (recorded in run.json)")
      ("quiet", po::bool_switch(&quiet), "no progress line and no preflight table");
  FileAndOverrides words;
  po::variables_map vm = parse_file_and_overrides(args, opts, words, true);
  if (vm.count("help")) {
    std::cout << opts << "\nexit codes: 0 finished, 1 rejected by the analyzer, 2 could not run, 130 interrupted\n";
    return 0;
  }
  po::notify(vm);
  config_path = words.file;
  overrides = words.overrides;
  check_device_options(device, "hrm train");
  if (!resume.empty() && !init_weights.empty())
    throw InputError("--resume", "cannot be combined with --init-weights", "a checkpoint already holds the weights");

  Config config = load_config(config_path);
  for (const auto& kv : overrides) apply_override(config, kv);
  validate_config(config);
  const std::unique_ptr<World> world = World::from_launcher();
  if (!world_matches_config(*world, config)) return 2;
#if defined(HRM_HAVE_CUDA)
  if (device.cuda() && world->size() > 1 && !cuda::train_step_has_nccl())
    throw InputError("hrm train --device cuda",
                     fmt::format("{} ranks were launched, but this build of hrm has no NCCL", world->size()),
                     "rebuild where CMake finds NCCL (NCCL_HOME), run one process, or use --device cpu");
#endif
  try {
    return train_ranks(*world, config,
                       TrainOptions{config_path, out_dir, resume, init_weights, device, force, quiet});
  } catch (...) {
    if (world->size() == 1) throw;
    abort_world(*world, std::current_exception());
  }
}

namespace {

int train_ranks(const World& world, const Config& config, const TrainOptions& a) {
  const std::string &config_path = a.config_path, &out_dir = a.out_dir, &resume = a.resume, &init_weights = a.init_weights;
  const bool force = a.force, quiet = a.quiet || !world.is_root();  // rank 0 alone prints

  // Pre-flight: the analyzer's verdict decides whether training starts.
  const Report report = analyze(config);
  if (!quiet) std::cout << render_text(report, false);
  std::vector<std::string> errors;
  for (const auto& f : report.findings)
    if (f.severity == Severity::Error) errors.push_back(f.id + ": " + f.message);
  if (report.verdict != "vetted" && !force) {
    if (!world.is_root()) return 1;  // every rank reached the same verdict
    std::cerr << "error: the analyzer rejected " << config_path << " (" << errors.size()
              << " error(s)); not training\nhint: fix the config, or pass --force to train anyway (recorded in run.json)\n";
    return 1;
  }
  // The CUDA trainer's storage and its device memory per GPU (the analyzer's report has the default storage's).
  const std::string storage = storage_for(a.device, config);
  const double device_bytes = a.device.cuda() ? cuda_memory_in(report, storage == "bf16").per_gpu_bytes : 0.0;
#if defined(HRM_HAVE_CUDA)
  // The analyzer knew hardware.gpu_memory_gb; this is the GPU the rank will train on.
  if (a.device.cuda() && !force) {
    const std::int64_t have = cuda::device_memory_bytes(world.local_rank());
    const double GiB = 1073741824.0;
    if (have > 0 && device_bytes > static_cast<double>(have))
      throw InputError(
          "hrm train --device cuda",
          fmt::format("the CUDA trainer ({} storage) needs about {:.1f} GiB per GPU at a per-GPU batch of "
                      "{}, and GPU {} has {:.1f} GiB",
                      storage, device_bytes / GiB, report.per_gpu_batch, world.local_rank(),
                      static_cast<double>(have) / GiB),
          "lower train.global_batch_size or use more GPUs (hrm analyze shows the estimate); --force tries anyway");
  }
#endif

  const std::string run_dir = out_dir.empty() ? (resume.empty() ? default_run_dir(config_path)
                                                                 : fs::path(resume).parent_path().parent_path().string())
                                              : out_dir;
  std::signal(SIGXFSZ, SIG_IGN);   // past a file-size limit (ulimit -f) a write fails with EFBIG: one clear error
  std::optional<RunDirLock> lock;  // rank 0 writes the run directory, so it alone holds the lock
  if (world.is_root()) {
    lock.emplace(run_dir);  // before anything is written there: a second run is refused
    for (const auto& [name, text] : preflight_files(report)) write_file_atomic((fs::path(run_dir) / name).string(), text);
    write_file_atomic((fs::path(run_dir) / "resolved.toml").string(), config_to_toml(config));
  }

  std::optional<HrmWeights<float>> init;
  if (!init_weights.empty()) {
    const DatasetSplit probe = DatasetSplit::open(config.data.path, "train");
    init = load_weights(init_weights, dims_for(config, probe.meta()));
  }
  Trainer trainer(config, config.data.path, std::move(init), &world, device_step_factory(a.device, config));
  if (!resume.empty()) {
    check_resume_config(config, resume);
    trainer.restore(load_checkpoint(resume, trainer.dims(), config.train.global_batch_size, world.size(), world.rank()));
    if (!quiet) std::cerr << "# resumed from " << resume << " at step " << trainer.state().step << "\n";
  }
  const char* device = a.device.cuda() ? "cuda" : "cpu";

  RunOptions ro;
  ro.run_dir = run_dir;
  ro.progress = !quiet;
  ro.stop = &g_stop;
  ro.run_info = {{"config", config_path},
                 {"dataset", config.data.path},
                 {"device", device},
                 {"world_size", world.size()},
                 {"launcher", world.launcher()},
                 {"forced", report.verdict != "vetted"},
                 {"preflight_verdict", report.verdict == "vetted" ? (report.count(Severity::Warning) ? "warnings" : "ok")
                                                                  : "errors"},
                 {"preflight_errors", errors},
                 {"num_params", trainer.state().weights.layout.total},
                 {"estimated_host_bytes_per_rank", report.cpu_memory.per_gpu_bytes}};
  if (a.device.cuda()) {
    ro.run_info["cuda_storage"] = storage;
    ro.run_info["cuda_gemm_math"] = gemm_math_in_use();
    ro.run_info["estimated_device_bytes_per_gpu"] = device_bytes;
  }
  if (!resume.empty()) ro.run_info["resumed_from"] = resume;
  if (!init_weights.empty()) ro.run_info["init_weights"] = init_weights;
  if (report.verdict != "vetted" && world.is_root())
    std::cerr << "warning: training a config the analyzer rejected (--force); run.json records why\n";
  if (world.is_root())
    std::cerr << "# training " << trainer.state().weights.layout.total << " parameters for " << trainer.total_steps()
              << " steps on " << device << " (" << world.size() << " rank(s), local batch " << trainer.local_batch()
              << "); run directory " << run_dir << "\n";

  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const RunOutcome outcome = run_training(trainer, ro);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!world.is_root()) return outcome.status == "interrupted" ? 130 : 0;
  std::cerr << "report: " << write_run_report(run_dir) << "\n";
  if (outcome.status == "interrupted") {
    std::cerr << "# interrupted: checkpoint " << outcome.last_checkpoint << "\n";
    return 130;
  }
  std::cerr << "# finished " << outcome.steps << " steps; run directory " << run_dir << "\n";
  return 0;
}

}  // namespace

}  // namespace hrm::cli
