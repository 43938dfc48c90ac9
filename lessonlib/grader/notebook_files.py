"""Notebook files: where they are, reading them with a clear error, and their metadata.

Conventions of a solved notebook in ``instructor/solutions/``:

- notebook metadata ``lessonlib.notebook`` is its name, e.g. ``"01_tuning_process"``;
- an exercise cell has metadata ``lessonlib = {"exercise": "1.1", "role": "exercise"}`` and
  its solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
- its check cell has ``lessonlib = {"exercise": "1.1", "role": "check"}`` and the tag
  ``nbval-check-output``, and stores the check's one line as its only output;
- every other code cell that only prints stores what it printed, with the same tag (both
  written by ``python -m lessonlib refresh``), so nbval compares it on every run;
- the set-up cells (imports, the seed, data the exercises need) have
  ``lessonlib = {"role": "setup"}``: ``grade`` runs them and the learner's cells, and
  skips the lesson's other code cells (its experiments);
- a worked derivation (an exercise's answer explained, for after its check passes) has
  ``lessonlib = {"role": "worked", "exercise": "3.4"}``: it stays in the solved notebook
  (and the feedback), and ``release`` leaves it out of the learner notebook.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


class NotebookError(Exception):
    """A file that cannot be read, released or graded, with the reason."""


def project_dir() -> Path:
    return Path(__file__).resolve().parents[2]


def solutions_dir() -> Path:
    """The solved notebooks: the instructor side of the checkout, never handed out."""
    return project_dir() / "instructor" / "solutions"


def learner_dir() -> Path:
    return project_dir() / "notebooks"


# ------------------------------------------------------------------ reading

def read_notebook(path) -> nbformat.NotebookNode:
    """Read and validate a notebook, or raise ``NotebookError`` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise NotebookError(f"{path}: cannot be read as text ({err})") from err
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(f"{path} is not a Jupyter notebook: it is not JSON "
                            f"({err.msg} at line {err.lineno})") from err
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        raise NotebookError(f"{path} is not a Jupyter notebook: JSON without 'cells' and "
                            "'nbformat'")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - nbformat raises several kinds
        raise NotebookError(f"{path} is not a valid Jupyter notebook: "
                            f"{str(err).splitlines()[0]}") from err
    return nb


def cell_info(cell) -> dict:
    """The cell's ``lessonlib`` metadata (``exercise`` and ``role``), or ``{}``."""
    info = cell.get("metadata", {}).get("lessonlib", {})
    return info if isinstance(info, dict) else {}


def notebook_name(nb) -> str | None:
    return nb.metadata.get("lessonlib", {}).get("notebook")


def source_hash(nb) -> str:
    """A digest of the cells' types and sources: what the learner writes, not outputs."""
    h = hashlib.sha256()
    for cell in nb.cells:
        h.update(cell.cell_type.encode() + b"\0" + cell.source.encode() + b"\0")
    return h.hexdigest()


def dumps(nb) -> str:
    return nbformat.writes(nb) + "\n"
