#!/usr/bin/python3
"""hrm_torch.py: an independent float64 PyTorch oracle for HRM ACT V1 training, written from
HRM-SPEC sections 1 (model), 2 (losses, metrics), 3 (optimizers, LR schedule) and 11.1 (which wins),
and the golden-fixture generator for tests/test_hrm_golden.cpp.

Everything runs in float64 on the CPU (Debian's python3-torch 1.13; no flash-attn, no adam-atan2):
HRM's bfloat16 activations, fp32 master weights and fp32 losses are all float64 here, so the oracle
states what HRM computes without its rounding. Initial weights are sampled the way HRM samples them
(fp32 parameters, bf16 H_init/L_init) and widened, so they are exact in both float32 and float64.

  /usr/bin/python3 tests/reference/hrm_torch.py --out tests/golden/hrm_small

writes rope_stablemax.safetensors and learned_softmax.safetensors (tensor names: see FIXTURES and
record_step). tests/reference/check_hrm_torch.py checks this oracle (gradients, parameter count,
AdamATan2, determinism, and equality with HRM's own model code).
"""
import os

# The same (non-SIMD) CPU kernels on every x86-64 machine, so that the fixtures are byte-reproducible:
# the AVX2 and AVX-512 kernels of uniform_/erfinv_/randn round the fp32 initial weights differently,
# and sum in other orders. Must be set before torch is imported.
# bench/bench_torch_step.py (HRM_TORCH_BENCH=1) times this model with PyTorch's own SIMD kernels.
# Likewise the BLAS: the fixtures were written with Debian's reference BLAS (libblas3), and OpenBLAS,
# when installed, takes over libblas.so.3 and sums float64 matmuls in another order (measured: 45 of
# the fixtures' tensors then differ, by up to 9e-15 relative). So this process re-executes itself
# once with the reference BLAS first on the library path, where that BLAS is installed.
if os.environ.get("HRM_TORCH_BENCH") != "1":
    os.environ["ATEN_CPU_CAPABILITY"] = "default"
    import glob
    import sys
    _reference_blas = sorted(glob.glob("/usr/lib/*/blas/libblas.so.3"))
    _path = os.environ.get("LD_LIBRARY_PATH", "")
    _script = bool(sys.argv) and os.path.isfile(sys.argv[0])  # re-executable: run as a script, not -c
    if _reference_blas and _script and os.path.dirname(_reference_blas[0]) not in _path.split(":"):
        os.environ["LD_LIBRARY_PATH"] = os.path.dirname(_reference_blas[0]) + (":" + _path if _path else "")
        os.execv(sys.executable, [sys.executable] + sys.argv)

import argparse
import dataclasses
import json
import math
import struct
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IGNORE_LABEL_ID = -100
DTYPE = torch.float64
STATE_PREFIX = "model.inner."  # HRM's state-dict prefix: ACTLossHead.model (ACT wrapper).inner


# ---------------------------------------------------------------------------------------------
# Configuration (spec 1.1, 3.3)

