"""Keypoint configs (schema, _base_ merge) and the lr schedule."""
from pathlib import Path

import pytest
import yaml

from tasks.keypoint.config import ConfigError, deep_merge, load_config
from tasks.keypoint.schedule import StepSchedule, lr_at

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("name", ["tinypose_128x96", "tinypose_256x192", "tinypose_128x96_sample"])
def test_shipped_configs_validate(name):
    cfg = load_config(CONFIGS / f"{name}.yml")
    assert cfg["model"]["num_joints"] == 17 and cfg["model"]["width"] == 40


def test_published_hyper_parameters():
    small, large = load_config(CONFIGS / "tinypose_128x96.yml"), load_config(CONFIGS / "tinypose_256x192.yml")
    assert small["train"]["epochs"] == large["train"]["epochs"] == 420
    assert small["optimizer"]["base_lr"] == 0.008 and large["optimizer"]["base_lr"] == 0.002
    assert small["optimizer"]["milestones"] == [380, 410] and small["optimizer"]["warmup_steps"] == 500
    assert (small["codec"]["sigma"], large["codec"]["sigma"]) == (1, 2)
    assert (small["model"]["heatmap_size"], large["model"]["heatmap_size"]) == ([24, 32], [48, 64])
    assert (small["train"]["batch_size"], large["train"]["batch_size"]) == (512, 128)


def test_deep_merge_merges_mappings_and_replaces_lists():
    merged = deep_merge({"a": {"x": 1, "y": [1, 2]}, "b": 1}, {"a": {"y": [3]}, "c": 2})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}


def _write_child(tmp_path, override):
    base = tmp_path / "base.yml"
    base.write_text((CONFIGS / "tinypose_128x96.yml").read_text())
    child = tmp_path / "child.yml"
    child.write_text(yaml.safe_dump({"_base_": "base.yml", **override}))
    return child


def test_bad_value_is_rejected_naming_file_and_key(tmp_path):
    child = _write_child(tmp_path, {"optimizer": {"base_lr": -0.1}})
    with pytest.raises(ConfigError) as err:
        load_config(child)
    assert str(child) in str(err.value) and "optimizer/base_lr" in str(err.value)


def test_unknown_key_and_semantic_errors_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match=r"train.*epoch_count"):
        load_config(_write_child(tmp_path, {"train": {"epoch_count": 3}}))
    with pytest.raises(ConfigError, match=r"optimizer.milestones.*increasing"):
        load_config(_write_child(tmp_path, {"optimizer": {"milestones": [5, 3]}}))


def test_base_cycle_is_reported(tmp_path):
    (tmp_path / "a.yml").write_text("_base_: b.yml\n")
    (tmp_path / "b.yml").write_text("_base_: a.yml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yml")


OPT = {"base_lr": 0.008, "warmup_steps": 500, "warmup_start_factor": 0.001,
       "milestones": [380, 410], "gamma": 0.1}


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
def test_schedule_values_at_key_steps(step, expected):
    assert lr_at(step, OPT, steps_per_epoch=100) == pytest.approx(expected, rel=1e-12)


def test_scheduler_resumes_on_the_same_values():
    fresh = StepSchedule(OPT, steps_per_epoch=10)
    values = []
    for _ in range(600):
        values.append(fresh())
        fresh.step()
    assert values == [lr_at(s, OPT, 10) for s in range(600)]
    resumed = StepSchedule(OPT, steps_per_epoch=10, start_step=321)
    tail = []
    for _ in range(321, 600):
        tail.append(resumed())
        resumed.step()
    assert tail == values[321:]
