"""The workbook as a Gradescope autograder: ``python -m lessonlib gradescope OUT.zip``.

Gradescope's contract (its documentation, "Autograder specifications"): the zip holds
``setup.sh`` and ``run_autograder`` at its top; it is unpacked into ``/autograder/source``,
where ``setup.sh`` runs once, as root, to build the image; for each submission the learner's
files are put in ``/autograder/submission`` and ``run_autograder`` must write
``/autograder/results/results.json``: an optional ``score``, an ``output`` and a
``visibility`` for the whole submission, and ``tests``, each with a ``name``, a ``score``, a
``max_score``, an ``output``, a ``visibility`` and a ``status``.

The zip built here holds the two wheels (``lessonlib`` and ``lessonlib_instructor``, which
``setup.sh`` installs from its own folder with ``--no-index``), the requirements they need
from PyPI, the solved notebooks and the data. ``run_autograder`` runs ``main`` below: every
workbook notebook found in the submission is graded like ``grade`` grades it, one test per
exercise and question, its line (the failing sub-check's message and hint) as its output.

Where bubblewrap cannot start in the container (Gradescope's containers usually forbid the
namespaces it needs), the top-level output says so and the submission is graded without it
(``--no-sandbox``): the learner's code still runs in a kernel of its own, apart from the
trusted checks, and the container, one per submission, is the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from ..core.paths import DATA_DIR_ENV
from . import sandbox
from .exercises import NOTEBOOKS, exercises_of, fmt_points
from .grade import collect, execute, prepare
from .handout import build_wheel, wheel_of
from .notebook_files import NotebookError, project_dir, solutions_dir

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
CONFIG = "lessonlib-gradescope.json"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, when it builds the image.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 python3-pip python3-venv
    # the sandbox; where it cannot start in the container, grading says so and runs without
    apt-get install -y -qq bubblewrap \\
        || echo "bubblewrap not installed: submissions will be graded without the sandbox"
fi
python3 -m venv "$HERE/venv"
# what the workbook needs from PyPI (numpy, the Jupyter kernel, ...)
"$HERE/venv/bin/python" -m pip install --quiet -r "$HERE/requirements.txt"
# the workbook itself and its instructor side: only the wheels of this folder
"$HERE/venv/bin/python" -m pip install --quiet --no-index --no-deps \\
    --find-links "$HERE/wheels" lessonlib lessonlib-instructor
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission. AUTOGRADER_ROOT replaces /autograder (tests).
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="$ROOT/source/venv/bin/python"
[ -x "$PY" ] || PY="${LESSONLIB_PYTHON:-python3}"
mkdir -p "$ROOT/results"
"$PY" -m lessonlib.grader.gradescope --root "$ROOT"
if [ ! -s "$ROOT/results/results.json" ]; then
    # the grader could not even start: still a results file, with the reason
    WHY="The autograder could not start (is lessonlib installed in its image?): ask your"
    printf '{"score": 0, "output": "%s instructor.", "tests": []}\\n' "$WHY" \\
        > "$ROOT/results/results.json"
fi
"""


# ------------------------------------------------------------------ building the zip

