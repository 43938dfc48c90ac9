"""lessonlib.grader.grade: grading by re-execution, on notebook 01 solved, unsolved, tampered
and broken; the files graded are never written."""

import copy
import json
import subprocess
import sys
import time

import nbformat

from lessonlib.grader.grade import NotebookGrade, grade_notebook
from lessonlib.grader.notebook_files import cell_info
from tests.grader.common import LEARNER, ROOT, SOLVED, cells_of, run_cli


def test_grade_solved_notebook_full_marks_and_json(tmp_path):
    out = tmp_path / "grade.json"
    cli = run_cli("grade", SOLVED, "--json", out)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    report = json.loads(out.read_text())
    assert set(report) == {"notebook", "score", "max_score", "exercises"}
    assert report["score"] == report["max_score"] == 8
    assert [e["function"] for e in report["exercises"]] == [
        "random_search_points", "chance_at_least_one", "shrink_box", "zoom_pays",
        "panda_raises", "band_hit_chances"]
    assert all(set(e) == {"id", "kind", "function", "points", "max_points", "passed",
                          "status", "message", "mistake", "mistake_description"}
               for e in report["exercises"])
    assert [e["kind"] for e in report["exercises"]] == ["exercise"] * 3 + ["question"] * 3


def test_grade_on_the_learner_notebook_scores_zero_and_writes_nothing():
    before, mtime = LEARNER.read_bytes(), LEARNER.stat().st_mtime_ns
    cli = run_cli("grade", LEARNER)
    assert cli.returncode == 1
    assert "0/8" in cli.stdout and cli.stdout.count("not attempted yet") == 6
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
    # 1.3 returns the instructor's answer, and its check cell is edited to claim a pass
    ex["1.3"].source = ("from lessonlib_instructor.answers import shrink_box as _ref\n"
                        "def shrink_box(points, scores, low, high, *, n_best, log_scale=None,"
                        " pad=0.1):\n    return _ref(points, scores, low, high, n_best=n_best,"
                        " pad=pad)\n")
    chk = cells_of(nb, "check")["1.3"]
    chk.source = 'print("✓ Exercise 1.3 shrink_box: 4/4 checks passed (2/2 points)")'
    nb.cells.insert(3, nbformat.v4.new_code_cell("x = 1  # a cell the learner added"))
    path = tmp_path / "01_tuning_process-alice.ipynb"  # matched by name and metadata
    nbformat.write(nb, path)
    before = path.read_bytes()
    report = grade_notebook(path, timeout=8)    # generous: CI runs tests in parallel
    got = {e.exercise.id: e for e in report.exercises}
    assert got["1.1"].passed and got["1.1"].points == 2
    assert not got["1.2"].passed and got["1.2"].points == 0
    assert "did not return within the 8 s limit" in got["1.2"].message
    assert not got["1.3"].passed and got["1.3"].points == 0
    assert "shrink_box' is not defined" in got["1.3"].message   # the import failed
    assert report.score == 2
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
    assert rows[0] == ("notebook,exercise,kind,function,points,max_points,passed,message,"
                       "mistake,mistake_description")
    assert rows[-1].endswith(",total,,,8.0,8.0,True,,,")
    assert len(rows) == 1 + 6 + 1
    data = json.loads(json_path.read_text())
    assert isinstance(data, list) and data[0]["score"] == 8


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
    report = grade_notebook(path, timeout=10)
    got = {e.exercise.id: e for e in report.exercises}
    assert got["1.2"].points == 0 and "stopped its kernel" in got["1.2"].message
    assert got["1.3"].points == 0 and "the kernel had stopped" in got["1.3"].message


