"""Transform plumbing: ``Compose`` and the per-sample random generator.

Every transform is a small callable ``results: dict -> dict``. Random ones draw
from ``results["rng"]`` (a ``numpy.random.Generator``) when the sample carries
one, else from their own generator, so a test or a dataset can make a sample
exactly reproducible whatever worker process runs it.
"""
import numpy as np


class RandomTransform:
    """Base for transforms that draw random numbers."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def rng(self, results):
        rng = results.get("rng")
        return self._rng if rng is None else rng


class Compose:
    """Apply transforms in order; each takes and returns the results dict."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, results):
        for transform in self.transforms:
            results = transform(results)
        return results

    def __repr__(self):
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"
