"""Process set-up of a training run: device, distributed environment, random states."""
import random

import numpy as np
import paddle
import paddle.distributed as dist


def pick_device(device=None) -> str:
    """'gpu' when Paddle is built with CUDA and sees a GPU, else 'cpu' (or `device` as given)."""
    if device:
        return device
    if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        return "gpu"
    return "cpu"


def start_processes(device: str) -> tuple:
    """Select `device`; under paddle.distributed.launch join the process group.
    Returns (world_size, rank)."""
    paddle.set_device(device)
    world_size, rank = dist.get_world_size(), dist.get_rank()
    if world_size > 1:
        dist.init_parallel_env()
    return world_size, rank


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    paddle.seed(seed)


def random_states() -> dict:
    """Python, numpy and Paddle (current device) generator states, for a checkpoint."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "paddle": paddle.get_rng_state()}


def restore_random_states(states: dict):
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    paddle.set_rng_state(states["paddle"])
