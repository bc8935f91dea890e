"""The model nodes on the embedded sample through luigi.build: train, evaluate, export,
ONNX and Paddle-Lite conversion, and what a config change re-runs."""
import json
import shutil

import luigi
import luigi.configuration
import pytest
import yaml

from pipeline import PROJECT_ROOT
from pipeline.base import runs_log_path
from pipeline.tasks import EvaluateTinyPose, ExportLiteModels, ExportOnnx, TrainTinyPose
from tasks.keypoint.cocoeval import oks_eval

pytestmark = pytest.mark.slow


def write_config(folder, name, base_lr):
    """The sample config cut to one short epoch: these tests check wiring, not accuracy."""
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump({
        "_base_": str(PROJECT_ROOT / "configs" / "tinypose_128x96_sample.yml"),
        "name": "tinypose_test",
        "data": {"num_workers": 0},
        "train": {"epochs": 1, "batch_size": 32, "snapshot_epoch": 1},
        "optimizer": {"base_lr": base_lr, "milestones": [1], "warmup_steps": 2},
        "eval": {"flip_test": False},
    }))
    return str(path)


def build(*tasks):
    result = luigi.build(list(tasks), local_scheduler=True, detailed_summary=True)
    assert result.scheduling_succeeded, result.summary_text


def families_run(since):
    lines = runs_log_path().read_text().splitlines()[since:]
    return sorted(e["task"].split("_")[0] for e in map(json.loads, lines) if e["event"] == "done")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample_dir):
    """A data root with the sample's data nodes done and a one-epoch TinyPose evaluated."""
    folder = tmp_path_factory.mktemp("keypoint_nodes")
    datasets = folder / "datasets.yml"
    shutil.copy(sample_dir / "datasets.yml", datasets)
    config = luigi.configuration.get_config()
    saved = {key: config.get("pipeline", key, None) for key in ("data_root", "datasets")}
    config.set("pipeline", "data_root", str(folder / "data"))
    config.set("pipeline", "datasets", str(datasets))
    model_config = write_config(folder, "a", 0.008)
    build(EvaluateTinyPose(config=model_config))
    yield {"root": folder / "data", "folder": folder, "config": model_config}
    for key, value in saved.items():
        if value is None:
            config.remove_option("pipeline", key)
        else:
            config.set("pipeline", key, value)


def test_train_and_evaluate_outputs(trained):
    model_dir = trained["root"] / "models" / "tinypose_test"
    metrics = json.loads((model_dir / "eval" / "metrics.json").read_text())
    results = json.loads((model_dir / "eval" / "keypoints_results.json").read_text())
    assert metrics["AP"] == round(oks_eval(metrics["annotations"], results)["AP"], 4)
    assert metrics["persons"] > 0
    assert list((model_dir / "eval" / "vis").glob("*.jpg"))
    for name in ("model_final.pdparams", "config_used.yml", "train_log.csv", "curves.png"):
        assert (model_dir / name).stat().st_size > 0


def test_lite_and_onnx_nodes_on_the_trained_model(trained):
    """Real paddle_lite_opt, a real x86 run compared with Paddle inference, real onnxruntime."""
    from tasks.deploy.lite_env import LiteEnvMissing, find_lite_python
    try:
        find_lite_python()
    except LiteEnvMissing as err:
        pytest.skip(str(err))
    lite = ExportLiteModels(configs=[trained["config"]])
    build(lite, ExportOnnx(config=trained["config"]))
    assert lite.complete()  # a list parameter reads back from its manifest as it was
    models = json.loads(lite.outputs()["manifest"].read_text())["models"]
    assert sorted(m["precision"] for m in models) == ["fp16", "fp32"]
    for model in models:
        assert model["x86_fp32_check"]["ok"] and model["x86_fp32_check"]["max_abs_diff"] <= 1e-4
        assert (trained["root"] / "lite" / model["nb"]).stat().st_size == model["size"]
    fp16 = next(m for m in models if m["precision"] == "fp16")
    assert fp16["fp16_weight_rounding"]["max_px"] <= 0.5
    assert "tinypose_test_fp16.nb" in lite.outputs()["readme"].read_text()
    onnx_manifest = ExportOnnx(config=trained["config"]).read_manifest()
    assert onnx_manifest["info"]["check"]["max_abs_diff"] <= 1e-4


def test_config_change_reruns_training_and_evaluation_only(trained):
    before = len(runs_log_path().read_text().splitlines())
    changed = write_config(trained["folder"], "b", 0.004)
    assert not TrainTinyPose(config=changed).complete()
    build(EvaluateTinyPose(config=changed))
    assert families_run(before) == ["EvaluateTinyPose", "TrainTinyPose"]
