"""TrainTinyPose and EvaluateTinyPose on the embedded sample, through luigi.build."""
import json

import luigi
import pytest
import yaml

from pipeline.base import runs_log_path
from pipeline.tasks import EvaluateTinyPose, TrainTinyPose


def write_config(tmp_path, name, base_lr):
    from pipeline import PROJECT_ROOT
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump({
        "_base_": str(PROJECT_ROOT / "configs" / "tinypose_128x96_sample.yml"),
        "name": "tinypose_test",
        "data": {"num_workers": 0},
        "train": {"epochs": 1, "batch_size": 32, "snapshot_epoch": 1},
        "optimizer": {"base_lr": base_lr, "milestones": [1], "warmup_steps": 2},
        "eval": {"flip_test": False},
    }))
    return path


def families_run(since):
    lines = runs_log_path().read_text().splitlines()[since:]
    return sorted(e["task"].split("_")[0] for e in map(json.loads, lines) if e["event"] == "done")


@pytest.mark.slow
def test_train_and_evaluate_nodes_then_config_change(sample_pipeline, tmp_path):
    config = write_config(tmp_path, "a", 0.008)
    result = luigi.build([EvaluateTinyPose(config=str(config))], local_scheduler=True,
                         detailed_summary=True)
    assert result.scheduling_succeeded, result.summary_text
    model_dir = sample_pipeline["root"] / "models" / "tinypose_test"
    metrics = json.loads((model_dir / "eval" / "metrics.json").read_text())
    assert 0.0 <= metrics["AP"] <= 1.0 and metrics["persons"] > 0
    assert list((model_dir / "eval" / "vis").glob("*.jpg"))
    for name in ("model_final.pdparams", "config_used.yml", "train_log.csv", "curves.png"):
        assert (model_dir / name).stat().st_size > 0

    # a changed number in the model config re-runs training and evaluation, not the data nodes
    before = len(runs_log_path().read_text().splitlines())
    changed = write_config(tmp_path, "b", 0.004)
    assert not TrainTinyPose(config=str(changed)).complete()
    result = luigi.build([EvaluateTinyPose(config=str(changed))], local_scheduler=True)
    assert result
    assert families_run(before) == ["EvaluateTinyPose", "TrainTinyPose"]
