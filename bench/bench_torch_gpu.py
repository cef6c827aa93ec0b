#!/usr/bin/env python3
"""bench_torch_gpu.py: the PyTorch baseline on the GPU: HRM's own code (sapientinc/HRM's models/,
loaded by tests/reference/hrm_upstream.py, unmodified numerically) training and evaluating as
pretrain.py runs it, timed at the configurations bench_train_cuda and the issue's table use.

As pretrain.py: ACTLossHead(HierarchicalReasoningModel_ACTV1) built on the GPU, bf16 forward
(forward_dtype), torch.compile(model, dynamic=False); per step the compiled forward of the carried
batch, backward of loss / B, sign-SGD on the puzzle rows (HRM's _sparse_emb_signsgd_dist), AdamATan2,
zero_grad, and the metrics stacked and copied to the host (pretrain.py's one sync per step).
Attention: flash_attn when installed (HRM's choice), else torch's scaled_dot_product_attention
(flash / memory-efficient kernels). AdamATan2: the adam-atan2 package when installed, else
HRM-SPEC 3.1's update in torch (one torch.compile'd function over all parameters). What was used
is in the JSON. Data loading is not timed (a fixed random batch; the step's cost does not depend
on the values). Evaluation: the model in eval mode under inference_mode, halt_max_steps segments
per batch (evaluation never halts early), as pretrain.py's evaluate.

FLOPs per step are reports/README.md's flops_per_step (the count bench_train_cuda and the analyzer
use); MFU = achieved FLOP/s over --peak-tflops (989: H100/H200 SXM dense bf16).

  python3 bench/bench_torch_gpu.py --hrm-src .upstream/HRM --out bench/results/torch_gpu.json
  python3 bench/bench_torch_gpu.py --hrm-src .upstream/HRM --device cpu --no-compile --tiny   # smoke

Prints one JSON line per configuration and writes them all to --out.
"""
import argparse
import contextlib
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "reference"))
import hrm_upstream  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# name, seq_len, vocab, identifiers, per-GPU batch (HRM-SPEC 1.1, 4; configs/)
CONFIGS = {
    "sudoku_b768": (81, 11, 1, 768),
    "sudoku_b384": (81, 11, 1, 384),
    "arc_b96": (900, 12, 960_000, 96),
}
TINY = {"tiny": (16, 11, 3, 8)}


def sdpa_flash_attn_func(q, k, v, causal=False):
    """flash_attn_func's contract ((batch, seq, heads, head_dim) in and out) on torch's SDPA."""
    if not hasattr(F, "scaled_dot_product_attention"):  # torch < 2.0 (the CPU smoke run on Debian)
        s = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
        return torch.einsum("bhqk,bkhd->bqhd", torch.softmax(s, dim=-1), v).contiguous()
    o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=causal)
    return o.transpose(1, 2).contiguous()


class AdamATan2Torch(torch.optim.Optimizer):
    """HRM-SPEC 3.1 (the adam-atan2 package's update) in torch: decay by the current lr, lerp
    moments, denom = sqrt(v) / sqrt(1 - b2^t), p -= lr / (1 - b1^t) * atan2(m, denom); no epsilon."""

    def __init__(self, params, lr, betas, weight_decay, compile_step):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))
        self.t = 0
        self._update = torch.compile(self._update_all) if compile_step else self._update_all

    @staticmethod
    def _update_all(ps, gs, ms, vs, scalars):
        decay, b1, b2, step_size, bc2_sqrt = scalars  # 0-d tensors: no recompilation as they change
        for p, g, m, v in zip(ps, gs, ms, vs):
            p.mul_(decay)
            m.lerp_(g, 1 - b1)
            v.lerp_(g * g, 1 - b2)
            p.sub_(torch.atan2(m, v.sqrt() / bc2_sqrt) * step_size)

    @torch.no_grad()
    def step(self, closure=None):
        self.t += 1
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            for p in ps:
                if not self.state[p]:
                    self.state[p] = {"m": torch.zeros_like(p), "v": torch.zeros_like(p)}
            b1, b2 = group["betas"]
            lr, wd = group["lr"], group["weight_decay"]
            scalars = torch.tensor([1 - lr * wd, b1, b2, lr / (1 - b1 ** self.t), math.sqrt(1 - b2 ** self.t)],
                                   dtype=torch.float32, device=ps[0].device).unbind()
            self._update(ps, [p.grad for p in ps], [self.state[p]["m"] for p in ps], [self.state[p]["v"] for p in ps],
                         scalars)


