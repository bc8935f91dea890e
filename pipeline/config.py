"""The `[pipeline]` section of the Luigi configuration."""
from pathlib import Path

import luigi

from pipeline import PROJECT_ROOT
from tasks.common.logs import configure_logging


class pipeline(luigi.Config):  # noqa: N801 - the class name is the config section name
    data_root = luigi.Parameter(default="data", description="root of all data and model outputs")
    datasets = luigi.Parameter(default="configs/datasets.yml",
                               description="YAML with the dataset archives (URLs, md5, layouts)")
    lite_python = luigi.Parameter(default="", description="Python of the Paddle-Lite environment "
                                  "(default: $TINYPOSE_LITE_PYTHON or .venv-lite/bin/python)")
    quiet = luigi.BoolParameter(default=False, description="warnings and errors only, no progress bars")


def configure_node_logging() -> None:
    """The project's loggers at Luigi's [core] log_level (or --log-level), or quiet."""
    from luigi.interface import core
    configure_logging(core().log_level, quiet=pipeline().quiet)


def resolve(path) -> Path:
    """A config path: absolute as given, else relative to the project root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def data_root() -> Path:
    return resolve(pipeline().data_root)


def datasets_file() -> Path:
    return resolve(pipeline().datasets)
