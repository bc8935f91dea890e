"""The graph-friendly resizes equal Paddle's interpolation ops, pixel for pixel."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from tasks.common.upsample import upsample_bilinear_aligned, upsample_nearest


@pytest.fixture
def x():
    return paddle.to_tensor(np.random.default_rng(0).normal(size=(2, 5, 4, 3)).astype(np.float32))


@pytest.mark.parametrize("size", [(8, 6), (32, 24), (4, 3)])
def test_nearest_equals_interpolate(x, size):
    expected = F.interpolate(x, size=size, mode="nearest").numpy()
    np.testing.assert_array_equal(upsample_nearest(x, size).numpy(), expected)


def test_nearest_passes_gradients_as_interpolate_does(x):
    grads = []
    for upsample in (lambda t: F.interpolate(t, size=(8, 6), mode="nearest"),
                     lambda t: upsample_nearest(t, (8, 6))):
        t = x.detach()
        t.stop_gradient = False
        (upsample(t) * paddle.arange(2 * 5 * 8 * 6, dtype="float32").reshape([2, 5, 8, 6])).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(*grads)


@pytest.mark.parametrize("size", [(8, 5), (6, 4), (2, 3)])
def test_nearest_refuses_a_factor_that_is_not_whole(x, size):
    with pytest.raises(ValueError, match="not a whole factor"):
        upsample_nearest(x, size)


def test_bilinear_aligned_equals_interpolate(x):
    expected = F.interpolate(x, size=(8, 6), mode="bilinear", align_corners=True).numpy()
    np.testing.assert_allclose(upsample_bilinear_aligned(x, (8, 6)).numpy(), expected, atol=1e-6)
