#!/usr/bin/env python3
"""hrm_checkpoint.py: convert HRM weights between a PyTorch state dict and safetensors.

HRM (sapientinc/HRM) saves `torch.save(model.state_dict())`, a pickle only PyTorch can read;
hrmkit reads and writes safetensors (HRM-SPEC 7.3). This script moves weights across, in both
directions, under HRM's own key names (`model.inner....`) so HRM's evaluate.py loads what hrmkit
trained and hrmkit starts from what HRM trained:

  hrm_checkpoint.py to-safetensors IN OUT               IN: torch.save'd HRM state dict
  hrm_checkpoint.py to-torch IN OUT [--compiled-prefix] IN: safetensors (weights-only or a full
                                                        hrmkit checkpoint; optimizer.* and carry.*
                                                        tensors are dropped)

Float tensors are written as F32, except bf16 ones (HRM's H_init/L_init buffers), written as BF16 so
they round-trip exactly. A `_orig_mod.` prefix (torch.compile) is removed on the way in; pass
--compiled-prefix to add it back for HRM's compiled model. The safetensors file is written by hand
(the `safetensors` package is not needed) and, like the state dict, under a temporary name that is
renamed into place once complete. Bad input: one line on stderr naming the file, exit status 2.
Needs torch (Debian: python3-torch) and numpy.
"""

import argparse
import json
import mmap
import os
import re
import struct
import sys
import tempfile

COMPILED_PREFIX = "_orig_mod."
FORMAT = "hrm-weights-1"
INNER = "model.inner."

# HRM's state-dict entries in the order HRM's state_dict() lists them (own buffers, then the
# submodules in construction order); a layer key sorts by (level, layer index, part).
TOP_KEYS = ["H_init", "L_init", "embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight",
            "q_head.bias", "puzzle_emb.weights", "embed_pos.embedding_weight"]
REQUIRED = ["embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight", "q_head.bias", "H_init",
            "L_init"]
LAYER_PARTS = ["self_attn.qkv_proj.weight", "self_attn.o_proj.weight", "mlp.gate_up_proj.weight",
               "mlp.down_proj.weight"]
LAYER_RE = re.compile(r"^([HL])_level\.layers\.(0|[1-9][0-9]*)\.(" + "|".join(re.escape(p) for p in LAYER_PARTS) + r")$")
# hrmkit training state in a full checkpoint: not part of HRM's state dict.
TRAINING_STATE_PREFIXES = ("optimizer.", "carry.")

ST_DTYPES = {"F64": 8, "F32": 4, "BF16": 2, "F16": 2, "I64": 8, "I32": 4, "U8": 1, "BOOL": 1}


class InputError(Exception):
    """Bad input: reported as `hrm_checkpoint.py: error: FILE: what` with exit status 2."""

    def __init__(self, path, what):
        super().__init__(f"{path}: {what}")


def hrm_order(key):
    """Sort key placing `key` (without model.inner.) where HRM's state_dict() would."""
    if key in TOP_KEYS:
        return (TOP_KEYS.index(key),)
    m = LAYER_RE.match(key)
    return (len(TOP_KEYS) + (m.group(1) == "L"), int(m.group(2)), LAYER_PARTS.index(m.group(3)))


def check_hrm_keys(path, keys):
    """Raises unless `keys` (prefix removed) are exactly the weights of an HRM model."""
    inner, unexpected = set(), []
    for k in keys:
        sub = k[len(INNER):] if k.startswith(INNER) else None
        if sub is None or (sub not in TOP_KEYS and not LAYER_RE.match(sub)):
            unexpected.append(k)
        else:
            inner.add(sub)
    missing = [INNER + k for k in REQUIRED if k not in inner]
    for level in "HL":
        layers = sorted({int(LAYER_RE.match(k).group(2)) for k in inner if k.startswith(level + "_level.")})
        if not layers:
            missing.append(f"{INNER}{level}_level.layers.0.*")
        for i in range(max(layers, default=-1) + 1):
            missing += [f"{INNER}{level}_level.layers.{i}.{p}" for p in LAYER_PARTS
                        if f"{level}_level.layers.{i}.{p}" not in inner]
    # Missing keys first: for another model's state dict "lacks HRM's keys" is the useful message.
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(path, f"not an HRM checkpoint: lacks {shown} (HRM-SPEC 7.3)")
    if unexpected:
        raise InputError(path, f"unexpected tensor '{unexpected[0]}' next to HRM's weights; expected only "
                               f"model.inner.* (HRM-SPEC 7.3)")


