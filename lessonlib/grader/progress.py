"""``python -m lessonlib progress``: where a learner stands, from the learner's own notebooks.

Each notebook runs in a fresh kernel of the learner's environment, as its check cells run in
JupyterLab: its set-up, exercise and check cells only (the experiments are skipped, so it
is quick), the checks replaying the notebook's check data. A last cell reads the session
the set-up cell created. Nothing of the instructor side is needed, so it works from a
handout as from the repository, and the notebook on disk is never written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .exercises import EXERCISES, Status, exercises_of, progress_lines
from .notebook_files import NotebookError, cell_info, read_notebook

_MARK = "lessonlib-progress:"
_REPORT = f"""
import json as _json
print({_MARK!r} + _json.dumps({{i: [r.status.value, r.points, r.message]
                               for i, r in session.results.items()}}))
"""


@dataclass
class Progress:
    """What ``progress_of`` found for one notebook: ``results`` maps exercise ids to
    ``(Status, points, message)``; ``error`` says why the notebook could not run."""

    path: Path
    notebook: str
    results: dict
    error: str | None = None

    def lines(self) -> list[str]:
        """The progress table, then each failing exercise's message and hint."""
        table = progress_lines(self.notebook, {i: (s, p) for i, (s, p, _) in
                                               self.results.items()},
                               exercises_of(self.notebook), title=str(self.path))
        failed = [f"      {i}: {m}" for i, (s, _, m) in self.results.items()
                  if s is Status.FAILED]
        return table + failed + ([f"      could not run: {self.error}"] if self.error else [])

    @property
    def score(self) -> float:
        return sum(p for _, p, _ in self.results.values())

    @property
    def total(self) -> float:
        return sum(e.points for e in exercises_of(self.notebook))


def progress_of(path, *, timeout: float = 60) -> Progress:
    """Run the set-up, exercise and check cells of the learner notebook at ``path`` in a
    fresh kernel (``timeout`` seconds per cell) and read its session's results."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    nb = read_notebook(path)
    notebook = nb.metadata.get("lessonlib", {}).get("notebook")
    if notebook not in {e.notebook for e in EXERCISES.values()}:
        raise NotebookError(f"{path} is not a notebook of the workbook (no lessonlib "
                            "notebook name in its metadata)")
    import nbformat
    nb.cells = [c for c in nb.cells if c.cell_type == "code"
                and cell_info(c).get("role") in ("setup", "exercise", "check")]
    nb.cells.append(nbformat.v4.new_code_cell(_REPORT))
    env = {**os.environ, "MPLBACKEND": "Agg", "LESSONLIB_HEADLESS": "1"}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    error = None
    try:
        client.execute(env=env)
    except (CellExecutionError, CellTimeoutError, RuntimeError) as err:
        error = " ".join(str(err).split())[:200]
    results = {}
    for output in nb.cells[-1].get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(_MARK):
                results = {i: (Status(s), float(p), m)
                           for i, (s, p, m) in json.loads(line[len(_MARK):]).items()}
    if not results and error is None:
        error = "the set-up cell did not create the session (was it deleted?)"
    return Progress(path, notebook, results, error)