def test_collect_turns_the_trusted_results_into_typed_grades():
    """Stage 3 alone, on a made-up run."""
    from lessonlib.grader.exercises import Status
    from lessonlib.grader.grade import Execution, _mistake, collect, prepare

    graded = prepare(LEARNER)
    run = Execution(
        cells={0: {"status": "ok"}, 3: {"status": "error", "error": "NameError: x\nmore"},
               5: {"status": "skipped"}, 7: {"status": "timeout"}},
        checks={"1.1": {"status": "passed", "points": 2.0, "message": "6/6 checks passed"},
                "1.2": {"status": "failed", "points": 0.33, "message": "wrong. Hint: h.",
                        "mistake": "chance-added"}})
    grade = collect(graded, run)
    g = {e.exercise.id: e for e in grade.exercises}
    assert g["1.1"].status is Status.PASSED and g["1.1"].points == 2
    assert g["1.2"].status is Status.FAILED and g["1.2"].message == "wrong. Hint: h."
    assert g["1.3"].points == 0 and "stopped before its check" in g["1.3"].message
    assert (g["1.1"].mistake, g["1.2"].mistake, g["1.3"].mistake) == ("", "chance-added", "")
    assert _mistake("not-in-the-catalogue") == _mistake(None) == ""
    assert grade.as_dict()["exercises"][1]["mistake_description"].startswith("added the")
    assert grade.score == 2.33 and not grade.passed
    assert grade.notes == ("code cell 3 (not a check) raised NameError: x",
                           "code cell 7 (not a check) ran out of time and was stopped")
    assert grade.as_dict()["exercises"][0] == {
        "id": "1.1", "kind": "exercise", "function": "random_search_points", "points": 2.0,
        "max_points": 2.0, "passed": True, "status": "passed",
        "message": "6/6 checks passed", "mistake": "", "mistake_description": ""}
    assert NotebookGrade.from_dict(grade.as_dict(), grade.notes) == grade


def test_the_graded_copy_skips_the_lessons_experiments_only():
    from lessonlib.grader.grade import GRADING_KEY, prepare
    graded = prepare(LEARNER)
    code = [c for c in graded.notebook.cells if c.cell_type == "code"]
    plan = [c.metadata.get(GRADING_KEY, cell_info(c).get("role")) for c in code]
    assert plan[0] == "run"                          # set-up: imports and the seed
    assert "skip" in plan and plan.count("check") == 6
    assert all(p == "run" for c, p in zip(code, plan) if cell_info(c).get("role") == "exercise")


def test_skipping_the_experiments_changes_no_grade(tmp_path):
    """On notebook 05 solved, not started, and with wrong answers in some exercises and
    attacks in others: the same grade per exercise whether grading runs the lesson's
    experiment cells or skips them."""
    from lessonlib.grader.grade import collect, execute, prepare
    from tests.grader.test_trusted import ATTACKS_05, LEARNER_05, SOLVED_05

    from .common import SANDBOXED
    wrong = nbformat.read(SOLVED_05, as_version=4)
    cells_of(wrong, "exercise")["5.1"].source = ("def softmax(Z):\n    E = np.exp(Z)\n"
                                                 "    return E / E.sum(axis=0)\n")
    cells_of(wrong, "exercise")["5.3"].source = ("def cross_entropy_cost(Y_hat, Y):\n"
                                                 "    return float(-np.sum(Y * np.log(Y_hat)))\n")
    for ex_id in ("5.2", "5.4", "5.5", "Q5.1"):           # wrong above, tampered here
        cells_of(wrong, "exercise")[ex_id].source = ATTACKS_05[ex_id]
    mixed = tmp_path / "05_softmax_regression.ipynb"
    nbformat.write(wrong, mixed)
    for path in (SOLVED_05, LEARNER_05, mixed):
        grades = []
        for skip in (True, False):
            graded = prepare(path, skip_experiments=skip)
            run = execute(graded, timeout=60, sandboxed=SANDBOXED, cases=11)
            assert any(c["status"] == "skipped" for c in run.cells.values()) == skip
            grades.append([(g.exercise.id, g.points, g.status) for g in
                           collect(graded, run).exercises])
        assert grades[0] == grades[1], path


# ---------------------------------------------------------------- time and memory

