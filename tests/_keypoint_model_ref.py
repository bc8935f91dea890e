"""Access to PaddleDetection's reference data in ../shared/reference (see its README.md).

The folder is found beside the repository (`<repo>/../shared/reference`) or at
$TINYPOSE_REFERENCE_DIR. Tests that need it skip with a message when it is absent.
"""
import importlib.util
import json
import os
from pathlib import Path

import pytest

REFERENCE_DIR = Path(os.environ.get(
    "TINYPOSE_REFERENCE_DIR",
    Path(__file__).resolve().parents[1].parent / "shared" / "reference"))


def reference_dir():
    if not (REFERENCE_DIR / "make_weights.py").is_file():
        pytest.skip(f"PaddleDetection reference data not found in {REFERENCE_DIR} "
                    "(set TINYPOSE_REFERENCE_DIR to its folder)")
    return REFERENCE_DIR


def load_module(name):
    """Import make_weights.py or compare.py from the reference folder by path."""
    path = reference_dir() / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"tinypose_reference_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def params_json(model="tinypose_128x96"):
    with open(reference_dir() / f"params_{model}.json") as f:
        return json.load(f)
