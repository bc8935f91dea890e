"""The optimizer named by a config's `optimizer` section, driven by its step schedule.

    type      Adam | AdamW | Momentum
    base_lr, warmup_steps, warmup_start_factor, schedule (piecewise | cosine), milestones, gamma:
              the learning rate (tasks.engine.schedule)
    weight_decay
              Adam, Momentum: an L2 penalty added to the gradient (paddle.regularizer.L2Decay, as
              PaddleDetection's OptimizerBuilder `regularizer: {type: L2, factor: ...}`);
              AdamW: decoupled decay. A parameter whose ParamAttr sets its own regularizer keeps it.
    momentum  Momentum only (PicoDet: 0.9)
"""
import paddle

from tasks.engine.schedule import StepSchedule

OPTIMIZERS = ("Adam", "AdamW", "Momentum")


def build_optimizer(optimizer_cfg: dict, parameters, steps_per_epoch: int, epochs: int, start_step: int = 0):
    """(paddle optimizer, StepSchedule) for `parameters`; the schedule starts at `start_step`."""
    kind = optimizer_cfg["type"]
    if kind not in OPTIMIZERS:
        raise ValueError(f"optimizer.type {kind!r}: expected one of {OPTIMIZERS}")
    schedule = StepSchedule(optimizer_cfg, steps_per_epoch, epochs, start_step=start_step)
    decay = float(optimizer_cfg["weight_decay"])
    if kind == "AdamW":
        return paddle.optimizer.AdamW(schedule, parameters=parameters, weight_decay=decay), schedule
    regularizer = paddle.regularizer.L2Decay(decay) if decay > 0 else None
    if kind == "Momentum":
        optimizer = paddle.optimizer.Momentum(schedule, momentum=float(optimizer_cfg["momentum"]),
                                              parameters=parameters, weight_decay=regularizer)
    else:
        optimizer = paddle.optimizer.Adam(schedule, parameters=parameters, weight_decay=regularizer)
    return optimizer, schedule
