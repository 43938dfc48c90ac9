"""lessonlib.grader.sandbox: a submission's code sees no network, no solved notebook, no
other submission, and writes only into its scratch folder; grade refuses without it."""

import os
import sys
import textwrap

import pytest

from lessonlib.grader import grade, sandbox
from lessonlib.grader.notebook_files import NotebookError

from .common import LEARNER, NO_SANDBOX, ROOT, SANDBOXED

needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason=f"no sandbox here: {NO_SANDBOX}")


def _run(tmp_path, code):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = sandbox.run_sandboxed([sys.executable, "-c", textwrap.dedent(code)], scratch,
                                 env=dict(os.environ), timeout=120)
    return proc, scratch


@needs_sandbox
def test_the_sandbox_runs_numpy_and_lessonlib_and_writes_its_scratch_folder(tmp_path):
    proc, scratch = _run(tmp_path, """
        import numpy as np
        from lessonlib.core.data import load_digits
        print(load_digits().train.X.shape[0], float(np.ones(3).sum()))
        open("result.txt", "w").write("ok")
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["64", "3.0"]
    assert (scratch / "result.txt").read_text() == "ok"


@needs_sandbox
@pytest.mark.parametrize("what, code", [
    ("the solved notebooks", "open({solved!r}).read()"),
    ("the question keys", "import lessonlib_instructor.questions"),
    ("the derived answers", "from lessonlib_instructor.answers import softmax_backward"),
    ("the question keys' file", "open({keys!r}).read()"),
    ("a package of the grader's, not the runtime's", "import pytest"),
    ("PyTorch, which computes softmax and its gradients", "import torch"),
    ("automatic differentiation", "import autograd"),
    ("the tests", "import os; os.listdir({tests!r})"),
    ("another submission", "open({other!r}).read()"),
    ("writing into lessonlib", "open({package!r} + '/forged.py', 'w')"),
    ("the network", "import socket; socket.create_connection(('151.101.0.223', 443), 3)"),
    ("a name lookup", "import socket; socket.getaddrinfo('pypi.org', 443)"),
])
def test_an_attack_from_inside_fails(tmp_path, what, code):
    other = tmp_path / "other-learner.ipynb"
    other.write_text("{}")
    code = code.format(solved=str(ROOT / "instructor" / "solutions" / LEARNER.name),
                       tests=str(ROOT / "tests"), other=str(other),
                       package=str(ROOT / "lessonlib"),
                       keys=str(ROOT / "instructor" / "lessonlib_instructor" / "questions.py"))
    proc, _ = _run(tmp_path, code)
    assert proc.returncode != 0, f"{what} was reachable"
    assert "Traceback" in proc.stderr
    assert not (ROOT / "lessonlib" / "forged.py").exists()


def test_the_runtime_is_the_kernels_and_the_notebooks_requirements_and_no_more():
    names = set(sandbox.runtime_distributions())
    assert {"numpy", "matplotlib", "ipywidgets", "ipykernel", "traitlets", "pyzmq"} <= names
    assert not names & {"pytest", "nbval", "nbclient", "torch", "autograd", "dask",
                        "lessonlib-instructor", "import-linter", "jupyterlab"}


@needs_sandbox
def test_writes_outside_the_scratch_folder_never_reach_the_machine(tmp_path):
    targets = [tmp_path / "outside.txt", ROOT / "forged.txt", ROOT / "data" / "forged.txt"]
    code = "\n".join(f"""
        try:
            open({str(t)!r}, "w").write("forged")
        except OSError:
            pass""" for t in targets)
    proc, _ = _run(tmp_path, code)
    assert proc.returncode == 0, proc.stderr
    assert not any(t.exists() for t in targets)


@needs_sandbox
def test_memory_is_limited(tmp_path):
    proc, _ = _run(tmp_path, "x = bytearray(8 * 1024 ** 3)")
    assert proc.returncode != 0 and "MemoryError" in proc.stderr


def test_grade_refuses_without_a_sandbox_unless_told(monkeypatch):
    monkeypatch.setitem(sandbox._STATUS, "status", "bubblewrap (bwrap) is not installed")
    graded = grade.prepare(LEARNER)
    with pytest.raises(NotebookError, match="not graded, no sandbox: bubblewrap .* "
                                            "pass --no-sandbox"):
        grade.execute(graded)


@needs_sandbox
@pytest.mark.skipif(not sandbox.as_root(), reason="the process limit holds when grading as root")
def test_processes_are_limited_and_run_as_nobody(tmp_path):
    proc, _ = _run(tmp_path, """
        import os, subprocess
        print(os.getuid())
        children = []
        try:
            for _ in range(2000):
                children.append(subprocess.Popen(["sleep", "30"]))
        except OSError:
            print("refused after", len(children))
        for c in children:
            c.kill()
        """)
    assert proc.stdout.splitlines()[0] == str(sandbox.NOBODY)
    refused = int(proc.stdout.split("refused after")[1])
    assert refused < sandbox.Limits().processes
