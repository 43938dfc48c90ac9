"""``grade``: score a learner's notebook by re-executing it; the file is only read.

Grading is four small stages, each with a typed result:

1. ``prepare``: match the submission to its solved notebook and build the graded copy
   (the learner's cells without outputs, the solved notebook's check cells in place of the
   learner's, and the lesson's experiment cells marked to skip: they earn nothing; the
   set-up cells, role ``setup`` in the solved notebook, run);
2. ``execute``: run the copy with ``grader.trusted`` in a process of its own: the
   learner's code in a sandboxed kernel, the genuine checks outside it, calling the
   learner's functions through a narrow channel;
3. ``collect``: one ``ExerciseGrade`` per exercise from the trusted checks' results;
4. ``format_report`` (and ``NotebookGrade.as_dict`` for JSON and CSV): what ``grade``
   prints and writes.

This module imports neither numpy nor the checks: ``grade`` starts fast, and the checks
run only in the trusted process.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import mistakes, sandbox
from .exercises import EXERCISES, Exercise, Status, fmt_points
from .notebook_files import (
    NotebookError,
    cell_info,
    dumps,
    notebook_name,
    read_notebook,
    read_submission,
    solutions_dir,
)
from .protocol import GRADING_KEY
from .streams import Tail

# ------------------------------------------------------------------ typed results

@dataclass(frozen=True)
class ExerciseGrade:
    """What ``grade`` found for one exercise."""

    exercise: Exercise
    points: float
    status: Status
    message: str
    mistake: str = ""          # the catalogued mistake it made (``grader.mistakes``), if any

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def as_dict(self) -> dict:
        """The exercise's row of ``--json`` and ``--csv``."""
        return {"id": self.exercise.id, "kind": self.exercise.kind,
                "function": self.exercise.function, "points": self.points,
                "max_points": float(self.exercise.points), "passed": self.passed,
                "status": self.status.value, "message": self.message,
                "mistake": self.mistake,
                "mistake_description": mistakes.describe(self.mistake)}


@dataclass(frozen=True)
class NotebookGrade:
    """What ``grade`` found for one notebook: a grade per exercise, and notes."""

    notebook: str
    exercises: tuple[ExerciseGrade, ...]
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return round(sum(g.points for g in self.exercises), 2)

    @property
    def max_score(self) -> float:
        return float(sum(g.exercise.points for g in self.exercises))

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.exercises)

    def as_dict(self) -> dict:
        """The notebook's object in ``--json``."""
        return {"notebook": self.notebook, "score": self.score, "max_score": self.max_score,
                "exercises": [g.as_dict() for g in self.exercises]}

    @classmethod
    def from_dict(cls, data: dict, notes=()) -> NotebookGrade:
        """The grade ``as_dict`` describes (a results file's line, a Dask worker's answer)."""
        grades = tuple(ExerciseGrade(EXERCISES[e["id"]], float(e["points"]),
                                     Status(e["status"]), str(e["message"]),
                                     str(e.get("mistake") or ""))
                       for e in data["exercises"])
        return cls(str(data["notebook"]), grades, tuple(notes))


@dataclass
class GradedCopy:
    """Stage 1's result: the notebook to run."""

    path: Path
    name: str                              # the workbook notebook it is, "01_tuning_process"
    exercises: list[Exercise]
    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


@dataclass
class Execution:
    """Stage 2's result: what each code cell did and each trusted check found."""

    cells: dict[int, dict]                 # code cell index -> {"status", "error"}
    checks: dict[str, dict]                # exercise id -> {"status", "points", "message"}
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ 1. prepare

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


def _experiment_sources(solved) -> set[str]:
    """The sources of the solved notebook's experiment cells: its code cells without a role
    (not set-up, exercise or check cells)."""
    return {cell.source.strip() for cell in solved.cells
            if cell.cell_type == "code" and not cell_info(cell).get("role")}


def _graded_copy(learner, solved, *, skip: bool = True) -> tuple[nbformat.NotebookNode, list]:
    """The notebook the grader runs: the learner's cells without outputs, the solved
    notebook's check cells in place of the learner's, and the solved notebook's experiment
    cells marked ``skip`` (a cell the learner added or changed runs). Returns
    ``(notebook, notes)``."""
    solved_checks = {cell_info(c)["exercise"]: c for c in solved.cells
                     if cell_info(c).get("role") == "check"}
    learner_checks = {cell_info(c).get("exercise") for c in learner.cells
                      if cell_info(c).get("role") == "check"}
    experiments = _experiment_sources(solved) if skip else set()
    notes, cells, placed = [], [], set()

    def official(ex_id):
        cell = copy.deepcopy(solved_checks[ex_id])
        cell.outputs, cell.execution_count = [], None
        placed.add(ex_id)
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
            if info.get("role") == "check":          # a check cell of no exercise of ours
                cell.metadata.pop("lessonlib", None)
            cell.metadata[GRADING_KEY] = ("skip" if cell.source.strip() in experiments
                                          and info.get("role") != "exercise" else "run")
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
    return graded, notes


