"""lessonlib.grader.cell_runs: a check under an exercise cell whose last run failed says so,
in a real kernel; nothing changes when the cells run fine."""

import pytest

from lessonlib.grader import cell_runs
from lessonlib.grader.kernel import KernelSession


def test_a_failed_run_is_remembered_until_a_run_that_succeeds():
    source = "def one_hot(y, C):\n    return y\n\ndef helper():\n    pass\n"
    assert cell_runs.defined_in(source) == {"one_hot"}
    cell_runs.record(source, SyntaxError("invalid syntax", ("<cell>", 3, 1, "x")))
    assert cell_runs.failed_run("one_hot") == "SyntaxError: invalid syntax (line 3)"
    note = cell_runs.stale_note("one_hot", defined=True)
    assert note.startswith("⚠ The last run of the cell defining one_hot failed (SyntaxError")
    assert "ran the previous definition" in note
    assert "one_hot is not defined" in cell_runs.stale_note("one_hot", defined=False)
    cell_runs.record(source, None)
    assert cell_runs.failed_run("one_hot") is None and cell_runs.stale_note("one_hot", True) \
        is None


def test_outside_a_kernel_nothing_is_watched():
    assert cell_runs.watch() is False


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with KernelSession(tmp_path_factory.mktemp("scratch"), sandboxed=False) as k:
        k.run("import numpy as np\nfrom lessonlib.grader.checks.softmax_regression import "
              "check_softmax, check_one_hot", 60)
        yield k


def test_a_check_under_a_cell_that_failed_says_it_ran_the_previous_definition(kernel):
    good = ("def softmax(Z):\n    E = np.exp(Z - Z.max(axis=0, keepdims=True))\n"
            "    return E / E.sum(axis=0, keepdims=True)\n")
    assert kernel.run(good, 30).status == "ok"
    assert kernel.run("check_softmax(softmax)", 60).stdout.startswith("✓ Exercise 5.1")
    broken = kernel.run("def softmax(Z):\n    return np.exp(Z) /\n", 30)
    assert broken.status == "error"
    out = kernel.run("check_softmax(softmax)", 60).stdout
    lines = " ".join(out.split())
    assert lines.startswith("⚠ The last run of the cell defining softmax failed (SyntaxError")
    assert "ran the previous definition" in lines and "✓ Exercise 5.1" in lines
    assert kernel.run(good, 30).status == "ok"
    assert kernel.run("check_softmax(softmax)", 60).stdout.startswith("✓ Exercise 5.1")


def test_a_check_of_a_function_never_defined_explains_instead_of_a_traceback(kernel):
    broken = kernel.run("def one_hot(y, C):\n    return np.eye(C)[:, y\n", 30)
    assert broken.status == "error"
    out = kernel.run("check_one_hot(one_hot)", 60)
    assert out.status == "ok" and "one_hot is not defined" in out.stdout
    other = kernel.run("print(not_a_name)", 30)         # any other NameError: as usual
    assert other.status == "error" and other.error.startswith("NameError")
