"""The import contracts of setup.cfg (import-linter): the deploy code's three rooms with one-way
doors (app -> runtime -> export's file layout), tasks/common at the bottom and the two models'
packages apart hold, and each fails when a door is opened the other way (checked on a copy of
``tasks/`` with one import added)."""
import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())"]


def lint(root, config):
    return subprocess.run([*LINT, str(config)], cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_the_contracts_hold():
    done = lint(ROOT, ROOT / "setup.cfg")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout


# (module of the copy, import added to it, the contract that must break)
OPENED_DOORS = [
    ("tasks/runtime/open.py", "from tasks.export.lite import convert_lite", "The runtime opens and runs files"),
    ("tasks/app/cli.py", "from tasks.export.onnx import export_onnx", "The app runs the runtime's predictors"),
    ("tasks/runtime/runners.py", "from tasks.app.media import Frame", "The runtime opens and runs files"),
    ("tasks/export/lite.py", "from tasks.app.joint import JointPipeline", "The export room checks its files"),
    ("tasks/export/layout/files.py", "from tasks.runtime.runners import OnnxRunner", "The file layout stands alone"),
    ("tasks/common/draw.py", "from tasks.keypoint.codecs import CODECS", "tasks/common is the bottom"),
    ("tasks/detection/dataset.py", "from tasks.keypoint.transforms import TopDownAffine",
     "The keypoint and detection packages stand apart"),
]


@pytest.mark.parametrize("module, line, contract", OPENED_DOORS, ids=[d[0] for d in OPENED_DOORS])
def test_a_door_opened_the_other_way_breaks_a_contract(tmp_path, module, line, contract):
    shutil.copytree(ROOT / "tasks", tmp_path / "tasks", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    with open(tmp_path / module, "a") as f:
        f.write(f"\n{line}\n")
    done = lint(tmp_path, tmp_path / "setup.cfg")
    assert done.returncode == 1, done.stdout[-3000:]
    broken = done.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and module.replace("/", ".").removesuffix(".py") in broken


def test_every_other_package_is_above_common():
    contracts = configparser.ConfigParser()
    contracts.read(ROOT / "setup.cfg")
    forbidden = set(contracts["importlinter:contract:common"]["forbidden_modules"].split())
    packages = {f"tasks.{p.name}" for p in (ROOT / "tasks").iterdir() if (p / "__init__.py").is_file()}
    assert forbidden == packages - {"tasks.common"}
