"""Shared fixtures: the generated sample dataset, a Luigi config pointing at it, and a data root
with models trained on it.

`make test` runs the suite on two pytest-xdist workers, one file per worker at a time. What
both may need is built once, in a folder of this run that they share: the sample under a file
lock, the trained models under the pipeline's own per-node locks (the second worker waits for
the first's node, then finds it complete)."""
import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import luigi
import luigi.configuration
import pytest
import yaml

from pipeline_helpers import SAMPLE_DETECTOR, build, pipeline_root, tinypose_test_config


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> Path:
    """A folder all xdist workers of this run share (the run's own base folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def file_lock(path: Path):
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def sample_dir(shared_dir) -> Path:
    """The embedded sample dataset (archives + datasets.yml), generated once per run."""
    from tasks.sample.generate import generate_sample
    out = shared_dir / "sample"
    with file_lock(shared_dir / "sample.lock"):
        if not (out / "sample_manifest.json").is_file():
            generate_sample(out)
    return out


@pytest.fixture(scope="session")
def sample_models(shared_dir, sample_dir) -> dict:
    """A data root with the sample's data nodes, a one-epoch TinyPose ("tinypose_test": tests
    of wiring, not accuracy) and the demo's detector (configs/picodet_s_192_sample.yml: its AP
    is tested), each evaluated. Tests may add nodes to it, never change or delete what is there.
    Use it inside ``pipeline_root(sample_models["root"], sample_models["datasets"])``."""
    from pipeline.tasks import EvaluateDetector, EvaluateTinyPose
    folder = shared_dir / "sample_models"
    folder.mkdir(exist_ok=True)
    datasets, keypoint = folder / "datasets.yml", folder / "tinypose_test.yml"
    with file_lock(shared_dir / "sample_models.lock"):   # written once: a rewrite would race the other worker
        if not datasets.is_file():
            shutil.copy(sample_dir / "datasets.yml", datasets)
            keypoint.write_text(yaml.safe_dump(tinypose_test_config("tinypose_test", 0.008)))
    models = {"root": folder / "data", "datasets": datasets, "keypoint": str(keypoint), "detector": SAMPLE_DETECTOR}
    evaluations = [EvaluateTinyPose(config=models["keypoint"]), EvaluateDetector(config=SAMPLE_DETECTOR)]
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        evaluations.reverse()   # two workers that arrive together train one model each
    with pipeline_root(models["root"], datasets):
        for node in evaluations:
            build(node)
    return models


@pytest.fixture(scope="session")
def sample_manifest(sample_dir) -> dict:
    return json.loads((sample_dir / "sample_manifest.json").read_text())


@pytest.fixture(scope="session")
def tinypose_export(shared_dir) -> Path:
    """A synthetic-weight TinyPose 128x96 exported once per run (``export_inference_model``:
    model.json + model.pdmodel + model.pdiparams, the slow part) with its ``model.onnx``
    beside it. Tests must not write into it."""
    from deploy_helpers import ARCHITECTURE, INPUT_SIZE, seeded_tinypose
    from tasks.export.inference_model import export_inference_model
    from tasks.export.onnx import export_onnx
    out = shared_dir / "export" / "tinypose_128x96"
    with file_lock(shared_dir / "export.lock"):
        if not (out / "model.onnx").is_file():   # written last
            export_inference_model(seeded_tinypose(), out, INPUT_SIZE, architecture=ARCHITECTURE)
            export_onnx(out, out / "model.onnx")
    return out


@pytest.fixture
def luigi_config():
    """Set Luigi config values for one test: `luigi_config(section, key, value)`."""
    config = luigi.configuration.get_config()
    saved = []

    def set_value(section, key, value):
        if not config.has_section(section):
            config.add_section(section)
        saved.append((section, key, config.get(section, key, None)))
        config.set(section, key, str(value))

    yield set_value
    for section, key, old in reversed(saved):
        if old is None:
            config.remove_option(section, key)
        else:
            config.set(section, key, old)


@pytest.fixture
def sample_pipeline(tmp_path, sample_dir, luigi_config):
    """A data root in tmp_path and the sample's datasets config (a private copy, so a
    test may edit it)."""
    datasets = tmp_path / "datasets.yml"
    shutil.copy(sample_dir / "datasets.yml", datasets)
    root = tmp_path / "data"
    luigi_config("pipeline", "data_root", root)
    luigi_config("pipeline", "datasets", datasets)
    return {"root": root, "datasets": datasets}
