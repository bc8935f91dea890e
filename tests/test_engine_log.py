"""train_log.csv: exact floats, a column per loss component, rows after a checkpoint dropped on resume."""
import numpy as np

from tasks.engine.log import StepLog, plot_curves, read_log


def test_columns_exact_values_and_resume_truncation(tmp_path):
    path = tmp_path / "train_log.csv"
    log = StepLog(path, start_step=0)
    values = [0.1 + 1e-9 * i for i in range(5)]
    for step, v in enumerate(values):
        log.write(step, step // 2, 1e-3 / 3, {"loss": v, "loss_vfl": v / 3, "loss_dfl": 2 * v / 3})
    log.close()
    assert path.read_text().splitlines()[0] == "step,epoch,lr,loss,loss_vfl,loss_dfl"
    read = read_log(path)
    assert read["loss"].tolist() == values                       # repr round-trips every bit
    assert read["loss_vfl"].tolist() == [v / 3 for v in values]
    assert read["lr"].tolist() == [1e-3 / 3] * 5

    resumed = StepLog(path, start_step=3)    # checkpoint after step 2: rows 3, 4 were written after it
    assert read_log(path)["step"].tolist() == [0, 1, 2]
    resumed.write(3, 1, 0.5, {"loss": 9.0, "loss_vfl": 3.0, "loss_dfl": 6.0})
    resumed.close()
    assert read_log(path)["step"].tolist() == [0, 1, 2, 3] and read_log(path)["loss"][-1] == 9.0

    fresh = StepLog(path, start_step=0)      # a run from scratch starts a new file
    fresh.write(0, 0, 0.1, {"loss": 1.0})
    fresh.close()
    assert path.read_text().splitlines() == ["step,epoch,lr,loss", "0,0,0.1,1.0"]


def test_curves_png_is_written(tmp_path):
    path = tmp_path / "train_log.csv"
    log = StepLog(path, start_step=0)
    for step in range(120):
        log.write(step, 0, 1e-3, {"loss": float(np.exp(-step / 50)), "part": float(np.exp(-step / 40))})
    log.close()
    png = plot_curves(path, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
