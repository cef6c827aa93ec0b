#!/usr/bin/env python3
"""compare_gpu.py: the table of issue 6, hrmkit's CUDA step against HRM's PyTorch code on the same GPU.

Reads bench/results/torch_gpu.json (bench_torch_gpu.py) and bench/results/step_cuda_<mode>.json
(bench_step_cuda: bf16_storage, HRM's own precision and hrm train's default for bfloat16; and fp32
storage with bf16, tf32 or fp32 GEMMs) and writes bench/results/gpu_vs_torch.md: per configuration the
training step time, tokens/s, MFU, memory (PyTorch: torch.cuda.max_memory_allocated, without the
CUDA context; hrmkit: the device's used bytes, context included) and evaluation throughput of each,
and the speed-up (PyTorch step time / hrmkit step time; above 1 is faster than PyTorch). Only what both measured is compared; a
missing file or configuration is named, not guessed.

  python3 bench/compare_gpu.py [--results bench/results]
"""
import argparse
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as e:
        sys.exit(f"compare_gpu: {path}: not JSON ({e})")


def gib(v):
    return "?" if v is None else f"{v / 2**30:.1f}"


def by_config(doc):
    return {r["config"]: r for r in (doc or {}).get("results", [])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = p.parse_args()
    torch_doc = load(os.path.join(a.results, "torch_gpu.json"))
    ours = {m: load(os.path.join(a.results, f"step_cuda_{m}.json")) for m in ("bf16_storage", "bf16", "tf32", "fp32")}
    ours = {m: d for m, d in ours.items() if d}
    if torch_doc is None or not ours:
        missing = ["torch_gpu.json"] if torch_doc is None else []
        missing += [] if ours else ["step_cuda_<mode>.json"]
        print(f"compare_gpu: nothing to compare: {', '.join(missing)} missing in {a.results}", file=sys.stderr)
        return 1
    torch = by_config(torch_doc)
    lines = [f"# hrmkit CUDA step against HRM's PyTorch code ({torch_doc.get('device', '?')})", "",
             f"PyTorch {torch_doc.get('torch', '?')}, compiled: {torch_doc.get('compiled')}, HRM "
             f"{torch_doc.get('hrm_commit', '?')[:12]}, {torch_doc.get('date', '?')}; hrmkit "
             + ", ".join(f"{m}: commit {d.get('commit', '?')[:12]} {d.get('date', '?')}" for m, d in ours.items()),
             "", "| config | code | step s | tokens/s | MFU | memory GiB | eval examples/s | speed-up (step) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, t in torch.items():
        lines.append(f"| {name} | PyTorch bf16 | {t['step_seconds_median']:.4f} | {t['tokens_per_s']:.0f} | "
                     f"{100 * t['mfu']:.1f}% | {gib(t.get('peak_memory_bytes_train'))} | "
                     f"{t['eval_examples_per_s']:.0f} | 1.00 |")
        for m, d in ours.items():
            r = by_config(d).get(name)
            if r is None:
                lines.append(f"| {name} | hrmkit {m} | not measured | | | | | |")
                continue
            lines.append(f"| {name} | hrmkit {m} | {r['step_seconds_median']:.4f} | {r['tokens_per_s']:.0f} | "
                         f"{100 * r['mfu']:.1f}% | {gib(r.get('device_bytes_used'))} | {r['eval_examples_per_s']:.0f} | "
                         f"{t['step_seconds_median'] / r['step_seconds_median']:.2f} |")
    for m, d in ours.items():
        proj = d.get("sudoku_recipe_projection")
        if proj:
            lines.append(f"\nSudoku-Extreme 1k recipe on one GPU, projected from hrmkit {m}: "
                         f"{proj['total_minutes']:.1f} min ({proj['train_steps']} steps, "
                         f"{proj['eval_batches']} evaluation batches).")
    out = os.path.join(a.results, "gpu_vs_torch.md")
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(out + ".tmp", out)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