def write_atomic(path, write):
    """Calls write(file) on a temporary file next to `path`, fsyncs it and renames it to `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=folder)
    except OSError as e:
        raise InputError(path, f"cannot write: {e.strerror}")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 is for secrets, not weights
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise InputError(path, f"cannot write: {e.strerror or e}")
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


# ---------------------------------------------------------------------------------------------
# safetensors, by hand

def tensor_to_st(torch, t):
    """(dtype name, little-endian bytes as a numpy array) of a CPU tensor."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return "BF16", t.view(torch.int16).numpy()
    if t.is_floating_point():
        return "F32", t.to(torch.float32).numpy()
    table = {torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
    if t.dtype not in table:
        return None, None
    return table[t.dtype], t.numpy()


def write_safetensors(path, tensors, metadata):
    """tensors: {name: (dtype, shape, numpy array)}. Larger elements first, then by name (as the
    Rust library lays them out), header padded to 8 bytes: every tensor is aligned in a mapping."""
    names = sorted(tensors, key=lambda n: (-ST_DTYPES[tensors[n][0]], n))
    header = {"__metadata__": metadata}
    offset = 0
    for n in names:
        dtype, shape, arr = tensors[n]
        header[n] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)

    def write(f):
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for n in names:
            f.write(tensors[n][2].reshape(-1).view("u1").data)  # no copy of a 2 GB table

    write_atomic(path, write)


