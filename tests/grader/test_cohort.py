"""lessonlib.grader.cohort: a cohort graded on every core or on a Dask cluster gives the
results of a sequential run, in the same order; a results file makes a run resumable; the
gradebook and its figure. A bad submission is its own error, whatever its file holds and on
every path; learners are told apart without collisions; CSV cells start no formula."""

import json
import os
import signal

import nbformat
import pytest

from lessonlib.grader import cohort
from lessonlib.grader.notebook_files import NotebookError, cell_info

from .common import ROOT, SANDBOXED, cells_of

SOLVED_05 = ROOT / "instructor" / "solutions" / "05_softmax_regression.ipynb"
LEARNER_05 = ROOT / "notebooks" / "05_softmax_regression.ipynb"
LEARNER_02 = ROOT / "notebooks" / "02_choosing_scales.ipynb"


def _wrong_05(path):
    """Notebook 05 with softmax and one_hot solved, softmax without the max (partial)."""
    nb = nbformat.read(SOLVED_05, as_version=4)
    cells_of(nb, "exercise")["5.1"].source = (
        "def softmax(Z):\n    E = np.exp(Z)\n    return E / E.sum(axis=0, keepdims=True)\n")
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    """Three learners: one solved, one not started, one with a partial softmax."""
    root = tmp_path_factory.mktemp("submissions")
    for learner in ("ada", "ben", "cy"):
        (root / learner).mkdir()
    (root / "ada" / "05_softmax_regression.ipynb").write_bytes(SOLVED_05.read_bytes())
    (root / "ben" / "05_softmax_regression.ipynb").write_bytes(LEARNER_05.read_bytes())
    (root / "ben" / "02_choosing_scales.ipynb").write_bytes(LEARNER_02.read_bytes())
    _wrong_05(root / "cy" / "05_softmax_regression.ipynb")
    return root


def _subs(root):
    return [cohort.submission(p) for p in sorted(root.rglob("*.ipynb"))]


def _dicts(results):
    return [(g.submission.learner, g.submission.notebook, g.grade.as_dict()["exercises"])
            for g in results]


@pytest.fixture(scope="module")
def sequential(cohort_dir):
    return cohort.grade_cohort(_subs(cohort_dir), jobs=1, sandboxed=SANDBOXED, seed=7)


def test_learners_and_keys(tmp_path, cohort_dir):
    assert cohort.learner_of(cohort_dir / "ada" / "x.ipynb") == "ada"
    assert cohort.learner_of(tmp_path / "01_tuning_process-alice.ipynb", "file") == "alice"
    with pytest.raises(ValueError, match="'folder' or 'file'"):
        cohort.learner_of(tmp_path / "x.ipynb", "email")
    a, b = _subs(cohort_dir)[:2]
    assert a.key != b.key and len(a.key) == 64
    copy = tmp_path / "ada" / "05_softmax_regression.ipynb"
    copy.parent.mkdir()
    copy.write_bytes(SOLVED_05.read_bytes())
    assert cohort.submission(copy).key == cohort.submission(
        cohort_dir / "ada" / "05_softmax_regression.ipynb").key
    assert cohort.cases_for(a, 7) == cohort.cases_for(a, 7) != cohort.cases_for(b, 7)
    assert cohort.cases_for(a, None) is None
    bad = tmp_path / "essay.ipynb"
    bad.write_text("not json")
    with pytest.raises(NotebookError):
        cohort.submission(bad)


def test_the_sequential_grades_are_what_the_notebooks_earn(sequential):
    by = {(g.submission.learner, g.submission.notebook): g.grade for g in sequential}
    assert by["ada", "05_softmax_regression"].score == 14
    assert by["ben", "05_softmax_regression"].score == 0
    assert by["ben", "02_choosing_scales"].score == 0
    softmax = by["cy", "05_softmax_regression"].exercises[0]
    assert 0 < softmax.points < 2 and "overflow" in softmax.message.lower()