@dataclass
class HrmConfig:
    vocab_size: int
    seq_len: int
    hidden_size: int
    num_heads: int
    H_layers: int
    L_layers: int
    H_cycles: int
    L_cycles: int
    expansion: float
    puzzle_emb_ndim: int
    num_puzzle_identifiers: int
    pos_encodings: str                 # "rope" or "learned"
    halt_max_steps: int
    halt_exploration_prob: float
    loss_type: str                     # "stablemax_cross_entropy" or "softmax_cross_entropy"
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def puzzle_emb_len(self) -> int:   # P = ceil(ndim / D) (spec 1.2)
        return -(self.puzzle_emb_ndim // -self.hidden_size)

    @property
    def total_len(self) -> int:        # T = S + P
        return self.seq_len + self.puzzle_emb_len

    @property
    def intermediate_size(self) -> int:  # I = round_up_256(round(expansion * D * 2/3)) (spec 1.2)
        return -(round(self.expansion * self.hidden_size * 2 / 3) // -256) * 256


@dataclass
class OptConfig:
    lr: float
    lr_min_ratio: float
    lr_warmup_steps: int
    total_steps: int
    beta1: float
    beta2: float
    weight_decay: float
    puzzle_emb_lr: float
    puzzle_emb_weight_decay: float


# ---------------------------------------------------------------------------------------------
# Initialisation (spec 1.3)

def trunc_normal_(tensor: torch.Tensor, std: float) -> torch.Tensor:
    """JAX-style truncated normal at +-2 standard units, std corrected to be the actual std."""
    with torch.no_grad():
        if std == 0:
            return tensor.zero_()
        lower, upper = -2.0, 2.0
        a, b = math.erf(lower / math.sqrt(2)), math.erf(upper / math.sqrt(2))
        z = (b - a) / 2
        pdf = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        comp_std = std / math.sqrt(1 - (upper * pdf(lower) - lower * pdf(upper)) / z
                                   - ((pdf(lower) - pdf(upper)) / z) ** 2)
        tensor.uniform_(a, b)
        tensor.erfinv_()
        tensor.mul_(math.sqrt(2) * comp_std)
        return tensor.clip_(lower * comp_std, upper * comp_std)


def _sample_into(target: torch.Tensor, std: float, dtype: torch.dtype = torch.float32) -> None:
    """Samples trunc-normal in HRM's storage dtype (fp32 parameters, bf16 H/L init) into target."""
    with torch.no_grad():
        target.copy_(trunc_normal_(torch.empty(target.shape, dtype=dtype), std))


def hrm_init_(inner: "HrmInner") -> None:
    """HRM's initialisation (spec 1.3), drawn from the global torch RNG in the order HRM constructs
    its modules (hrm_act_v1.py:113-145, layers.py), so a seeded run reproduces HRM's numbers."""
    cfg = inner.cfg
    lecun = lambda linear: _sample_into(linear.weight, 1.0 / math.sqrt(linear.weight.shape[1]))
    _sample_into(inner.embed_tokens.embedding_weight, 1.0 / math.sqrt(cfg.hidden_size))
    lecun(inner.lm_head)
    lecun(inner.q_head)                   # consumes draws, then zeroed below (spec 11.1 item 10)
    with torch.no_grad():
        inner.q_head.bias.zero_()
        inner.puzzle_emb.weights.zero_()  # std 0: no draws
    if cfg.pos_encodings == "learned":
        _sample_into(inner.embed_pos.embedding_weight, 1.0 / math.sqrt(cfg.hidden_size))
    for level in (inner.H_level, inner.L_level):
        for block in level.layers:
            for linear in (block.self_attn.qkv_proj, block.self_attn.o_proj,
                           block.mlp.gate_up_proj, block.mlp.down_proj):
                lecun(linear)
    _sample_into(inner.H_init, 1.0, torch.bfloat16)
    _sample_into(inner.L_init, 1.0, torch.bfloat16)
    with torch.no_grad():
        inner.q_head.weight.zero_()
        inner.q_head.bias.fill_(-5.0)


# ---------------------------------------------------------------------------------------------
# Model (spec 1.4 - 1.7). Module and attribute names follow HRM so that state-dict names match.

class Linear(nn.Module):
    """HRM's CastedLinear: y = x W^T (+ b), weight (out, in)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=DTYPE))
        self.bias = nn.Parameter(torch.empty(out_features, dtype=DTYPE)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class Embedding(nn.Module):
    """HRM's CastedEmbedding: a (num, dim) table named embedding_weight."""

    def __init__(self, num: int, dim: int):
        super().__init__()
        self.embedding_weight = nn.Parameter(torch.empty(num, dim, dtype=DTYPE))


class PuzzleEmbedding(nn.Module):
    """The sparse puzzle-embedding table: a persistent buffer, trained by sign-SGD (spec 3.2)."""

    def __init__(self, num: int, dim: int):
        super().__init__()
        self.register_buffer("weights", torch.zeros(num, dim, dtype=DTYPE))


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Parameter-free RMSNorm over the feature axis (spec 1.5)."""
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


def rope_tables(cfg: HrmConfig):
    """cos/sin tables (T, hd), rotate-half layout (spec 1.6); float64 like the rest of the oracle."""
    hd = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=DTYPE) / hd))
    freqs = torch.outer(torch.arange(cfg.total_len, dtype=DTYPE), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x' = x cos + rot(x) sin, rot([x1 | x2]) = [-x2 | x1]; x is (b, T, heads, hd)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos.unsqueeze(-2) + rotated * sin.unsqueeze(-2)


class Attention(nn.Module):
    """Non-causal multi-head attention, no mask, scale 1/sqrt(hd) (spec 1.6)."""

    def __init__(self, cfg: HrmConfig):
        super().__init__()
        self.num_heads, self.head_dim = cfg.num_heads, cfg.head_dim
        self.qkv_proj = Linear(cfg.hidden_size, 3 * cfg.num_heads * cfg.head_dim)
        self.o_proj = Linear(cfg.num_heads * cfg.head_dim, cfg.hidden_size)

    def forward(self, x: torch.Tensor, cos_sin) -> torch.Tensor:
        b, t, _ = x.shape
        h = self.num_heads
        qkv = self.qkv_proj(x).view(b, t, 3 * h, self.head_dim)  # heads: [Q | K | V]
        q, k, v = qkv[:, :, :h], qkv[:, :, h:2 * h], qkv[:, :, 2 * h:]
        if cos_sin is not None:
            q, k = apply_rope(q, *cos_sin), apply_rope(k, *cos_sin)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) * (1.0 / math.sqrt(self.head_dim))
        out = torch.einsum("bhqk,bkhd->bqhd", torch.softmax(scores, dim=-1), v)
        return self.o_proj(out.reshape(b, t, h * self.head_dim))


class SwiGLU(nn.Module):
    """[gate | up] = x W_gu; out = (SiLU(gate) * up) W_down (spec 1.5)."""

    def __init__(self, cfg: HrmConfig):
        super().__init__()
        self.gate_up_proj = Linear(cfg.hidden_size, 2 * cfg.intermediate_size)
        self.down_proj = Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    """Post-norm block: h = rms(h + attn(h)); h = rms(h + mlp(h)) (spec 1.5)."""

    def __init__(self, cfg: HrmConfig):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = SwiGLU(cfg)
        self.eps = cfg.rms_norm_eps

    def forward(self, h: torch.Tensor, cos_sin) -> torch.Tensor:
        h = rms_norm(h + self.self_attn(h, cos_sin), self.eps)
        return rms_norm(h + self.mlp(h), self.eps)


class ReasoningModule(nn.Module):
    """module(z, inj) = Blocks(z + inj) (spec 1.7)."""

    def __init__(self, cfg: HrmConfig, num_layers: int):
        super().__init__()
        self.layers = nn.ModuleList([Block(cfg) for _ in range(num_layers)])

    def forward(self, z: torch.Tensor, injection: torch.Tensor, cos_sin) -> torch.Tensor:
        h = z + injection
        for layer in self.layers:
            h = layer(h, cos_sin)
        return h


class HrmInner(nn.Module):
    """HierarchicalReasoningModel_ACTV1_Inner: embeddings, H and L modules, heads, H/L init."""

    def __init__(self, cfg: HrmConfig):
        super().__init__()
        if cfg.puzzle_emb_ndim <= 0:
            raise ValueError("puzzle_emb_ndim must be > 0 (HRM's trainer needs it, spec 11.1 item 5)")
        if cfg.pos_encodings not in ("rope", "learned"):
            raise ValueError(f"pos_encodings {cfg.pos_encodings!r}")
        self.cfg = cfg
        D = cfg.hidden_size
        self.embed_tokens = Embedding(cfg.vocab_size, D)
        self.lm_head = Linear(D, cfg.vocab_size)
        self.q_head = Linear(D, 2, bias=True)
        self.puzzle_emb = PuzzleEmbedding(cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim)
        if cfg.pos_encodings == "learned":
            self.embed_pos = Embedding(cfg.total_len, D)
        self.cos_sin = rope_tables(cfg) if cfg.pos_encodings == "rope" else None
        self.H_level = ReasoningModule(cfg, cfg.H_layers)
        self.L_level = ReasoningModule(cfg, cfg.L_layers)
        self.register_buffer("H_init", torch.zeros(D, dtype=DTYPE))
        self.register_buffer("L_init", torch.zeros(D, dtype=DTYPE))

    def input_embeddings(self, inputs: torch.Tensor, puzzle_vectors: torch.Tensor) -> torch.Tensor:
        """Spec 1.4: [puzzle prefix (P, D) | token embeddings], learned positions, times sqrt(D)."""
        cfg = self.cfg
        D, P = cfg.hidden_size, cfg.puzzle_emb_len
        tokens = self.embed_tokens.embedding_weight[inputs.long()]
        prefix = F.pad(puzzle_vectors, (0, P * D - cfg.puzzle_emb_ndim)).view(-1, P, D)
        e = torch.cat((prefix, tokens), dim=-2)
        if cfg.pos_encodings == "learned":
            e = 0.707106781 * (e + self.embed_pos.embedding_weight)  # HRM's literal constant
        return math.sqrt(D) * e

    def one_step(self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor):
        """The 1-step-gradient part of a segment: z_L = L(z_L, z_H + x); z_H = H(z_H, z_L)."""
        z_L = self.L_level(z_L, z_H + x, self.cos_sin)
        z_H = self.H_level(z_H, z_L, self.cos_sin)
        return z_H, z_L

    def segment(self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor):
        """One segment (spec 1.7): H_cycles x L_cycles updates, all but the last L and H call
        without autograd."""
        cfg = self.cfg
        with torch.no_grad():
            for h in range(cfg.H_cycles):
                for l in range(cfg.L_cycles):
                    if not (h == cfg.H_cycles - 1 and l == cfg.L_cycles - 1):
                        z_L = self.L_level(z_L, z_H + x, self.cos_sin)
                if h != cfg.H_cycles - 1:
                    z_H = self.H_level(z_H, z_L, self.cos_sin)
        return self.one_step(z_H, z_L, x)

    def heads(self, z_H: torch.Tensor):
        """logits of the S sequence positions; q = q_head(z_H[:, 0]) -> (q_halt, q_continue)."""
        logits = self.lm_head(z_H)[:, self.cfg.puzzle_emb_len:]
        q = self.q_head(z_H[:, 0])
        return logits, q[..., 0], q[..., 1]


def named_state(inner: HrmInner) -> Dict[str, torch.Tensor]:
    """Every parameter and persistent buffer under its HRM state-dict name."""
    return {STATE_PREFIX + k: v for k, v in inner.state_dict().items()}


def named_parameters(inner: HrmInner) -> Dict[str, nn.Parameter]:
    return {STATE_PREFIX + k: p for k, p in inner.named_parameters()}


# ---------------------------------------------------------------------------------------------
# Losses and metrics (spec 2, 11.1 item 8)

def stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-log(s(x_label) / sum s(x)), s(x) = 1/(1 - x + 1e-30) for x < 0 else x + 1; ignored -> 0."""
    x = logits.to(torch.float64)
    s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
    logprobs = torch.log(s / s.sum(-1, keepdim=True))
    valid = labels != IGNORE_LABEL_ID
    picked = logprobs.gather(-1, torch.where(valid, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, torch.zeros_like(picked))


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Standard cross entropy with ignore_index -100, no reduction (float64 here, fp32 in HRM)."""
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), labels.long().reshape(-1),
                           ignore_index=IGNORE_LABEL_ID, reduction="none").view(labels.shape)


LOSS_FUNCTIONS = {"stablemax_cross_entropy": stablemax_cross_entropy,
                  "softmax_cross_entropy": softmax_cross_entropy}


def act_loss(loss_type: str, logits, q_halt, q_continue, target_q_continue, labels, halted, steps):
    """ACTLossHead (spec 2.2-2.4): returns (total, losses, metrics); metrics are raw sums."""
    with torch.no_grad():
        mask = labels != IGNORE_LABEL_ID
        counts = mask.sum(-1)
        divisor = counts.clamp_min(1).unsqueeze(-1)
        is_correct = mask & (torch.argmax(logits, dim=-1) == labels)
        seq_is_correct = is_correct.sum(-1) == counts        # n = 0 counts as correct
        valid = halted & (counts > 0)
        zero = torch.zeros((), dtype=torch.float64)
        metrics = {
            "count": valid.sum().to(torch.float64),
            "accuracy": torch.where(valid, (is_correct.to(torch.float64) / divisor).sum(-1), zero).sum(),
            "exact_accuracy": (valid & seq_is_correct).sum().to(torch.float64),
            "q_halt_accuracy": (valid & ((q_halt >= 0) == seq_is_correct)).sum().to(torch.float64),
            "steps": torch.where(valid, steps, 0).sum().to(torch.float64),
        }
    lm_loss = (LOSS_FUNCTIONS[loss_type](logits, labels) / divisor).sum()
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, seq_is_correct.to(q_halt.dtype), reduction="sum")
    losses = {"lm_loss": lm_loss, "q_halt_loss": q_halt_loss}
    total = lm_loss + 0.5 * q_halt_loss
    if target_q_continue is not None:  # training with halt_max_steps > 1 only (spec 11.1 item 4)
        losses["q_continue_loss"] = F.binary_cross_entropy_with_logits(q_continue, target_q_continue, reduction="sum")
        total = lm_loss + 0.5 * (q_halt_loss + losses["q_continue_loss"])
    return total, losses, metrics


# ---------------------------------------------------------------------------------------------
# Optimizers and LR schedule (spec 3, 11.1 item 6)

def lr_at(base_lr: float, step: int, opt: OptConfig) -> float:
    """Warmup + cosine schedule (spec 3.3); step is the 1-based counter after increment."""
    warm = round(opt.lr_warmup_steps)
    if step < warm:
        return base_lr * step / max(1, warm)
    progress = (step - warm) / max(1, opt.total_steps - warm)
    r = opt.lr_min_ratio
    return base_lr * (r + max(0.0, (1 - r) * 0.5 * (1.0 + math.cos(math.pi * progress))))


class AdamATan2:
    """adam-atan2 (spec 3.1, 11.1 item 6) in float64: no epsilon, decoupled decay by the current
    lr first, atan2(m, sqrt(v)/sqrt(1 - beta2^t)) scaled by lr / (1 - beta1^t) outside atan2."""

    def __init__(self, params: List[torch.Tensor], beta1: float, beta2: float, weight_decay: float):
        self.params = params
        self.beta1, self.beta2, self.weight_decay = beta1, beta2, weight_decay
        self.t = 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, lr: float) -> None:
        self.t += 1
        step_size = lr / (1 - self.beta1 ** self.t)
        wd_alpha = 1 - lr * self.weight_decay
        bc2_sqrt = math.sqrt(1 - self.beta2 ** self.t)
        t1, t2 = 1 - self.beta1, 1 - self.beta2
        for p, m, v in zip(self.params, self.m, self.v):
            if p.grad is None:
                continue
            g = p.grad
            m.copy_((m - t1 * m) + t1 * g)
            v.copy_((v - t2 * v) + t2 * (g * g))
            p.mul_(wd_alpha)
            p.sub_(step_size * torch.atan2(m, v.sqrt() / bc2_sqrt))


@torch.no_grad()
def sign_sgd_(weights: torch.Tensor, ids: torch.Tensor, local_grad: torch.Tensor, lr: float, wd: float) -> None:
    """Sparse sign-SGD (spec 3.2): sum the gradients of duplicate ids, then for each touched row
    w = w (1 - lr wd) - lr sign(G); untouched rows are not decayed; sign(0) = 0."""
    unique_ids, inverse = ids.long().unique(return_inverse=True)
    G = torch.zeros(len(unique_ids), local_grad.shape[1], dtype=local_grad.dtype).index_add_(0, inverse, local_grad)
    weights[unique_ids] = weights[unique_ids] * (1.0 - lr * wd) - lr * torch.sign(G)


# ---------------------------------------------------------------------------------------------
# ACT wrapper with carry, one training step (spec 1.8, 2.3, 3.4)

@dataclass
class Carry:
    z_H: torch.Tensor
    z_L: torch.Tensor
    steps: torch.Tensor          # int32 (b)
    halted: torch.Tensor         # bool (b)
    data: Dict[str, torch.Tensor]


def initial_carry(cfg: HrmConfig, batch: Dict[str, torch.Tensor]) -> Carry:
    """Every slot halted, so the first step takes the whole batch; z and data are placeholders."""
    b = batch["inputs"].shape[0]
    z = torch.zeros(b, cfg.total_len, cfg.hidden_size, dtype=DTYPE)
    return Carry(z, z.clone(), torch.zeros(b, dtype=torch.int32), torch.ones(b, dtype=torch.bool),
                 {k: torch.zeros_like(v) for k, v in batch.items()})


def draw_batch(cfg: HrmConfig, b: int, all_ignored_row: Optional[int]) -> Dict[str, torch.Tensor]:
    """Random fixture data: labels in [1, V) with about 25% ignored, optionally one n = 0 row."""
    inputs = torch.randint(0, cfg.vocab_size, (b, cfg.seq_len), dtype=torch.int32)
    labels = torch.randint(1, cfg.vocab_size, (b, cfg.seq_len), dtype=torch.int32)
    labels[torch.rand(b, cfg.seq_len) < 0.25] = IGNORE_LABEL_ID
    if all_ignored_row is not None:
        labels[all_ignored_row] = IGNORE_LABEL_ID
    ids = torch.randint(0, cfg.num_puzzle_identifiers, (b,), dtype=torch.int32)
    return {"inputs": inputs, "labels": labels, "puzzle_identifiers": ids}


def draw_min_halt_steps(cfg: HrmConfig, b: int) -> torch.Tensor:
    """Exploration (spec 1.8 step 4): explore ~ Bernoulli(prob), m ~ UniformInt{2..max}; explore ?
    m : 0. Drawn as HRM draws it (hrm_act_v1.py:271: rand_like on the float q logits, then
    randint_like on the int32 steps), so a seeded replay of HRM draws the same values."""
    explore = torch.rand(b, dtype=DTYPE) < cfg.halt_exploration_prob
    m = torch.randint(2, cfg.halt_max_steps + 1, (b,), dtype=torch.int32)
    return explore.to(torch.int32) * m


class HrmTrainer:
    """The training loop of spec 3.4 for one rank: ACT forward + loss, backward(total / B), both
    optimizers with the scheduled LRs."""

    def __init__(self, inner: HrmInner, opt: OptConfig, global_batch_size: int):
        self.inner, self.opt, self.global_batch_size = inner, opt, global_batch_size
        self.adam = AdamATan2(list(inner.parameters()), opt.beta1, opt.beta2, opt.weight_decay)
        self.carry: Optional[Carry] = None
        self.step_count = 0

    def act_forward(self, batch: Dict[str, torch.Tensor], min_halt_steps: torch.Tensor):
        """ACT wrapper (spec 1.8). Returns the new carry, the outputs and the puzzle vectors leaf
        (HRM's local_weights) that receives the puzzle-embedding gradient."""
        inner, cfg, carry = self.inner, self.inner.cfg, self.carry
        # 1. Reset halted slots: H/L init, steps 0, data from the incoming batch.
        reset = carry.halted
        z_H = torch.where(reset.view(-1, 1, 1), inner.H_init, carry.z_H)
        z_L = torch.where(reset.view(-1, 1, 1), inner.L_init, carry.z_L)
        steps = torch.where(reset, torch.zeros_like(carry.steps), carry.steps)
        data = {k: torch.where(reset.view((-1,) + (1,) * (v.ndim - 1)), batch[k], v) for k, v in carry.data.items()}
        # 2. Segment on the carry's data; the puzzle rows are those of the carry's ids (spec 11.1 item 2).
        puzzle_vectors = inner.puzzle_emb.weights[data["puzzle_identifiers"].long()].clone().requires_grad_(True)
        x = inner.input_embeddings(data["inputs"], puzzle_vectors)
        z_H, z_L = inner.segment(z_H, z_L, x)
        logits, q_halt, q_continue = inner.heads(z_H)
        outputs = {"logits": logits, "q_halt_logits": q_halt, "q_continue_logits": q_continue,
                   "target_q_continue": None}
        with torch.no_grad():
            # 3. Steps and halting.
            steps = steps + 1
            is_last = steps >= cfg.halt_max_steps
            halted = is_last
            if cfg.halt_max_steps > 1:
                # 4. Q halting (strict >), exploration, bootstrapped target from the new carry.
                halted = halted | (q_halt > q_continue)
                halted = halted & (steps >= min_halt_steps)
                next_z_H, _ = inner.segment(z_H.detach(), z_L.detach(), x.detach())
                _, next_q_halt, next_q_continue = inner.heads(next_z_H)
                outputs["target_q_continue"] = torch.sigmoid(
                    torch.where(is_last, next_q_halt, torch.maximum(next_q_halt, next_q_continue)))
        new_carry = Carry(z_H.detach(), z_L.detach(), steps, halted, data)
        return new_carry, outputs, puzzle_vectors

    def train_step(self, batch: Dict[str, torch.Tensor], min_halt_steps: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One optimizer step; returns every quantity the fixtures record (float64 / int32)."""
        inner, opt = self.inner, self.opt
        self.step_count += 1
        if self.carry is None:
            self.carry = initial_carry(inner.cfg, batch)
        self.carry, out, puzzle_vectors = self.act_forward(batch, min_halt_steps)
        c = self.carry
        total, losses, metrics = act_loss(inner.cfg.loss_type, out["logits"], out["q_halt_logits"],
                                          out["q_continue_logits"], out["target_q_continue"],
                                          c.data["labels"], c.halted, c.steps)
        loss = (1 / self.global_batch_size) * total
        loss.backward()

        rec = {"carry." + k: v for k, v in c.data.items()}
        rec.update({k: v.detach() for k, v in out.items() if v is not None})
        rec.update({"halted": c.halted.to(torch.int32), "steps": c.steps})
        rec.update({k: v.detach().reshape(1) for k, v in losses.items()})
        rec["loss"] = loss.detach().reshape(1)
        rec.update({"metrics." + k: v.reshape(1) for k, v in metrics.items()})
        rec.update({"grad." + k: p.grad.clone() for k, p in named_parameters(inner).items()})
        rec["grad.puzzle_emb_local"] = puzzle_vectors.grad.clone()

        lr = lr_at(opt.lr, self.step_count, opt)
        puzzle_lr = lr_at(opt.puzzle_emb_lr, self.step_count, opt)
        rec["lr"] = torch.tensor([lr], dtype=torch.float64)
        rec["puzzle_emb_lr"] = torch.tensor([puzzle_lr], dtype=torch.float64)
        sign_sgd_(inner.puzzle_emb.weights, c.data["puzzle_identifiers"], puzzle_vectors.grad,
                  puzzle_lr, opt.puzzle_emb_weight_decay)
        self.adam.step(lr)
        for p in inner.parameters():
            p.grad = None
        return rec


# ---------------------------------------------------------------------------------------------
# safetensors (8-byte LE header length, JSON header, raw little-endian data)

_ST_DTYPES = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<i4"): "I32", np.dtype("<i8"): "I64"}


def write_safetensors(path: str, tensors: Dict[str, np.ndarray], metadata: Dict[str, str]) -> None:
    header: Dict[str, object] = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_DTYPES[array.dtype.newbyteorder("<")], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad so that the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(b"".join(blobs))


def read_safetensors(path: str):
    """Returns ({name: np.ndarray}, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    by_name = {v: k for k, v in _ST_DTYPES.items()}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        data = raw[8 + n + begin:8 + n + end]
        tensors[name] = np.frombuffer(data, dtype=by_name[info["dtype"]]).reshape(info["shape"])
    return tensors, metadata


# ---------------------------------------------------------------------------------------------
# Golden fixtures

BASE_ARCH = dict(vocab_size=11, seq_len=16, hidden_size=64, num_heads=2, H_layers=1, L_layers=1, H_cycles=2,
                 L_cycles=2, expansion=4.0, num_puzzle_identifiers=5, rope_theta=10000.0, rms_norm_eps=1e-5,
                 halt_exploration_prob=0.5)
BASE_OPT = dict(lr=1e-3, lr_min_ratio=0.1, lr_warmup_steps=2, beta1=0.9, beta2=0.95, weight_decay=0.1,
                puzzle_emb_lr=1e-2, puzzle_emb_weight_decay=0.1)


@dataclass
class FixtureSpec:
    name: str
    arch: HrmConfig
    steps: int
    seed: int
    batch_size: int = 4
    all_ignored: tuple = (1, 1)   # (step, row) of the row whose labels are all ignored (n = 0)

    @property
    def opt(self) -> OptConfig:
        return OptConfig(total_steps=self.steps, **BASE_OPT)


FIXTURES = [
    FixtureSpec("rope_stablemax", HrmConfig(**BASE_ARCH, puzzle_emb_ndim=64, pos_encodings="rope", halt_max_steps=3,
                                            loss_type="stablemax_cross_entropy"), steps=6, seed=0),
    FixtureSpec("learned_softmax", HrmConfig(**BASE_ARCH, puzzle_emb_ndim=96, pos_encodings="learned",
                                             halt_max_steps=2, loss_type="softmax_cross_entropy"), steps=4, seed=0),
]

FIXTURE_INIT_NOTE = ("HRM init (HRM-SPEC 1.3) except q_head.weight ~ N(0, 0.2), q_head.bias = [-0.3, -0.5], "
                     "puzzle_emb.weights ~ N(0, 0.1)")


def fixture_model(spec: FixtureSpec) -> HrmInner:
    """HRM's init, then the fixture's overrides, drawn from the RNG seeded by the caller; so some
    slots halt by Q and the puzzle-embedding path carries signal."""
    inner = HrmInner(spec.arch)
    hrm_init_(inner)
    with torch.no_grad():
        inner.q_head.weight.copy_(torch.randn(inner.q_head.weight.shape) * 0.2)
        inner.q_head.bias.copy_(torch.tensor([-0.3, -0.5], dtype=DTYPE))
        inner.puzzle_emb.weights.copy_(torch.randn(inner.puzzle_emb.weights.shape) * 0.1)
    return inner


def run_fixture(spec: FixtureSpec):
    """Runs the fixture's training steps; returns (initial state, per-step records, final state
    snapshots {step: {name: tensor}})."""
    torch.manual_seed(spec.seed)
    inner = fixture_model(spec)
    init = {k: v.detach().clone() for k, v in named_state(inner).items()}
    trainer = HrmTrainer(inner, spec.opt, spec.batch_size)
    records, params = [], {}
    for k in range(1, spec.steps + 1):
        row = spec.all_ignored[1] if spec.all_ignored[0] == k else None
        batch = draw_batch(spec.arch, spec.batch_size, row)
        min_halt = draw_min_halt_steps(spec.arch, spec.batch_size)
        rec = {"batch." + n: v for n, v in batch.items()}
        rec["min_halt_steps"] = min_halt
        rec.update(trainer.train_step(batch, min_halt))
        records.append(rec)
        if k in (1, spec.steps):
            params[k] = {n: v.detach().clone() for n, v in named_state(inner).items()
                         if n not in (STATE_PREFIX + "H_init", STATE_PREFIX + "L_init")}
    return init, records, params


def coverage(spec: FixtureSpec, records) -> Dict[str, int]:
    """Counts the ACT situations the fixture exercises (a fixture missing one is rejected)."""
    hms = spec.arch.halt_max_steps
    c = {"halted_by_q_before_max": 0, "kept_running": 0, "delayed_by_exploration": 0,
         "reset_after_step_1": 0, "kept_old_data_after_step_1": 0, "counted_in_metrics": 0}
    prev_halted = None
    for rec in records:
        halted, steps = rec["halted"].bool(), rec["steps"]
        q_says_halt = rec["q_halt_logits"] > rec["q_continue_logits"]
        c["halted_by_q_before_max"] += int((halted & (steps < hms)).sum())
        c["kept_running"] += int((~halted).sum())
        c["delayed_by_exploration"] += int((q_says_halt & (steps < rec["min_halt_steps"]) & (steps < hms)).sum())
        if prev_halted is not None:
            c["reset_after_step_1"] += int(prev_halted.sum())
            c["kept_old_data_after_step_1"] += int((~prev_halted).sum())
        c["counted_in_metrics"] += int(rec["metrics.count"])
        prev_halted = halted
    return c


def fixture_tensors(spec: FixtureSpec, init, records, params) -> Dict[str, np.ndarray]:
    out = {"init." + n: v.numpy().astype(np.float64) for n, v in init.items()}
    for k, rec in enumerate(records, start=1):
        for name, v in rec.items():
            if name.startswith("grad."):
                array = v.numpy().astype(np.float32)  # size: gradients as F32
            elif v.dtype in (torch.int32, torch.bool, torch.int64):
                array = v.numpy().astype(np.int32)
            else:
                array = v.numpy().astype(np.float64)
            out[f"step{k}.{name}"] = array
        for name, v in params.get(k, {}).items():
            out[f"step{k}.param.{name}"] = v.numpy().astype(np.float32)
    return out


def fixture_config(spec: FixtureSpec) -> str:
    cfg = dataclasses.asdict(spec.arch)
    cfg.update(dataclasses.asdict(spec.opt))
    cfg.update(batch_size=spec.batch_size, steps=spec.steps, seed=spec.seed,
               all_ignored_labels_step_row=list(spec.all_ignored), init=FIXTURE_INIT_NOTE)
    return json.dumps(cfg, sort_keys=True)


def write_fixtures(out_dir: str, verbose: bool = True) -> None:
    os.makedirs(out_dir, exist_ok=True)
    for spec in FIXTURES:
        start = time.perf_counter()
        init, records, params = run_fixture(spec)
        cov = coverage(spec, records)
        missing = [k for k, v in cov.items() if v == 0]
        if missing:
            raise SystemExit(f"{spec.name}: the fixture does not exercise {missing}; change its seed")
        path = os.path.join(out_dir, spec.name + ".safetensors")
        write_safetensors(path, fixture_tensors(spec, init, records, params),
                          {"config": fixture_config(spec), "format": "hrmkit-golden-1"})
        if verbose:
            print(f"{path}: {os.path.getsize(path)} bytes, {time.perf_counter() - start:.2f} s, {json.dumps(cov)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for the .safetensors fixtures")
    args = parser.parse_args()
    torch.set_num_threads(1)  # reductions split by thread count: keep the fixtures byte-reproducible
    write_fixtures(args.out)


if __name__ == "__main__":
    main()
