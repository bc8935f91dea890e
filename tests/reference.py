"""PaddleDetection's reference data in tests/data/reference (provenance: its PROVENANCE.md).

A missing file is a test failure, never a skip: the data is part of the repository.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from synthetic_weights import weights_for_params_list

REFERENCE_DIR = Path(__file__).resolve().parent / "data" / "reference"

INPUT_HW = {
    "tinypose_128x96": (128, 96),
    "tinypose_256x192": (256, 192),
    "picodet_s_192_lcnet_pedestrian": (192, 192),
    "picodet_s_320_lcnet_pedestrian": (320, 320),
}

# Absolute tolerances per output (PROVENANCE.md says how they were chosen); others: 1e-4.
ATOL = {"heatmap": 1e-4, "cls_logit": 1e-4, "align_logit": 1e-4, "reg_dist": 1e-4,
        "cls_score": 1e-5, "decoded_scores": 1e-5, "decoded_boxes": 1e-3, "nms_bbox": 1e-3,
        "eval_keypoints": 1e-3, "eval_score": 1e-4}


def params_list(model: str) -> dict:
    return json.loads((REFERENCE_DIR / f"params_{model}.json").read_text())


def reference_weights(model: str) -> dict:
    """The synthetic weights the parity outputs were computed with."""
    return weights_for_params_list(params_list(model))


def load_npz(name: str):
    return np.load(REFERENCE_DIR / f"{name}.npz")


def make_input(model: str) -> np.ndarray:
    """The fixed, already-normalized NCHW input of every parity case."""
    h, w = INPUT_HW[model]
    x = np.random.default_rng(0).uniform(0.0, 1.0, (1, 3, h, w)).astype(np.float32)
    expected = bytes(load_npz(f"parity_{model}")["input_sha256"]).decode()
    assert hashlib.sha256(x.tobytes()).hexdigest() == expected, "input rule does not reproduce the reference input"
    return x


def max_abs_diffs(reference, outputs: dict) -> dict:
    """{key: (max |output - reference|, tolerance)}; a key or shape mismatch raises."""
    result = {}
    for key, value in outputs.items():
        expected = reference[key]
        value = np.asarray(value)
        assert value.shape == expected.shape, f"{key}: shape {value.shape} != reference {expected.shape}"
        diff = float(np.abs(value.astype(np.float64) - expected.astype(np.float64)).max()) if expected.size else 0.0
        result[key] = (diff, ATOL.get(key.rsplit("/", 1)[-1], 1e-4))
    return result


def assert_parity(reference, outputs: dict):
    diffs = max_abs_diffs(reference, outputs)
    bad = {k: d for k, d in diffs.items() if d[0] > d[1]}
    assert not bad, f"outside tolerance (max abs diff, atol): {bad}"
    return diffs