def adam_atan2(params, compile_step):
    try:
        from adam_atan2 import AdamATan2  # HRM's optimizer (a CUDA extension)
        return AdamATan2(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1), "adam_atan2 package"
    except ImportError:
        return AdamATan2Torch(params, 1e-4, (0.9, 0.95), 0.1, compile_step), "torch (HRM-SPEC 3.1)"


def flops_per_step(B, T, S, V, D, I, Hc, Lc, Hl, Ll, s=2):
    """reports/README.md's flops_per_step."""
    f_block = 2 * (4 * D * D + 3 * D * I) + 4 * T * D
    E = s * (Hc * Lc * Ll + Hc * Hl) + 2 * (Ll + Hl)
    return B * (T * E * f_block + 2 * D * V * S * (s + 2))


def eval_flops(B, T, S, V, D, I, Hc, Lc, Hl, Ll, segments):
    f_block = 2 * (4 * D * D + 3 * D * I) + 4 * T * D
    return B * segments * (T * (Hc * Lc * Ll + Hc * Hl) * f_block + 2 * D * V * S)


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def bench_config(up, name, shape, a, compile_model):
    act, losses, sparse = up
    S, V, N, B = shape
    D, heads, layers = (a.hidden, a.heads, a.layers)
    cfg = dict(batch_size=B, seq_len=S, puzzle_emb_ndim=D, num_puzzle_identifiers=N, vocab_size=V, H_cycles=2,
               L_cycles=2, H_layers=layers, L_layers=layers, hidden_size=D, expansion=4, num_heads=heads,
               pos_encodings="rope", halt_max_steps=16, halt_exploration_prob=0.1, causal=False,
               forward_dtype="bfloat16" if a.device == "cuda" else "float32")
    torch.manual_seed(0)
    dev = torch.device(a.device)
    # pretrain.py builds the model under `with torch.device("cuda")` (torch >= 2.0); the CPU is the default.
    on_dev = (lambda: dev) if a.device == "cuda" else contextlib.nullcontext
    with on_dev():
        model = losses.ACTLossHead(act.HierarchicalReasoningModel_ACTV1(cfg), loss_type="stablemax_cross_entropy")
    raw = model
    if compile_model:
        model = torch.compile(model, dynamic=False)
    opt, opt_kind = adam_atan2(list(raw.parameters()), compile_model)
    puzzle_opt = sparse.CastedSparseEmbeddingSignSGD_Distributed(raw.model.puzzle_emb.buffers(), world_size=1,
                                                                 lr=1e-2, weight_decay=0.1)
    g = torch.Generator(device="cpu").manual_seed(1)
    batch = {"inputs": torch.randint(1, V, (B, S), generator=g, dtype=torch.int32).to(dev),
             "labels": torch.randint(1, V, (B, S), generator=g, dtype=torch.int32).to(dev),
             "puzzle_identifiers": torch.randint(0, N, (B,), generator=g, dtype=torch.int32).to(dev)}
    with on_dev():
        carry = model.initial_carry(batch)
    if a.device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def train_step(carry):
        carry, loss, metrics, _, _ = model(carry=carry, batch=batch, return_keys=[])
        ((1 / B) * loss).backward()
        puzzle_opt.step()
        puzzle_opt.zero_grad()
        opt.step()
        opt.zero_grad()
        keys = sorted(metrics)
        torch.stack([metrics[k].float() for k in keys]).cpu()  # pretrain.py: metrics to the host
        return carry

    t_compile = time.perf_counter()
    for _ in range(a.warmup):
        carry = train_step(carry)
    sync(a.device)
    warm_s = time.perf_counter() - t_compile
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        carry = train_step(carry)
        sync(a.device)
        times.append(time.perf_counter() - t0)
    times.sort()
    step_s = times[len(times) // 2]
    T = S + 1
    I = -(round(4 * D * 2 / 3) // -256) * 256
    fl = flops_per_step(B, T, S, V, D, I, 2, 2, layers, layers)
    peak_train = torch.cuda.max_memory_allocated() if a.device == "cuda" else None

    # Evaluation: HRM's evaluate loop over one batch (all 16 segments).
    model.eval()
    with torch.inference_mode():
        def eval_batch():
            with on_dev():
                c = model.initial_carry(batch)
            segments = 0
            while True:
                c, _, _, _, all_finish = model(carry=c, batch=batch, return_keys=[])
                segments += 1
                if all_finish:
                    return segments
        eval_batch()  # compiles the eval graph
        sync(a.device)
        t0 = time.perf_counter()
        segments = eval_batch()
        sync(a.device)
        eval_s = time.perf_counter() - t0
    efl = eval_flops(B, T, S, V, D, I, 2, 2, layers, layers, segments)
    r = {"config": name, "batch": B, "seq_len": T, "hidden": D, "layers": [layers, layers],
         "step_seconds_median": step_s, "step_seconds_min": times[0], "steps_timed": len(times),
         "warmup_seconds": warm_s, "tokens_per_s": B * T / step_s, "flops_per_step": fl,
         "tflops": fl / step_s / 1e12, "mfu": fl / step_s / (a.peak_tflops * 1e12),
         "peak_memory_bytes_train": peak_train,
         "eval_seconds_per_batch": eval_s, "eval_segments": segments, "eval_examples_per_s": B / eval_s,
         "eval_tflops": efl / eval_s / 1e12, "optimizer": opt_kind}
    del model, raw, opt, carry
    if a.device == "cuda":
        torch.cuda.empty_cache()
    return r


def git_commit():
    try:
        return subprocess.run(["git", "-C", HERE, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("HRM_COMMIT", "unknown")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hrm-src", default=os.environ.get("HRM_GIT", os.path.join(HERE, "..", ".upstream", "HRM")),
                   help="sapientinc/HRM: a git checkout or mirror, or a folder of its files (./run gpu-debs)")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--configs", nargs="*", default=list(CONFIGS), help=f"of {list(CONFIGS)}")
    p.add_argument("--tiny", action="store_true", help="one tiny configuration (hidden 64, 1+1 layers): a smoke run")
    p.add_argument("--no-compile", action="store_true", help="eager mode (pretrain.py's DISABLE_COMPILE)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--peak-tflops", type=float, default=989.0)
    p.add_argument("--out", help="write the results here (JSON)")
    a = p.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("bench_torch_gpu: no CUDA device (torch.cuda.is_available() is False); nothing to time", file=sys.stderr)
        return 0
    a.hidden, a.heads, a.layers = (64, 2, 1) if a.tiny else (512, 8, 4)
    configs = TINY if a.tiny else {k: CONFIGS[k] for k in a.configs}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            act, losses, sparse, _, commit, used = hrm_upstream.load(a.hrm_src, tmp, hrm_upstream.COMPAT_EDITS,
                                                                     sdpa_flash_attn_func)
        except hrm_upstream.UpstreamError as e:
            print(f"bench_torch_gpu: {e}. hint: ./run gpu-debs exports HRM into .upstream/HRM "
                  f"(HRM_GIT=/path/to/HRM or network access)", file=sys.stderr)
            return 2
        results = []
        for name, shape in configs.items():
            r = bench_config((act, losses, sparse), name, shape, a, not a.no_compile)
            print(json.dumps(r), flush=True)
            results.append(r)
    doc = {"bench": "bench_torch_gpu", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "commit": git_commit(), "hrm_commit": commit, "torch": torch.__version__,
           "device": torch.cuda.get_device_name() if a.device == "cuda" else "cpu",
           "compiled": not a.no_compile, "modules": used, "peak_tflops": a.peak_tflops, "results": results}
    if a.out:
        tmp_out = a.out + ".tmp"
        with open(tmp_out, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp_out, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
