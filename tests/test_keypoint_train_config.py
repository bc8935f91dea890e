"""Keypoint configs: schema (its train and optimizer sections included) and _base_ merge."""
from pathlib import Path

import pytest
import yaml

from tasks.keypoint.config import ConfigError, deep_merge, load_config, validate_config

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
    with pytest.raises(ConfigError, match=r"model/input_size/0: 48 is not a multiple of 32"):
        load_config(_write_child(tmp_path, {"model": {"input_size": [48, 64], "heatmap_size": [12, 16]}}))


def test_base_cycle_is_reported(tmp_path):
    (tmp_path / "a.yml").write_text("_base_: b.yml\n")
    (tmp_path / "b.yml").write_text("_base_: a.yml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yml")


def test_optimizer_section_variants(tmp_path):
    """piecewise (default) needs milestones and gamma; cosine does not; Momentum needs momentum."""
    base = load_config(CONFIGS / "tinypose_128x96.yml")
    assert base["optimizer"].get("schedule", "piecewise") == "piecewise"
    picodet_like = {"type": "Momentum", "momentum": 0.9, "base_lr": 0.32, "weight_decay": 4.0e-5,
                    "schedule": "cosine", "warmup_steps": 300, "warmup_start_factor": 0.1}
    validate_config({**base, "optimizer": picodet_like}, source="cosine")
    with pytest.raises(ConfigError, match="momentum"):
        validate_config({**base, "optimizer": {k: v for k, v in picodet_like.items() if k != "momentum"}})
    piecewise = {k: v for k, v in base["optimizer"].items() if k != "milestones"}
    with pytest.raises(ConfigError, match="milestones"):
        validate_config({**base, "optimizer": piecewise})
    with pytest.raises(ConfigError, match="schedule"):
        validate_config({**base, "optimizer": {**base["optimizer"], "schedule": "linear"}})


def test_train_section_engine_keys():
    base = load_config(CONFIGS / "tinypose_128x96.yml")
    validate_config({**base, "train": {**base["train"], "use_ema": True, "ema_decay": 0.9998, "keep_signatures": 2}})
    for bad in ({"ema_decay": 1.0}, {"keep_signatures": 0}, {"use_ema": "yes"}):
        with pytest.raises(ConfigError, match=f"train/{next(iter(bad))}"):
            validate_config({**base, "train": {**base["train"], **bad}})
