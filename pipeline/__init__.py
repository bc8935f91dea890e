"""Luigi orchestration of the PP-TinyPose pipeline (thin: the work lives in `tasks/`).

Importing this package makes `configs/luigi.cfg` the default Luigi configuration
unless LUIGI_CONFIG_PATH names another file, as Luigi users expect.
"""
import os
from pathlib import Path

import luigi.configuration

from tasks.common.logs import configure_logging

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "luigi.cfg"

if not os.environ.get("LUIGI_CONFIG_PATH"):
    luigi.configuration.add_config_path(str(DEFAULT_CONFIG))

# Node reports (progress, summaries) go to the project's loggers, shown on stderr in Luigi's format at
# the configured [core] log_level (each node re-applies it with the command line's --log-level).
configure_logging(luigi.configuration.get_config().get("core", "log_level", "INFO"))
