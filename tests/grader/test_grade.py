"""lessonlib.grader.grade: grading by re-execution, on notebook 01 solved, unsolved, tampered
and broken; the files graded are never written."""

import copy
import json

import nbformat

from lessonlib.grader.grade import grade_notebook
from lessonlib.grader.notebook_files import cell_info
from tests.grader.common import LEARNER, SOLVED, cells_of, run_cli


def test_grade_solved_notebook_full_marks_and_json(tmp_path):
    out = tmp_path / "grade.json"
    cli = run_cli("grade", SOLVED, "--json", out)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    report = json.loads(out.read_text())
    assert set(report) == {"notebook", "score", "max_score", "exercises"}
    assert report["score"] == report["max_score"] == 5
    assert [e["function"] for e in report["exercises"]] == [
        "random_search_points", "chance_at_least_one", "shrink_box"]
    assert all(set(e) == {"id", "function", "points", "max_points", "passed", "message"}
               for e in report["exercises"])


def test_grade_and_progress_on_the_learner_notebook_score_zero_and_write_nothing():
    before, mtime = LEARNER.read_bytes(), LEARNER.stat().st_mtime_ns
    cli = run_cli("grade", LEARNER)
    assert cli.returncode == 1
    assert "0/5" in cli.stdout and cli.stdout.count("not attempted yet") == 3
    cli = run_cli("progress", LEARNER)
    assert cli.returncode == 0
    assert cli.stdout.splitlines()[:2] == [
        f"Progress in {LEARNER}: 0/5 points, 0/3 exercises passed",
        "  ○ 1.1   random_search_points     0/2   not attempted"]
    assert LEARNER.read_bytes() == before and LEARNER.stat().st_mtime_ns == mtime


def test_grade_ignores_outputs_copied_from_the_solved_notebook(tmp_path):
    learner = nbformat.read(LEARNER, as_version=4)
    solved = nbformat.read(SOLVED, as_version=4)
    for lc, sc in zip(learner.cells, solved.cells):
        if lc.cell_type == "code":
            lc.outputs, lc.execution_count = copy.deepcopy(sc.outputs), sc.execution_count
    forged = tmp_path / "submission.ipynb"     # no known name: matched by metadata
    nbformat.write(learner, forged)
    report = grade_notebook(forged)
    assert report.score == 0 and not any(e.passed for e in report.exercises)


def test_grade_tampered_notebook_scores_only_what_the_code_earns(tmp_path):
    nb = nbformat.read(LEARNER, as_version=4)
    solved = nbformat.read(SOLVED, as_version=4)
    ex = cells_of(nb, "exercise")
    # 1.1 solved correctly, and its check cell deleted
    ex["1.1"].source = cells_of(solved, "exercise")["1.1"].source
    nb.cells = [c for c in nb.cells if not (cell_info(c).get("role") == "check"
                                            and cell_info(c)["exercise"] == "1.1")]
    # 1.2 loops forever
    ex["1.2"].source = "def chance_at_least_one(fraction, n_trials):\n    while True:\n" \
                       "        pass\n"
    # 1.3 ignores the log scale: partial credit; its check cell edited to claim a pass
    ex["1.3"].source = ("from lessonlib.search.boxes import shrink_box as _ref\n"
                        "def shrink_box(points, scores, low, high, *, n_best, log_scale=None,"
                        " pad=0.1):\n    return _ref(points, scores, low, high, n_best=n_best,"
                        " pad=pad)\n")
    chk = cells_of(nb, "check")["1.3"]
    chk.source = 'print("✓ Exercise 1.3 shrink_box: 4/4 checks passed (2/2 points)")'
    nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1  # a cell the learner added"))
    path = tmp_path / "01_tuning_process-alice.ipynb"  # matched by name and metadata
    nbformat.write(nb, path)
    before = path.read_bytes()
    report = grade_notebook(path, timeout=20)   # generous: CI runs tests in parallel
    got = {e.exercise.id: e for e in report.exercises}
    assert got["1.1"].passed and got["1.1"].points == 2
    assert not got["1.2"].passed and got["1.2"].points == 0
    assert "did not finish" in got["1.2"].message
    assert not got["1.3"].passed and got["1.3"].points == 1
    assert "log10" in got["1.3"].message
    assert report.score == 3
    assert any("1.1 was missing" in n for n in report.notes)
    assert path.read_bytes() == before


def test_grade_rejects_a_file_that_is_not_a_notebook(tmp_path):
    bad = tmp_path / "essay.ipynb"
    bad.write_text("Dear instructor, please find my answers attached.")
    cli = run_cli("grade", bad)
    assert cli.returncode == 2 and "is not a Jupyter notebook" in cli.stderr
    other = tmp_path / "unrelated.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), other)
    cli = run_cli("grade", other)
    assert cli.returncode == 2 and "cannot tell which workbook notebook" in cli.stderr


