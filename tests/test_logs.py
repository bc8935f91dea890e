"""Logging and progress: the project's loggers follow Luigi's log level (config or --log-level) and
`[pipeline] quiet`, in one format; progress bars show on a terminal only, and never with TQDM_DISABLE."""
import io
import os
import subprocess
import sys

import pytest

from pipeline import PROJECT_ROOT
from tasks.common import logs


def run_node(tmp_path, sample_dir, *flags, log_level="INFO"):
    """`luigi --module pipeline.tasks DownloadArchive ...` on the sample in a fresh process."""
    tmp_path.mkdir()
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(f"[core]\nautoload_range = false\nlocal_scheduler = true\nlog_level = {log_level}\n\n"
                   f"[pipeline]\ndata_root = {tmp_path / 'data'}\ndatasets = {sample_dir / 'datasets.yml'}\n")
    command = [sys.executable, "-m", "luigi", "--module", "pipeline.tasks", "DownloadArchive", "--dataset", "coco",
               "--archive", "val2017", *flags]
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(cfg)}
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_node_logs_follow_the_luigi_level(tmp_path, sample_dir):
    shown = run_node(tmp_path / "a", sample_dir)
    assert "INFO: DownloadArchive: downloading val2017.zip" in shown.stderr, shown.stderr
    for quiet in (run_node(tmp_path / "b", sample_dir, log_level="WARNING"),
                  run_node(tmp_path / "c", sample_dir, "--log-level", "WARNING"),
                  run_node(tmp_path / "d", sample_dir, "--pipeline-quiet")):
        assert quiet.returncode == 0, quiet.stderr
        assert "DownloadArchive: downloading" not in quiet.stderr
        assert "\r" not in quiet.stderr   # no progress bar when not on a terminal


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def loud():
    logs.configure_logging("INFO")
    yield
    logs.configure_logging("INFO")


def test_progress_only_on_a_terminal(monkeypatch, loud):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert logs.shows_progress(FakeTerminal()) and not logs.shows_progress(io.StringIO())
    for value in ("1", "true", "True"):
        monkeypatch.setenv("TQDM_DISABLE", value)
        assert not logs.shows_progress(FakeTerminal())
    monkeypatch.setenv("TQDM_DISABLE", "0")
    assert logs.shows_progress(FakeTerminal())
    logs.configure_logging("INFO", quiet=True)
    assert not logs.shows_progress(FakeTerminal())


def test_one_handler_one_format_whatever_the_calls(loud):
    import logging
    logs.configure_logging("DEBUG")
    logs.configure_logging("WARNING")
    for name in logs.PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        handlers = [h for h in logger.handlers if isinstance(h, logs._ProjectHandler)]
        assert len(handlers) == 1 and handlers[0].formatter._fmt == logs.FORMAT
        assert logger.level == logging.WARNING and not logger.propagate
    assert logging.getLogger("tasks.engine.loop").getEffectiveLevel() == logging.WARNING
