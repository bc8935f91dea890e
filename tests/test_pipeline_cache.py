"""The cache's promises, through Luigi on the sample: a node's digest is its content, variants
live side by side, a rebuild gives the same bytes, and two processes never run a node twice."""
import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from pipeline import PROJECT_ROOT
from pipeline.cached_task import runs_log_path
from pipeline.tasks import BuildMergedAnnotations, ConvertAIChallenger, EvaluateTinyPose, ExtractArchive, TrainTinyPose
from pipeline_helpers import build, pipeline_root, tinypose_test_config

pytestmark = pytest.mark.slow


def events(since=0):
    lines = runs_log_path().read_text().splitlines()[since:] if runs_log_path().exists() else []
    return [json.loads(line) for line in lines]


def done_since(since):
    return sorted(e["task"].split("_")[0] for e in events(since) if e["event"] == "done")


def write_luigi_cfg(folder, root, datasets):
    path = folder / "luigi.cfg"
    path.write_text(f"[core]\nautoload_range = false\nlocal_scheduler = true\nlog_level = WARNING\n\n"
                    f"[pipeline]\ndata_root = {root}\ndatasets = {datasets}\n")
    return path


def run_luigi(cfg, *args, background=False):
    """`luigi --module pipeline.tasks ...` in a fresh process, as a user runs it."""
    command = [sys.executable, "-m", "luigi", "--module", "pipeline.tasks", *map(str, args)]
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(cfg), "OMP_NUM_THREADS": "1"}
    if background:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def trained(tmp_path_factory, sample_dir):
    """A data root of its own (these tests delete manifests) with the data nodes done and a
    one-epoch TinyPose trained and evaluated."""
    folder = tmp_path_factory.mktemp("cache")
    datasets = folder / "datasets.yml"
    shutil.copy(sample_dir / "datasets.yml", datasets)
    model_config = folder / "tiny.yml"
    model_config.write_text(yaml.safe_dump(tinypose_test_config("tinypose_cache_test", 0.004)))
    with pipeline_root(folder / "data", datasets):
        build(EvaluateTinyPose(config=str(model_config)))
        yield {"root": folder / "data", "folder": folder, "config": str(model_config),
               "cfg": write_luigi_cfg(folder, folder / "data", datasets)}


def test_deleted_data_manifest_rebuilds_that_node_only(trained):
    train = TrainTinyPose(config=trained["config"])
    for node in (ConvertAIChallenger(split="train"), ExtractArchive(dataset="coco", archive="train2017"),
                 BuildMergedAnnotations()):
        before = len(events())
        node.manifest_path().unlink()
        build(train)
        assert done_since(before) == [node.get_task_family()]   # same bytes: nothing below it re-ran


def test_variants_live_side_by_side_and_nothing_retrains(trained, luigi_config):
    train = TrainTinyPose(config=trained["config"])
    annotations = trained["root"] / "annotations"
    before = len(events())
    build(BuildMergedAnnotations(include_aic_validation=True))
    luigi_config("ConvertAIChallenger", "min_box_area", 5000)
    build(BuildMergedAnnotations())
    luigi_config("ConvertAIChallenger", "min_box_area", 0.0)
    build(BuildMergedAnnotations(), train)
    assert "TrainTinyPose" not in done_since(before)
    # one merge per variant, the validation split's conversion (+ its archive) and the
    # min_box_area conversion; switching back ran nothing
    assert done_since(before) == ["BuildMergedAnnotations", "BuildMergedAnnotations", "ConvertAIChallenger",
                                  "ConvertAIChallenger", "DownloadArchive", "ExtractArchive"]
    for name in ("aic_coco_train_cocoformat.json", "aic_coco_train_cocoformat__include_aic_validation.json",
                 "aic_coco_train_cocoformat__min_box_area5000.json", "aic_train_cocoformat.json",
                 "aic_train_cocoformat__min_box_area5000.json", "aic_validation_cocoformat.json"):
        assert (annotations / name).is_file(), name
    merged = json.loads((annotations / "aic_coco_train_cocoformat.json").read_text())
    with_val = json.loads((annotations / "aic_coco_train_cocoformat__include_aic_validation.json").read_text())
    assert len(with_val["images"]) > len(merged["images"])


def recorded_outputs(root):
    """{manifest path: {output name: content id}} of every node under the data root."""
    found = {}
    for manifest in sorted(root.rglob("*.manifest.json")):
        outputs = json.loads(manifest.read_text())["outputs"]
        found[str(manifest.relative_to(root))] = {
            name: d.get("sha256") or d.get("target") or [d["files"], d["size"]] for name, d in outputs.items()}
    return found


def test_rebuild_in_a_fresh_process_gives_identical_bytes(trained):
    """Every node, training included (CPU, seeded, no loader workers), rebuilt from scratch in
    another process, writes byte-identical outputs and the same digests."""
    root = trained["root"]
    before = recorded_outputs(root)
    digests = {m: json.loads((root / m).read_text())["digest"] for m in before}
    for manifest in before:
        (root / manifest).unlink()
    shutil.rmtree(root / "models" / "tinypose_cache_test" / "checkpoints")
    run_luigi(trained["cfg"], "EvaluateTinyPose", "--config", trained["config"])
    after = recorded_outputs(root)   # the default chain (variants made by other tests stay deleted)
    assert {"models/tinypose_cache_test/train.manifest.json", "models/tinypose_cache_test/eval.manifest.json",
            "annotations/aic_coco_train_cocoformat.manifest.json"} <= set(after)
    assert after == {m: before[m] for m in after}
    assert {m: json.loads((root / m).read_text())["digest"] for m in after} == {m: digests[m] for m in after}


def test_two_processes_on_one_node_run_it_once(trained):
    merged = BuildMergedAnnotations()
    conversion = ConvertAIChallenger(split="train")
    merged.manifest_path().unlink()
    conversion.manifest_path().unlink()
    before = len(events())
    first = run_luigi(trained["cfg"], "BuildMergedAnnotations", background=True)
    second = run_luigi(trained["cfg"], "BuildMergedAnnotations", background=True)
    for process in (first, second):
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output
    runs = Counter((e["task"], e["event"]) for e in events(before))
    started = {task: n for (task, event), n in runs.items() if event == "started"}
    assert started == {conversion.task_id: 1, merged.task_id: 1}
    assert merged.complete()
