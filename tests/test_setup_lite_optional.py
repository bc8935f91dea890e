"""Set-up without Python 3.10: the Lite environment is skipped with a one-line note naming the fix,
and the demo leaves the Lite node out, saying the same."""
import os
import subprocess
from pathlib import Path

from pipeline.demo import lite_environment_note

REPO = Path(__file__).resolve().parents[1]


def test_lite_env_script_skips_without_python310(tmp_path):
    dest = tmp_path / "venv-lite"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}   # no pyenv, no python3.10, no override
    done = subprocess.run(["bash", str(REPO / "tools" / "make_lite_env.sh"), str(dest)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not dest.exists()   # nothing half-made, and no .installed: the next `make setup` looks again
    note = done.stderr.strip()
    assert len(note.splitlines()) == 1
    assert "no Python 3.10 found" in note and "TINYPOSE_LITE_PYTHON_BIN" in note and "make setup" in note


def test_lite_env_script_refuses_a_wrong_interpreter(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TINYPOSE_LITE_PYTHON_BIN": str(tmp_path / "nothing")}
    done = subprocess.run(["bash", str(REPO / "tools" / "make_lite_env.sh"), str(tmp_path / "v")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "TINYPOSE_LITE_PYTHON_BIN" in done.stderr


def test_demo_names_the_fix_when_the_lite_env_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYPOSE_LITE_PYTHON", str(tmp_path / "missing" / "python"))
    note = lite_environment_note()
    assert note and "\n" not in note and "Python 3.10" in note and "make setup" in note
    monkeypatch.delenv("TINYPOSE_LITE_PYTHON")
    if os.path.isfile(REPO / ".venv-lite" / "bin" / "python"):
        assert lite_environment_note() is None
