"""Where the workbook's data lives, without numpy: ``core.data`` reads the data sets from
here, and the grader's sandbox shows this folder to a submission."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "LESSONLIB_DATA_DIR"


def data_dir() -> Path:
    """The folder holding the data files: ``$LESSONLIB_DATA_DIR`` or the checkout's ``data/``."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"
