"""Learner notebooks from solved ones (``release``) and grading by re-execution (``grade``).

Conventions of a solved notebook in ``notebooks/solutions/``:

- notebook metadata ``lessonlib.notebook`` is its name, e.g. ``"01_tuning_process"``;
- an exercise cell has metadata ``lessonlib = {"exercise": "1.1", "role": "exercise"}`` and
  its solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
- its check cell has ``lessonlib = {"exercise": "1.1", "role": "check"}`` and the tag
  ``nbval-check-output``, and stores the check's one line as its only output.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_TAG = "nbval-check-output"
BACKUP_SUFFIX = ".bak"


class NotebookError(Exception):
    """A file that cannot be read, released or graded, with the reason."""


def project_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def solutions_dir() -> Path:
    return project_dir() / "notebooks" / "solutions"


def learner_dir() -> Path:
    return project_dir() / "notebooks"


# ------------------------------------------------------------------ reading

def read_notebook(path) -> nbformat.NotebookNode:
    """Read and validate a notebook, or raise ``NotebookError`` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise NotebookError(f"{path}: cannot be read as text ({err})") from err
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookError(f"{path} is not a Jupyter notebook: it is not JSON "
                            f"({err.msg} at line {err.lineno})") from err
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        raise NotebookError(f"{path} is not a Jupyter notebook: JSON without 'cells' and "
                            "'nbformat'")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - nbformat raises several kinds
        raise NotebookError(f"{path} is not a valid Jupyter notebook: "
                            f"{str(err).splitlines()[0]}") from err
    return nb


def cell_info(cell) -> dict:
    """The cell's ``lessonlib`` metadata (``exercise`` and ``role``), or ``{}``."""
    info = cell.get("metadata", {}).get("lessonlib", {})
    return info if isinstance(info, dict) else {}


def notebook_name(nb) -> str | None:
    return nb.metadata.get("lessonlib", {}).get("notebook")


def source_hash(nb) -> str:
    """A digest of the cells' types and sources: what the learner writes, not outputs."""
    h = hashlib.sha256()
    for cell in nb.cells:
        h.update(cell.cell_type.encode() + b"\0" + cell.source.encode() + b"\0")
    return h.hexdigest()


def dumps(nb) -> str:
    return nbformat.writes(nb) + "\n"


# ------------------------------------------------------------------ release

