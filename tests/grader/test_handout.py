"""lessonlib.grader.handout: a class's handout installs into a fresh environment with no
access to the checkout, runs every learner notebook to the end, passes every check once the
solutions are pasted in, and holds nothing of the instructor side."""

import json
import os
import subprocess
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
    pip = subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheel), "nbclient"],
                         capture_output=True, text=True, timeout=900, cwd=tmp)
    assert pip.returncode == 0, pip.stderr[-2000:]
    kernel = subprocess.run([python, "-m", "ipykernel", "install", "--sys-prefix", "--name",
                             "handout"], capture_output=True, text=True, timeout=120)
    assert kernel.returncode == 0, kernel.stderr[-2000:]
    return out, python, files


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LESSONLIB_", "PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    return dict(env, MPLBACKEND="Agg", LESSONLIB_HEADLESS="1")


def _paste_solutions(folder):
    """Every exercise and question cell of the learner notebooks in ``folder`` replaced by
    the solved notebook's, as a learner who solved everything would have it."""
    for name in NOTEBOOKS:
        solved = nbformat.read(solutions_dir() / f"{name}.ipynb", as_version=4)
        answers = {cell_info(c)["exercise"]: c.source for c in solved.cells
                   if cell_info(c).get("role") == "exercise"}
        path = folder / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
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
