"""tasks/models.py: one model builder for every config."""
import pytest

from tasks.keypoint.config import load_config
from tasks.keypoint.model import TinyPose
from tasks.models import architecture, build_model


def test_tinypose_config_builds_tinypose():
    config = load_config("configs/tinypose_128x96.yml")
    assert architecture(config) == "TinyPose"
    model = build_model(config)
    assert isinstance(model, TinyPose) and model.num_joints == 17
    assert list(model.state_dict())[-1] == "final_conv.bias"


def test_unknown_architecture_names_the_config():
    with pytest.raises(ValueError, match=r"model config 'mystery': architecture 'NoSuchNet' is not one of"):
        architecture({"name": "mystery", "architecture": "NoSuchNet", "model": {}})
    with pytest.raises(ValueError, match="set `architecture:` in the config"):
        build_model({"name": "bare", "model": {"input_size": [96, 128]}})
