"""PP-TinyPose network: names and shapes equal PaddleDetection's, same heatmaps, loss formula."""
import numpy as np
import paddle
import pytest

from reference import assert_parity, load_npz, make_input, params_list, reference_weights
from tasks.common.weights import load_state
from tasks.keypoint.loss import KeypointMSELoss
from tasks.keypoint.model import TinyPose

SIZES = {"tinypose_128x96": (128, 96), "tinypose_256x192": (256, 192)}


@pytest.fixture(scope="module")
def model():
    m = TinyPose(num_joints=17, width=40)
    m.eval()
    return m


@pytest.fixture(scope="module")
def weights():
    return reference_weights("tinypose_128x96")


def test_state_dict_names_shapes_and_order_equal_paddledetection(model):
    expected = params_list("tinypose_128x96")["state_dict"]
    assert expected == params_list("tinypose_256x192")["state_dict"]
    got = [[name, list(t.shape), str(t.dtype).replace("paddle.", "")]
           for name, t in model.state_dict().items()]
    assert len(got) == 1342
    assert got == expected


def test_trainable_parameter_count(model):
    trainable = sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)
    everything = sum(int(np.prod(t.shape)) for t in model.state_dict().values())
    assert trainable == 1_318_625  # PaddleDetection's count (reference params_*.json)
    assert everything == 1_355_521


@pytest.mark.parametrize("key", sorted(SIZES))
def test_output_shape(model, key):
    h, w = SIZES[key]
    with paddle.no_grad():
        out = model(paddle.zeros([2, 3, h, w], dtype="float32"))
    assert out.shape == [2, 17, h // 4, w // 4]


@pytest.mark.parametrize("key", sorted(SIZES))
def test_heatmap_parity_with_paddledetection(model, weights, key):
    report = load_state(model, weights)
    assert report.ok and len(report.loaded) == 1342
    with paddle.no_grad():
        heatmap = model(paddle.to_tensor(make_input(key))).numpy()
    assert_parity(load_npz(f"parity_{key}"), {"heatmap": heatmap})


def test_pdparams_file_loads_without_renaming(model, weights, tmp_path):
    # the same route as an official tinypose_*.pdparams: paddle.save'd name -> tensor dict
    path = tmp_path / "tinypose_128x96.pdparams"
    paddle.save({k: paddle.to_tensor(v) for k, v in weights.items()}, str(path))
    fresh = TinyPose()
    report = load_state(fresh, path)
    assert report.ok and report.source == str(path)
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), weights[name])


def test_width_must_match_backbone():
    with pytest.raises(ValueError, match="width 32"):
        TinyPose(width=32)


def test_input_size_not_multiple_of_32_is_refused(model):
    with pytest.raises(ValueError, match=r"multiples of 32, got \[64, 48\]"):
        model(paddle.zeros([1, 3, 64, 48]))


def test_mse_loss_hand_computed():
    pred = np.zeros((1, 2, 2, 2), np.float32)
    target = np.zeros_like(pred)
    pred[0, 0] = [[1, 0], [0, 0]]      # joint 0: one pixel off by 1 -> squared error 1
    target[0, 1] = [[2, 2], [0, 0]]    # joint 1: two pixels off by 2 -> squared errors 4 + 4
    weight = np.array([[[1.0], [0.5]]], np.float32)  # joint 1 counts at half amplitude
    args = [paddle.to_tensor(a) for a in (pred, target, weight)]
    # 8 elements: (1 + 0.25*4 + 0.25*4) / 8 = 3/8
    assert KeypointMSELoss(loss_scale=1.0)(*args).item() == pytest.approx(3 / 8)
    assert KeypointMSELoss()(*args).item() == pytest.approx(0.5 * 3 / 8)  # class default 0.5
    unweighted = KeypointMSELoss(use_target_weight=False, loss_scale=1.0)(*args[:2])
    assert unweighted.item() == pytest.approx((1 + 4 + 4) / 8)


def test_mse_loss_matches_paddledetection_per_joint_form():
    rng = np.random.default_rng(1)
    pred, target = rng.random((2, 3, 4, 5)), rng.random((2, 3, 4, 5))
    weight = rng.random((2, 3, 1))
    # PaddleDetection: sum over joints of loss_scale * MSE(pred_j * w_j, gt_j * w_j), / J
    per_joint = [np.mean((pred[:, j] * weight[:, j, :, None] - target[:, j] * weight[:, j, :, None]) ** 2)
                 for j in range(3)]
    expected = 0.5 * sum(per_joint) / 3
    got = KeypointMSELoss()(*[paddle.to_tensor(a.astype(np.float32)) for a in (pred, target, weight)])
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_every_trainable_parameter_gets_a_gradient():
    model = TinyPose()
    model.train()
    x = paddle.to_tensor(np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32))
    target = paddle.zeros([2, 17, 16, 16])
    loss = KeypointMSELoss()(model(x), target, paddle.ones([2, 17, 1]))
    loss.backward()
    no_grad = [n for n, p in model.named_parameters() if not p.stop_gradient and p.grad is None]
    assert no_grad == []