def read_safetensors(path):
    """({name: (dtype, shape, buffer)}, metadata), validated as strictly as hrmkit's C++ reader.
    The file is mapped, not read: the buffers are views, so a 2 GB table is copied only once."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)) if size else memoryview(b"")
    except OSError as e:
        raise InputError(path, f"cannot open: {e.strerror}")
    if len(data) < 8:
        raise InputError(path, f"truncated file: {len(data)} bytes; a safetensors file starts with an "
                               f"8-byte header length")
    (n,) = struct.unpack("<Q", data[:8].tobytes())
    if n > len(data) - 8:
        raise InputError(path, f"header length {n} goes beyond the end of the file ({len(data)} bytes; "
                               f"truncated file?)")

    def no_duplicates(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise InputError(path, f"duplicate key '{k}' in the header")
            seen[k] = v
        return seen

    try:
        header = json.loads(data[8:8 + n].tobytes().decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(path, f"malformed JSON header: {e}")
    if not isinstance(header, dict):
        raise InputError(path, "the JSON header is not an object")
    body = data[8 + n:]
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise InputError(path, "__metadata__ is not an object of strings")
    tensors, spans = {}, []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise InputError(path, f"tensor '{name}': expected exactly dtype, shape and data_offsets")
        dtype, shape, off = e["dtype"], e["shape"], e["data_offsets"]
        if not isinstance(dtype, str) or dtype not in ST_DTYPES:
            raise InputError(path, f"tensor '{name}': unknown dtype '{dtype}'; expected one of "
                                   f"{', '.join(ST_DTYPES)}")
        ints = lambda xs: isinstance(xs, list) and all(type(x) is int and x >= 0 for x in xs)
        if not ints(shape) or not ints(off) or len(off) != 2 or off[0] > off[1]:
            raise InputError(path, f"tensor '{name}': bad shape or data_offsets")
        need = ST_DTYPES[dtype]
        for d in shape:
            need *= d
        if need != off[1] - off[0]:
            raise InputError(path, f"tensor '{name}': shape {tuple(shape)} of {dtype} needs {need} bytes but "
                                   f"data_offsets {off} span {off[1] - off[0]}")
        if off[1] > len(body):
            raise InputError(path, f"tensor '{name}': data_offsets {off} go beyond the data section "
                                   f"({len(body)} bytes; truncated file?)")
        tensors[name] = (dtype, shape, body[off[0]:off[1]])
        spans.append((off[0], off[1], name))
    pos = 0
    for b, e, name in sorted(spans):
        if b != pos:
            raise InputError(path, f"tensor '{name}' {'overlaps another' if b < pos else 'leaves a gap'} "
                                   f"(data_offsets [{b}, {e}])")
        pos = e
    if pos != len(body):
        raise InputError(path, f"{len(body) - pos} bytes after the last tensor")
    return tensors, metadata


# ---------------------------------------------------------------------------------------------
# commands

def to_safetensors(src, dst):
    import torch

    try:
        sd = torch.load(src, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(src, "no such file")
    except Exception as e:  # torch.load raises many types for a file that is not its own
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise InputError(src, f"not a PyTorch state dict saved by torch.save ({type(e).__name__}: {msg})")
    if not isinstance(sd, dict) or not sd or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in sd.items()):
        raise InputError(src, f"not a PyTorch state dict: holds a {type(sd).__name__}, expected a dict of "
                              f"tensors (torch.save(model.state_dict()))")
    prefixed = [k.startswith(COMPILED_PREFIX) for k in sd]
    if any(prefixed) and not all(prefixed):
        raise InputError(src, f"some keys start with '{COMPILED_PREFIX}' and some do not")
    weights = {k[len(COMPILED_PREFIX):] if prefixed[0] else k: v for k, v in sd.items()}
    check_hrm_keys(src, weights)
    tensors = {}
    for name, t in weights.items():
        dtype, arr = tensor_to_st(torch, t)
        if dtype is None:
            raise InputError(src, f"tensor '{name}' has dtype {t.dtype}, which hrmkit does not read")
        tensors[name] = (dtype, tuple(t.shape), arr)
    write_safetensors(dst, tensors, {"format": FORMAT, "source": src})


def to_torch(src, dst, compiled_prefix):
    tensors, _ = read_safetensors(src)
    weights = {k: v for k, v in tensors.items() if not k.startswith(TRAINING_STATE_PREFIXES)}
    check_hrm_keys(src, weights)
    import collections  # torch takes seconds to import: bad input is reported before

    import numpy as np
    import torch

    np_types = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.int16, "I64": np.int64,
                "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}
    sd = collections.OrderedDict()
    for name in sorted(weights, key=lambda k: hrm_order(k[len(INNER):])):
        dtype, shape, raw = weights[name]
        arr = np.frombuffer(raw, dtype=np.dtype(np_types[dtype]).newbyteorder("<")).reshape(shape).copy()
        t = torch.from_numpy(arr)
        if dtype == "BF16":
            t = t.view(torch.bfloat16)
        sd[(COMPILED_PREFIX if compiled_prefix else "") + name] = t
    write_atomic(dst, lambda f: torch.save(sd, f))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="hrm_checkpoint.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    a = sub.add_parser("to-safetensors", help="PyTorch HRM state dict -> weights-only safetensors")
    a.add_argument("input")
    a.add_argument("output")
    b = sub.add_parser("to-torch", help="safetensors (weights-only or hrmkit checkpoint) -> PyTorch state dict")
    b.add_argument("input")
    b.add_argument("output")
    b.add_argument("--compiled-prefix", action="store_true",
                   help=f"prefix every key with '{COMPILED_PREFIX}' as torch.compile'd HRM saves them")
    args = ap.parse_args(argv)
    if sys.byteorder != "little":
        ap.error("tensor bytes are copied as is; this needs a little-endian machine")
    try:
        if args.command == "to-safetensors":
            to_safetensors(args.input, args.output)
        else:
            to_torch(args.input, args.output, args.compiled_prefix)
    except InputError as e:
        print(f"hrm_checkpoint.py: error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"hrm_checkpoint.py: error: {e.name} is not installed (Debian: python3-torch python3-numpy)",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