def prepare(path, *, solutions=None, skip_experiments: bool = True) -> GradedCopy:
    """Read the submission at ``path``, find its solved notebook and build the graded copy
    (with the lesson's experiments marked to skip, unless ``skip_experiments`` is false)."""
    path = Path(path)
    solutions = Path(solutions) if solutions else solutions_dir()
    learner = read_submission(path)
    solved_path = find_solved(learner, path, solutions)
    solved = read_notebook(solved_path)
    ids = [cell_info(c)["exercise"] for c in solved.cells if cell_info(c).get("role") == "check"]
    graded, notes = _graded_copy(learner, solved, skip=skip_experiments)
    graded.metadata.setdefault("lessonlib", {})["notebook"] = solved_path.stem
    return GradedCopy(path=path, name=solved_path.stem, exercises=[EXERCISES[ex] for ex in ids],
                      notebook=graded, notes=notes)


# ------------------------------------------------------------------ 2. execute

# Wall-clock seconds one submission may run, however many cells it has (``--time-limit``):
# a solved notebook grades in a few seconds, so this leaves slow honest code a wide margin.
TIME_LIMIT = 600.0
# how long the trusted process has past the time limit to stop its kernel and write its
# results before the driver stops it (SIGTERM), and then before it is killed (SIGKILL)
STOP_GRACE = 60.0
KILL_GRACE = 15.0
# what the driver keeps of the trusted process's own output: the end, for an error message
OUTPUT_TAIL_BYTES = 16 * 1024
# the largest results file the driver reads (the trusted process caps what it writes)
MAX_RESULTS_BYTES = 16 * 1024 ** 2


def execute(graded: GradedCopy, *, timeout: float = 60, sandboxed: bool = True,
            cases: int | None = None, keys: bool = True,
            time_limit: float = TIME_LIMIT) -> Execution:
    """Run the graded copy and its trusted checks (``grader.trusted``), each cell and each
    call of a learner's function within ``timeout`` seconds (a deadline per call, which
    nothing the kernel sends extends), the whole submission within ``time_limit`` seconds
    of wall-clock time (past it, it is stopped and graded on what finished), the learner's
    code in the sandbox of ``grader.sandbox`` unless ``sandboxed`` is false. The checks draw
    fresh random cases, from ``cases`` when given (the same number, the same cases). Raises
    ``NotebookError`` when the notebook could not be run at all, or not sandboxed.
    ``keys=False`` reads the questions' answers for their form only (``progress``)."""
    if sandboxed and (why := sandbox.sandbox_status()) is not None:
        raise NotebookError(f"{graded.path}: not graded, no sandbox: {why}. Grading runs "
                            "the submission's code; to run it without a sandbox anyway, "
                            "pass --no-sandbox")
    if not time_limit > 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    notes = []
    with sandbox.temp_folder("grade") as tmp:
        tmp = Path(tmp)
        nb_file, results, scratch = tmp / "graded.ipynb", tmp / "results.json", tmp / "scratch"
        scratch.mkdir()
        nb_file.write_text(dumps(graded.notebook), encoding="utf-8")
        cmd = [sys.executable, "-m", "lessonlib.grader.trusted", str(nb_file),
               "--scratch", str(scratch), "--results", str(results),
               "--timeout", f"{timeout:g}", "--time-limit", f"{time_limit:g}",
               "--parent", str(os.getpid())] \
            + ([] if sandboxed else ["--no-sandbox"]) \
            + ([] if cases is None else ["--cases", str(int(cases))]) \
            + ([] if keys else ["--no-keys"])
        stopped, tail, code = _run_trusted(cmd, cwd=tmp, limit=time_limit + STOP_GRACE)
        data = _read_results(graded.path, results)
    if stopped:
        notes.append(f"the submission ran past its {time_limit:g} s time limit and was "
                     "stopped; what had not finished scores 0")
        data = data or {"cells": {}, "checks": {}, "notes": []}
    elif code != 0 or data is None or not data.get("complete"):
        lines = tail.strip().splitlines()[-3:]
        raise NotebookError(f"{graded.path}: the notebook could not be run: "
                            f"{' | '.join(lines) or 'no result'}")
    return Execution(cells={int(k): v for k, v in data["cells"].items()},
                     checks=data["checks"], notes=notes + list(data.get("notes", [])))