def _requirements(wheel: Path) -> list[str]:
    """What the wheel requires from PyPI (its ``Requires-Dist`` without extras)."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(meta).decode("utf-8").splitlines()
    return [line.split(":", 1)[1].strip() for line in lines
            if line.startswith("Requires-Dist:") and "extra ==" not in line]


def build_autograder(out, *, visibility: str = "after_published",
                     notebooks=NOTEBOOKS) -> list[str]:
    """Write the autograder zip ``out`` (a new ``.zip`` file: nothing is overwritten) for
    the workbook notebooks ``notebooks``. Returns the names it holds."""
    out = Path(out)
    if visibility not in VISIBILITIES:
        raise NotebookError(f"unknown visibility {visibility!r}: one of "
                            f"{', '.join(VISIBILITIES)}")
    unknown = sorted(set(notebooks) - set(NOTEBOOKS))
    if unknown or not notebooks:
        raise NotebookError(f"unknown notebook {', '.join(unknown) or '(none given)'}: the "
                            f"workbook's are {', '.join(NOTEBOOKS)}")
    if out.suffix != ".zip":
        raise NotebookError(f"{out}: Gradescope takes a .zip file")
    if out.exists():
        raise NotebookError(f"{out} exists: the autograder is written to a new file, so that "
                            "nothing is overwritten")
    if not out.parent.is_dir():
        raise NotebookError(f"{out.parent}: no such folder")
    root = project_dir()
    with tempfile.TemporaryDirectory(prefix="lessonlib-gradescope-") as tmp:
        build = Path(tmp, "zip")
        wheels = build / "wheels"
        wheels.mkdir(parents=True)
        lessonlib_wheel = build_wheel(wheels)
        src = Path(tmp, "instructor")
        shutil.copytree(root / "instructor" / "lessonlib_instructor",
                        src / "lessonlib_instructor",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy2(root / "instructor" / "pyproject.toml", src / "pyproject.toml")
        wheel_of(src, wheels, "lessonlib_instructor-*.whl")
        (build / "requirements.txt").write_text(
            "# what lessonlib needs from PyPI; lessonlib itself is in wheels/\n"
            + "\n".join(_requirements(lessonlib_wheel)) + "\n", encoding="utf-8")
        (build / "solutions").mkdir()
        for name in notebooks:
            shutil.copy2(solutions_dir() / f"{name}.ipynb", build / "solutions")
        (build / "data").mkdir()
        for f in (root / "data").glob("*.npz"):
            shutil.copy2(f, build / "data" / f.name)
        (build / CONFIG).write_text(json.dumps({"visibility": visibility,
                                                "notebooks": list(notebooks)}, indent=2)
                                    + "\n", encoding="utf-8")
        (build / "setup.sh").write_text(SETUP_SH, encoding="utf-8")
        (build / "run_autograder").write_text(RUN_AUTOGRADER, encoding="utf-8")
        files = sorted(p for p in build.rglob("*") if p.is_file())
        partial = Path(tmp, "autograder.zip")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                info = zipfile.ZipInfo.from_file(f, f.relative_to(build).as_posix())
                executable = f.name in ("setup.sh", "run_autograder")
                mode = 0o755 if executable else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, f.read_bytes())
        shutil.move(partial, out)
    return [f.relative_to(build).as_posix() for f in files]


# ------------------------------------------------------------------ grading a submission

def _submitted(folder: Path) -> list[Path]:
    """The notebooks under the submission folder, sorted, without checkpoints or hidden
    folders (``__MACOSX``, ``.ipynb_checkpoints``)."""
    return [p for p in sorted(folder.rglob("*.ipynb"))
            if not any(part.startswith((".", "__")) for part in p.relative_to(folder).parts)]


def _test(ex, points: float, status: str, output: str, visibility: str) -> dict:
    return {"name": f"{ex.notebook} · {ex.label} ({ex.function})", "number": ex.id,
            "score": float(points), "max_score": float(ex.points), "status": status,
            "output": output, "visibility": visibility}


def grade_submission(root, *, visibility: str = "after_published", notebooks=NOTEBOOKS,
                     sandboxed: bool | None = None, timeout: float = 60) -> dict:
    """Gradescope's results for the submission under ``root`` (``/autograder``): one test per
    exercise and question of ``notebooks``, graded from the notebooks found in
    ``root/submission`` (0 points, and why, for one not found or not gradable). In the
    sandbox where it starts (``sandboxed=None``), else without it, saying so."""
    root = Path(root)
    source = root / "source"
    started = time.monotonic()
    lines: list[str] = []
    if sandboxed is None:
        why = sandbox.sandbox_status()
        sandboxed = why is None
        if why:
            lines.append(f"The sandbox (bubblewrap) cannot run in this container: {why}. The "
                         "code was run without it, in a kernel process of its own apart from "
                         "the grader's checks; the container is the sandbox.")
    graded: dict[str, dict[str, tuple[float, str, str]]] = {}
    files = _submitted(root / "submission")
    if not files:
        lines.append("No Jupyter notebook (.ipynb) was found in the submission: upload the "
                     "workbook's notebooks, such as 01_tuning_process.ipynb.")
    for path in files:
        shown = path.relative_to(root / "submission")
        try:
            copy = prepare(path, solutions=source / "solutions")
            if copy.name not in notebooks:
                lines.append(f"{shown}: not graded: {copy.name} is not part of this "
                             "assignment.")
                continue
            if copy.name in graded:
                lines.append(f"{shown}: not graded: another file of the submission is "
                             f"already {copy.name}.")
                continue
            grade = collect(copy, execute(copy, timeout=timeout, sandboxed=sandboxed))
        except NotebookError as err:
            lines.append(str(err).replace(str(path), str(shown)))
            continue
        graded[copy.name] = {g.exercise.id: (g.points, g.status.value, g.message)
                             for g in grade.exercises}
        lines.append(f"{shown}: graded as {copy.name}, "
                     f"{fmt_points(grade.score)}/{fmt_points(grade.max_score)} points.")
        lines.extend(f"  note: {n}".replace(str(path), str(shown)) for n in grade.notes)
    tests = []
    for name in notebooks:
        for ex in exercises_of(name):
            if name not in graded:
                tests.append(_test(ex, 0.0, "failed", f"not graded: no gradable {name} "
                                   "notebook in the submission", visibility))
                continue
            points, status, message = graded[name].get(
                ex.id, (0.0, "failed", "not graded: the run stopped before its check"))
            tests.append(_test(ex, points, "passed" if status == "passed" else "failed",
                               f"{status}: {message}", visibility))
    return {"score": round(sum(t["score"] for t in tests), 2),
            "execution_time": int(time.monotonic() - started),
            "output": "\n".join(lines), "output_format": "text", "visibility": visibility,
            "stdout_visibility": "hidden", "tests": tests}


def _failure(why: str, visibility: str) -> dict:
    return {"score": 0.0, "output": why, "output_format": "text", "visibility": visibility,
            "tests": []}


def main(argv=None) -> int:
    """``run_autograder``'s grader: writes ``ROOT/results/results.json`` whatever happens."""
    parser = argparse.ArgumentParser(prog="python -m lessonlib.grader.gradescope",
                                     description="Grade the Gradescope submission under ROOT.")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    results_file = args.root / "results" / "results.json"
    visibility = "after_published"
    try:
        config = json.loads((args.root / "source" / CONFIG).read_text(encoding="utf-8"))
        visibility = config["visibility"]
        os.environ[DATA_DIR_ENV] = str((args.root / "source" / "data").resolve())
        results = grade_submission(args.root, visibility=visibility,
                                   notebooks=tuple(config["notebooks"]))
    except Exception as err:  # noqa: BLE001 -- a learner must get a results file, and why
        results = _failure(f"The autograder failed on this submission ({type(err).__name__}: "
                           f"{err}); ask your instructor.", visibility)
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(results["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
