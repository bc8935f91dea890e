"""Deterministic synthetic weights, generated from each parameter's name: a fixture of the
tests and the benches (bench/ scripts put tests/ on sys.path), never of the product.

Used where real weights are not needed but outputs must depend on the input:
parity with PaddleDetection (tests/data/reference was produced with exactly these
values), runtime comparisons and latency benchmarks (``synthetic_model``,
``synthetic_tinypose``: no training, no download). Paddle's default initialisation
with fresh BatchNorm statistics makes TinyPose's heatmaps ~1e-19 and PicoDet's scores
constant, so any two runtimes would agree trivially.

Each tensor has its own generator, seeded with the CRC-32 of its state_dict name, so a
value does not depend on the order of entries or on any other tensor. Values are drawn
in float64, then cast:

=========================================  ===========================================
entry                                      value
=========================================  ===========================================
``*._mean`` (BatchNorm running mean)       0.1 * N(0, 1)
``*._variance``                            0.5 + U(0, 1)
BatchNorm ``weight`` / ``bias``            1 + 0.1 * U(0, 1) / 0.1 * N(0, 1)
``*.project`` (1-D, GFL integral)          0, 1, ..., n-1
other 1-D ``bias`` / other 1-D             0.01 * N(0, 1) / 1 + 0.1 * U(0, 1)
>= 2-D weights                             N(0, 1) * gain / sqrt(fan_in)
=========================================  ===========================================

fan_in is prod(shape[1:]) for a conv weight and shape[0] for a Paddle Linear weight
([in, out]). The gain keeps activations finite and input-dependent with eval-mode
BatchNorm: 0.7 for TinyPose (LiteHRNet blows up above it), 1.6 for PicoDet (its
hard-swish LCNet flattens below it). Names that alias one tensor (PicoHeadV2 registers
its cls/reg convs twice) all get the value generated for the group's first name.
"""
import hashlib
import math
import zlib

import numpy as np
import paddle

GAIN = {"TopDownHRNet": 0.7, "PicoDet": 1.6}


def _fan_in(shape) -> int:
    return int(shape[0]) if len(shape) == 2 else int(np.prod(shape[1:]))


def synthetic_tensor(name: str, shape, batchnorm_prefixes, gain: float) -> np.ndarray:
    """The float64 value for one state_dict entry (rules in the module docstring)."""
    shape = tuple(int(s) for s in shape)
    rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
    prefix, _, leaf = name.rpartition(".")
    if leaf == "_mean":
        return 0.1 * rng.standard_normal(shape)
    if leaf == "_variance":
        return 0.5 + rng.uniform(0.0, 1.0, shape)
    if prefix in batchnorm_prefixes and leaf == "weight":
        return 1.0 + 0.1 * rng.uniform(0.0, 1.0, shape)
    if prefix in batchnorm_prefixes and leaf == "bias":
        return 0.1 * rng.standard_normal(shape)
    if leaf == "project" and len(shape) == 1:
        return np.arange(shape[0], dtype=np.float64)
    if len(shape) <= 1:
        return 0.01 * rng.standard_normal(shape) if leaf == "bias" else 1.0 + 0.1 * rng.uniform(0.0, 1.0, shape)
    return rng.standard_normal(shape) * (gain / math.sqrt(_fan_in(shape)))


def synthetic_weights(entries, gain: float, alias_groups=()) -> dict:
    """{name: array} for `entries`, a sequence of (name, shape, dtype) in state_dict order."""
    names = {name for name, _, _ in entries}
    batchnorm = frozenset(n[:-len("._mean")] for n in names
                          if n.endswith("._mean") and n[:-len("._mean")] + "._variance" in names)
    first_name = {alias: group[0] for group in alias_groups for alias in group}
    return {name: synthetic_tensor(first_name.get(name, name), shape, batchnorm, gain).astype(dtype)
            for name, shape, dtype in entries}


def weights_for_params_list(params: dict) -> dict:
    """Weights for a parameter list as stored in tests/data/reference/params_*.json
    (keys ``state_dict`` [[name, shape, dtype]...], ``architecture``, ``alias_groups``)."""
    return synthetic_weights(params["state_dict"], GAIN.get(params.get("architecture"), 1.0),
                             params.get("alias_groups", ()))


def synthetic_state(model, gain: float) -> dict:
    """Weights for a Paddle layer's own state_dict; names that share one tensor are aliases."""
    state = model.state_dict()
    groups = {}
    for name, tensor in state.items():
        groups.setdefault(tensor.name, []).append(name)
    entries = [(name, tensor.shape, "float32") for name, tensor in state.items()]
    return synthetic_weights(entries, gain, [g for g in groups.values() if len(g) > 1])


def synthetic_model(model, architecture: str):
    """`model` in eval mode with ``synthetic_state`` weights (gain of `architecture`, a key of ``GAIN``)."""
    state = synthetic_state(model, GAIN[architecture])
    model.set_state_dict({name: paddle.to_tensor(value) for name, value in state.items()})
    model.eval()
    return model


def synthetic_tinypose(**kwargs):
    """TinyPose(**kwargs) in eval mode with synthetic weights: heatmaps of std ~10 that clearly
    depend on the input."""
    from tasks.keypoint.model import TinyPose
    return synthetic_model(TinyPose(**kwargs), "TopDownHRNet")


def weights_digest(weights: dict) -> str:
    """sha256 over each name's UTF-8 bytes and its little-endian array bytes, in dict order."""
    h = hashlib.sha256()
    for name, value in weights.items():
        h.update(name.encode("utf-8"))
        h.update(np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()
