"""lessonlib.grader.progress: ``python -m lessonlib progress`` runs a learner notebook's
exercise and check cells in the learner's environment and reports its session, writing
nothing; the handout's copy of it is tested in test_handout.py."""

import nbformat
import pytest

from lessonlib.grader.notebook_files import NotebookError, learner_dir
from lessonlib.grader.progress import progress_of
from tests.grader.common import cells_of, run_cli

LEARNER = learner_dir() / "01_tuning_process.ipynb"


def test_progress_on_the_learner_notebook_is_all_not_attempted_and_writes_nothing():
    before, mtime = LEARNER.read_bytes(), LEARNER.stat().st_mtime_ns
    cli = run_cli("progress", LEARNER)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines()[:2] == [
        f"Progress in {LEARNER}: 0/8 points, 0/3 exercises passed and 0/3 questions "
        "answered",
        "  ○ 1.1   random_search_points     0/2   not attempted"]
    assert LEARNER.read_bytes() == before and LEARNER.stat().st_mtime_ns == mtime


def test_progress_prints_what_failed_and_the_hint(tmp_path):
    nb = nbformat.read(LEARNER, as_version=4)
    cells_of(nb, "exercise")["1.2"].source = (
        "def chance_at_least_one(fraction, n_trials):\n    return fraction * n_trials\n")
    # a wrong answer to question 1.1: progress records it and, like the check cell, keeps the
    # key to grading
    cells_of(nb, "exercise")["Q1.1"].source = 'def zoom_pays():\n    return "a"\n'
    path = tmp_path / "01_tuning_process.ipynb"
    nbformat.write(nb, path)
    cli = run_cli("progress", path)
    assert cli.returncode == 0, cli.stderr
    out = " ".join(cli.stdout.split())
    assert "✎ Q1.1 zoom_pays -/1 answered" in out
    assert "(c)" not in out and "about 500" not in out
    assert "✗ 1.2 chance_at_least_one 0/1 failed" in out
    assert "1.2: for fraction=" in out and "Hint:" in out
    message = [line for line in cli.stdout.splitlines() if line.startswith("      ")]
    assert len(message) >= 2 and all(len(line) <= 100 for line in message)   # wrapped


def test_a_notebook_without_its_set_up_cell_says_why(tmp_path):
    nb = nbformat.read(LEARNER, as_version=4)
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("lessonlib", {}).get("role")
                != "setup"]
    path = tmp_path / "01_tuning_process.ipynb"
    nbformat.write(nb, path)
    found = progress_of(path)
    assert found.results == {} and found.error
    assert "could not run" in "\n".join(found.lines())
    assert run_cli("progress", path).returncode == 2


def test_a_notebook_of_no_lecture_is_refused(tmp_path):
    path = tmp_path / "other.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    with pytest.raises(NotebookError, match="not a notebook of the workbook"):
        progress_of(path)


def test_progress_without_arguments_reads_the_learners_own_folder(tmp_path):
    """The notebooks of the folder it runs in (a handout unpacked anywhere), else of its
    notebooks/ folder; none there is a clear error, not the repository's copies."""
    mine = tmp_path / "my-week-3"
    mine.mkdir()
    nb = nbformat.read(LEARNER, as_version=4)
    cells_of(nb, "exercise")["1.2"].source = (
        "def chance_at_least_one(fraction, n_trials):\n    return fraction * n_trials\n")
    nbformat.write(nb, mine / "01_tuning_process.ipynb")
    cli = run_cli("progress", cwd=mine)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith("Progress in ") and "✗ 1.2" in cli.stdout
    assert "02_choosing_scales" not in cli.stdout        # only what the folder holds
    empty = tmp_path / "empty"
    empty.mkdir()
    cli = run_cli("progress", cwd=empty)
    assert cli.returncode == 2 and "no workbook notebook" in cli.stderr
    assert cli.stdout == ""