def _with_cells(tmp_path, sources, *, after="1.1", solve=("1.1",)):
    """Notebook 01 as handed out with exercises ``solve`` solved and code cells ``sources``
    added after the check cell of exercise ``after``."""
    nb = nbformat.read(LEARNER, as_version=4)
    solved = nbformat.read(SOLVED, as_version=4)
    for ex_id in solve:
        cells_of(nb, "exercise")[ex_id].source = cells_of(solved, "exercise")[ex_id].source
    at = nb.cells.index(cells_of(nb, "check")[after]) + 1
    nb.cells[at:at] = [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / "01_tuning_process.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_submission_past_its_time_limit_is_stopped_and_graded_on_what_finished(tmp_path):
    """40 cells of 1.5 s of sleep each under --timeout 3: the whole-run limit used to grow
    with the number of cells (3 s x 65 + 120 s here; over an hour at --timeout 60, days for
    a notebook of thousands of cells); with --time-limit 10 it is stopped at 10 s, and what
    finished before (1.1) keeps its points."""
    path = _with_cells(tmp_path, ["import time\ntime.sleep(1.5)"] * 40)
    start = time.monotonic()
    report = grade_notebook(path, timeout=3, time_limit=10)
    elapsed = time.monotonic() - start
    got = {e.exercise.id: e for e in report.exercises}
    assert got["1.1"].passed and got["1.1"].points == 2
    assert all(got[i].points == 0 and "stopped before its check" in got[i].message
               for i in ("1.2", "1.3", "Q1.1", "Q1.2"))
    assert any("ran past its 10 s time limit" in n for n in report.notes)
    assert elapsed < 10 + 15, elapsed        # the limit, the kernel's start and stop


def test_the_driver_stops_a_trusted_process_that_outlives_its_limit(tmp_path, monkeypatch):
    """The driver's own limit, past the trusted process's: asked to stop (SIGTERM), then
    killed when it does not."""
    from lessonlib.grader import grade
    monkeypatch.setattr(grade, "KILL_GRACE", 2)
    start = time.monotonic()
    stopped, _, code = grade._run_trusted(
        [sys.executable, "-c", "import signal, time\n"
         "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('going on', flush=True)\n"
         "time.sleep(600)"], cwd=tmp_path, limit=1)
    assert stopped and code == -9 and time.monotonic() - start < 1 + 2 + 5


DRIVER = """
import json, resource, sys
from lessonlib.grader.grade import grade_notebook
report = grade_notebook(sys.argv[1], timeout=60, sandboxed=False)
print(json.dumps({"rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "score": report.score, "notes": list(report.notes)}))
"""


def test_a_kernel_that_floods_its_output_leaves_the_drivers_memory_bounded(tmp_path):
    """A cell writes 768 MiB to the kernel's stdout and stderr (which used to reach the
    grader's own output, kept whole in the driver's memory: 1.2 GB put the driver at
    3.6 GB), prints 16 MiB, and prints 64 MiB at once: the driver's peak RSS stays under
    150 MiB (measured in a process of its own, resource.getrusage), 1.1 keeps its points,
    and the notes say what was cut or lost."""
    flood = ("import os, sys\nb = b'x' * (1 << 20)\nfor _ in range(384):\n"
             "    os.write(1, b)\n    os.write(2, b)\n"
             "s = 'y' * (1 << 20)\nfor _ in range(16):\n    print(s)\n")
    flood_at_once = "print('z' * (64 << 20))"
    path = _with_cells(tmp_path, [flood, flood_at_once])
    # started by a shell that forks it: a process started by this one directly would count,
    # in its peak, the image of this process before its exec
    run = subprocess.run(["sh", "-c", '"$0" -c "$1" "$2"; exit $?', sys.executable, DRIVER,
                          str(path)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["score"] == 2
    assert out["rss_kib"] < 150 * 1024, out["rss_kib"]
    notes = " ".join(out["notes"])
    assert "printed more than the grader keeps" in notes
    assert "standard output and error" in notes and "messages from the kernel were lost" in notes