def test_every_core_gives_the_sequential_results_in_the_same_order(cohort_dir, sequential):
    parallel = cohort.grade_cohort(_subs(cohort_dir), jobs=2, sandboxed=SANDBOXED, seed=7)
    assert _dicts(parallel) == _dicts(sequential)
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        cohort.grade_cohort([], jobs=0)


def test_a_results_file_makes_a_run_resumable(tmp_path, cohort_dir, sequential):
    subs = _subs(cohort_dir)
    results = tmp_path / "grades.jsonl"
    first = cohort.grade_cohort(subs[:2], results=results, sandboxed=SANDBOXED, seed=7)
    with open(results, "a", encoding="utf-8") as f:
        f.write('{"key": "a run killed in the middle of a li')      # a torn last line
    assert set(cohort.read_results(results)) == {s.key for s in subs[:2]}
    seen = []
    again = cohort.grade_cohort(subs, results=results, sandboxed=SANDBOXED, seed=7,
                                on_done=seen.append)
    assert [g.reused for g in again] == [True, True, False, False]
    assert _dicts(again) == _dicts(sequential) and _dicts(again[:2]) == _dicts(first)
    lines = results.read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["key"] for line in lines)
    assert sorted(json.loads(line)["key"] for line in lines) == sorted(s.key for s in subs)
    assert [g.reused for g in seen][:2] == [True, True]


def test_the_gradebook_and_its_figure(tmp_path, sequential):
    header, rows = cohort.gradebook_rows(sequential)
    assert header == ["learner", "02_choosing_scales", "05_softmax_regression", "total"]
    assert rows[0] == ["(maximum)", 7.0, 14.0, 21.0]
    assert rows[1] == ["ada", "", 14.0, 14.0]
    assert rows[2] == ["ben", 0.0, 0.0, 0.0]
    assert rows[3][0] == "cy" and 10 < rows[3][2] < 13     # the naive softmax costs 5.1 and 5.4
    shares = cohort.points_by_exercise(sequential)
    assert list(shares)[:2] == ["2.1", "2.2"] and len(shares["5.1"]) == 3
    png = tmp_path / "points.png"
    cohort.plot_points(sequential, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no graded submission"):
        cohort.plot_points([], png)


def test_on_a_dask_cluster_a_killed_worker_loses_no_submission(cohort_dir, sequential):
    distributed = pytest.importorskip("dask.distributed")
    subs = _subs(cohort_dir)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def kill_one(_graded):
            if not killed:               # after the first result, kill a busy worker
                busy = [a for a, tasks in client.processing().items() if tasks] or list(pids)
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
        seen = []
        results = cohort.grade_cohort(subs, scheduler=cluster.scheduler_address,
                                      sandboxed=SANDBOXED, seed=7,
                                      on_done=lambda g: (seen.append(g), kill_one(g)))
    assert killed
    assert _dicts(results) == _dicts(sequential)
    assert sorted(g.submission.key for g in seen) == sorted(s.key for s in subs)


def test_an_append_after_a_torn_line_keeps_only_whole_lines(tmp_path):
    for torn, kept in ((b'{"key": "a"}\n{"key": "b', [{"key": "a"}]), (b'{"key": "b', [])):
        path = tmp_path / "grades.jsonl"
        path.write_bytes(torn)
        cohort._append(path, {"key": "c"})
        lines = path.read_text().splitlines(keepends=True)
        assert [json.loads(line) for line in lines] == [*kept, {"key": "c"}]
        assert all(line.endswith("\n") for line in lines)


# ---------------------------------------------------------------- a hostile cohort

LEARNER_01 = ROOT / "notebooks" / "01_tuning_process.ipynb"
SOLVED_01 = ROOT / "instructor" / "solutions" / "01_tuning_process.ipynb"


def _odd_metadata(path, *, notebook=None, exercise=None):
    """Notebook 01 as handed out, its ``lessonlib`` entry or the first check cell's
    exercise id replaced by a value of another type."""
    nb = nbformat.read(LEARNER_01, as_version=4)
    if notebook is not None:
        nb.metadata["lessonlib"] = notebook
    if exercise is not None:
        next(c for c in nb.cells if cell_info(c).get("role") == "check") \
            .metadata["lessonlib"]["exercise"] = exercise
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def _malformed_cohort(root):
    """One honest submission (ada's, solved) among submissions that each crashed ``grade``
    or were followed before; returns ``{file: what its error must say}``."""
    (root / "ada").mkdir(parents=True)
    (root / "ada" / "01_tuning_process.ipynb").write_bytes(SOLVED_01.read_bytes())
    bad = {}
    for who, kw, why in (
            ("bea", {"notebook": "01_tuning_process"}, "lessonlib entry is a string"),
            ("cal", {"notebook": ["01_tuning_process"]}, "lessonlib entry is a list"),
            ("dee", {"exercise": ["1.1"]}, "lessonlib.exercise is a list"),
            ("eve", {"exercise": {"id": "1.1"}}, "lessonlib.exercise is an object"),
            ("fay", {"exercise": 11}, "lessonlib.exercise is a number"),
            ("gus", {"notebook": {"notebook": 1}}, "lessonlib.notebook is a number")):
        path = root / who / "01_tuning_process.ipynb"
        _odd_metadata(path, **kw)
        bad[path] = why
    deep = root / "hal" / "01_tuning_process.ipynb"
    deep.parent.mkdir()
    deep.write_text('{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": '
                    + "[" * 50_000 + "]" * 50_000 + "}")
    bad[deep] = "nested deeper"
    link = root / "ivy" / "01_tuning_process.ipynb"
    link.parent.mkdir()
    link.symlink_to(SOLVED_01)                  # graded in full before
    bad[link] = "is a symbolic link"
    folder = root / "jon" / "01_tuning_process.ipynb"
    folder.mkdir(parents=True)
    bad[folder] = "not a regular file"
    fifo = root / "kim" / "01_tuning_process.ipynb"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    bad[fifo] = "not a regular file"
    return bad


@pytest.fixture(params=["plain", "jobs", "dask"])
def how(request):
    """How ``grade`` runs: as it is (one job per core), ``--jobs 2``, or on a Dask cluster
    of worker processes."""
    if request.param == "plain":
        yield ()
    elif request.param == "jobs":
        yield ("--jobs", 2)
    else:
        distributed = pytest.importorskip("dask.distributed")
        with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                      dashboard_address=None) as cluster:
            yield ("--scheduler", cluster.scheduler_address)


