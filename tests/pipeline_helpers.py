"""Running the pipeline's nodes from tests: a data root to point Luigi at, a build that fails
the test with Luigi's summary, and the short model configs the node tests train."""
from contextlib import contextmanager
from pathlib import Path

import luigi
import luigi.configuration

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DETECTOR = str(PROJECT_ROOT / "configs" / "picodet_s_192_sample.yml")


@contextmanager
def pipeline_root(root: Path, datasets: Path):
    """Luigi's [pipeline] data_root and datasets set to these while the block runs."""
    config = luigi.configuration.get_config()
    saved = {key: config.get("pipeline", key, None) for key in ("data_root", "datasets")}
    config.set("pipeline", "data_root", str(root))
    config.set("pipeline", "datasets", str(datasets))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                config.remove_option("pipeline", key)
            else:
                config.set("pipeline", key, value)


def build(*tasks):
    """luigi.build with the local scheduler; fails the test with Luigi's summary."""
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True)
    assert result.scheduling_succeeded, result.summary_text


def tinypose_test_config(name: str, base_lr: float) -> dict:
    """The sample TinyPose config cut to one short epoch, without flip test."""
    return {"_base_": str(PROJECT_ROOT / "configs" / "tinypose_128x96_sample.yml"), "name": name,
            "data": {"num_workers": 0}, "train": {"epochs": 1, "batch_size": 32, "snapshot_epoch": 1},
            "optimizer": {"base_lr": base_lr, "milestones": [1], "warmup_steps": 2}, "eval": {"flip_test": False}}
