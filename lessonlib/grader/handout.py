"""What an instructor hands a class: ``python -m lessonlib handout OUT``.

``OUT`` gets the learner notebooks (``notebooks/``, with whatever ``release`` writes beside
them), the data folder (``data/``), an installable wheel of ``lessonlib`` with the
``requirements.txt`` that installs it, and a short README for learners; nothing of the
instructor side (the solved notebooks, the question keys). The learner notebooks must be
what ``release`` writes from the solved ones: a handout refuses stale ones.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .notebook_files import NotebookError, learner_dir, project_dir
from .release import release

LEARNER_README = """\
# Week 3 workbook: hyperparameter tuning, batch normalization and softmax

Six Jupyter notebooks, one per lecture, in `notebooks/`. Each explains an idea, asks you to
write a few functions and answer a few questions, checks each one the moment you run the
cell below it, and then uses your function in experiments on real data (the UCI handwritten
digits, in `data/`).

## Set up (once)

With Python 3.10 or newer, from this folder:

```bash
python3 -m venv .venv && . .venv/bin/activate
python3 -m pip install -r requirements.txt && python3 -m jupyter lab notebooks/
```

## How the exercises work

Replace the `raise NotImplementedError(...)` of an exercise with your code, run the cell,
then run the check cell under it. It prints one line: ✓ with your points, ✗ with what
failed and a hint, or ○ while you have not started. The check compares your function with
the expected outputs of the cases the notebook shows (stored in `notebooks/checks/`); your
grade comes from fresh cases when your instructor grades the notebook, so a function that
only remembers the shown cases earns nothing there.

A question is answered by making its function return a letter, a number or a tuple of them.
Its check prints ✎ with the answer it recorded, or ✗ when the answer is not of the form
asked for; whether it is right comes with your graded feedback.

Run All always reaches the end, whatever state your exercises are in: until an exercise
passes, the experiments after it use a stand-in and say so.

## Handing in

Hand in the notebooks themselves (`notebooks/NN_name.ipynb`), saved.
"""

REQUIREMENTS = """\
# Everything the notebooks need: lessonlib (the wheel beside this file, which brings numpy,
# matplotlib, ipywidgets and the Jupyter kernel) and JupyterLab to open the notebooks.
./{wheel}
jupyterlab>=4.2,<5
"""


def wheel_isolation() -> list[str]:
    """pip's build option: this environment's setuptools when it can build a wheel (no
    download: setuptools 70.1 or newer, or the ``wheel`` package beside it), else pip's own
    isolated build."""
    if importlib.util.find_spec("setuptools") is None:
        return []
    from importlib.metadata import version
    major, minor = (int(x) for x in version("setuptools").split(".")[:2])
    builds = (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None
    return ["--no-build-isolation"] if builds else []


def build_wheel(out: Path) -> Path:
    """A wheel of the ``lessonlib`` package alone, built from a copy of its sources (the
    checkout is left as it was), written into ``out``. Returns its path."""
    root = project_dir()
    with tempfile.TemporaryDirectory(prefix="lessonlib-wheel-") as tmp:
        src = Path(tmp, "src")
        shutil.copytree(root / "lessonlib", src / "lessonlib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, src / name)
        return wheel_of(src, Path(out), "lessonlib-*.whl")


def wheel_of(src: Path, out: Path, pattern: str) -> Path:
    """The wheel of the project in ``src`` (a copy), built into ``out`` without its
    dependencies; ``pattern`` names it."""
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                          *wheel_isolation(), "--quiet", "-w", str(out)],
                         capture_output=True, text=True)
    found = sorted(out.glob(pattern))
    if run.returncode != 0 or len(found) != 1:
        raise NotebookError(f"building the wheel of {src.name} failed: "
                            f"{run.stderr.strip()[-500:] or 'no wheel, or several'}")
    return found[0]


def write_handout(out) -> list[Path]:
    """Write the handout into ``out``, a folder that must not exist yet (nothing is ever
    overwritten). Returns the files written, relative to ``out``."""
    out = Path(out)
    if out.exists():
        raise NotebookError(f"{out} exists: a handout is written into a new folder, so that "
                            "nothing there is overwritten")
    stale = [r for r in release(check=True) if r.status != "unchanged"]
    if stale:
        raise NotebookError("the learner notebooks are not what release writes ("
                            + ", ".join(f"{r.name}: {r.status}" for r in stale)
                            + "): run python -m lessonlib release first")
    with tempfile.TemporaryDirectory(prefix="lessonlib-handout-", dir=out.parent) as tmp:
        build = Path(tmp, out.name)
        skip = shutil.ignore_patterns(".ipynb_checkpoints", "*.bak", "__pycache__")
        shutil.copytree(learner_dir(), build / "notebooks", ignore=skip)
        shutil.copytree(project_dir() / "data", build / "data", ignore=skip)
        wheel = build_wheel(build)
        (build / "requirements.txt").write_text(REQUIREMENTS.format(wheel=wheel.name),
                                                encoding="utf-8")
        (build / "README.md").write_text(LEARNER_README, encoding="utf-8")
        build.rename(out)
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
