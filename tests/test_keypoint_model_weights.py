"""load_state: strict checks with clear messages, aliases, non-strict partial loads."""
import numpy as np
import paddle
import pytest

from tasks.common.weights import WeightsMismatchError, load_state
from tasks.keypoint.model import TinyPose


@pytest.fixture(scope="module")
def model():
    return TinyPose()


@pytest.fixture()
def state(model):
    rng = np.random.default_rng(0)
    return {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in model.state_dict().items()}


def test_exact_state_loads_and_lands(model, state):
    report = load_state(model, state)
    assert report.ok and len(report.loaded) == 1342 and not report.filled_by_alias
    np.testing.assert_array_equal(model.final_conv.weight.numpy(), state["final_conv.weight"])


def test_missing_keys_named_with_count_and_hint(model, state):
    for name in ["final_conv.weight", "final_conv.bias"]:
        del state[name]
    with pytest.raises(WeightsMismatchError) as err:
        load_state(model, state)
    msg = str(err.value)
    assert "2 missing" in msg and "final_conv.weight" in msg and "final_conv.bias" in msg
    assert "strict=False" in msg
    assert err.value.report.missing == ["final_conv.weight", "final_conv.bias"]


def test_unexpected_keys_named(model, state):
    state["head.extra.weight"] = np.zeros(3, np.float32)
    with pytest.raises(WeightsMismatchError, match=r"1 unexpected[\s\S]*head\.extra\.weight"):
        load_state(model, state)


def test_shape_mismatch_named_with_both_shapes(model, state):
    state["final_conv.weight"] = np.zeros((14, 40, 1, 1), np.float32)  # weights for 14 joints
    state["final_conv.bias"] = np.zeros(14, np.float32)
    with pytest.raises(WeightsMismatchError) as err:
        load_state(model, state)
    msg = str(err.value)
    assert "2 with another shape" in msg
    assert "final_conv.weight: model [17, 40, 1, 1], weights [14, 40, 1, 1]" in msg
    assert "another configuration" in msg


def test_strict_failure_changes_nothing(model, state):
    load_state(model, state)
    before = model.final_conv.bias.numpy().copy()
    bad = {k: v + 1 for k, v in state.items()}
    del bad["backbone.stem.conv1.conv.weight"]
    with pytest.raises(WeightsMismatchError):
        load_state(model, bad)
    np.testing.assert_array_equal(model.final_conv.bias.numpy(), before)


def test_long_lists_are_cut_and_prefix_hint(model, state):
    prefixed = {"model." + k: v for k, v in state.items()}
    with pytest.raises(WeightsMismatchError) as err:
        load_state(model, prefixed)
    msg = str(err.value)
    assert "1342 missing" in msg and "1342 unexpected" in msg and "(1342, first 10)" in msg
    assert "extra prefix 'model.'" in msg


def test_non_strict_loads_what_fits(state):
    fresh = TinyPose()
    state["final_conv.weight"] = np.zeros((14, 40, 1, 1), np.float32)
    del state["final_conv.bias"]
    report = load_state(fresh, state, strict=False)
    assert not report.ok and len(report.loaded) == 1340
    assert report.missing == ["final_conv.bias"]
    assert report.shape_mismatch == [("final_conv.weight", (17, 40, 1, 1), (14, 40, 1, 1))]
    np.testing.assert_array_equal(fresh.backbone.stem.conv1.conv.weight.numpy(),
                                  state["backbone.stem.conv1.conv.weight"])


class TwiceRegistered(paddle.nn.Layer):
    """Registers each conv under two names, as PaddleDetection's PicoHeadV2 does."""

    def __init__(self):
        super().__init__()
        self.convs = paddle.nn.LayerList()
        for i in range(2):
            self.convs.append(self.add_sublayer(f"conv{i}", paddle.nn.Conv2D(2, 3, 1)))


def test_aliases_either_name_satisfies():
    layer = TwiceRegistered()
    names = list(layer.state_dict())
    assert names == ["convs.0.weight", "convs.0.bias", "convs.1.weight", "convs.1.bias",
                     "conv0.weight", "conv0.bias", "conv1.weight", "conv1.bias"]
    both = {k: np.full(v.shape, 2.0, np.float32) for k, v in layer.state_dict().items()}
    assert load_state(layer, both).ok
    only_long = {k: v for k, v in both.items() if k.startswith("convs.")}
    only_long["convs.1.bias"] = np.full(3, 7.0, np.float32)
    report = load_state(layer, only_long)
    assert report.ok and report.filled_by_alias["conv1.bias"] == "convs.1.bias"
    np.testing.assert_array_equal(layer.conv1.bias.numpy(), np.full(3, 7.0))


def test_aliases_with_different_values_are_an_error():
    layer = TwiceRegistered()
    state = {k: np.full(v.shape, 2.0, np.float32) for k, v in layer.state_dict().items()}
    state["conv0.weight"] = state["conv0.weight"] + 1
    with pytest.raises(WeightsMismatchError, match=r"convs\.0\.weight != conv0\.weight"):
        load_state(layer, state)


def test_missing_file_is_named(tmp_path, model):
    with pytest.raises(FileNotFoundError, match="nope.pdparams"):
        load_state(model, tmp_path / "nope.pdparams")


def test_training_checkpoint_is_named_not_loaded(tmp_path, model):
    optimizer = paddle.optimizer.Adam(parameters=model.parameters())
    checkpoint = tmp_path / "epoch_0010.pdckpt"
    paddle.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 10,
                 "numpy_rng": np.random.get_state()}, str(checkpoint))
    with pytest.raises(ValueError, match=r"epoch_0010\.pdckpt is a training checkpoint[\s\S]*model_final"):
        load_state(model, checkpoint)
