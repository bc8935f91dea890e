"""Locate the Paddle-Lite toolchain environment (Python 3.10, paddlelite 2.13rc0, numpy<2).

paddlelite has wheels only up to Python 3.10 and misreads numpy 2 arrays
(docs/deployment.md), so it lives in its own virtual environment, created by
``make setup`` (``bash tools/make_lite_env.sh``), and is only ever run as a
subprocess: the main environment never imports paddlelite.
"""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "TINYPOSE_LITE_PYTHON"
DEFAULT_LITE_PYTHON = REPO_ROOT / ".venv-lite" / "bin" / "python"
HOW_TO_CREATE = ("it needs a Python 3.10 (paddlelite's wheels stop at 3.10): install one (`pyenv install 3.10`, "
                 "or set TINYPOSE_LITE_PYTHON_BIN=/path/to/python3.10), then run `make setup` or "
                 f"`bash tools/make_lite_env.sh` (from {REPO_ROOT}); or point {ENV_VAR} at the python of an "
                 "existing environment with paddlelite==2.13rc0 and numpy<2")


class LiteError(RuntimeError):
    """A Paddle-Lite step failed; the message names the file and the figures."""


class LiteEnvMissing(RuntimeError):
    """The Paddle-Lite environment was not found; the message says how to create it."""


def find_lite_python(configured=None):
    """Path of the Lite environment's python.

    Order: ``configured`` (an argument or the `lite_python` config key), then
    $TINYPOSE_LITE_PYTHON, then <repo>/.venv-lite/bin/python. The first one given
    must exist: a set but wrong value is an error, not a reason to look elsewhere.
    """
    for source, value in (("the configured lite_python", configured), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise LiteEnvMissing(f"Paddle-Lite environment not found: {source} = {path} does not exist; "
                                     + HOW_TO_CREATE)
            return path
    if not DEFAULT_LITE_PYTHON.is_file():
        raise LiteEnvMissing(f"Paddle-Lite environment not found at {DEFAULT_LITE_PYTHON}; " + HOW_TO_CREATE)
    return DEFAULT_LITE_PYTHON


def lite_opt_script(lite_python):
    """The ``paddle_lite_opt`` console script installed beside ``lite_python``."""
    script = Path(lite_python).parent / "paddle_lite_opt"
    if not script.is_file():
        raise LiteEnvMissing(f"{script} does not exist: the environment of {lite_python} has no paddlelite; "
                             + HOW_TO_CREATE)
    return script
