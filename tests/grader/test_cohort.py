"""lessonlib.grader.cohort: a cohort graded on every core or on a Dask cluster gives the
results of a sequential run, in the same order; a results file makes a run resumable; the
gradebook and its figure."""

import json
import os
import signal

import nbformat
import pytest

from lessonlib.grader import cohort
from lessonlib.grader.notebook_files import NotebookError

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
    assert rows[0] == ["(maximum)", 7.0, 13.0, 20.0]
    assert rows[1] == ["ada", "", 13.0, 13.0]
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
