"""``grade``: score a learner's notebook by re-executing it; the file is only read.

Grading is four small stages, each with a typed result:

1. ``prepare``: match the submission to its solved notebook and build the graded copy
   (the learner's cells without outputs, the solved notebook's check cells with their
   expected lines, each tied to its result by a one-time token);
2. ``execute``: run the copy under pytest and nbval in a temporary folder, collecting the
   JUnit outcome of every cell and the checks' result records;
3. ``collect``: one ``ExerciseGrade`` per exercise from the records and the outcomes;
4. ``format_report`` (and ``NotebookGrade.as_dict`` for JSON and CSV): what ``grade``
   prints and writes.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .exercises import EXERCISES, Exercise, Status, fmt_points
from .notebook_files import (
    NotebookError,
    cell_info,
    dumps,
    notebook_name,
    read_notebook,
    solutions_dir,
)
from .protocol import GRADE_LOG_ENV, graded_check_source

# ------------------------------------------------------------------ typed results

@dataclass(frozen=True)
class ExerciseGrade:
    """What ``grade`` found for one exercise."""

    exercise: Exercise
    points: float
    status: Status
    message: str

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def as_dict(self) -> dict:
        """The exercise's row of ``--json`` and ``--csv``."""
        return {"id": self.exercise.id, "kind": self.exercise.kind,
                "function": self.exercise.function, "points": self.points,
                "max_points": float(self.exercise.points),
                "passed": self.passed, "message": self.message}


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


@dataclass
class GradedCopy:
    """Stage 1's result: the notebook to run and how to read its results."""

    path: Path
    name: str                              # the workbook notebook it is, "01_tuning_process"
    exercises: list[Exercise]
    notebook: nbformat.NotebookNode
    check_cell_of: dict[str, int]          # exercise id -> index of its official code cell
    tokens: dict[str, str]                 # exercise id -> the one-time token of its check
    notes: list[str] = field(default_factory=list)


@dataclass
class Execution:
    """Stage 2's result: each code cell's JUnit outcome and the checks' result records."""

    outcomes: dict[int, tuple[str, str]]   # code cell index -> ("passed"/"failed"/..., text)
    records: list[dict]
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


def _graded_copy(learner, solved, token_of: dict) -> tuple[nbformat.NotebookNode, dict, list]:
    """The notebook the grader runs: the learner's cells without outputs, and the solved
    notebook's check cells (with their expected outputs) in place of the learner's.

    Returns ``(notebook, {code cell index: exercise id} of the official check cells,
    notes)``."""
    name = notebook_name(solved)
    solved_checks = {cell_info(c)["exercise"]: c for c in solved.cells
                     if cell_info(c).get("role") == "check"}
    learner_checks = {cell_info(c).get("exercise") for c in learner.cells
                      if cell_info(c).get("role") == "check"}
    notes, cells, placed, official_ids = [], [], set(), set()

    def official(ex_id):
        cell = copy.deepcopy(solved_checks[ex_id])
        # the genuine checks, whatever the learner's cells rebound, and a one-time token
        # that ties the check's result record to this cell
        cell.source = graded_check_source(name, token_of[ex_id], cell.source)
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


def prepare(path, *, solutions=None) -> GradedCopy:
    """Read the submission at ``path``, find its solved notebook and build the graded copy."""
    path = Path(path)
    solutions = Path(solutions) if solutions else solutions_dir()
    learner = read_notebook(path)
    solved_path = find_solved(learner, path, solutions)
    solved = read_notebook(solved_path)
    ids = [cell_info(c)["exercise"] for c in solved.cells if cell_info(c).get("role") == "check"]
    tokens = {ex: secrets.token_hex(8) for ex in ids}
    graded, code_index, notes = _graded_copy(learner, solved, tokens)
    return GradedCopy(path=path, name=solved_path.stem, exercises=[EXERCISES[ex] for ex in ids],
                      notebook=graded, check_cell_of={ex: k for k, ex in code_index.items()},
                      tokens=tokens, notes=notes)


# ------------------------------------------------------------------ 2. execute

