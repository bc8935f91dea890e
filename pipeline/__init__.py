"""Luigi orchestration of the PP-TinyPose pipeline (thin: the work lives in `tasks/`).

Importing this package makes `configs/luigi.cfg` the default Luigi configuration
unless LUIGI_CONFIG_PATH names another file, as Luigi users expect.
"""
import logging
import os
from pathlib import Path

import luigi.configuration

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "luigi.cfg"

if not os.environ.get("LUIGI_CONFIG_PATH"):
    luigi.configuration.add_config_path(str(DEFAULT_CONFIG))

# Node reports (progress, summaries) go to this logger; shown on stderr like Luigi's own.
_log = logging.getLogger("pipeline")
if not _log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    _log.addHandler(_handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False
