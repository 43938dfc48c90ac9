"""Every solved notebook prints, on every run of the suite, what it printed when stored.

``python -m lessonlib refresh`` executes a solved notebook and stores what each of its cells
prints, with the tag ``nbval-check-output`` (``release.refresh_solved``). nbval, which runs
every notebook in the suite, compares each tagged cell's printed text with the stored text.
So each run of the suite is a second execution compared line by line with the stored first:
the figures the prose quotes are the figures the notebook prints. These tests make sure the
comparison covers every printing cell and fails, with what to do, when a figure changes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lessonlib.grader.notebook_files import cell_info, learner_dir, solutions_dir
from lessonlib.grader.release import CHECK_TAG

ROOT = Path(__file__).resolve().parents[2]
SOLVED = sorted(solutions_dir().glob("*.ipynb"))


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", SOLVED, ids=[p.stem for p in SOLVED])
def test_every_cell_that_prints_is_stored_and_compared(path):
    compared = 0
    for cell in _code_cells(path):
        tagged = CHECK_TAG in cell.metadata.get("tags", [])
        assert tagged == bool(cell.outputs), cell.source[:80]
        if tagged:
            assert cell.execution_count == 1
            assert all(o.output_type == "stream" and o.name == "stdout" for o in cell.outputs)
            compared += cell_info(cell).get("role") != "check"
    assert compared >= 10   # the lesson's experiments, not only the check lines


@pytest.mark.parametrize("path", SOLVED, ids=[p.stem for p in SOLVED])
def test_learner_notebooks_compare_only_their_check_lines(path):
    for cell in _code_cells(learner_dir() / path.name):
        tagged = CHECK_TAG in cell.metadata.get("tags", [])
        assert tagged == (cell_info(cell).get("role") == "check"), cell.source[:80]


def test_a_changed_figure_fails_the_suite_and_says_what_to_do(tmp_path):
    name = "05_softmax_regression.ipynb"
    nb = nbformat.read(solutions_dir() / name, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.outputs
                and cell_info(c).get("role") != "check" and any(d in c.outputs[0].text
                                                                 for d in "0123456789"))
    text = cell.outputs[0].text
    i = next(i for i, ch in enumerate(text) if ch.isdigit())
    cell.outputs[0].text = text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:]
    (tmp_path / "solutions").mkdir()
    nbformat.write(nb, tmp_path / "solutions" / name)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "-n", "0",
         "-p", "conftest", "-q", str(tmp_path / "solutions" / name)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout[-3000:]
    assert "Cell outputs differ" in run.stdout
    assert "python -m lessonlib refresh" in run.stdout
    assert re.search(r"^1 failed, \d+ passed", run.stdout, re.M), run.stdout[-1000:]