def test_grade_a_folder_into_csv_and_json(tmp_path):
    sub = tmp_path / "submissions" / "bob"
    sub.mkdir(parents=True)
    (sub / "01_tuning_process.ipynb").write_bytes(SOLVED.read_bytes())
    (sub / "notes.ipynb").write_text("not json")
    csv_path, json_path = tmp_path / "grades.csv", tmp_path / "grades.json"
    cli = run_cli("grade", tmp_path / "submissions", "--csv", csv_path, "--json", json_path)
    assert cli.returncode == 2 and "notes.ipynb is not a Jupyter notebook" in cli.stderr
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "notebook,exercise,function,points,max_points,passed,message"
    assert rows[-1].endswith(",total,,5.0,5.0,True,")
    assert len(rows) == 1 + 3 + 1
    data = json.loads(json_path.read_text())
    assert isinstance(data, list) and data[0]["score"] == 5


def test_grade_is_not_fooled_by_a_replaced_check_or_a_hidden_stub(tmp_path):
    nb = nbformat.read(LEARNER, as_version=4)
    ex = cells_of(nb, "exercise")
    # 1.1 stays a stub, and a cell after it replaces the check with one that prints a pass
    fake = ('check_random_search_points = lambda f: print("✓ Exercise 1.1 '
            'random_search_points: 6/6 checks passed (2/2 points)")')
    nb.cells.insert(nb.cells.index(ex["1.1"]) + 1, nbformat.v4.new_code_cell(fake))
    # 1.2 catches its own NotImplementedError and returns a constant
    ex["1.2"].source = ("def chance_at_least_one(fraction, n_trials):\n    try:\n"
                        "        raise NotImplementedError\n    except NotImplementedError:\n"
                        "        return 0.5\n")
    path = tmp_path / "01_tuning_process.ipynb"
    nbformat.write(nb, path)
    got = {e.exercise.id: e for e in grade_notebook(path).exercises}
    assert got["1.1"].points == 0 and "not attempted" in got["1.1"].message
    assert not got["1.2"].passed and got["1.2"].points < 1
    assert got["1.3"].points == 0


def test_grade_reports_a_crashed_kernel_honestly(tmp_path):
    nb = nbformat.read(LEARNER, as_version=4)
    cells_of(nb, "exercise")["1.2"].source = (
        "import os\ndef chance_at_least_one(fraction, n_trials):\n    os._exit(3)\n")
    path = tmp_path / "01_tuning_process.ipynb"
    nbformat.write(nb, path)
    got = {e.exercise.id: e for e in grade_notebook(path, timeout=10).exercises}
    assert got["1.2"].points == 0 and "kernel stopped responding" in got["1.2"].message
    assert got["1.3"].points == 0 and "earlier cell" in got["1.3"].message


def test_collect_turns_outcomes_and_records_into_typed_grades():
    """Stage 3 alone, on a made-up run: only a record with the cell's token counts, and a
    passing record whose cell printed something else does not pass."""
    from lessonlib.grader.exercises import Status
    from lessonlib.grader.grade import Execution, collect, prepare

    graded = prepare(LEARNER)
    cell, tok = graded.check_cell_of, graded.tokens

    def record(ex, status, points, token):
        return {"id": ex, "status": status, "points": points, "passed": status == "passed",
                "message": f"{status} {ex}", "token": token}

    run = Execution(
        outcomes={cell["1.1"]: ("passed", ""), cell["1.2"]: ("failed", "mismatch"),
                  cell["1.3"]: ("failed", "Timeout waiting for the cell"), 0: ("failed", "")},
        records=[record("1.1", "passed", 2, tok["1.1"]),
                 record("1.2", "passed", 1, tok["1.2"]),
                 record("1.3", "passed", 2, "forged")])
    grade = collect(graded, run, timeout=5)
    g = {e.exercise.id: e for e in grade.exercises}
    assert g["1.1"].status is Status.PASSED and g["1.1"].points == 2
    assert g["1.2"].status is Status.FAILED and "differs from the solved" in g["1.2"].message
    assert g["1.3"].status is Status.FAILED and g["1.3"].points == 0
    assert "did not finish within the 5 s" in g["1.3"].message
    assert grade.score == 3 and not grade.passed
    assert any("code cell 0 (not a check)" in n for n in grade.notes)
    assert grade.as_dict()["exercises"][0] == {
        "id": "1.1", "function": "random_search_points", "points": 2.0, "max_points": 2.0,
        "passed": True, "message": "passed 1.1"}
