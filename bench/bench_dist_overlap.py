#!/usr/bin/python3
"""bench_dist_overlap.py: what overlapping the gradient all-reduce with the backward pass saves, on
CPU ranks under mpirun: the same two-rank `hrm train` run with the slab's parts all-reduced as the
backward finishes them (default) and with one all-reduce after the backward
(HRM_ALLREDUCE_OVERLAP=0), alternating, --repeats times each. Reports the median step time of each
(from metrics.jsonl: global batch / examples_per_s, the first --skip steps left out) and writes
bench/results/dist_overlap_mpi_<ranks>ranks.json.

The model: hidden --hidden, 2+2 layers, Sudoku (T = 81 + 1), global batch --batch, one OpenMP
thread per rank. Needs build/bin/hrm built with MPI and mpirun on PATH; otherwise says so, exit 0.

  /usr/bin/python3 bench/bench_dist_overlap.py [--ranks 2] [--hidden 256] [--batch 32] [--repeats 3]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, env=None):
    r = subprocess.run(cmd, shell=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f"bench_dist_overlap: `{cmd}` failed (exit {r.returncode}):\n{r.stdout[-3000:]}")
    return r.stdout


def step_seconds(metrics_path, batch, skip):
    with open(metrics_path) as f:
        rows = [json.loads(line) for line in f]
    return [batch / r["examples_per_s"] for r in rows[skip:]]


def cpu_name():  # as bench_common.cpp writes it
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip", type=int, default=3, help="warm-up steps left out of each run")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = p.parse_args()
    hrm = os.path.join(a.build, "bin", "hrm")
    if not os.path.exists(hrm) or shutil.which("mpirun") is None:
        print("bench_dist_overlap: needs build/bin/hrm and mpirun; skipped")
        return
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "sudoku")
        # 20 * batch training puzzles (measured: 20 steps per run at batch 4), the rest the test split.
        test_fraction = min(0.95, max(0.05, 1 - 20 * a.batch / 1000))
        run(f"{hrm} data build sudoku --csv {ROOT}/data/sudoku/sudoku-extreme-train-1k.csv --num-aug 1 "
            f"--test-fraction {test_fraction} --out {data}")
        config = os.path.join(tmp, "bench.toml")
        with open(config, "w") as f:
            f.write(f'[data]\npath = "{data}"\n[arch]\nhidden_size = {a.hidden}\nnum_heads = {max(1, a.hidden // 64)}\n'
                    "H_layers = 2\nL_layers = 2\nhalt_max_steps = 4\n"
                    f"[train]\nglobal_batch_size = {a.batch}\nepochs = 1\neval_interval = 1\nlr = 1e-4\n"
                    "lr_warmup_steps = 2\npuzzle_emb_lr = 1e-2\nweight_decay = 0.1\npuzzle_emb_weight_decay = 0.1\n"
                    f"[hardware]\nnum_gpus = {a.ranks}\n")
        times = {"overlap": [], "after_backward": []}
        for i in range(a.repeats):
            for mode, flag in (("overlap", "1"), ("after_backward", "0")):
                out = os.path.join(tmp, f"{mode}{i}")
                run(f"HRM_ALLREDUCE_OVERLAP={flag} mpirun -np {a.ranks} --oversubscribe {hrm} train {config} "
                    f"--out {out} --quiet --force train.epochs=1", env)
                times[mode] += step_seconds(os.path.join(out, "metrics.jsonl"), a.batch, a.skip)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{'mode':<16}{'steps':>8}{'median step s':>16}")
    for k, v in times.items():
        print(f"{k:<16}{len(v):>8}{med[k]:>16.4f}")
    saving = 1 - med["overlap"] / med["after_backward"]
    print(f"overlap saves {100 * saving:.1f}% of the step time")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], stdout=subprocess.PIPE, text=True).stdout.strip()
    doc = {"format_version": 1, "benchmark": f"dist_overlap_mpi_{a.ranks}ranks", "commit": commit,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": {"cpu": cpu_name(), "hardware_threads": os.cpu_count()},
           "ranks": a.ranks, "hidden": a.hidden, "batch": a.batch, "layers": "2+2", "omp_threads_per_rank": 1,
           "results": [{"mode": k, "steps": len(v), "step_seconds_median": med[k]} for k, v in times.items()],
           "overlap_saving_fraction": saving}
    path = os.path.join(ROOT, "bench", "results", f"dist_overlap_mpi_{a.ranks}ranks.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
