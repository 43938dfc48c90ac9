"""lessonlib.grader.session: a learner's session keeps the checks' results and the passing
functions for the experiments, and, once it watches the cells, says when a check ran a stale
definition; nothing is kept anywhere else, and importing lessonlib installs no hook."""

import importlib
import subprocess
import sys

import pytest

from lessonlib.grader.kernel import KernelSession
from lessonlib.grader.session import Session, defined_in


def stand_in(x):
    return x


def test_lessonlibs_until_a_check_passes_then_yours_until_one_fails():
    from lessonlib.grader.checks.softmax_regression import check_one_hot
    from lessonlib.layers.softmax import one_hot
    from tests.grader.common import reference_copy
    session = Session("05_softmax_regression")
    mine = reference_copy(one_hot)     # lessonlib's own answer is off limits in a check

    def wrong(y, C):
        return mine(y, C).T

    got = session.choose("5.2", one_hot)
    assert got.fn is one_hot and not got.yours
    assert got.whose == "lessonlib's one_hot (exercise 5.2 does not pass yet)"
    check_one_hot(wrong, session)
    assert not session.choose("5.2", one_hot).yours
    check_one_hot(mine, session)
    got = session.choose("5.2", one_hot)
    assert got.fn is mine and got.yours and got.whose == "your one_hot"
    check_one_hot(wrong, session)
    assert not session.choose("5.2", one_hot).yours
    check_one_hot(mine)                    # no session: nothing recorded anywhere
    assert not session.choose("5.2", one_hot).yours
    assert not Session("05_softmax_regression").choose("5.2", one_hot).yours


def test_the_progress_table_follows_the_latest_check_of_each_exercise():
    from lessonlib.grader.checks.softmax_regression import check_one_hot, check_two_class_softmax
    from lessonlib.layers.softmax import one_hot
    from tests.grader.common import reference_copy
    session = Session("05_softmax_regression")
    assert session.progress_lines()[0].startswith("Progress in 05_softmax_regression: 0/")
    assert "  ○ 5.2   one_hot" in "\n".join(session.progress_lines())
    mine = reference_copy(one_hot)
    check_one_hot(lambda y, C: mine(y, C).T, session)
    assert "  ✗ 5.2   one_hot" in "\n".join(session.progress_lines())
    check_one_hot(mine, session)
    assert "  ✓ 5.2   one_hot" in "\n".join(session.progress_lines())
    check_two_class_softmax(lambda: "c", session)
    lines = session.progress_lines()
    assert any(line.startswith("  ✎ Q5.1") for line in lines)
    assert "(graded later)" in lines[0]


@pytest.mark.parametrize("notebook, question, check, form", [
    ("03_batch_norm", "Q3.4", "batch_norm:check_batch_mean_noise", (0.5, 0.1)),
    ("04_batch_norm_test_time", "Q4.3", "batch_norm_test_time:check_start_up_bias", 0.8),
    ("05_softmax_regression", "Q5.3", "softmax_regression:check_random_start_cost", "b")])
def test_a_questions_measurement_waits_for_a_well_formed_answer(capsys, notebook, question,
                                                                 check, form):
    """Right or wrong, an answer of the asked form lets the cell that measures it run; no
    answer, a stub or an answer of another form keeps it waiting, with what to do."""
    module, name = check.split(":")
    check = getattr(importlib.import_module(f"lessonlib.grader.checks.{module}"), name)
    session = Session(notebook)
    assert not session.answered(question)
    assert f"what question {question[1:]} asks: answer the question, run its check" \
        in capsys.readouterr().out

    def stub():
        raise NotImplementedError
    check(stub, session)
    assert not session.answered(question)
    check(lambda: "not of the form asked for" if form != "b" else 7, session)
    assert not session.answered(question)
    check(lambda: form, session)
    capsys.readouterr()
    assert session.answered(question) and capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="question"):
        session.answered("3.4")


def test_a_stand_ins_phrase_names_it():
    from lessonlib.layers.softmax import softmax_backward_by_autodiff
    got = Session("05_softmax_regression").choose("5.5", softmax_backward_by_autodiff)
    assert got.whose.startswith("automatic differentiation of lessonlib's cross-entropy")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="notebook"):
        Session("07_nothing")
    with pytest.raises(TypeError, match="stand_in"):
        Session("01_tuning_process").choose("1.1", None)