def execute(graded: GradedCopy, *, timeout: float = 60) -> Execution:
    """Run the graded copy under nbval in a temporary folder, each cell within ``timeout``
    seconds; raises ``NotebookError`` when the notebook could not be run at all."""
    notes = []
    with tempfile.TemporaryDirectory(prefix="lessonlib-grade-") as tmp:
        tmp = Path(tmp)
        nb_file = tmp / (graded.name + ".ipynb")
        nb_file.write_text(dumps(graded.notebook), encoding="utf-8")
        (tmp / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        log, junit = tmp / "checks.jsonl", tmp / "junit.xml"
        env = dict(os.environ, MPLBACKEND="Agg", LESSONLIB_HEADLESS="1")
        env[GRADE_LOG_ENV] = str(log)
        # only nbval: other installed pytest plugins would cost start-up time and could
        # change how the learner's cells run
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        cmd = [sys.executable, "-m", "pytest", "-p", "nbval.plugin", str(nb_file),
               "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={timeout:g}",
               "-q", "-p", "no:cacheprovider", "-c", str(tmp / "pytest.ini"),
               "--rootdir", str(tmp), f"--junitxml={junit}", "-W", "ignore"]
        n_code = sum(c.cell_type == "code" for c in graded.notebook.cells)
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
            raise NotebookError(f"{graded.path}: the notebook could not be run: "
                                f"{' | '.join(tail)}")
    return Execution(outcomes=outcomes, records=records, notes=notes)


# ------------------------------------------------------------------ reading the run

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


# ------------------------------------------------------------------ 3. collect

def collect(graded: GradedCopy, run: Execution, *, timeout: float = 60) -> NotebookGrade:
    """One grade per exercise: its check's record, if the record carries the check cell's
    token and the cell printed the expected line; else 0 points and the reason."""
    notes = [*graded.notes, *run.notes]
    official = set(graded.check_cell_of.values())
    for k, (status, _) in sorted(run.outcomes.items()):
        if status == "failed" and k not in official:
            notes.append(f"code cell {k} (not a check) raised an error")
    grades = []
    for ex in graded.exercises:
        status, text = run.outcomes.get(graded.check_cell_of[ex.id], ("failed", "not run"))
        mine = [r for r in run.records
                if r.get("token") == graded.tokens[ex.id] and r.get("id") == ex.id]
        if not mine:
            grades.append(ExerciseGrade(ex, 0.0, Status.FAILED,
                                        _failure_reason(text, timeout)))
            continue
        rec = mine[-1]
        recorded = Status(rec["status"])
        if status == "passed" or recorded is not Status.PASSED:
            grades.append(ExerciseGrade(ex, float(rec["points"]), recorded, rec["message"]))
        else:
            grades.append(ExerciseGrade(
                ex, float(rec["points"]), Status.FAILED,
                "the check's line differs from the solved notebook's: "
                + _failure_reason(text, timeout)))
    return NotebookGrade(str(graded.path), tuple(grades), tuple(notes))


def grade_notebook(path, *, solutions=None, timeout: float = 60) -> NotebookGrade:
    """Grade one learner notebook: ``prepare``, ``execute`` and ``collect``."""
    graded = prepare(path, solutions=solutions)
    return collect(graded, execute(graded, timeout=timeout), timeout=timeout)


# ------------------------------------------------------------------ 4. report

def format_report(grade: NotebookGrade) -> str:
    """The table ``grade`` prints for one notebook."""
    rows = [grade.notebook]
    width = max([len(g.exercise.function) for g in grade.exercises] + [8])
    rows.append(f"  {'exercise':<9}{'function':<{width + 2}}{'points':>8}  result")
    for g in grade.exercises:
        pts = f"{fmt_points(g.points)}/{fmt_points(g.exercise.points)}"
        rows.append(f"  {g.exercise.id:<9}{g.exercise.function:<{width + 2}}{pts:>8}  "
                    f"{g.status.mark} {g.message}")
    total = f"{fmt_points(grade.score)}/{fmt_points(grade.max_score)}"
    rows.append(f"  {'total':<9}{'':<{width + 2}}{total:>8}")
    rows.extend(f"  note: {n}" for n in grade.notes)
    return "\n".join(rows)
