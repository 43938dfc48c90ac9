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
import os
import stat
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

# The largest notebook read: a submission's outputs are dropped before grading, so a bigger
# file is padding, and reading it would hold it all in the grader's memory.
MAX_NOTEBOOK_BYTES = 100 * 1024 ** 2


def read_notebook(path) -> nbformat.NotebookNode:
    """Read and validate a notebook, or raise ``NotebookError`` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise NotebookError(f"{path}: cannot be read ({err})") from err
    return parse_notebook(data, path)


def submission_bytes(path) -> bytes:
    """The bytes of a submission's file, read once, without following a symbolic link and
    only from a regular file (not a folder, a pipe or a device); else ``NotebookError``."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such file") from None
    except OSError as err:
        if os.path.islink(path):
            raise NotebookError(f"{path}: not graded: it is a symbolic link, and a "
                                "submission must be a regular file") from None
        raise NotebookError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(f"{path}: not graded: it is not a regular file (a folder, a "
                                "pipe or a device), and a submission must be one")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(f"{path}: not graded: {info.st_size / 1024 ** 2:.0f} MiB, "
                                f"more than the {MAX_NOTEBOOK_BYTES // 1024 ** 2} MiB the "
                                "grader reads")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as err:
        raise NotebookError(f"{path}: cannot be read ({err.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path}: not graded: more than the "
                            f"{MAX_NOTEBOOK_BYTES // 1024 ** 2} MiB the grader reads")
    return data


def read_submission(path) -> nbformat.NotebookNode:
    """A learner's notebook, read like ``read_notebook`` from ``submission_bytes``."""
    return parse_notebook(submission_bytes(path), path)


def parse_notebook(data: bytes, path) -> nbformat.NotebookNode:
    """The notebook in ``data`` (the file at ``path``), validated: JSON, Jupyter's schema,
    and the workbook's own metadata (``check_metadata``); else ``NotebookError``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NotebookError(f"{path}: cannot be read as text ({err.reason} at byte "
                            f"{err.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(f"{path} is not a Jupyter notebook: it is not JSON "
                            f"({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise NotebookError(f"{path} is not a Jupyter notebook: JSON nested deeper than "
                            "the grader reads") from None
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        raise NotebookError(f"{path} is not a Jupyter notebook: JSON without 'cells' and "
                            "'nbformat'")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - nbformat raises several kinds
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise NotebookError(f"{path} is not a valid Jupyter notebook: "
                            f"{_short(first)}") from None
    problem = check_metadata(nb)
    if problem is not None:
        raise NotebookError(f"{path}: its workbook metadata is malformed: {problem}")
    return nb


def _short(text: str, n: int = 200) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _kind(value) -> str:
    """What JSON calls the type of ``value``: "an object", "a list", ..."""
    for kind, name in ((dict, "an object"), (list, "a list"), (str, "a string"),
                       (bool, "a boolean"), ((int, float), "a number")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def check_metadata(nb) -> str | None:
    """What is wrong with the workbook's metadata in ``nb`` (the one schema check, where a
    notebook is read), or ``None``: the notebook's ``lessonlib`` entry, when there, is an
    object whose ``notebook`` is a string; a cell's ``lessonlib``, when there, is an object
    whose ``role`` and ``exercise`` are strings."""
    checks = [("the notebook's", nb.get("metadata", {}), ("notebook",))]
    checks += [(f"cell {i}'s", cell.get("metadata", {}), ("role", "exercise"))
                for i, cell in enumerate(nb.get("cells", []), 1)]
    for where, metadata, fields in checks:
        if not isinstance(metadata, dict):
            return f"{where} metadata is {_kind(metadata)}, not an object"
        if "lessonlib" not in metadata:
            continue
        info = metadata["lessonlib"]
        if not isinstance(info, dict):
            return f"{where} lessonlib entry is {_kind(info)}, not an object"
        for name in fields:
            if name in info and not isinstance(info[name], str):
                return f"{where} lessonlib.{name} is {_kind(info[name])}, not a string"
    return None


def cell_info(cell) -> dict:
    """The cell's ``lessonlib`` metadata (``exercise`` and ``role``), or ``{}``."""
    info = cell.get("metadata", {}).get("lessonlib", {})
    return info if isinstance(info, dict) else {}


def notebook_name(nb) -> str | None:
    info = nb.get("metadata", {}).get("lessonlib", {})
    name = info.get("notebook") if isinstance(info, dict) else None
    return name if isinstance(name, str) else None


def source_hash(nb) -> str:
    """A digest of the cells' types and sources: what the learner writes, not outputs."""
    h = hashlib.sha256()
    for cell in nb.cells:
        h.update(cell.cell_type.encode() + b"\0" + cell.source.encode() + b"\0")
    return h.hexdigest()


def dumps(nb) -> str:
    return nbformat.writes(nb) + "\n"
