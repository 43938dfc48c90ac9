"""lessonlib.grader.gradescope: the autograder zip holds what Gradescope runs, and its
``run_autograder``, in a folder laid out like ``/autograder``, writes a results.json with
Gradescope's fields whose scores are ``grade``'s, for solved, learner, wrong and malformed
submissions."""

import collections
import json
import os
import stat
import subprocess
import sys
import zipfile

import nbformat
import pytest

from lessonlib.grader import gradescope
from lessonlib.grader.exercises import exercises_of
from lessonlib.grader.grade import grade_notebook
from lessonlib.grader.notebook_files import NotebookError
from tests.grader.common import LEARNER, SANDBOXED, SOLVED, cells_of, run_cli

NOTEBOOK = "01_tuning_process"
Autograder = collections.namedtuple("Autograder", "zip site")


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    """The zip, and a folder where its two wheels are installed as setup.sh installs them
    (``--no-index`` from the zip's own folder; their PyPI dependencies are this
    environment's), so that grading runs from the zip, not from the checkout."""
    tmp = tmp_path_factory.mktemp("gradescope")
    out = tmp / "autograder.zip"
    cli = run_cli("gradescope", out, "--visibility", "visible", "--notebook", NOTEBOOK)
    assert cli.returncode == 0, cli.stderr
    with zipfile.ZipFile(out) as zf:
        zf.extractall(tmp / "unpacked", [n for n in zf.namelist() if n.startswith("wheels/")])
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                          "--no-deps", "--find-links", str(tmp / "unpacked" / "wheels"),
                          "--target", str(tmp / "site"), "lessonlib", "lessonlib-instructor"],
                         capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr
    return Autograder(out, tmp / "site")


