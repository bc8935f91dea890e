"""Learning-rate schedules: linear warm-up, then piecewise or cosine decay; a pure function of the step.

For global step s (0-based: the s-th optimizer update), W = `warmup_steps`,
T = epochs * steps_per_epoch (the whole run as the config sets it):

    warm-up factor  = start + (1 - start) * s / W      while s < W, else 1
    piecewise       lr(s) = base_lr * warm-up factor * gamma ** (milestones m with s >= m * steps_per_epoch)
    cosine          lr(s) = base_lr * warm-up factor                            while s < W
                    lr(s) = base_lr * (1 + cos(pi * (s - W) / (T - W))) / 2      for W <= s < T

Piecewise equals PaddleDetection's `LearningRate(PiecewiseDecay, LinearWarmup)` whenever warm-up
ends before the first milestone (every published config); there warm-up overrides the decay,
here the two multiply. Cosine equals `LearningRate(CosineDecay(max_epochs=epochs,
min_lr_ratio=0), LinearWarmup)`: the cosine starts at base_lr when warm-up ends and reaches 0
at the end of the run. Because lr depends on s alone, a resumed run replays the schedule.
"""
import math

from paddle.optimizer.lr import LRScheduler

SCHEDULES = ("piecewise", "cosine")


def lr_at(step: int, optimizer_cfg: dict, steps_per_epoch: int, epochs: int) -> float:
    """Learning rate of global step `step` for the `optimizer` section of a config."""
    base = float(optimizer_cfg["base_lr"])
    warmup = int(optimizer_cfg["warmup_steps"])
    schedule = optimizer_cfg.get("schedule", "piecewise")
    if step < warmup:
        start = float(optimizer_cfg["warmup_start_factor"])
        warm = start + (1.0 - start) * step / warmup
    else:
        warm = 1.0
    if schedule == "piecewise":
        passed = sum(step >= m * steps_per_epoch for m in optimizer_cfg["milestones"])
        return base * warm * float(optimizer_cfg["gamma"]) ** passed
    if schedule == "cosine":
        if step < warmup:
            return base * warm
        total = int(epochs) * int(steps_per_epoch)
        progress = min(step, total - 1) - warmup
        return base * 0.5 * (1.0 + math.cos(math.pi * progress / max(total - warmup, 1)))
    raise ValueError(f"optimizer.schedule {schedule!r}: expected one of {SCHEDULES}")


class StepSchedule(LRScheduler):
    """Paddle LRScheduler over `lr_at`; `last_epoch` counts optimizer steps (not epochs).

    Call `step()` once after every optimizer update. To resume at global step s,
    build it with `start_step=s`: the next update then uses lr_at(s).
    """

    def __init__(self, optimizer_cfg: dict, steps_per_epoch: int, epochs: int, start_step: int = 0):
        self.optimizer_cfg = dict(optimizer_cfg)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        lr_at(0, self.optimizer_cfg, self.steps_per_epoch, self.epochs)  # an unknown schedule fails here
        # LRScheduler.__init__ calls step() once, moving last_epoch to start_step.
        super().__init__(learning_rate=float(optimizer_cfg["base_lr"]), last_epoch=start_step - 1)

    def get_lr(self):
        return lr_at(self.last_epoch, self.optimizer_cfg, self.steps_per_epoch, self.epochs)
