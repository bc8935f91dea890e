"""The TinyPose nodes on the embedded sample through luigi.build: train and evaluate, and what a
config change re-runs. (Export, ONNX and Paddle-Lite of the same model:
tests/test_deploy_detector_nodes.py.)"""
import json

import pytest
import yaml
from luigi.tools.deps import find_deps

from pipeline.cached_task import runs_log_path
from pipeline.tasks import EvaluateTinyPose, TrainTinyPose
from pipeline_helpers import build, pipeline_root, tinypose_test_config
from tasks.keypoint.cocoeval import oks_eval

pytestmark = pytest.mark.slow


def families_run(since, node):
    """Families of `node` and its upstream nodes that ran since line `since` of runs.jsonl (other
    tests may run other nodes in the same data root meanwhile)."""
    chain = {task.task_id for task in find_deps(node, None)}   # the node and everything upstream
    lines = runs_log_path().read_text().splitlines()[since:]
    return sorted(e["task"].split("_")[0] for e in map(json.loads, lines) if e["event"] == "done" and e["task"] in chain)


@pytest.fixture(scope="module")
def trained(sample_models):
    """The shared data root, where a one-epoch TinyPose ("tinypose_test") was trained and evaluated."""
    with pipeline_root(sample_models["root"], sample_models["datasets"]):
        yield sample_models


def write_config(path, name, base_lr, **override):
    path.write_text(yaml.safe_dump({**tinypose_test_config(name, base_lr), **override}))
    return str(path)


def test_train_and_evaluate_outputs(trained):
    model_dir = trained["root"] / "models" / "tinypose_test"
    metrics = json.loads((model_dir / "eval" / "metrics.json").read_text())
    results = json.loads((model_dir / "eval" / "keypoints_results.json").read_text())
    assert metrics["AP"] == round(oks_eval(metrics["annotations"], results)["AP"], 4)
    assert metrics["persons"] > 0
    assert list((model_dir / "eval" / "vis").glob("*.jpg"))
    for name in ("model_final.pdparams", "config_used.yml", "train_log.csv", "curves.png"):
        assert (model_dir / name).stat().st_size > 0


def test_config_change_reruns_training_and_evaluation_only(trained, tmp_path):
    shared = tinypose_test_config("tinypose_test", 0.008)
    assert TrainTinyPose(config=write_config(tmp_path / "same.yml", "tinypose_test", 0.008)).complete()
    # a training number changes both nodes, an evaluation number the evaluation only
    changed_lr = write_config(tmp_path / "lr.yml", "tinypose_test", 0.004)
    assert not TrainTinyPose(config=changed_lr).complete() and not EvaluateTinyPose(config=changed_lr).complete()
    changed_eval = write_config(tmp_path / "eval.yml", "tinypose_test", 0.008, eval={**shared["eval"], "flip_test": True})
    assert TrainTinyPose(config=changed_eval).complete() and not EvaluateTinyPose(config=changed_eval).complete()

    # built under its own name, so the shared model stays as other tests expect it
    before = len(runs_log_path().read_text().splitlines())
    node = EvaluateTinyPose(config=write_config(tmp_path / "b.yml", "tinypose_test_b", 0.004))
    build(node)
    assert families_run(before, node) == ["EvaluateTinyPose", "TrainTinyPose"]