def run_autograder(autograder, tmp_path, files: dict, python=sys.executable) -> dict:
    """Unpack the zip as Gradescope does (``source/``, ``run_autograder`` copied to the
    root), put ``files`` in ``submission/`` and run it with the installed wheels (and not
    the checkout) on the path; the results.json it wrote."""
    root = tmp_path / "autograder"
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir(parents=True)
    with zipfile.ZipFile(autograder.zip) as zf:
        zf.extractall(root / "source")
    (root / "run_autograder").write_bytes((root / "source" / "run_autograder").read_bytes())
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "LESSONLIB_PYTHON": python,
           "PYTHONPATH": str(autograder.site)}
    run = subprocess.run(["bash", str(root / "run_autograder")], env=env, cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def check_schema(results: dict, visibility: str = "visible") -> None:
    """Gradescope's documented fields, with their types."""
    assert isinstance(results["score"], float | int)
    assert isinstance(results["output"], str)
    assert results["visibility"] == visibility
    assert isinstance(results["tests"], list)
    for test in results["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert isinstance(test["output"], str) and test["output"]
        assert test["visibility"] == visibility
        assert test["status"] in ("passed", "failed")
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def test_the_zip_holds_setup_run_autograder_and_the_wheels(autograder):
    with zipfile.ZipFile(autograder.zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        config = json.loads(zf.read(gradescope.CONFIG))
    assert {"setup.sh", "run_autograder", "requirements.txt", "data/digits.npz",
            f"solutions/{NOTEBOOK}.ipynb"} <= names
    assert "solutions/02_choosing_scales.ipynb" not in names      # only the assignment's
    assert {n.split("-")[0] for n in names if n.startswith("wheels/")} == \
        {"wheels/lessonlib", "wheels/lessonlib_instructor"}
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, script
    # the workbook from the zip's own wheels, never from an index; the rest from PyPI
    assert '--no-index --no-deps \\\n    --find-links "$HERE/wheels" lessonlib ' \
           "lessonlib-instructor" in setup
    assert '-r "$HERE/requirements.txt"' in setup and "bubblewrap" in setup
    assert config == {"visibility": "visible", "notebooks": [NOTEBOOK]}


def test_the_solved_notebook_scores_what_grade_gives(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, {"hw/01_tuning_process.ipynb":
                                                    SOLVED.read_bytes()})
    check_schema(results)
    expected = grade_notebook(SOLVED, sandboxed=SANDBOXED)
    assert results["score"] == expected.score == expected.max_score > 0
    assert [t["number"] for t in results["tests"]] == [e.id for e in exercises_of(NOTEBOOK)]
    assert all(t["status"] == "passed" for t in results["tests"])
    assert "graded as 01_tuning_process, 8/8 points" in results["output"]
    assert ("cannot run in this container" in results["output"]) == (not SANDBOXED)


def test_the_learner_notebook_scores_zero(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, {"01_tuning_process.ipynb":
                                                    LEARNER.read_bytes()})
    check_schema(results)
    assert results["score"] == 0 and len(results["tests"]) == len(exercises_of(NOTEBOOK))
    assert all("not attempted" in t["output"] for t in results["tests"])


def test_a_wrong_answer_gets_grades_points_and_its_hint(autograder, tmp_path):
    nb = nbformat.read(LEARNER, as_version=4)
    solved = nbformat.read(SOLVED, as_version=4)
    cells_of(nb, "exercise")["1.1"].source = cells_of(solved, "exercise")["1.1"].source
    # wrong for every case (a chance above 1): the same sub-checks fail whatever the cases
    cells_of(nb, "exercise")["1.2"].source = ("def chance_at_least_one(fraction, n_trials):\n"
                                              "    return 2.0\n")
    path = tmp_path / "01_tuning_process.ipynb"
    nbformat.write(nb, path)
    expected = grade_notebook(path, sandboxed=SANDBOXED)
    results = run_autograder(autograder, tmp_path, {path.name: path.read_bytes()})
    check_schema(results)
    got = {t["number"]: t for t in results["tests"]}
    assert got["1.1"]["score"] == 2 and got["1.1"]["status"] == "passed"
    assert got["1.2"]["score"] == 0 and got["1.2"]["status"] == "failed"
    want = {e.exercise.id: e for e in expected.exercises}["1.2"]
    # the cases are fresh at each grading: the same sub-check fails, with the same hint
    hint = want.message[want.message.index(" Hint: "):]
    assert got["1.2"]["output"].startswith("failed: ")
    assert got["1.2"]["output"].endswith(hint)
    assert results["score"] == expected.score == 2


def test_a_malformed_or_missing_submission_scores_zero_and_says_why(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path / "bad", {
        "01_tuning_process.ipynb": b"Dear instructor, my answers are attached."})
    check_schema(results)
    assert results["score"] == 0
    assert "01_tuning_process.ipynb is not a Jupyter notebook" in results["output"]
    assert all("no gradable 01_tuning_process" in t["output"] for t in results["tests"])
    results = run_autograder(autograder, tmp_path / "none", {"answers.pdf": b"%PDF-1.4"})
    check_schema(results)
    assert results["score"] == 0 and "No Jupyter notebook" in results["output"]


def test_without_bubblewrap_it_says_so_and_grades_outside_the_sandbox(tmp_path, monkeypatch):
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source").mkdir()
    (root / "source" / "solutions").symlink_to(SOLVED.parent)
    (root / "submission" / "01_tuning_process.ipynb").write_bytes(SOLVED.read_bytes())
    monkeypatch.setattr(gradescope.sandbox, "sandbox_status",
                        lambda: "bubblewrap cannot start here: no user namespaces")
    results = gradescope.grade_submission(root, notebooks=(NOTEBOOK,))
    check_schema(results, "after_published")
    assert "cannot run in this container: bubblewrap cannot start here" in results["output"]
    assert results["score"] == 8


def test_building_refuses_bad_input_and_overwrites_nothing(tmp_path):
    existing = tmp_path / "old.zip"
    existing.write_bytes(b"keep")
    for out, kwargs, why in [(existing, {}, "exists"),
                             (tmp_path / "a.tar", {}, "takes a .zip"),
                             (tmp_path / "no" / "a.zip", {}, "no such folder"),
                             (tmp_path / "a.zip", {"visibility": "soon"}, "unknown visibility"),
                             (tmp_path / "a.zip", {"notebooks": ("07_x",)}, "unknown notebook")]:
        with pytest.raises(NotebookError, match=why):
            gradescope.build_autograder(out, **kwargs)
    assert existing.read_bytes() == b"keep" and not (tmp_path / "a.zip").exists()
    cli = run_cli("gradescope", existing)
    assert cli.returncode == 2 and "exists" in cli.stderr


def test_a_grader_that_cannot_start_still_leaves_a_results_file(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, {"01_tuning_process.ipynb": b"{}"},
                             python="false")
    assert results == {"score": 0, "tests": [], "output": "The autograder could not start "
                       "(is lessonlib installed in its image?): ask your instructor."}
