"""One log format and level for the project's loggers, and progress bars only where a person watches.

The `pipeline` and `tasks` loggers write to stderr in Luigi's own format (``LEVEL: message``) at
the level the caller gives (the nodes: Luigi's ``[core] log_level`` / ``--log-level``); they do
not pass their records on to the root logger, where Paddle installs a handler of its own format.
Progress bars show on a terminal only, never with ``TQDM_DISABLE`` set or when quiet, so a log
written to a file holds lines, not carriage-return animations.
"""
import logging
import os
import sys

from tqdm import tqdm

FORMAT = "%(levelname)s: %(message)s"    # Luigi's interface format
PROJECT_LOGGERS = ("pipeline", "tasks")
_state = {"quiet": False}


class _ProjectHandler(logging.StreamHandler):
    """The one handler configure_logging puts on each project logger (recognised on a second call)."""


def configure_logging(level="INFO", quiet=False) -> None:
    """Send the project's loggers to stderr in one format at `level` (WARNING when `quiet`, which
    also hides progress bars). Safe to call again: the level changes, the handler stays one."""
    _state["quiet"] = bool(quiet)
    level = logging.WARNING if quiet else level
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, _ProjectHandler) for h in logger.handlers):
            handler = _ProjectHandler()   # stderr as it is at call time (pytest swaps it)
            handler.setFormatter(logging.Formatter(FORMAT))
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


def shows_progress(stream=None) -> bool:
    """Whether a progress bar would be seen: not quiet, TQDM_DISABLE unset (or 0/false/no), a terminal."""
    if _state["quiet"] or os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    stream = stream or sys.stderr
    return hasattr(stream, "isatty") and stream.isatty()


def progress_bar(iterable=None, *, enabled=True, **options):
    """tqdm, shown only when `enabled` and ``shows_progress()``."""
    return tqdm(iterable, disable=not (enabled and shows_progress()), **options)
