"""Validation during training (`eval.interval`): val_log.csv, model_best.pdparams and the best so far.

Every `eval.interval` epochs, and at the last epoch of the schedule, the writer process scores
the weights model_final.pdparams would hold at that point (the EMA weights when EMA is on) with
the adapter's `validate` (its model's own evaluation code on the val list), on a copy of the
model, and:

* appends a row to val_log.csv: epoch (epochs done), step (optimizer steps done), every metric;
* when the key metric (`eval.key_metric`, higher is better) beats the best so far (the first of
  equal scores stays), writes those weights to model_best.pdparams.

The random streams are saved before and restored after, and the copy is built under a
parameter-name counter of its own, so a run that validates trains exactly as one that does not.
The best (epoch, metric, value, weights) goes into every checkpoint: a resumed run keeps it,
rewrites model_best.pdparams from it and cuts val_log.csv back to the checkpoint's epoch, so
both files equal the uninterrupted run's whatever a killed run left behind.
"""
import csv
import math
from pathlib import Path

import paddle

from tasks.common.atomic import atomic_path
from tasks.common.validation import validation_settings
from tasks.engine.process_setup import random_states, restore_random_states

__all__ = ["VAL_LOG", "BEST_WEIGHTS", "is_due", "start_validation", "Validation"]

VAL_LOG, BEST_WEIGHTS = "val_log.csv", "model_best.pdparams"


def is_due(config: dict, done: int, total_epochs: int) -> bool:
    """Whether the model is scored after `done` epochs (every process asks; the writer scores)."""
    interval = validation_settings(config)["interval"]
    return bool(interval) and (done % int(interval) == 0 or done == total_epochs)


def start_validation(adapter, config, out_dir, start_epoch: int, best):
    """The writer's Validation of this run (None when `eval.interval` is not set, after removing
    a val_log.csv and model_best.pdparams an earlier run of the folder left). best: the
    checkpoint's "best" entry the run resumes from, or None."""
    out_dir = Path(out_dir)
    if validation_settings(config)["interval"]:
        return Validation(adapter, config, out_dir, start_epoch, best)
    for name in (VAL_LOG, BEST_WEIGHTS):
        (out_dir / name).unlink(missing_ok=True)
    return None


class Validation:
    def __init__(self, adapter, config, out_dir: Path, start_epoch: int, best):
        self.adapter, self.name = adapter, config["name"]
        self.key = validation_settings(config)["key_metric"]
        self.log_path, self.best_path = out_dir / VAL_LOG, out_dir / BEST_WEIGHTS
        self.best = best
        self.rows = self._rows_up_to(start_epoch)
        self._write_log()
        self._write_best()

    def run(self, weights: dict, epoch: int, step: int) -> dict:
        """Score `weights` after `epoch` epochs (`step` steps); log them, keep them if best."""
        metrics = self._score(weights, epoch)
        value = metrics.get(self.key)
        if value is None:
            raise KeyError(f"{self.name}: validation gave no {self.key!r} (eval.key_metric); "
                           f"it gives {sorted(metrics)}")
        self.rows.append({"epoch": epoch, "step": step, **metrics})
        self._write_log()
        if self.best is None or (math.isfinite(value) and value > self.best["value"]):
            with paddle.no_grad():
                kept = {k: v.detach().clone() for k, v in weights.items()}
            self.best = {"epoch": epoch, "metric": self.key, "value": float(value), "weights": kept}
            self._write_best()
        return metrics

    def state(self):
        """The checkpoint's "best" entry."""
        return self.best

    def summary(self) -> dict:
        """What the training summary records."""
        best = self.best or {}
        return {"validations": len(self.rows), "key_metric": self.key,
                "best_epoch": best.get("epoch"), "best_value": best.get("value")}

    def _score(self, weights, epoch) -> dict:
        saved = random_states()
        try:
            with paddle.utils.unique_name.guard():
                copy = self.adapter.build_model()
            copy.set_state_dict(weights)
            return {name: float(value) for name, value in self.adapter.validate(copy, epoch).items()}
        finally:
            restore_random_states(saved)

    def _rows_up_to(self, epoch: int) -> list:
        if epoch == 0 or not self.log_path.is_file():
            return []
        with self.log_path.open(newline="") as f:
            return [row for row in csv.DictReader(f) if int(row["epoch"]) <= epoch]

    def _write_log(self):
        if not self.rows:
            self.log_path.unlink(missing_ok=True)
            return
        with atomic_path(self.log_path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, list(self.rows[-1]))
                writer.writeheader()
                writer.writerows(self.rows)   # floats as str(): the shortest exact repr

    def _write_best(self):
        if self.best is None:
            self.best_path.unlink(missing_ok=True)
            return
        with atomic_path(self.best_path) as tmp:
            paddle.save(self.best["weights"], str(tmp))
