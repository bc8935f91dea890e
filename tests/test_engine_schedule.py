"""Learning-rate schedules and the optimizer built from a config's `optimizer` section."""
import math

import paddle
import pytest

from tasks.engine.optimizer import build_optimizer
from tasks.engine.schedule import StepSchedule, lr_at

TINYPOSE = {"type": "Adam", "base_lr": 0.008, "weight_decay": 0.0, "warmup_steps": 500,
            "warmup_start_factor": 0.001, "milestones": [380, 410], "gamma": 0.1}
PICODET = {"type": "Momentum", "momentum": 0.9, "base_lr": 0.32, "weight_decay": 4.0e-5, "schedule": "cosine",
           "warmup_steps": 300, "warmup_start_factor": 0.1}


@pytest.mark.parametrize("step, expected", [
    (0, 0.008 * 0.001),                       # warm-up start
    (250, 0.008 * (0.001 + 0.999 * 0.5)),     # half way
    (499, 0.008 * (0.001 + 0.999 * 499 / 500)),
    (500, 0.008),                             # warm-up end
    (380 * 100 - 1, 0.008),
    (380 * 100, 0.0008),                      # first milestone
    (410 * 100 - 1, 0.0008),
    (410 * 100, 0.00008),                     # second milestone
])
def test_piecewise_values_at_key_steps(step, expected):
    assert lr_at(step, TINYPOSE, steps_per_epoch=100, epochs=420) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("step, expected", [
    (0, 0.032),                                # 0.32 x start factor 0.1
    (150, 0.32 * (0.1 + 0.9 * 0.5)),
    (300, 0.32),                               # warm-up end = top of the cosine
    (300 + 29700 // 2, 0.16),                  # half way down
    (29999, 0.32 * 0.5 * (1 + math.cos(math.pi * 29699 / 29700))),
    (30500, 0.32 * 0.5 * (1 + math.cos(math.pi * 29699 / 29700))),  # past the end: the last value
])
def test_cosine_values_at_key_steps(step, expected):
    assert lr_at(step, PICODET, steps_per_epoch=100, epochs=300) == pytest.approx(expected, rel=1e-12)


def paddledetection_cosine(base_lr, warmup, start_factor, total):
    """PaddleDetection's LinearWarmup + CosineDecay as it builds them: a PiecewiseDecay over
    the warm-up values (boundaries 1..W), then one boundary per step from W on."""
    boundaries = list(range(1, warmup + 1))
    values = [base_lr * (start_factor * (1 - i / warmup) + i / warmup) for i in range(warmup + 1)]
    for i in range(warmup, total):
        boundaries.append(i)
        values.append(base_lr * 0.5 * (math.cos((i - warmup) * math.pi / (total - warmup)) + 1))
    return paddle.optimizer.lr.PiecewiseDecay(boundaries, values)


def test_cosine_equals_paddledetections_construction():
    steps_per_epoch, epochs = 7, 9
    cfg = {**PICODET, "warmup_steps": 10}
    reference = paddledetection_cosine(0.32, 10, 0.1, steps_per_epoch * epochs)
    ours = StepSchedule(cfg, steps_per_epoch, epochs)
    for _ in range(steps_per_epoch * epochs):
        assert ours() == pytest.approx(reference(), rel=1e-12, abs=1e-15)
        ours.step()
        reference.step()


def test_scheduler_resumes_on_the_same_values():
    fresh = StepSchedule(TINYPOSE, steps_per_epoch=10, epochs=420)
    values = []
    for _ in range(600):
        values.append(fresh())
        fresh.step()
    assert values == [lr_at(s, TINYPOSE, 10, 420) for s in range(600)]
    resumed = StepSchedule(TINYPOSE, steps_per_epoch=10, epochs=420, start_step=321)
    tail = []
    for _ in range(321, 600):
        tail.append(resumed())
        resumed.step()
    assert tail == values[321:]


def test_unknown_schedule_and_optimizer_are_named():
    with pytest.raises(ValueError, match="optimizer.schedule 'linear'"):
        StepSchedule({**TINYPOSE, "schedule": "linear"}, 10, 10)
    layer = paddle.nn.Linear(2, 1)
    with pytest.raises(ValueError, match="optimizer.type 'SGD'"):
        build_optimizer({**TINYPOSE, "type": "SGD"}, layer.parameters(), 10, 10)


def test_momentum_with_l2_takes_paddledetections_step():
    """One Momentum step with L2 4e-5: v = g + decay * w; w -= lr * v (first step, no history)."""
    paddle.seed(0)
    layer = paddle.nn.Linear(3, 1, bias_attr=False)
    w0 = layer.weight.numpy().copy()
    optimizer, schedule = build_optimizer(PICODET, layer.parameters(), steps_per_epoch=100, epochs=300)
    x = paddle.to_tensor([[1.0, 2.0, 3.0]])
    layer(x).sum().backward()
    optimizer.step()
    grad = x.numpy().T                       # d(sum(x w))/dw
    lr = lr_at(0, PICODET, 100, 300)
    assert layer.weight.numpy() == pytest.approx(w0 - lr * (grad + 4.0e-5 * w0), rel=1e-6)
    assert isinstance(optimizer, paddle.optimizer.Momentum) and schedule() == lr
