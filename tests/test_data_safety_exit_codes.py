"""Every shipped Luigi config makes a failed node a non-zero exit of the `luigi` command."""
import configparser
import os
import subprocess
import sys

import pytest

from pipeline import PROJECT_ROOT

SHIPPED = ["luigi.cfg", "demo.cfg", "central.cfg"]
RETCODES = ("already_running", "missing_data", "not_run", "task_failed", "scheduling_error",
            "unhandled_exception")


def read_cfg(path):
    parser = configparser.ConfigParser()
    parser.read(path)
    return parser


@pytest.mark.parametrize("name", SHIPPED)
def test_every_outcome_but_success_has_a_distinct_nonzero_code(name):
    codes = read_cfg(PROJECT_ROOT / "configs" / name)["retcode"]
    values = [int(codes[key]) for key in RETCODES]
    assert all(values) and len(set(values)) == len(values), dict(codes)


@pytest.mark.parametrize("name", SHIPPED)
def test_card_command_with_the_placeholder_md5_exits_with_task_failed(name, tmp_path):
    """The card's `luigi --module pipeline.tasks ConvertAIChallenger` with the stock
    configs/datasets.yml (AIC md5 still the placeholder): the download fails, so must the command."""
    config = read_cfg(PROJECT_ROOT / "configs" / name)
    config["pipeline"]["data_root"] = str(tmp_path / "data")
    config["pipeline"]["datasets"] = str(PROJECT_ROOT / "configs" / "datasets.yml")
    copy = tmp_path / name
    with open(copy, "w") as handle:
        config.write(handle)
    command = [sys.executable, "-m", "luigi", "--module", "pipeline.tasks", "ConvertAIChallenger"]
    if name == "central.cfg":   # the same config without a luigid to talk to
        command.append("--local-scheduler")
    done = subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, "LUIGI_CONFIG_PATH": str(copy)},
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == int(config["retcode"]["task_failed"]), output
    assert "md5sum" in output
