"""Every solved notebook prints, on every run of the suite, what it printed when stored.

``python -m lessonlib refresh`` executes a solved notebook and stores what each of its cells
prints, with the tag ``nbval-check-output`` (``release.refresh_solved``). nbval, which runs
every notebook in the suite, compares each tagged cell's printed text with the stored text.
So each run of the suite is a second execution compared line by line with the stored first:
the figures the prose quotes are the figures the notebook prints. These tests make sure the
comparison covers every printing cell and fails, with what to do, when a figure changes,
and that every decimal figure the prose quotes is one the notebook prints.
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

# A decimal figure in the prose (two or more decimals: exercise numbers such as 3.1 and
# settings such as 0.9 are not measured), not part of a link, an exponent or a longer word.
QUOTED = re.compile(r"(?<![\w.^{\\/:])\d+\.\d{2,}(?![\w}])")
PRINTED = re.compile(r"\d+\.\d+")
# The figures of the prose that are not measurements, with what they are instead.
NOT_MEASURED = {
    ("01_tuning_process", "0.71"): "where the toy score peaks, a setting of the figure",
    ("01_tuning_process", "0.125"): "a value of question 1.3's 4 x 4 grid, a setting",
    ("01_tuning_process", "0.375"): "a value of question 1.3's 4 x 4 grid, a setting",
    ("01_tuning_process", "0.625"): "a value of question 1.3's 4 x 4 grid, a setting",
    ("01_tuning_process", "0.875"): "a value of question 1.3's 4 x 4 grid, a setting",
    ("02_choosing_scales", "0.0005"): "arithmetic in the sentence: 0.9995 - 0.999",
    ("06_putting_it_together", "0.28"): "one image of 359 as a percentage, arithmetic",
}


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def _text_of(cell) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def _figures_of(cell) -> list:
    return [o for o in cell.outputs if o.output_type == "display_data"]


@pytest.mark.parametrize("path", SOLVED, ids=[p.stem for p in SOLVED])
def test_every_cell_that_prints_is_stored_and_compared(path):
    """A tagged cell stores its text (one stdout output) and then its figures; an untagged
    one stores figures only, or nothing."""
    compared = 0
    for cell in _code_cells(path):
        tagged = CHECK_TAG in cell.metadata.get("tags", [])
        figures = _figures_of(cell)
        assert all(list(f.data) == ["image/png"] for f in figures), cell.source[:80]
        text = [(o.output_type, o.name) for o in cell.outputs if o.output_type != "display_data"]
        assert text == ([("stream", "stdout")] if tagged else []), cell.source[:80]
        assert cell.execution_count == (1 if cell.outputs else None)
        compared += tagged and cell_info(cell).get("role") != "check"
    assert compared >= 10   # the lesson's experiments, not only the check lines


@pytest.mark.parametrize("path", SOLVED, ids=[p.stem for p in SOLVED])
def test_every_figure_is_stored_for_the_instructor(path):
    """Each cell that shows a figure (plt.show(), a plot function on its last line) stores
    it, so the solved notebook shows the instructor every plot."""
    for cell in _code_cells(path):
        shows = "plt.show()" in cell.source
        if shows and cell_info(cell).get("role") is None:
            assert _figures_of(cell), f"no stored figure for: {cell.source[:80]}"


@pytest.mark.parametrize("path", SOLVED, ids=[p.stem for p in SOLVED])
def test_learner_notebooks_compare_only_their_check_lines(path):
    for cell in _code_cells(learner_dir() / path.name):
        tagged = CHECK_TAG in cell.metadata.get("tags", [])
        assert tagged == (cell_info(cell).get("role") == "check"), cell.source[:80]


def test_a_changed_figure_fails_the_suite_and_says_what_to_do(tmp_path):
    name = "05_softmax_regression.ipynb"
    nb = nbformat.read(solutions_dir() / name, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.outputs
                and c.outputs[0].output_type == "stream"
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


def _backed(quoted: str, printed: list[str]) -> bool:
    """Whether some printed number rounds to ``quoted`` at its number of decimals."""
    decimals = len(quoted.split(".")[1])
    return any(len(p.split(".")[1]) >= decimals
               and abs(float(p) - float(quoted)) <= 0.5 * 10 ** -decimals + 1e-12
               for p in printed)


@pytest.mark.parametrize("path", SOLVED, ids=[p.stem for p in SOLVED])
def test_every_decimal_figure_of_the_prose_is_printed(path):
    """A refresh that changes a figure the prose quotes fails here, not only in nbval: the
    sentence must be reread. Each figure of two or more decimals in a markdown cell must
    round from a number the notebook prints (in its stored outputs), or be listed in
    NOT_MEASURED with what it is."""
    nb = nbformat.read(path, as_version=4)
    printed = PRINTED.findall("".join(_text_of(c) for c in nb.cells if c.cell_type == "code"))
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    quoted = set(QUOTED.findall(prose))
    unbacked = sorted(q for q in quoted if (path.stem, q) not in NOT_MEASURED
                      and not _backed(q, printed))
    assert not unbacked, f"{path.stem}: the prose quotes {unbacked}, which no cell prints"
    stale = sorted(q for (stem, q) in NOT_MEASURED if stem == path.stem and q not in quoted)
    assert not stale, f"NOT_MEASURED lists {stale}, which {path.stem}'s prose no longer has"


def test_a_figure_check_rejects_an_unprinted_figure():
    assert _backed("708.40", ["700.0000", "708.3964"])
    assert not _backed("708.41", ["708.3964"])          # rounds to 708.40, not 708.41
    assert not _backed("0.947", ["0.95"])               # too few decimals printed
    assert QUOTED.findall("at 0.950, see arXiv:1607.06450, $10^{0.25}$ and 3.1") == ["0.950"]
