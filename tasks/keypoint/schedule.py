"""Learning-rate schedule: linear warm-up then piecewise decay, a pure function of the step.

Same values as PaddleDetection's `LearningRate(PiecewiseDecay, LinearWarmup)`:
for global step s (0-based, the s-th optimizer update)
    warm-up factor = start + (1 - start) * s / warmup_steps   while s < warmup_steps, else 1
    decay factor   = gamma ** (number of milestones m with s >= m * steps_per_epoch)
    lr(s)          = base_lr * warm-up factor * decay factor
(PaddleDetection lets warm-up override the decay when a milestone falls inside the
warm-up; here the two multiply. They agree whenever warm-up ends before the first
milestone, as in every published config.)
Because lr depends on s alone, a resumed run reproduces the uninterrupted schedule.
"""
from paddle.optimizer.lr import LRScheduler


def lr_at(step: int, optimizer_cfg: dict, steps_per_epoch: int) -> float:
    """Learning rate of global step `step` for the `optimizer` section of a config."""
    base = float(optimizer_cfg["base_lr"])
    warmup = int(optimizer_cfg["warmup_steps"])
    factor = 1.0
    if step < warmup:
        start = float(optimizer_cfg["warmup_start_factor"])
        factor = start + (1.0 - start) * step / warmup
    passed = sum(step >= m * steps_per_epoch for m in optimizer_cfg["milestones"])
    return base * factor * float(optimizer_cfg["gamma"]) ** passed


class StepSchedule(LRScheduler):
    """Paddle LRScheduler over `lr_at`; `last_epoch` counts optimizer steps (not epochs).

    Call `step()` once after every optimizer update. To resume at global step s,
    build it with `start_step=s`: the next update then uses lr_at(s).
    """

    def __init__(self, optimizer_cfg: dict, steps_per_epoch: int, start_step: int = 0):
        self.optimizer_cfg = dict(optimizer_cfg)
        self.steps_per_epoch = int(steps_per_epoch)
        # LRScheduler.__init__ calls step() once, moving last_epoch to start_step.
        super().__init__(learning_rate=float(optimizer_cfg["base_lr"]), last_epoch=start_step - 1)

    def get_lr(self):
        return lr_at(self.last_epoch, self.optimizer_cfg, self.steps_per_epoch)
