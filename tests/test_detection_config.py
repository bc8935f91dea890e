"""PicoDet configs: published hyper-parameters, schema and rule errors naming file and key."""
from pathlib import Path

import pytest
import yaml

from tasks.detection.config import ConfigError, load_config
from tasks.detection.dataset import build_detection_transforms
from tasks.detection.transforms import BatchRandomResize, PadGT, RandomFlip, Resize

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("name", ["picodet_s_192_pedestrian", "picodet_s_320_pedestrian", "picodet_s_192_sample"])
def test_shipped_configs_validate_and_build(name):
    config = load_config(CONFIGS / f"{name}.yml")
    assert config["architecture"] == "PicoDet" and config["model"]["num_classes"] == 1
    for train in (True, False):
        build_detection_transforms(config, train)


def test_published_hyper_parameters():
    small, large = (load_config(CONFIGS / f"picodet_s_{n}_pedestrian.yml") for n in (192, 320))
    for config in (small, large):
        assert config["train"]["epochs"] == 300 and config["train"]["batch_size"] == 64
        assert config["train"]["use_ema"] is True and config["train"]["ema_decay"] == 0.9998
        assert config["optimizer"] == {"type": "Momentum", "momentum": 0.9, "base_lr": 0.32, "weight_decay": 4.0e-5,
                                       "schedule": "cosine", "warmup_steps": 300, "warmup_start_factor": 0.1}
        assert config["nms"] == {"score_threshold": 0.025, "nms_threshold": 0.6, "nms_top_k": 1000, "keep_top_k": 100}
        assert (config["loss"]["static_assigner_epoch"], config["loss"]["tal_topk"]) == (100, 13)
        assert (config["loss"]["tal_alpha"], config["loss"]["tal_beta"]) == (1.0, 6.0)
    assert (small["loss"]["atss_topk"], large["loss"]["atss_topk"]) == (4, 9)
    assert (small["model"]["input_size"], large["model"]["input_size"]) == ([192, 192], [320, 320])
    sample, batch = build_detection_transforms(large, train=True)
    assert isinstance(sample.transforms[2], RandomFlip) and sample.transforms[2].prob == 0.5
    assert isinstance(batch[0], BatchRandomResize) and isinstance(batch[-1], PadGT)
    assert batch[0].target_sizes == [(s, s) for s in range(256, 385, 32)] and batch[0].random_interp
    resize = build_detection_transforms(small, train=False)[0].transforms[1]
    assert isinstance(resize, Resize) and resize.input_size == (192, 192) and resize.interp == 2


def _child(tmp_path, override):
    (tmp_path / "base.yml").write_text((CONFIGS / "picodet_s_192_pedestrian.yml").read_text())
    child = tmp_path / "child.yml"
    child.write_text(yaml.safe_dump({"_base_": "base.yml", **override}))
    return child


def test_errors_name_the_file_and_the_key(tmp_path):
    base = load_config(CONFIGS / "picodet_s_192_pedestrian.yml")["data"]
    train = base["train_pipeline"] + [{"type": "PadGT"}, {"type": "RandomFlip", "probability": 0.5}]
    with pytest.raises(ConfigError) as err:
        load_config(_child(tmp_path, {"data": {"train_pipeline": train, "train_batch_pipeline": base[
            "train_batch_pipeline"][:3]}}))
    message = str(err.value)
    assert "child.yml" in message
    assert "data/train_pipeline/5: RandomFlip has no argument probability" in message
    assert "data/train_batch_pipeline: needs a PadGT entry" in message
    with pytest.raises(ConfigError, match=r"data/train_pipeline/4: PadGT transforms a whole batch"):
        load_config(_child(tmp_path, {"data": {"train_pipeline": train[:5]}}))
    with pytest.raises(ConfigError, match=r"model/input_size/0: 200 is not a multiple of 32"):
        load_config(_child(tmp_path, {"model": {"input_size": [200, 192]}}))
    with pytest.raises(ConfigError, match=r"optimizer/base_lr"):
        load_config(_child(tmp_path, {"optimizer": {"base_lr": 0}}))
