"""NumPy transcription of HRM's dataset/build_sudoku_dataset.py (sapientinc/HRM), the oracle for
tests/test_build_sudoku.cpp.

  build TRAIN_CSV TEST_CSV OUT_DIR [MIN_DIFFICULTY]
      convert_subset() for "train" and "test" without subsampling or augmentation (those draw
      from numpy's unseeded global RNG upstream, so only this path is byte-comparable), reading
      local files instead of hf_hub_download; pydantic's model_dump is spelled out as a dict in
      PuzzleDatasetMetadata's field order.
  shuffle CASES_FILE
      shuffle_sudoku()'s apply_transformation with the random draws given instead of drawn. Each
      line: digit_map (10) transpose (1) row_perm (9) col_perm (9) board (81) expected (81), all
      integers separated by spaces. Exits 1 at the first case whose result differs.
"""
import csv
import json
import os
import sys

import numpy as np


def convert_subset(set_name, csv_path, output_dir, min_difficulty=None):
    inputs = []
    labels = []
    with open(csv_path, newline="") as csvfile:
        reader = csv.reader(csvfile)
        next(reader)  # Skip header
        for source, q, a, rating in reader:
            if (min_difficulty is None) or (int(rating) >= min_difficulty):
                assert len(q) == 81 and len(a) == 81
                inputs.append(np.frombuffer(q.replace('.', '0').encode(), dtype=np.uint8).reshape(9, 9) - ord('0'))
                labels.append(np.frombuffer(a.encode(), dtype=np.uint8).reshape(9, 9) - ord('0'))

    num_augments = 0
    results = {k: [] for k in ["inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"]}
    puzzle_id = 0
    example_id = 0
    results["puzzle_indices"].append(0)
    results["group_indices"].append(0)
    for orig_inp, orig_out in zip(inputs, labels):
        for aug_idx in range(1 + num_augments):
            inp, out = orig_inp, orig_out
            results["inputs"].append(inp)
            results["labels"].append(out)
            example_id += 1
            puzzle_id += 1
            results["puzzle_indices"].append(example_id)
            results["puzzle_identifiers"].append(0)
        results["group_indices"].append(puzzle_id)

    def _seq_to_numpy(seq):
        arr = np.concatenate(seq).reshape(len(seq), -1)
        assert np.all((arr >= 0) & (arr <= 9))
        return arr + 1

    results = {
        "inputs": _seq_to_numpy(results["inputs"]),
        "labels": _seq_to_numpy(results["labels"]),
        "group_indices": np.array(results["group_indices"], dtype=np.int32),
        "puzzle_indices": np.array(results["puzzle_indices"], dtype=np.int32),
        "puzzle_identifiers": np.array(results["puzzle_identifiers"], dtype=np.int32),
    }
    metadata = dict(pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=10 + 1, seq_len=81,
                    num_puzzle_identifiers=1, total_groups=len(results["group_indices"]) - 1,
                    mean_puzzle_examples=float(1), sets=["all"])

    save_dir = os.path.join(output_dir, set_name)
    os.makedirs(save_dir, exist_ok=True)
    with open(os.path.join(save_dir, "dataset.json"), "w") as f:
        json.dump(metadata, f)
    for k, v in results.items():
        np.save(os.path.join(save_dir, f"all__{k}.npy"), v)
    with open(os.path.join(output_dir, "identifiers.json"), "w") as f:
        json.dump(["<blank>"], f)


def apply_transformation(x, digit_map, transpose_flag, row_perm, col_perm):
    # Verbatim from shuffle_sudoku, with its random draws passed in.
    mapping = np.array([row_perm[i // 9] * 9 + col_perm[i % 9] for i in range(81)])
    if transpose_flag:
        x = x.T
    new_board = x.flatten()[mapping].reshape(9, 9).copy()
    return digit_map[new_board]


def check_shuffles(cases_file):
    with open(cases_file) as f:
        for n, line in enumerate(f, 1):
            v = [int(t) for t in line.split()]
            digit_map, transpose_flag = np.array(v[0:10]), v[10] == 1
            row_perm, col_perm = np.array(v[11:20]), np.array(v[20:29])
            board, expected = np.array(v[29:110]).reshape(9, 9), np.array(v[110:191])
            got = apply_transformation(board, digit_map, transpose_flag, row_perm, col_perm).reshape(-1)
            if not np.array_equal(got, expected):
                print(f"case {n}: expected {expected.tolist()}, HRM gives {got.tolist()}")
                sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "build":
        min_difficulty = int(sys.argv[5]) if len(sys.argv) > 5 else None
        convert_subset("train", sys.argv[2], sys.argv[4], min_difficulty)
        convert_subset("test", sys.argv[3], sys.argv[4], min_difficulty)
    elif sys.argv[1] == "shuffle":
        check_shuffles(sys.argv[2])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