def test_a_bad_submission_is_its_own_error_and_the_cohort_is_graded(tmp_path, how):
    """Each malformed, linked or odd file gets an error naming it and why (several of them
    crashed grade with --jobs and on Dask, naming no file, before anything was written),
    ada is graded, the gradebook, JSON and CSV are written; a re-run resumes (ada's line is
    reused, not written again)."""
    from .common import run_cli
    root = tmp_path / "submissions"
    bad = _malformed_cohort(root)
    out = {k: tmp_path / f"grades.{k}" for k in ("jsonl", "json", "csv", "book")}
    args = ("grade", root, *how, "--results", out["jsonl"], "--json", out["json"],
            "--csv", out["csv"], "--gradebook", out["book"])
    for run in (1, 2):
        cli = run_cli(*args)
        assert cli.returncode == 2, cli.stdout + cli.stderr
        errors = [line for line in cli.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == len(bad), cli.stderr
        for path, why in bad.items():
            assert any(str(path) in e and why in e for e in errors), (path, cli.stderr)
        assert "Traceback" not in cli.stderr
        assert [r["score"] for r in json.loads(out["json"].read_text())] == [8.0]
        assert out["csv"].read_text().splitlines()[-1].endswith(",total,,,8.0,8.0,True,,,")
        assert out["book"].read_text().splitlines()[1:] == ["(maximum),8.0,8.0", "ada,8.0,8.0"]
        lines = out["jsonl"].read_text().splitlines()
        assert len(lines) == 1 and json.loads(lines[0])["learner"] == "ada", run


def _failing_on(monkeypatch, name):
    """``grade_notebook`` failing with a TypeError (a grader bug) on files named ``name``."""
    real = cohort.grade_notebook

    def grade(path, **kwargs):
        if path.name == name:
            raise TypeError("unhashable type: 'list'")
        return real(path, **kwargs)
    monkeypatch.setattr(cohort, "grade_notebook", grade)


def _late_changes(root):
    """Submissions taken while good, then changed before grading: one made malformed, one
    made a link to the solved notebook; and one the grader fails on (``_failing_on``)."""
    (root / "ada").mkdir(parents=True)
    (root / "ada" / "01_tuning_process.ipynb").write_bytes(SOLVED_01.read_bytes())
    for who in ("bea", "cal", "dan"):          # each its own content, so its own key
        (root / who).mkdir()
        name = "boom-01_tuning_process.ipynb" if who == "dan" else "01_tuning_process.ipynb"
        nb = nbformat.read(LEARNER_01, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(f"learner = {who!r}"))
        nbformat.write(nb, root / who / name)
    subs = _subs(root)
    _odd_metadata(root / "bea" / "01_tuning_process.ipynb", exercise=["1.1"])
    (root / "cal" / "01_tuning_process.ipynb").unlink()
    (root / "cal" / "01_tuning_process.ipynb").symlink_to(SOLVED_01)
    return subs


def _check_late_changes(results, graded):
    by = {g.submission.learner: g for g in graded}
    assert by["ada"].grade.score == 8 and by["ada"].error is None
    assert "lessonlib.exercise is a list" in by["bea"].error
    assert str(by["bea"].submission.path) in by["bea"].error
    assert "is a symbolic link" in by["cal"].error
    assert "the grader failed on it (TypeError" in by["dan"].error
    assert str(by["dan"].submission.path) in by["dan"].error
    keys = [json.loads(line)["learner"] for line in results.read_text().splitlines()]
    assert sorted(keys) == ["ada", "bea", "cal"]      # dan's is the grader's: tried again


def test_with_jobs_an_error_while_grading_stops_only_its_submission(tmp_path, monkeypatch):
    _failing_on(monkeypatch, "boom-01_tuning_process.ipynb")
    subs = _late_changes(tmp_path / "submissions")
    results = tmp_path / "grades.jsonl"
    graded = cohort.grade_cohort(subs, jobs=2, results=results, sandboxed=SANDBOXED)
    _check_late_changes(results, graded)
    monkeypatch.undo()                  # a re-run grades dan's, and reuses the rest
    again = cohort.grade_cohort(subs, jobs=2, results=results, sandboxed=SANDBOXED)
    assert [g.reused for g in again] == [True, True, True, False]
    assert again[3].grade is not None and again[3].grade.score == 0


def test_on_dask_an_error_while_grading_stops_only_its_submission(tmp_path, monkeypatch):
    """The same on a Dask cluster (in this process, so that the failure can be planted):
    the changed files are refused when sent, the grader's failure comes back as data."""
    distributed = pytest.importorskip("dask.distributed")
    _failing_on(monkeypatch, "boom-01_tuning_process.ipynb")
    subs = _late_changes(tmp_path / "submissions")
    results = tmp_path / "grades.jsonl"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        graded = cohort.grade_cohort(subs, scheduler=cluster.scheduler_address,
                                     results=results, sandboxed=SANDBOXED)
    _check_late_changes(results, graded)


def test_a_task_that_fails_on_dask_is_its_submissions_error(tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    root = tmp_path / "submissions"
    (root / "ada").mkdir(parents=True)
    (root / "ada" / "01_tuning_process.ipynb").write_bytes(LEARNER_01.read_bytes())
    (root / "bea").mkdir()
    (root / "bea" / "01_tuning_process.ipynb").write_bytes(LEARNER_01.read_bytes())
    real = cohort.grade_bytes

    def task(filename, *args, **kwargs):
        if "bea" in filename:
            raise MemoryError("the worker ran out of memory")
        return real(filename, *args, **kwargs)
    monkeypatch.setattr(cohort, "grade_bytes", task)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        graded = cohort.grade_cohort(_subs(root), scheduler=cluster.scheduler_address,
                                     sandboxed=SANDBOXED)
    assert graded[0].grade is not None and graded[0].grade.score == 0
    assert graded[1].grade is None and "MemoryError" in graded[1].error


# ---------------------------------------------------------------- identity and output

def test_a_learners_folder_is_named_by_its_path_under_the_folder_graded(tmp_path):
    root = tmp_path / "submissions"
    assert cohort.learner_of(root / "mallory" / "bob" / "x.ipynb") == "bob"   # as before
    assert cohort.learner_of(root / "mallory" / "bob" / "x.ipynb", root=root) == "mallory/bob"
    assert cohort.learner_of(root / "bob" / "x.ipynb", root=root) == "bob"
    assert cohort.learner_of(root / "x.ipynb", root=root) == "submissions"
    assert cohort.learner_of(tmp_path / "elsewhere" / "x.ipynb", root=root) == "elsewhere"


def test_two_submissions_of_one_learner_and_notebook_are_an_error_for_both(tmp_path):
    """mallory/bob/ no longer passes for bob (it replaced bob's score in the gradebook);
    two files that do name the same learner and notebook, by folder or by file name, are
    an error for both (not written to the results, so that a re-run after a fix grades
    them); a folder name that would start a formula is escaped in the gradebook."""
    from .common import run_cli
    root = tmp_path / "submissions"
    for folder, source in (("bob", LEARNER_01), ("mallory/bob", SOLVED_01),
                           ("=HYPERLINK(1)", LEARNER_01)):
        (root / folder).mkdir(parents=True)
        (root / folder / "01_tuning_process.ipynb").write_bytes(source.read_bytes())
    book, results = tmp_path / "book.csv", tmp_path / "grades.jsonl"
    cli = run_cli("grade", root, "--gradebook", book, "--jobs", 2)
    assert cli.returncode == 1, cli.stderr          # graded, and not all passed
    rows = book.read_text().splitlines()
    assert rows[1:] == ["(maximum),8.0,8.0", "'=HYPERLINK(1),0.0,0.0", "bob,0.0,0.0",
                        "mallory/bob,8.0,8.0"]
    # by file name: alice twice, in two folders
    (root / "x").mkdir()
    (root / "x" / "01_tuning_process-alice.ipynb").write_bytes(SOLVED_01.read_bytes())
    (root / "y").mkdir()
    (root / "y" / "alice_01_tuning_process.ipynb").write_bytes(LEARNER_01.read_bytes())
    cli = run_cli("grade", root / "x", root / "y", "--learner", "file", "--gradebook", book,
                  "--results", results)
    assert cli.returncode == 2
    errors = [line for line in cli.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and all("learner 'alice' has another submission" in e
                                    for e in errors), cli.stderr
    assert str(root / "x" / "01_tuning_process-alice.ipynb") in errors[1]
    assert book.read_text().splitlines() == ["learner,total", "(maximum),0"]
    assert not results.exists() or results.read_text() == ""
    # by folder: two files given apart, both in a folder named bob; one file named twice
    cli = run_cli("grade", root / "bob" / "01_tuning_process.ipynb",
                  root / "mallory" / "bob" / "01_tuning_process.ipynb")
    assert cli.returncode == 2 and cli.stderr.count("learner 'bob' has another") == 2
    cli = run_cli("grade", root / "bob", root / "bob" / "01_tuning_process.ipynb")
    assert cli.returncode == 1 and "error" not in cli.stderr


def test_the_gradebook_never_writes_one_grade_over_another(sequential):
    twice = [sequential[0], sequential[0]]
    with pytest.raises(ValueError, match="two grades of"):
        cohort.gradebook_rows(twice)


def test_csv_cells_that_would_start_a_formula_are_escaped(tmp_path):
    rows = [["=1+1", "+A1", "-2+3", "@SUM(A1)", "\tx", "\rx", "ok", "a=b", 1.5, -2.0, True]]
    path = tmp_path / "out.csv"
    cohort.write_csv(path, rows)
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        got = next(csv.reader(f))
    assert got == ["'=1+1", "'+A1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "ok", "a=b", "1.5",
                   "-2.0", "True"]
