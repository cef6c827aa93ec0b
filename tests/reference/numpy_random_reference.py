#!/usr/bin/env python3
"""numpy_random_reference.py: NumPy's own outputs for tests/test_numpy_random.cpp, which replays
the same draw programs with datasets/numpy_random and compares every value.

Usage: numpy_random_reference.py OUT.json. Each program starts from a fresh
np.random.Generator(np.random.Philox(seed)) per seed; the test must issue the same calls in the
same order.
"""
import json
import sys

import numpy as np

SEEDS = [0, 1, 42, 2**32 + 7, 12345678901234567]
PERMUTATION_SIZES = [1, 2, 3, 10, 1000, 100000]
# (lo, hi) with hi - lo = 1, 2, 7, 1001, 2^31 + 5, 2^32 (the plain 32-bit path), 2^32 + 1 and 2^40
# (64-bit Lemire), 2^64 - 1 (the widest range integers() accepts).
RANGES = [(0, 1), (5, 7), (-3, 4), (0, 1001), (10, 10 + 2**31 + 5), (0, 2**32), (-1, 2**32),
          (0, 2**40), (-2**63, 2**63 - 1)]
DRAWS_PER_RANGE = 7
ENTROPIES = [[0], [1, 2, 3], [1, 2, 3, 4, 5, 6], [0xFFFFFFFF, 0xFFFFFFFF]]


def generator(seed):
    return np.random.Generator(np.random.Philox(seed=seed))


def mixed(seed):
    """32-bit and 64-bit draws interleaved: a 32-bit draw keeps the high half of its word."""
    rng = generator(seed)
    raw = rng.bit_generator.random_raw
    return [int(rng.integers(0, 7)), int(raw()), int(rng.integers(0, 7)), int(rng.integers(0, 2**40)),
            int(rng.integers(0, 7))] + [int(v) for v in rng.permutation(5)] + [int(raw()), int(rng.integers(0, 1001))]


def main():
    out = {"seeds": SEEDS, "sizes": PERMUTATION_SIZES, "ranges": RANGES, "draws_per_range": DRAWS_PER_RANGE,
           "entropies": ENTROPIES, "raw": [], "key": [], "permutation": [], "integers": [], "mixed": [],
           "generate_state": []}
    for seed in SEEDS:
        bg = np.random.Philox(seed=seed)
        out["key"].append([int(k) for k in bg.state["state"]["key"]])
        out["raw"].append([int(bg.random_raw()) for _ in range(12)])
        rng = generator(seed)
        out["permutation"].append([[int(v) for v in rng.permutation(n)] for n in PERMUTATION_SIZES])
        rng = generator(seed)
        out["integers"].append([[int(rng.integers(lo, hi)) for _ in range(DRAWS_PER_RANGE)] for lo, hi in RANGES])
        out["mixed"].append(mixed(seed))
    for entropy in ENTROPIES:
        out["generate_state"].append([int(v) for v in np.random.SeedSequence(entropy).generate_state(8)])
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
