"""lessonlib.grader.handout: a class's handout installs into a fresh environment with no
access to the checkout, runs every learner notebook to the end, passes every check once the
solutions are pasted in, and holds nothing of the instructor side."""

import json
import os
import subprocess
import sys
import textwrap
import venv
import zipfile

import nbformat
import pytest

from lessonlib.grader import handout
from lessonlib.grader.exercises import NOTEBOOKS
from lessonlib.grader.notebook_files import NotebookError, cell_info, solutions_dir

# Run inside the handout's environment: execute each notebook of a folder in a kernel of
# that environment, in the notebooks' folder (as JupyterLab does), and report every code
# cell's printed text and any error, as JSON.
DRIVER = """
import json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
folder = Path(sys.argv[1])
report = {}
for path in sorted(folder.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="handout", timeout=300, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"
                       and o.name == "stdout")
        errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
        cells.append({"lessonlib": cell.metadata.get("lessonlib", {}), "text": text,
                      "errors": errors})
    report[path.stem] = cells
print(json.dumps(report))
"""


def test_a_handout_goes_into_a_new_folder_only(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(NotebookError, match="exists"):
        handout.write_handout(tmp_path / "out")


def test_a_handout_refuses_learner_notebooks_release_would_change(tmp_path, monkeypatch):
    stale = [handout.release.__globals__["ReleaseResult"]("03_batch_norm", "differs")]
    monkeypatch.setattr(handout, "release", lambda **kwargs: stale)
    with pytest.raises(NotebookError, match="03_batch_norm: differs.*release first"):
        handout.write_handout(tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The handout, and a fresh virtual environment (no system site-packages) with its
    requirements but JupyterLab installed, plus nbclient to run the notebooks."""
    tmp = tmp_path_factory.mktemp("handout")
    out = tmp / "handout"
    files = handout.write_handout(out)
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    wheel = next(out.glob("lessonlib-*.whl"))
    # the clean environment: a PYTHONPATH reaching the checkout would satisfy the wheel
    pip = subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel), "nbclient"],
                         capture_output=True, text=True, timeout=900, cwd=tmp,
                         env=_clean_env())
    assert pip.returncode == 0, pip.stderr[-2000:]
    kernel = subprocess.run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name",
                             "handout"], capture_output=True, text=True, timeout=120,
                            env=_clean_env())
    assert kernel.returncode == 0, kernel.stderr[-2000:]
    return out, python, files


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LESSONLIB_", "PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    return dict(env, MPLBACKEND="Agg", LESSONLIB_HEADLESS="1")


def _paste_solutions(folder):
    """Every exercise and question cell of the learner notebooks in ``folder`` replaced by
    the solved notebook's, as a learner who solved everything would have it; only the
    set-up, exercise and check cells are kept (the experiments run in the learner run, and
    with the solutions in the solved notebooks' own run of the suite)."""
    for name in NOTEBOOKS:
        solved = nbformat.read(solutions_dir() / f"{name}.ipynb", as_version=4)
        answers = {cell_info(c)["exercise"]: c.source for c in solved.cells
                   if cell_info(c).get("role") == "exercise"}
        path = folder / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells
                    if cell_info(c).get("role") in ("setup", "exercise", "check")]
        for cell in nb.cells:
            if cell_info(cell).get("role") == "exercise":
                cell.source = answers[cell_info(cell)["exercise"]]
        nbformat.write(nb, path)


def test_the_handout_holds_the_learner_side_only(installed):
    out, _, files = installed
    names = {str(f) for f in files}
    assert {f"notebooks/{n}.ipynb" for n in NOTEBOOKS} <= names
    assert {"README.md", "requirements.txt", "data/digits.npz", "data/README.md"} <= names
    assert not any("solutions" in n or "instructor" in n for n in names)
    with zipfile.ZipFile(next(out.glob("lessonlib-*.whl"))) as wheel:
        tops = {n.split("/")[0] for n in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"lessonlib"}
    requirements = (out / "requirements.txt").read_text()
    assert "./lessonlib-" in requirements and "jupyterlab" in requirements


def test_in_the_handouts_environment_every_notebook_runs_and_every_solution_passes(
        installed, tmp_path):
    out, python, _ = installed
    pasted = tmp_path / "pasted"            # a second copy of the handout, solved
    subprocess.run(["cp", "-r", str(out), str(pasted)], check=True)
    _paste_solutions(pasted / "notebooks")
    env = _clean_env()
    runs = [subprocess.Popen([python, "-c", textwrap.dedent(DRIVER), str(folder / "notebooks")],
                             cwd=folder / "notebooks", env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for folder in (out, pasted)]
    reports = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=1200)
        assert run.returncode == 0, stderr[-3000:]
        reports.append(json.loads(stdout))
    learner, solved = reports
    for name in NOTEBOOKS:
        for kind, report in (("learner", learner), ("solved", solved)):
            errors = [e for c in report[name] for e in c["errors"]]
            assert not errors, (kind, name, errors)           # Run All reaches the end
        for cell in learner[name]:
            if cell["lessonlib"].get("role") == "check":
                assert cell["text"].startswith("○"), (name, cell["text"])
        for cell in solved[name]:
            if cell["lessonlib"].get("role") == "check":
                mark = "✎" if cell["lessonlib"]["exercise"].startswith("Q") else "✓"
                assert cell["text"].startswith(mark), (name, cell["text"])


def test_the_handouts_environment_cannot_reach_the_instructor_side(installed):
    out, python, _ = installed
    probe = textwrap.dedent("""
        import importlib.util, sys
        print(importlib.util.find_spec("lessonlib_instructor") is None)
        import lessonlib
        print(lessonlib.__file__)
        """)
    run = subprocess.run([python, "-c", probe], cwd=out / "notebooks", env=_clean_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    missing, where = run.stdout.split()
    assert missing == "True"
    assert where.startswith(str(out.parent / "venv"))          # the wheel, not the checkout
    from lessonlib_instructor.questions import KEYS
    site = out.parent / "venv" / "lib"
    texts = [p.read_text(errors="ignore") for p in [*site.rglob("*.py"), *out.rglob("*.json"),
                                                     *out.rglob("*.md")]]
    for qid, key in KEYS.items():
        assert not any(key.why[:50] in text for text in texts), qid


# Run inside the handout's environment: call every public function of lessonlib's maths and
# lessons with each exercise's arguments, and report those whose result equals the answer.
# The labelled stand-ins by automatic differentiation are allowed to (the experiments run
# them until the learner's function passes); nothing else may.
ORACLE_HUNT = """
import inspect, json, pkgutil, signal, sys, importlib
import matplotlib.pyplot as plt
import numpy as np
cases = json.loads(sys.stdin.read())
package = importlib.import_module(sys.argv[1])
def arrays(x):
    return [arrays(v) for v in x] if isinstance(x, list) and x and isinstance(x[0], list) \\
        and isinstance(x[0][0], list) else np.array(x)
def same(got, want):
    try:
        got = got if isinstance(got, tuple) else (got,)
        return len(got) >= len(want) and all(
            np.allclose(np.asarray(g, float), np.asarray(w, float), atol=1e-8)
            for g, w in zip(got, want))
    except Exception:
        return False
signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError()))
found = []
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if info.name.startswith(("lessonlib.grader", "lessonlib.bench", "lessonlib.cli",
                             "lessonlib.__main__", "lessonlib.layers.autodiff")):
        continue
    module = importlib.import_module(info.name)
    for name, fn in list(vars(module).items()):
        if name.startswith("_") or name.endswith("_by_autodiff") or not inspect.isfunction(fn) \\
                or fn.__module__ != info.name:
            continue
        for case in cases:
            args = [np.array(a) if isinstance(a, list) else a for a in case["args"]]
            if case.get("cache"):
                from lessonlib.layers.batchnorm import batchnorm_forward
                args = [args[0], batchnorm_forward(*args[1:])[1]]
            signal.alarm(2)
            try:
                got = fn(*args, **case.get("kwargs", {}))
            except BaseException:
                got = None
            finally:
                signal.alarm(0)
                plt.close("all")
            if got is not None and same(got, [np.array(w) for w in case["answer"]]):
                found.append(f"{info.name}.{name} answers {case['id']}")
print(json.dumps(found))
"""


def test_no_function_in_the_handouts_lessonlib_computes_a_derived_answer(installed):
    """An oracle hunt: every public function of the handout's lessonlib (but the labelled
    autodiff stand-ins) called with the arguments of 1.2, 1.3, 3.2, 3.4, 5.4, 5.5 and 5.6
    returns no answer; the same hunt in the checkout finds the answers of the instructor
    side."""
    import numpy as np
    from lessonlib_instructor import answers

    from lessonlib.layers.batchnorm import batchnorm_forward
    rng = np.random.default_rng(0)
    Z, G = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    gamma, beta = rng.uniform(0.5, 2, (3, 1)), rng.standard_normal((3, 1))
    z = rng.standard_normal(4)
    Y_hat = np.exp(z)[:, None] / np.exp(z).sum()
    Y = np.eye(4)[:, [2]]
    cache = batchnorm_forward(Z, gamma, beta)[1]
    points = rng.uniform(0, 1, (6, 2)) * [1.0, 3.0] + [0.0, -4.0]
    scores = rng.standard_normal(6)
    low, high = [0.0, -4.0], [1.0, -1.0]
    shrink_args = {"n_best": 2, "pad": 0.1}
    Z_far, Y_far = np.array([[0.0, 1000.0], [800.0, 0.0]]), np.eye(2)[:, [0, 0]]
    cases = [
        {"id": "1.2", "args": [0.05, 9], "answer": [answers.chance_at_least_one(0.05, 9)]},
        {"id": "1.3", "args": [points.tolist(), scores.tolist(), low, high],
         "kwargs": shrink_args,
         "answer": [a.tolist() for a in answers.shrink_box(points, scores, low, high,
                                                           **shrink_args)]},
        {"id": "5.6", "args": [Z_far.tolist(), Y_far.tolist()],
         "answer": [answers.cross_entropy_from_logits(Z_far, Y_far)]},
        {"id": "3.2", "args": [Z.tolist()], "answer": [a.tolist() for a in
                                                      answers.recover_gamma_beta(Z)]},
        {"id": "3.4", "args": [G.tolist(), Z.tolist(), gamma.tolist(), beta.tolist()],
         "cache": True, "answer": [a.tolist() for a in answers.batchnorm_backward(G, cache)]},
        {"id": "5.4", "args": [z.tolist()], "answer": [answers.softmax_jacobian(z).tolist()]},
        {"id": "5.5", "args": [Y_hat.tolist(), Y.tolist()],
         "answer": [answers.softmax_backward(Y_hat, Y).tolist()]},
    ]
    out, python, _ = installed

    def hunt(python, package, env):
        run = subprocess.run([python, "-c", textwrap.dedent(ORACLE_HUNT), package],
                             cwd=out / "notebooks", env=env, input=json.dumps(cases),
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        return json.loads(run.stdout.strip().splitlines()[-1])
    assert hunt(python, "lessonlib", _clean_env()) == []
    # the hunt finds answers, in this environment
    found = hunt(sys.executable, "lessonlib_instructor", dict(os.environ, MPLBACKEND="Agg"))
    assert {f.rsplit(" ", 1)[1] for f in found} == {"1.2", "1.3", "3.2", "3.4", "5.4", "5.5",
                                                    "5.6"}, found


def test_progress_runs_in_the_handouts_environment(installed, tmp_path):
    """``python -m lessonlib progress`` needs nothing of the instructor side: from a handout
    it reports each exercise of a solved notebook as passed and each question answered."""
    out, python, _ = installed
    folder = tmp_path / "progress"
    subprocess.run(["cp", "-r", str(out), str(folder)], check=True)
    _paste_solutions(folder / "notebooks")
    run = subprocess.run([python, "-m", "lessonlib", "progress",
                          "notebooks/05_softmax_regression.ipynb"], cwd=folder,
                         env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "6/6 exercises passed and 3/3 questions answered" in run.stdout, run.stdout
