"""Deterministic synthetic weights for deploy checks and benchmarks (no training, no download).

Paddle's default initialisation with fresh BatchNorm statistics gives TinyPose
heatmaps of ~1e-19, which would make every runtime comparison pass trivially.
These weights give heatmaps of std ~10 that clearly depend on the input.
"""
import numpy as np
import paddle


def synthetic_state(model, seed=0, gain=0.7):
    """{name: float32 tensor} for every ``model.state_dict()`` entry.

    BN running mean 0.1 N(0, 1), variance 0.5 + U(0, 1), scale 1 + 0.1 U(0, 1),
    shift 0.1 N(0, 1); other 1-D entries (conv bias) 0.01 N(0, 1); weights
    N(0, 1) * gain / sqrt(fan_in), fan_in = prod(shape[1:]).
    """
    rng = np.random.default_rng(seed)
    state = model.state_dict()
    bn_prefixes = {name.rsplit(".", 1)[0] for name in state if name.endswith("._mean")}
    values = {}
    for name, tensor in state.items():
        shape, (prefix, leaf) = list(tensor.shape), name.rsplit(".", 1)
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
    return values


def synthetic_tinypose(seed=0, gain=0.7, **kwargs):
    """TinyPose(**kwargs) in eval mode with ``synthetic_state`` weights."""
    from tasks.keypoint.model import TinyPose

    model = TinyPose(**kwargs)
    model.set_state_dict(synthetic_state(model, seed, gain))
    model.eval()
    return model
