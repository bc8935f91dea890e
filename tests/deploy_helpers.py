"""Shared by tests/test_deploy_*.py: a seeded TinyPose 128x96, its weights file and fixed inputs."""
import numpy as np
import paddle

from tasks.keypoint.model import TinyPose

INPUT_SIZE = (128, 96)  # (h, w)
FACTORY = "tasks.keypoint.model:TinyPose"


def seeded_tinypose(seed=0, gain=0.7):
    """TinyPose in eval mode with synthetic weights whose heatmaps depend clearly on the input.

    Paddle's default initialisation with fresh BatchNorm statistics gives heatmaps
    of ~1e-19 here, which would make every comparison trivially pass. Instead:
    BN running mean 0.1 N(0, 1), variance 0.5 + U(0, 1), scale 1 + 0.1 U(0, 1),
    shift 0.1 N(0, 1); conv weights N(0, 1) * gain / sqrt(fan_in); conv bias 0.01 N(0, 1)
    (heatmap std ~0.5 at gain 0.7).
    """
    model = TinyPose()
    rng = np.random.default_rng(seed)
    state = model.state_dict()
    bn_prefixes = {name.rsplit(".", 1)[0] for name in state if name.endswith("._mean")}
    values = {}
    for name, tensor in state.items():
        shape, prefix, leaf = list(tensor.shape), *name.rsplit(".", 1)
        if leaf == "_mean" or (prefix in bn_prefixes and leaf == "bias"):
            value = 0.1 * rng.standard_normal(shape)
        elif leaf == "_variance":
            value = 0.5 + rng.uniform(0, 1, shape)
        elif prefix in bn_prefixes:
            value = 1 + 0.1 * rng.uniform(0, 1, shape)
        elif len(shape) == 1:
            value = 0.01 * rng.standard_normal(shape)
        else:
            value = rng.standard_normal(shape) * gain / np.sqrt(np.prod(shape[1:]))
        values[name] = paddle.to_tensor(value.astype(np.float32))
    model.set_state_dict(values)
    model.eval()
    return model


def save_weights(model, path):
    paddle.save(model.state_dict(), str(path))
    return path


def fixed_inputs(n=2, seed=0):
    """Normalized inputs [n, 3, 128, 96] float32, the same on every call."""
    h, w = INPUT_SIZE
    return np.random.default_rng(seed).standard_normal((n, 3, h, w)).astype(np.float32)


def dygraph(model, x):
    with paddle.no_grad():
        return model(paddle.to_tensor(x)).numpy()