def _stub(source: str, exercise) -> str:
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise NotebookError(f"exercise {exercise.id}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f'{indent}raise NotImplementedError("Exercise {exercise.id}: '
                       f'{exercise.function}")')
        elif stripped == END:
            if not inside:
                raise NotebookError(f"exercise {exercise.id}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"exercise {exercise.id}: {BEGIN} without {END}")
    return "\n".join(out)


def make_learner(solved) -> nbformat.NotebookNode:
    """The learner version of a solved notebook: solutions become stubs, outputs go, and each
    check cell keeps one output, the "not attempted yet" line its check prints for a stub."""
    from . import checks  # noqa: F401 - registers the exercises
    from .grading import EXERCISES, not_attempted_line

    nb = copy.deepcopy(solved)
    name = notebook_name(nb)
    if not name:
        raise NotebookError("the solved notebook has no metadata lessonlib.notebook")
    for cell in nb.cells:
        info = cell_info(cell)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        ex_id = info.get("exercise")
        if (BEGIN in cell.source) != (info.get("role") == "exercise"):
            raise NotebookError(f"{name}: a cell with {BEGIN} must have role 'exercise' "
                                f"and the reverse (cell {cell.get('id')})")
        if ex_id is None:
            continue
        if ex_id not in EXERCISES:
            raise NotebookError(f"{name}: exercise {ex_id} has no check in lessonlib.checks")
        if info.get("role") == "exercise":
            cell.source = _stub(cell.source, EXERCISES[ex_id])
        elif info.get("role") == "check":
            cell.execution_count = 1
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout", text=not_attempted_line(EXERCISES[ex_id]) + "\n")]
    nb.metadata["lessonlib"] = {"notebook": name, "kind": "learner",
                                "release_hash": source_hash(nb)}
    return nb


@dataclass
class ReleaseResult:
    name: str
    status: str   # "written", "unchanged", "kept (learner edits)", "differs", "overwritten"
    detail: str = ""


def release(*, solutions=None, out=None, force: bool = False, check: bool = False,
            only=None) -> list[ReleaseResult]:
    """Write ``out/NAME.ipynb`` for every ``solutions/NAME.ipynb``.

    A learner notebook whose sources differ from what was released into it (the learner has
    edited it) is never overwritten silently: it is kept and reported, unless ``force``, in
    which case it is first copied to ``NAME.ipynb.bak``. With ``check``, nothing is written
    and the result says which learner notebooks differ from what would be generated.
    ``only`` limits the release to solved notebooks with these names (stems).
    """
    solutions = Path(solutions) if solutions else solutions_dir()
    out = Path(out) if out else learner_dir()
    results = []
    sources = sorted(p for p in solutions.glob("*.ipynb") if only is None or p.stem in only)
    if not sources:
        raise NotebookError(f"no solved notebooks in {solutions}")
    for src in sources:
        text = dumps(make_learner(read_notebook(src)))
        target = out / src.name
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old == text:
            results.append(ReleaseResult(src.stem, "unchanged"))
            continue
        if check:
            results.append(ReleaseResult(src.stem, "differs",
                                         "missing" if old is None else "content differs"))
            continue
        if old is not None:
            try:
                existing = read_notebook(target)
                edited = (source_hash(existing) !=
                          existing.metadata.get("lessonlib", {}).get("release_hash"))
            except NotebookError:
                edited = True
            if edited and not force:
                results.append(ReleaseResult(
                    src.stem, "kept (learner edits)",
                    f"{target} has edits; rerun with --force to replace it (a copy is kept "
                    f"as {target.name}{BACKUP_SUFFIX})"))
                continue
            if edited:
                shutil.copy2(target, target.with_name(target.name + BACKUP_SUFFIX))
                target.write_text(text, encoding="utf-8")
                results.append(ReleaseResult(src.stem, "overwritten",
                                             f"old copy in {target.name}{BACKUP_SUFFIX}"))
                continue
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        results.append(ReleaseResult(src.stem, "written"))
    return results


# ------------------------------------------------------------------ refresh

def refresh_solved(path, *, timeout: int = 300) -> None:
    """Execute a solved notebook and store only its check cells' outputs (maintainers)."""
    from nbclient import NotebookClient

    os.environ.setdefault("LESSONLIB_HEADLESS", "1")
    path = Path(path)
    nb = read_notebook(path)
    run = copy.deepcopy(nb)
    NotebookClient(run, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell, done in zip(nb.cells, run.cells):
        if cell.cell_type != "code":
            continue
        if cell_info(cell).get("role") == "check":
            cell.outputs = [o for o in done.outputs if o.get("output_type") == "stream"]
            cell.execution_count = 1
        else:
            cell.outputs, cell.execution_count = [], None
    path.write_text(dumps(nb), encoding="utf-8")


# ------------------------------------------------------------------ grading

@dataclass
class ExerciseGrade:
    id: str
    function: str
    points: float
    max_points: float
    passed: bool
    message: str


def find_solved(nb, path: Path, solutions: Path) -> Path:
    """The solved notebook matching a learner's: by metadata, else by file name."""
    names = {p.stem: p for p in solutions.glob("*.ipynb")}
    name = notebook_name(nb)
    if name in names:
        return names[name]
    stem = path.stem
    for cand in sorted(names, key=len, reverse=True):
        if stem == cand or cand in stem:
            return names[cand]
    raise NotebookError(f"{path}: cannot tell which workbook notebook this is (no "
                        "lessonlib.notebook metadata and no known name such as "
                        f"{sorted(names)[0] if names else '01_tuning_process'} in the file name)")


def _graded_copy(learner, solved, token_of: dict) -> tuple[nbformat.NotebookNode, dict, list]:
    """The notebook the grader runs: the learner's cells without outputs, and the solved
    notebook's check cells (with their expected outputs) in place of the learner's."""
    solved_checks = {cell_info(c)["exercise"]: c for c in solved.cells
                     if cell_info(c).get("role") == "check"}
    learner_checks = {cell_info(c).get("exercise") for c in learner.cells
                      if cell_info(c).get("role") == "check"}
    notes, cells, placed, official_ids = [], [], set(), set()

    def official(ex_id):
        cell = copy.deepcopy(solved_checks[ex_id])
        # the genuine checks, whatever the learner's cells rebound, and a one-time token
        # that ties the check's result record to this cell
        cell.source = ("from lessonlib.checks import *  # noqa: F403\n"
                       f"__import__('lessonlib.grading').grading.graded_cell("
                       f"{token_of[ex_id]!r})\n" + cell.source)
        cell.execution_count = 1
        placed.add(ex_id)
        official_ids.add(id(cell))
        return cell

    for cell in learner.cells:
        info = cell_info(cell)
        ex_id = info.get("exercise")
        if info.get("role") == "check" and ex_id in solved_checks:
            if ex_id not in placed:
                cells.append(official(ex_id))
            continue
        cell = copy.deepcopy(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            tags = cell.metadata.get("tags", [])
            cell.metadata["tags"] = [t for t in tags if not str(t).startswith("nbval")]
        cells.append(cell)
        if info.get("role") == "exercise" and ex_id in solved_checks \
                and ex_id not in learner_checks and ex_id not in placed:
            notes.append(f"the check cell of exercise {ex_id} was missing; the grader ran "
                         "the original one after the exercise")
            cells.append(official(ex_id))
    for ex_id in solved_checks:
        if ex_id not in placed:
            notes.append(f"the check cell of exercise {ex_id} was missing; the grader ran "
                         "the original one at the end")
            cells.append(official(ex_id))
    graded = copy.deepcopy(learner)
    graded.cells = cells
    code_index, k = {}, 0
    for cell in cells:
        if cell.cell_type == "code":
            if id(cell) in official_ids:
                code_index[k] = cell_info(cell)["exercise"]
            k += 1
    return graded, code_index, notes


def _junit_outcomes(path: Path) -> dict[int, tuple[str, str]]:
    outcomes = {}
    if not path.exists():
        return outcomes
    for case in ET.parse(path).getroot().iter("testcase"):
        m = re.search(r"Cell (\d+)", case.get("name", ""))
        if not m:
            continue
        status, text = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = case.find(tag)
            if el is not None:
                status = "skipped" if tag == "skipped" else "failed"
                text = (el.get("message") or "") + "\n" + (el.text or "")
                break
        outcomes[int(m.group(1))] = (status, text)
    return outcomes


def _failure_reason(text: str, timeout: float) -> str:
    if "Failed to interrupt kernel" in text:
        return (f"the kernel stopped responding during the check and could not be "
                f"interrupted within the {timeout:g} s cell timeout (did the function crash "
                "the kernel, or loop forever in code that ignores interrupts?)")
    if "Kernel dead" in text or "Previous cell timed out" in text:
        return ("not graded: the kernel had stopped responding in an earlier cell (see the "
                "first exercise above that failed)")
    if "Timeout" in text or "KeyboardInterrupt" in text:
        return (f"the check did not finish within the {timeout:g} s cell timeout (does the "
                "function loop forever?)")
    clean = re.sub(r"\x1b\[[0-9;]*m", "", text)
    errors = re.findall(r"^(\w+(?:Error|Exception)): ?(.*)$", clean, flags=re.M)
    if errors:
        name, msg = errors[-1]
        return f"the check cell raised {name}: {msg.strip()[:150]}"
    if "Unrun reference" in clean or "mismatch" in clean.lower() or "differ" in clean:
        return "the check printed something other than the expected line"
    if not clean.strip():
        return ("the check reported no result (was the check function or lessonlib "
                "replaced in the notebook?)")
    return "the check cell failed: " + " ".join(clean.split())[:150]


def grade_notebook(path, *, solutions=None, timeout: float = 60) -> dict:
    """Grade one learner notebook by re-executing it under nbval; the file is only read.

    Returns ``{"notebook", "score", "max_score", "exercises": [...], "notes": [...]}``,
    each exercise ``{"id", "function", "points", "max_points", "passed", "message"}``.
    """
    from . import checks  # noqa: F401 - registers the exercises
    from .grading import EXERCISES, GRADE_LOG_ENV

    path = Path(path)
    solutions = Path(solutions) if solutions else solutions_dir()
    learner = read_notebook(path)
    solved_path = find_solved(learner, path, solutions)
    solved = read_notebook(solved_path)
    ex_ids = [cell_info(c)["exercise"] for c in solved.cells
              if cell_info(c).get("role") == "check"]
    token_of = {ex: secrets.token_hex(8) for ex in ex_ids}
    graded, code_index, notes = _graded_copy(learner, solved, token_of)
    with tempfile.TemporaryDirectory(prefix="lessonlib-grade-") as tmp:
        tmp = Path(tmp)
        nb_file = tmp / (solved_path.stem + ".ipynb")
        nb_file.write_text(dumps(graded), encoding="utf-8")
        (tmp / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        log, junit = tmp / "checks.jsonl", tmp / "junit.xml"
        env = dict(os.environ, MPLBACKEND="Agg", LESSONLIB_HEADLESS="1")
        env[GRADE_LOG_ENV] = str(log)
        # only nbval: other installed pytest plugins would cost start-up time and could
        # change how the learner's cells run
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        cmd = [sys.executable, "-m", "pytest", "-p", "nbval.plugin", str(nb_file), "--nbval-lax",
               "--nbval-current-env", f"--nbval-cell-timeout={timeout:g}", "-q",
               "-p", "no:cacheprovider", "-c", str(tmp / "pytest.ini"),
               "--rootdir", str(tmp), f"--junitxml={junit}", "-W", "ignore"]
        n_code = sum(c.cell_type == "code" for c in graded.cells)
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=timeout * (n_code + 2) + 120)
        except subprocess.TimeoutExpired:
            proc = None
            notes.append("the whole run exceeded its time limit and was stopped")
        outcomes = _junit_outcomes(junit)
        records = []
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    notes.append("a check result line could not be read")
        if proc is not None and not outcomes:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            raise NotebookError(f"{path}: the notebook could not be run: {' | '.join(tail)}")
    cell_of = {ex: k for k, ex in code_index.items()}
    for k, (status, _) in sorted(outcomes.items()):
        if status == "failed" and k not in code_index:
            notes.append(f"code cell {k} (not a check) raised an error")
    grades = []
    for ex_id in ex_ids:
        ex = EXERCISES[ex_id]
        status, text = outcomes.get(cell_of[ex_id], ("failed", "not run"))
        mine = [r for r in records if r.get("token") == token_of[ex_id] and r.get("id") == ex_id]
        if mine:
            rec = mine[-1]
            ok = bool(rec["passed"]) and status == "passed"
            message = rec["message"] if status == "passed" or not rec["passed"] else \
                "the check's line differs from the solved notebook's: " + \
                _failure_reason(text, timeout)
            grades.append(ExerciseGrade(ex_id, ex.function, float(rec["points"]),
                                        float(ex.points), ok, message))
        else:
            grades.append(ExerciseGrade(ex_id, ex.function, 0.0, float(ex.points), False,
                                        _failure_reason(text, timeout)))
    return {"notebook": str(path),
            "score": round(sum(g.points for g in grades), 2),
            "max_score": float(sum(g.max_points for g in grades)),
            "exercises": [g.__dict__ for g in grades],
            "notes": notes}


def format_report(report: dict) -> str:
    """The table ``grade`` prints for one notebook."""
    rows = [f"{report['notebook']}"]
    width = max([len(e["function"]) for e in report["exercises"]] + [8])
    rows.append(f"  {'exercise':<9}{'function':<{width + 2}}{'points':>8}  result")
    for e in report["exercises"]:
        mark = "✓" if e["passed"] else ("○" if "not attempted" in e["message"] else "✗")
        pts = f"{e['points']:g}/{e['max_points']:g}"
        rows.append(f"  {e['id']:<9}{e['function']:<{width + 2}}{pts:>8}  {mark} "
                    f"{e['message']}")
    total = f"{report['score']:g}/{report['max_score']:g}"
    rows.append(f"  {'total':<9}{'':<{width + 2}}{total:>8}")
    rows.extend(f"  note: {n}" for n in report["notes"])
    return "\n".join(rows)
