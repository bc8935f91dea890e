"""The DataLoader both models train and evaluate with."""
import ctypes
import functools
import os
import signal
import sys

import cv2
import paddle


def release_cv2_threads():
    """Shut down cv2's thread pool in this process before worker processes fork.

    A process that forks after cv2 ran multi-threaded (any warpAffine or blur
    on a large image) gives children whose first cv2 call hangs forever (seen
    here with opencv 5.0 and paddle's fork-based DataLoader workers). Call it
    before creating any multi-worker loader; ``build_loader`` does.
    """
    cv2.setNumThreads(1)


PR_SET_PDEATHSIG = 1   # linux/prctl.h


def die_with_parent(parent_pid: int):
    """Have the kernel SIGKILL this process when its parent dies (Linux).

    Paddle's workers notice a dead parent only between two index reads; one
    blocked in a put or a decode outlives a trainer that was SIGKILLed (OOM
    killer, a cluster's preemption) and keeps its files and pipes open.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:   # the parent died before the prctl took effect
        os._exit(1)


def init_worker(worker_id, parent_pid):
    die_with_parent(parent_pid)
    # Each loader process decodes and warps one sample at a time: cv2/OpenMP
    # thread pools in every worker would only oversubscribe the cores.
    cv2.setNumThreads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def build_loader(dataset, config, train: bool, num_replicas=1, rank=0, collate_fn=None):
    """DataLoader with a DistributedBatchSampler (this process' share when num_replicas > 1);
    batch size from the config's `train` or `eval` section, workers from `data.num_workers`.

    Returns (loader, batch_sampler); call `dataset.set_epoch(e)` and
    `batch_sampler.set_epoch(e)` before each training epoch: the order and the
    augmentation draws then depend on (seed, epoch) only, so a resumed run sees the
    same batches as an uninterrupted one. Workers are not persistent, so the epoch
    reaches them.
    """
    section = config["train"] if train else config["eval"]
    sampler = paddle.io.DistributedBatchSampler(
        dataset, batch_size=int(section["batch_size"]), num_replicas=num_replicas, rank=rank,
        shuffle=bool(train and config["train"]["shuffle"]), drop_last=bool(train and config["train"]["drop_last"]))
    workers = int(config["data"]["num_workers"])
    worker_init = None
    if workers > 0:
        release_cv2_threads()   # a fork after multi-threaded cv2 gives workers that hang
        worker_init = functools.partial(init_worker, parent_pid=os.getpid())
    loader = paddle.io.DataLoader(dataset, batch_sampler=sampler, num_workers=workers, collate_fn=collate_fn,
                                  worker_init_fn=worker_init)
    return loader, sampler
