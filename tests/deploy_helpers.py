"""Shared by tests/test_deploy_*.py: a synthetic-weight TinyPose 128x96 and fixed inputs."""
import os

import numpy as np
import paddle
import pytest

from synthetic_weights import synthetic_tinypose
from tasks.runtime.lite_env import LiteEnvMissing, find_lite_python

INPUT_SIZE = [96, 128]  # [w, h]
ARCHITECTURE = "TinyPose"


def seeded_tinypose():
    """TinyPose, eval mode, deterministic synthetic weights (heatmaps depend on the input)."""
    return synthetic_tinypose()


def save_weights(model, path):
    paddle.save(model.state_dict(), str(path))
    return path


def fixed_inputs(n=2, seed=0):
    """Normalized inputs [n, 3, 128, 96] float32, the same on every call."""
    w, h = INPUT_SIZE
    return np.random.default_rng(seed).standard_normal((n, 3, h, w)).astype(np.float32)


def dygraph(model, x):
    with paddle.no_grad():
        return model(paddle.to_tensor(x)).numpy()


def lite_python_or_skip():
    """The Paddle-Lite environment's python; a test without one skips, saying why (it needs Python
    3.10, which `make setup` may not find), except under CI, where a missing environment fails."""
    try:
        return find_lite_python()
    except LiteEnvMissing as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Paddle-Lite environment absent ({exc})")


def random_image(seed, shape=(120, 160)):
    """A BGR uint8 picture of noise, the same for a seed."""
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)