def test_a_failed_run_is_remembered_until_a_run_that_succeeds():
    session = Session("05_softmax_regression")
    source = "def one_hot(y, C):\n    return y\n\ndef helper():\n    pass\n"
    assert defined_in(source, {"one_hot"}) == {"one_hot"}
    session.record_cell_run(source, SyntaxError("invalid syntax", ("<cell>", 3, 1, "x")))
    note = session.stale_note("one_hot", defined=True)
    assert note.startswith("⚠ The last run of the cell defining one_hot failed (SyntaxError: "
                           "invalid syntax (line 3))")
    assert "ran the previous definition" in note
    assert "one_hot is not defined" in session.stale_note("one_hot", defined=False)
    session.record_cell_run(source, None)
    assert session.stale_note("one_hot", defined=True) is None


def test_outside_a_kernel_nothing_is_watched():
    session = Session("01_tuning_process")
    assert session.watch_cells() is None and not session.watching


def test_importing_every_module_of_lessonlib_adds_no_hook_to_ipython():
    code = (
        "import importlib, pkgutil\n"
        "from IPython.testing.globalipapp import get_ipython\n"
        "shell = get_ipython()\n"
        "before = {k: len(v) for k, v in shell.events.callbacks.items()}\n"
        "exc_before = shell.custom_exceptions\n"
        "import lessonlib\n"
        "for info in pkgutil.walk_packages(lessonlib.__path__, 'lessonlib.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "after = {k: len(v) for k, v in shell.events.callbacks.items()}\n"
        "assert after == before, (before, after)\n"
        "assert shell.custom_exceptions == exc_before\n"
        "from lessonlib.grader.session import Session\n"
        "session = Session('01_tuning_process')\n"
        "session.watch_cells(shell)\n"
        "assert session.watching\n"
        "assert len(shell.events.callbacks['post_run_cell']) == before['post_run_cell'] + 1\n"
        "print('ok')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    assert run.stdout.strip().endswith("ok"), run.stderr[-2000:]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with KernelSession(tmp_path_factory.mktemp("scratch"), sandboxed=False) as k:
        k.run("import numpy as np\nfrom lessonlib.grader.checks.softmax_regression import "
              "check_softmax, check_one_hot\nfrom lessonlib.grader.session import Session\n"
              "session = Session('05_softmax_regression')\nsession.watch_cells()", 60)
        yield k


def test_a_check_under_a_cell_that_failed_says_it_ran_the_previous_definition(kernel):
    good = ("def softmax(Z):\n    E = np.exp(Z - Z.max(axis=0, keepdims=True))\n"
            "    return E / E.sum(axis=0, keepdims=True)\n")
    assert kernel.run(good, 30).status == "ok"
    assert kernel.run("check_softmax(softmax, session)", 60).stdout.startswith(
        "✓ Exercise 5.1")
    broken = kernel.run("def softmax(Z):\n    return np.exp(Z) /\n", 30)
    assert broken.status == "error"
    out = kernel.run("check_softmax(softmax, session)", 60).stdout
    lines = " ".join(out.split())
    assert lines.startswith("⚠ The last run of the cell defining softmax failed (SyntaxError")
    assert "ran the previous definition" in lines and "✓ Exercise 5.1" in lines
    assert kernel.run(good, 30).status == "ok"
    assert kernel.run("check_softmax(softmax, session)", 60).stdout.startswith(
        "✓ Exercise 5.1")


def test_a_check_of_a_function_never_defined_explains_instead_of_a_traceback(kernel):
    broken = kernel.run("def one_hot(y, C):\n    return np.eye(C)[:, y\n", 30)
    assert broken.status == "error"
    out = kernel.run("check_one_hot(one_hot, session)", 60)
    assert out.status == "ok" and "one_hot is not defined" in out.stdout
    other = kernel.run("print(not_a_name)", 30)         # any other NameError: as usual
    assert other.status == "error" and other.error.startswith("NameError")


def test_a_check_run_before_its_exercise_cell_says_to_run_that_cell(kernel):
    out = kernel.run("check_one_hot(one_hot_never_defined, session)", 30)
    assert out.status == "error"                       # not an exercise function: as usual
    out = kernel.run("from lessonlib.grader.checks.softmax_regression import "
                     "check_cross_entropy_cost\ncheck_cross_entropy_cost(cross_entropy_cost, "
                     "session)", 60)
    assert out.status == "ok", out.error
    assert "cross_entropy_cost is not defined yet: run the exercise cell" in out.stdout