def _run_trusted(cmd: list[str], *, cwd: Path, limit: float) -> tuple[bool, str, int]:
    """Run the trusted process for at most ``limit`` seconds, keeping only the end of its
    output; past the limit it is asked to stop (it stops its kernel), then killed. Returns
    ``(stopped, the end of its output, its exit status)``."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    tail = Tail(proc.stdout, keep=OUTPUT_TAIL_BYTES)
    stopped = False
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        stopped = True
        proc.terminate()
        try:
            proc.wait(timeout=KILL_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    tail.join(timeout=5)
    return stopped, tail.text(), proc.returncode


def _read_results(path: Path, results: Path) -> dict | None:
    """The trusted process's results file (``None`` when there is none), read only when
    its size is one the trusted process writes."""
    try:
        size = results.stat().st_size
    except FileNotFoundError:
        return None
    if size > MAX_RESULTS_BYTES:
        raise NotebookError(f"{path}: the grading results were larger than the grader "
                            f"reads ({size} bytes)")
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


# ------------------------------------------------------------------ 3. collect

_CELL_NOTES = {"error": "code cell {k} (not a check) raised {error}",
               "timeout": "code cell {k} (not a check) ran out of time and was stopped",
               "dead": "the kernel stopped in code cell {k}: {error}"}


def collect(graded: GradedCopy, run: Execution) -> NotebookGrade:
    """One grade per exercise, from its trusted check; 0 points and the reason when the
    check could not run."""
    notes = [*graded.notes, *run.notes]
    for k, cell in sorted(run.cells.items()):
        if cell.get("status") in _CELL_NOTES:
            error = str(cell.get("error", "")).splitlines()[0][:150] if cell.get("error") \
                else "an error"
            notes.append(_CELL_NOTES[cell["status"]].format(k=k, error=error))
    grades = []
    for ex in graded.exercises:
        rec = run.checks.get(ex.id)
        if rec is None:
            grades.append(ExerciseGrade(ex, 0.0, Status.FAILED,
                                        "not graded: the run stopped before its check"))
            continue
        grades.append(ExerciseGrade(ex, float(rec["points"]), Status(rec["status"]),
                                    str(rec["message"]), _mistake(rec.get("mistake"))))
    return NotebookGrade(str(graded.path), tuple(grades), tuple(notes))


def _mistake(value) -> str:
    """A check's catalogued mistake as the results file gives it ("" for none, or for an id
    the catalogue does not hold)."""
    return value if isinstance(value, str) and value in mistakes.CATALOGUE else ""


def grade_notebook(path, *, solutions=None, timeout: float = 60, sandboxed: bool = True,
                   cases: int | None = None, keys: bool = True,
                   time_limit: float = TIME_LIMIT) -> NotebookGrade:
    """Grade one learner notebook: ``prepare``, ``execute`` (in the sandbox unless
    ``sandboxed`` is false; random cases from ``cases``; the questions against their keys
    unless ``keys`` is false; ``timeout`` seconds per cell and call, ``time_limit`` for the
    whole submission) and ``collect``."""
    graded = prepare(path, solutions=solutions)
    return collect(graded, execute(graded, timeout=timeout, sandboxed=sandboxed, cases=cases,
                                   keys=keys, time_limit=time_limit))


# ------------------------------------------------------------------ 4. report

def format_report(grade: NotebookGrade) -> str:
    """The table ``grade`` prints for one notebook."""
    rows = [grade.notebook]
    width = max([len(g.exercise.function) for g in grade.exercises] + [8])
    rows.append(f"  {'exercise':<9}{'function':<{width + 2}}{'points':>8}  result")
    for g in grade.exercises:
        pts = f"{fmt_points(g.points)}/{fmt_points(g.exercise.points)}"
        rows.append(f"  {g.exercise.id:<9}{g.exercise.function:<{width + 2}}{pts:>8}  "
                    f"{g.status.mark} {g.message}"
                    + (f" [mistake: {g.mistake}]" if g.mistake else ""))
    total = f"{fmt_points(grade.score)}/{fmt_points(grade.max_score)}"
    rows.append(f"  {'total':<9}{'':<{width + 2}}{total:>8}")
    rows.extend(f"  note: {n}" for n in grade.notes)
    return "\n".join(rows)
