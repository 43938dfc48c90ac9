"""lessonlib.grader.check_data: the check data release writes beside the learner notebooks.

That replaying the committed data gives every catalogued implementation the same result as
the references is shown by ``tests/grader/checks/conftest.py``, on every check the
catalogues evaluate; here, on the solved functions. That the committed data is what release
writes is ``test_release``'s sync test.
"""

import json

import pytest

from lessonlib import cli
from lessonlib.grader import check_data, oracle
from lessonlib.grader.exercises import NOTEBOOKS, exercises_of
from lessonlib.grader.notebook_files import NotebookError, read_notebook, solutions_dir
from tests.grader.common import ROOT, SOLVED, cells_of, committed_replay, outcome

NAME = SOLVED.stem


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_replay_agrees_with_the_references_on_every_solved_function(notebook):
    nb = read_notebook(solutions_dir() / f"{notebook}.ipynb")
    checked = []
    for check, fn, context in check_data.solved_checks(nb):
        live = check.evaluate(fn, **context)
        assert live.passed, live.line
        assert outcome(check.evaluate(fn, ref=committed_replay(notebook), **context)) == \
            outcome(live)
        checked.append(check.exercise.id)
    assert checked == [e.id for e in exercises_of(notebook) if not e.is_question]


def test_the_committed_data_is_plain_json_with_its_header():
    for notebook in NOTEBOOKS:
        path = oracle.data_path(ROOT / "notebooks", notebook)
        head = path.read_text(encoding="utf-8").partition("\n")[0]
        assert oracle.GENERATED in head and f'"notebook": "{notebook}"' in head
        assert set(json.loads(path.read_text(encoding="utf-8"))) == \
            {"format", "generated", "notebook", "arrays", "calls"}


@pytest.fixture
def folders(tmp_path):
    """A solutions folder with notebook 01 and an empty folder for what release writes."""
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / SOLVED.name).write_text(SOLVED.read_text())
    return tmp_path / "solutions", tmp_path / "out"


def _write(folders, **kwargs):
    return [(r.name, r.status) for r in check_data.write_check_data(
        solutions=folders[0], out=folders[1], **kwargs)]


def test_release_writes_the_same_bytes_and_rewrites_only_what_changed(folders):
    label, target = f"checks/{NAME}.json", oracle.data_path(folders[1], NAME)
    assert _write(folders, check=True) == [(label, "differs")]
    assert not target.exists()
    assert _write(folders) == [(label, "written")]
    committed = oracle.data_path(ROOT / "notebooks", NAME).read_bytes()
    assert target.read_bytes() == committed
    assert _write(folders) == [(label, "unchanged")]
    # the last bits of a float differ, as from another machine: nothing to rewrite
    text = committed.decode()
    calls = oracle.loads(text, "f")
    first = calls[0]["result"]["float"]
    calls[0]["result"]["float"] = float.fromhex(first).__mul__(1 + 4e-16).hex()
    nudged = oracle.dumps(NAME, calls)
    assert nudged != text
    target.write_text(nudged)
    assert _write(folders) == [(label, "unchanged")] and target.read_text() == nudged
    # a value that really differs
    calls[0]["result"]["float"] = float.fromhex(first).__mul__(1.001).hex()
    target.write_text(oracle.dumps(NAME, calls))
    assert _write(folders, check=True) == [(label, "differs")]
    assert cli.main(["release", "--check", "--solutions", str(folders[0]), "--out",
                     str(folders[1])]) == 1
    assert _write(folders) == [(label, "written")] and target.read_bytes() == committed


def test_release_never_overwrites_a_file_it_did_not_write(folders):
    target = oracle.data_path(folders[1], NAME)
    target.parent.mkdir(parents=True)
    target.write_text('{"my": "notes"}\n')
    assert _write(folders) == [(f"checks/{NAME}.json", "kept (not check data)")]
    assert target.read_text() == '{"my": "notes"}\n'
    assert cli.main(["release", "--solutions", str(folders[0]), "--out",
                     str(folders[1])]) == 1


def test_a_solved_function_that_fails_its_check_stops_the_recording(folders):
    nb = read_notebook(folders[0] / SOLVED.name)
    cell = cells_of(nb, "exercise")["1.2"]
    cell.source = cell.source.replace("return 1.0 - (1.0 - fraction) ** n_trials",
                                      "return fraction * n_trials")
    with pytest.raises(NotebookError, match="the solved chance_at_least_one fails its check"):
        check_data.record_notebook(nb)
