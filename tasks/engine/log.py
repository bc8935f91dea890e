"""train_log.csv (one row per optimizer step) and curves.png (with the val metrics of
val_log.csv, tasks.engine.validation, when the run validates).

Columns: step, epoch, lr, then the adapter's loss components in its order ("loss", the total,
first). Values are written as Python's shortest exact repr, so a log read back gives the
very floats of the run. Nothing in it depends on the clock (throughput goes to the summary):
the same inputs give the same bytes.
"""
import csv
from pathlib import Path

import numpy as np

from tasks.common.atomic import atomic_path

FIXED_FIELDS = ("step", "epoch", "lr")


class StepLog:
    """Appends one flushed row per step.

    On resume, rows of steps at or after the checkpoint (written by the killed run after
    its last checkpoint) are dropped first, so the file equals an uninterrupted run's.
    """

    def __init__(self, path, start_step: int):
        self.path = Path(path)
        self._fields, rows = None, []
        if start_step > 0 and self.path.exists():
            with self.path.open(newline="") as f:
                reader = csv.DictReader(f)
                rows = [r for r in reader if int(r["step"]) < start_step]
                self._fields = tuple(reader.fieldnames or ()) or None
        self._rewrite(rows)

    def write(self, step: int, epoch: int, lr: float, losses: dict):
        fields = FIXED_FIELDS + tuple(losses)
        if fields != self._fields:   # first row of a fresh log (or of other loss names)
            self._fields = fields
            self._rewrite(self._kept_rows())
        self._writer.writerow([step, epoch, repr(float(lr)), *(repr(float(v)) for v in losses.values())])
        self._file.flush()

    def close(self):
        self._file.close()

    def _kept_rows(self) -> list:
        self._file.close()
        with self.path.open(newline="") as f:
            return list(csv.DictReader(f))

    def _rewrite(self, rows):
        """Replace the file by the header and `rows`, then reopen it for appending."""
        with atomic_path(self.path) as tmp:
            with open(tmp, "w", newline="") as f:
                if self._fields:
                    writer = csv.DictWriter(f, self._fields, extrasaction="ignore")
                    writer.writeheader()
                    writer.writerows(rows)
        self._file = self.path.open("a", newline="")
        self._writer = csv.writer(self._file)


def read_log(path) -> dict:
    """train_log.csv -> {column: numpy float64 array}."""
    with Path(path).open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        fields = reader.fieldnames or ()
    return {k: np.array([float(r[k]) if r[k] != "" else np.nan for r in rows]) for k in fields}


def plot_curves(log_path, png_path, val_log_path=None) -> Path:
    """Every loss column (the total with a moving average) and the lr against the step, as a PNG;
    with `val_log_path` a second panel of every val metric at the step it was measured."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = read_log(log_path)
    steps = log.get("step", np.zeros(0))
    panels = 3 if val_log_path is not None else 2
    fig, axes = plt.subplots(panels, 1, figsize=(8, 3 * panels), sharex=True)
    ax_loss, ax_lr = axes[0], axes[-1]
    if val_log_path is not None:
        _plot_val(axes[1], read_log(val_log_path))
    for name in (k for k in log if k not in FIXED_FIELDS):
        ax_loss.plot(steps, log[name], lw=0.6, alpha=0.6 if name == "loss" else 0.9, label=name)
    total = log.get("loss", np.zeros(0))
    window = max(1, len(total) // 50)
    if len(total) >= window > 1:
        smooth = np.convolve(total, np.ones(window) / window, mode="valid")
        ax_loss.plot(steps[window - 1:], smooth, lw=1.5, label=f"loss, mean of {window}")
    ax_loss.set_ylabel("loss")
    if len(total) and np.all(total[np.isfinite(total)] > 0):
        ax_loss.set_yscale("log")
    ax_loss.legend(fontsize="small")
    ax_lr.plot(steps, log.get("lr", np.zeros(0)), color="tab:orange")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("step")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(png_path)


def _plot_val(ax, val_log: dict):
    for name in (k for k in val_log if k not in ("epoch", "step")):
        ax.plot(val_log["step"], val_log[name], marker="o", lw=1, label=name)
    ax.set_ylabel("val metric")
    ax.legend(fontsize="x-small", ncol=2)
