"""NumPy transcription of HRM's dataset/build_maze_dataset.py and dataset/common.py's
dihedral_transform (sapientinc/HRM), the oracle for tests/test_build_maze.cpp.

  TRAIN_CSV TEST_CSV OUT_DIR AUG(0|1)
      convert_subset() for "train" and "test" without subsampling (unseeded upstream), reading
      local files instead of hf_hub_download; pydantic's model_dump is spelled out as a dict in
      PuzzleDatasetMetadata's field order.
"""
import csv
import json
import math
import os
import sys

import numpy as np

CHARSET = "# SGo"


def dihedral_transform(arr, tid):
    if tid == 0:
        return arr
    elif tid == 1:
        return np.rot90(arr, k=1)
    elif tid == 2:
        return np.rot90(arr, k=2)
    elif tid == 3:
        return np.rot90(arr, k=3)
    elif tid == 4:
        return np.fliplr(arr)
    elif tid == 5:
        return np.flipud(arr)
    elif tid == 6:
        return arr.T
    elif tid == 7:
        return np.fliplr(np.rot90(arr, k=1))
    else:
        return arr


def convert_subset(set_name, csv_path, output_dir, aug):
    all_chars = set()
    grid_size = None
    inputs = []
    labels = []
    with open(csv_path, newline="") as csvfile:
        reader = csv.reader(csvfile)
        next(reader)  # Skip header
        for source, q, a, rating in reader:
            all_chars.update(q)
            all_chars.update(a)
            if grid_size is None:
                n = int(len(q) ** 0.5)
                grid_size = (n, n)
            inputs.append(np.frombuffer(q.encode(), dtype=np.uint8).reshape(grid_size))
            labels.append(np.frombuffer(a.encode(), dtype=np.uint8).reshape(grid_size))

    results = {k: [] for k in ["inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"]}
    puzzle_id = 0
    example_id = 0
    results["puzzle_indices"].append(0)
    results["group_indices"].append(0)
    for inp, out in zip(inputs, labels):
        for aug_idx in range(8 if (set_name == "train" and aug) else 1):
            results["inputs"].append(dihedral_transform(inp, aug_idx))
            results["labels"].append(dihedral_transform(out, aug_idx))
            example_id += 1
            puzzle_id += 1
            results["puzzle_indices"].append(example_id)
            results["puzzle_identifiers"].append(0)
        results["group_indices"].append(puzzle_id)

    assert len(all_chars - set(CHARSET)) == 0
    char2id = np.zeros(256, np.uint8)
    char2id[np.array(list(map(ord, CHARSET)))] = np.arange(len(CHARSET)) + 1

    def _seq_to_numpy(seq):
        return np.vstack([char2id[s.reshape(-1)] for s in seq])

    results = {
        "inputs": _seq_to_numpy(results["inputs"]),
        "labels": _seq_to_numpy(results["labels"]),
        "group_indices": np.array(results["group_indices"], dtype=np.int32),
        "puzzle_indices": np.array(results["puzzle_indices"], dtype=np.int32),
        "puzzle_identifiers": np.array(results["puzzle_identifiers"], dtype=np.int32),
    }
    metadata = dict(pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=len(CHARSET) + 1,
                    seq_len=int(math.prod(grid_size)), num_puzzle_identifiers=1,
                    total_groups=len(results["group_indices"]) - 1, mean_puzzle_examples=float(1), sets=["all"])

    save_dir = os.path.join(output_dir, set_name)
    os.makedirs(save_dir, exist_ok=True)
    with open(os.path.join(save_dir, "dataset.json"), "w") as f:
        json.dump(metadata, f)
    for k, v in results.items():
        np.save(os.path.join(save_dir, f"all__{k}.npy"), v)
    with open(os.path.join(output_dir, "identifiers.json"), "w") as f:
        json.dump(["<blank>"], f)


if __name__ == "__main__":
    aug = sys.argv[4] == "1"
    convert_subset("train", sys.argv[1], sys.argv[3], aug)
    convert_subset("test", sys.argv[2], sys.argv[3], aug)
