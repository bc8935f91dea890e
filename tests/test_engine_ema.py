"""ModelEMA: PaddleDetection's threshold warm-up of the decay and its bias correction."""
import numpy as np
import paddle
import pytest

from tasks.engine.ema import ModelEMA


def _model():
    paddle.seed(1)
    return paddle.nn.Sequential(paddle.nn.Linear(2, 3), paddle.nn.BatchNorm1D(3))


def _set_all(model, value):
    for tensor in model.state_dict().values():
        tensor.set_value(np.full(tensor.shape, value, dtype="float32"))


def test_decay_warms_up_and_weights_are_bias_corrected():
    model = _model()
    ema = ModelEMA(model, decay=0.9998)
    expected_avg, decays = 0.0, []
    for n, value in enumerate([1.0, 3.0, -2.0, 5.0]):
        _set_all(model, value)
        ema.update(model)
        d = min(0.9998, (1 + n) / (10 + n))     # 0.1, 2/11, 3/12, 4/13
        expected_avg = d * expected_avg + (1 - d) * value
        decays.append(d)
    assert decays == pytest.approx([0.1, 2 / 11, 3 / 12, 4 / 13])
    assert ema.last_decay == pytest.approx(4 / 13)
    for name, avg in ema.averages.items():
        assert avg.numpy() == pytest.approx(np.full(avg.shape, expected_avg), rel=1e-6), name
    corrected = expected_avg / (1 - (4 / 13) ** 4)
    for name, w in ema.weights(model).items():
        assert w.numpy() == pytest.approx(np.full(w.shape, corrected), rel=1e-6), name
    # the configured decay caps the warm-up: update 100 would have 101/110 > 0.9
    capped = ModelEMA(model, decay=0.9)
    capped.updates = 100
    capped.update(model)
    assert capped.last_decay == 0.9


def test_before_any_update_the_model_weights_are_returned():
    model = _model()
    ema = ModelEMA(model, decay=0.99)
    for name, w in ema.weights(model).items():
        assert np.array_equal(w.numpy(), model.state_dict()[name].numpy())


def test_state_round_trip_continues_identically(tmp_path):
    model = _model()
    straight, resumed = ModelEMA(model, 0.999), None
    for step in range(6):
        _set_all(model, float(step))
        straight.update(model)
        if step == 2:
            paddle.save(straight.state_dict(), str(tmp_path / "ema.pd"))
            resumed = ModelEMA(model, 0.999)
            resumed.set_state_dict(paddle.load(str(tmp_path / "ema.pd")))
        elif step > 2:
            resumed.update(model)
    for name in straight.averages:
        assert np.array_equal(straight.averages[name].numpy(), resumed.averages[name].numpy())
    assert (straight.updates, straight.last_decay) == (resumed.updates, resumed.last_decay)


def test_bad_decay_is_rejected():
    with pytest.raises(ValueError, match="ema_decay"):
        ModelEMA(_model(), decay=1.0)
