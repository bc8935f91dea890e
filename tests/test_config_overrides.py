"""Config overrides from the command line (`--set key.sub=value`): applied before validation, so the
schema's errors meet them; part of a node's signature, tagged in its name, shown in config_used.yml."""
import pytest
import yaml

from pipeline.tasks import EvaluateTinyPose, TrainTinyPose
from pipeline_helpers import build, pipeline_root
from tasks.common.config import ConfigError, apply_overrides
from tasks.keypoint.evaluate import main as evaluate_main
from tasks.models import load_model_config

SAMPLE_KEYPOINT = "configs/tinypose_128x96_sample.yml"


def test_overrides_set_nested_keys_list_items_and_yaml_values():
    cfg = {"train": {"epochs": 6}, "data": {"pipeline": [{"type": "A", "prob": 0.5}]}}
    out = apply_overrides(cfg, ["train.epochs=50", "data.pipeline.0.prob=0.25", "train.amp=true",
                                "train.sizes=[128, 160]", "optimizer.base_lr=1e-2"])
    assert out == {"train": {"epochs": 50, "amp": True, "sizes": [128, 160]},
                   "data": {"pipeline": [{"type": "A", "prob": 0.25}]}, "optimizer": {"base_lr": 0.01}}
    assert cfg["train"] == {"epochs": 6}   # the input is left alone


@pytest.mark.parametrize("override, says", [
    ("train.epochs", "is not of the form section.key=value"),
    ("=3", "is not of the form"),
    ("train..epochs=3", "is not of the form"),
    ("train.epochs.max=3", "train.epochs.max does not exist"),
    ("data.pipeline.4.prob=1", "data.pipeline.4 does not exist"),
    ("train.epochs=[1", "the value is not valid YAML"),
])
def test_a_bad_override_is_named(override, says):
    cfg = {"train": {"epochs": 6}, "data": {"pipeline": [{"type": "A"}]}}
    with pytest.raises(ConfigError, match=says) as err:
        apply_overrides(cfg, [override], source="my.yml")
    assert "my.yml" in str(err.value) and repr(override) in str(err.value)


def test_overrides_meet_the_schema():
    assert load_model_config(SAMPLE_KEYPOINT, ["train.epochs=2"])["train"]["epochs"] == 2
    with pytest.raises(ConfigError, match="train.epochs") as err:
        load_model_config(SAMPLE_KEYPOINT, ["train.epochs=many"])
    assert "--set train.epochs=many" in str(err.value)
    with pytest.raises(ConfigError, match="trian"):
        load_model_config(SAMPLE_KEYPOINT, ["trian.epochs=2"])   # a misspelt section is refused


def test_command_line_errors_are_one_message(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_code:
        evaluate_main(["--config", SAMPLE_KEYPOINT, "--weights", "w.pdparams", "--val-ann", "v.json",
                       "--image-root", ".", "--out", str(tmp_path), "--set", "optimizer.base_lr=fast"])
    assert exit_code.value.code == 2
    err = capsys.readouterr().err
    assert "optimizer.base_lr" in err and "Traceback" not in err


@pytest.mark.slow
def test_an_overridden_training_goes_beside_the_default(sample_models):
    keypoint = sample_models["keypoint"]
    with pipeline_root(sample_models["root"], sample_models["datasets"]):
        default = TrainTinyPose(config=keypoint)
        before = default.read_manifest()
        changed = TrainTinyPose(config=keypoint, set="optimizer.base_lr=0.004 train.batch_size=64")
        assert changed.model_dir() != default.model_dir()
        assert changed.model_dir().name.startswith("tinypose_test__set-")
        assert changed.signature() != default.signature()
        build(changed)
        used = yaml.safe_load(changed.outputs()["config"].read_text())
        assert used["optimizer"]["base_lr"] == 0.004 and used["train"]["batch_size"] == 64
        assert default.read_manifest() == before and default.complete()   # the default was not touched
        # an evaluation-only override re-evaluates the trained model, it does not retrain
        evaluation = EvaluateTinyPose(config=keypoint, set="eval.batch_size=8")
        assert evaluation.requires()["model"].set == "" and evaluation.requires()["model"].complete()
        named = TrainTinyPose(config=keypoint, set="name=my_model optimizer.base_lr=0.004")
        assert named.model_dir().name == "my_model"
