"""Every solved notebook prints the same thing on every run.

nbval executes each solved notebook once and compares its check lines with the stored ones;
this test executes each twice more, two kernels at a time (each from a process of its own),
and compares *everything* the cells print (every figure quoted in the prose comes from
there), and the check lines with the stored ones. Three executions in all, the same
outputs each time.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lessonlib.grader.notebook_files import cell_info

SOLUTIONS = sorted((Path(__file__).resolve().parents[2] / "notebooks" / "solutions")
                   .glob("*.ipynb"))


def _printed(nb) -> list[str]:
    """What each code cell printed to stdout, one string per code cell."""
    return ["".join(o.get("text", "") for o in c.outputs
                    if o.get("output_type") == "stream" and o.get("name") == "stdout")
            for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(scope="module")
def two_runs():
    """Each solved notebook executed twice, two at a time, each execution in a process of
    its own: two kernel clients in threads of one process sometimes lose a message and wait
    for minutes (seen here, with an idle kernel)."""
    jobs = [p for p in SOLUTIONS for _ in range(2)]
    with ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn")) as pool:
        runs = list(pool.map(_execute_once, jobs))
    return {p.stem: (runs[2 * i], runs[2 * i + 1]) for i, p in enumerate(SOLUTIONS)}


def _execute_once(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solved_notebook_prints_the_same_on_every_run(path, two_runs):
    first, second = two_runs[path.stem]
    a, b = _printed(first), _printed(second)
    differing = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    assert not differing, (f"code cell {differing[0]} printed\n{a[differing[0]]}\nthen\n"
                           f"{b[differing[0]]}")
    stored = nbformat.read(path, as_version=4)
    for cell, ran in zip(stored.cells, first.cells):
        if cell_info(cell).get("role") == "check":
            assert _printed_cell(ran) == _printed_cell(cell)


def _printed_cell(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
