"""Several processes through the training node (paddle.distributed.launch on CPU, gloo), and one
training however started: the README's launcher command by hand is found complete by the DAG."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from kill_resume import kill_after_checkpoint
from pipeline.cached_task import runs_log_path
from pipeline.tasks import BuildMergedAnnotations, EvaluateTinyPose, TrainTinyPose
from pipeline_helpers import PROJECT_ROOT, build, tinypose_test_config
from tasks.common.ownership import ForeignOutputError
from tasks.engine.entry import training_signature
from tasks.models import load_model_config

pytestmark = pytest.mark.slow


def two_process_config(folder, name, epochs=1) -> str:
    config = tinypose_test_config(name, 0.004)
    config["train"].update(epochs=epochs, devices=[0, 1], batch_size=16)
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def models_done_since(since) -> list:
    """Model nodes (not the data nodes evaluation needs) that ran since line `since` of runs.jsonl."""
    lines = runs_log_path().read_text().splitlines()[since:]
    families = (e["task"].split("_")[0] for e in map(json.loads, lines) if e["event"] == "done")
    return sorted(f for f in families if f in ("TrainTinyPose", "EvaluateTinyPose"))


def luigi_cfg(folder, root, datasets):
    path = folder / "luigi.cfg"
    path.write_text(f"[core]\nautoload_range = false\nlocal_scheduler = true\nlog_level = INFO\n\n"
                    f"[pipeline]\ndata_root = {root}\ndatasets = {datasets}\n")
    return path


def test_launcher_by_hand_is_found_complete_and_foreign_weights_stop_the_node(sample_pipeline, tmp_path):
    config = two_process_config(tmp_path, "tinypose_by_hand")
    build(BuildMergedAnnotations())
    merged, root = BuildMergedAnnotations().outputs()["merged"], sample_pipeline["root"]
    model_dir = root / "models" / "tinypose_by_hand"
    model_dir.mkdir(parents=True)
    (model_dir / "model_final.pdparams").write_bytes(b"a model of my own")
    with pytest.raises(ForeignOutputError, match="model_final.pdparams is not the model this node recorded"):
        TrainTinyPose(config=config).run()
    assert (model_dir / "model_final.pdparams").read_bytes() == b"a model of my own"
    (model_dir / "model_final.pdparams").unlink()

    # the README's command: the launcher on the training script, two CPU processes
    subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                    "--log_dir", str(tmp_path / "logs"), "tasks/keypoint/train.py", "--config", config,
                    "--train-ann", str(merged), "--image-root", str(root), "--out", str(model_dir)],
                   cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, check=True, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    summary = json.loads((model_dir / "train_summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["signature"] == training_signature(load_model_config(config), merged, world_size=2)
    weights_stat = (model_dir / "model_final.pdparams").stat()

    before = len(runs_log_path().read_text().splitlines())
    build(EvaluateTinyPose(config=config))
    assert models_done_since(before) == ["EvaluateTinyPose", "TrainTinyPose"]
    manifest = json.loads((model_dir / "train.manifest.json").read_text())
    assert manifest["info"] == {"adopted": True}          # taken as it is, not trained again
    assert (model_dir / "model_final.pdparams").stat().st_mtime_ns == weights_stat.st_mtime_ns
    assert TrainTinyPose(config=config).complete()


def test_two_processes_through_the_node_resume_after_a_kill(sample_pipeline, tmp_path):
    config = two_process_config(tmp_path, "tinypose_launched", epochs=2)
    build(BuildMergedAnnotations())
    merged, root = BuildMergedAnnotations().outputs()["merged"], sample_pipeline["root"]
    model_dir = root / "models" / "tinypose_launched"
    signature = training_signature(load_model_config(config), merged, world_size=2)
    first_checkpoint = model_dir / "checkpoints" / signature[:16] / "epoch_0001.pdckpt"
    cfg = luigi_cfg(tmp_path, root, sample_pipeline["datasets"])
    command = [sys.executable, "-m", "luigi", "--module", "pipeline.tasks", "TrainTinyPose", "--config", config]
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(cfg), "OMP_NUM_THREADS": "1"}
    # killed in the second epoch, the launcher and both ranks with it
    kill_after_checkpoint(command, first_checkpoint, env=env, cwd=PROJECT_ROOT, timeout=900)
    assert not (model_dir / "model_final.pdparams").exists()

    build(TrainTinyPose(config=config))
    summary = json.loads((model_dir / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["resumed_from"] == str(first_checkpoint)
    assert summary["steps"] == 2 * summary["steps_per_epoch"]
    assert {p.name for p in (model_dir / "launch").glob("workerlog.*")} == {"workerlog.0", "workerlog.1"}

    before = len(runs_log_path().read_text().splitlines())
    build(EvaluateTinyPose(config=config))          # the training is complete: evaluation only
    assert models_done_since(before) == ["EvaluateTinyPose"]
