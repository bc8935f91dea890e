"""Shared fixtures: the generated sample dataset and a Luigi config pointing at it."""
import json
import shutil
from pathlib import Path

import luigi
import luigi.configuration
import pytest


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The embedded sample dataset (archives + datasets.yml), generated once per session."""
    from tasks.sample.generate import generate_sample
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out)
    return out


@pytest.fixture(scope="session")
def sample_manifest(sample_dir) -> dict:
    return json.loads((sample_dir / "sample_manifest.json").read_text())


@pytest.fixture(scope="session")
def tinypose_export(tmp_path_factory) -> Path:
    """A synthetic-weight TinyPose 128x96 exported once per session (``export_inference_model``:
    model.json + model.pdmodel + model.pdiparams, the slow part: ~40 s) with its ``model.onnx``
    beside it. Tests must not write into it."""
    from deploy_helpers import ARCHITECTURE, INPUT_SIZE, seeded_tinypose
    from tasks.deploy.export import export_inference_model
    from tasks.deploy.onnx import export_onnx
    out = tmp_path_factory.mktemp("export") / "tinypose_128x96"
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
