"""``feedback``: one self-contained HTML report per learner and notebook, from grades.

The grades come from ``grade --results`` (a JSON-lines file: each line names its submission,
its learner and a key of its content) or from ``grade --json`` (an object or a list). A
report shows each exercise's and question's points, the failing sub-check's message and
hint, the catalogued mistake made, and the learner's own code of the exercise, read from the
submission; with ``reveal``, each question's key and why, and each exercise's worked
solution from the solved notebook (its exercise cell without the solution markers, and its
``worked`` cells). Everything the submission holds is HTML-escaped; a report loads nothing
(no script, no external style or font).

Every input is checked before anything is written: a missing file, a submission changed
since it was graded (or a results file of another run), a notebook or exercise the workbook
does not know are a ``FeedbackError`` and no report is written.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import mistakes
from .exercises import NOTEBOOKS, fmt_points
from .grade import NotebookGrade
from .notebook_files import (
    BEGIN,
    END,
    NotebookError,
    cell_info,
    read_notebook,
    read_submission,
    solutions_dir,
)


class FeedbackError(Exception):
    """Grades that cannot be turned into feedback, with the reason."""


@dataclass(frozen=True)
class Entry:
    """One learner's graded notebook: what a report is written from."""

    learner: str
    notebook: str          # the workbook notebook, "05_softmax_regression"
    path: Path             # the submission
    grade: NotebookGrade


# ------------------------------------------------------------------ reading the grades

def _entry_from(data: dict, where: str, *, learner: str, path: Path, notebook: str) -> Entry:
    if notebook not in NOTEBOOKS:
        raise FeedbackError(f"{where}: unknown notebook {notebook!r} (the workbook's are "
                            f"{', '.join(NOTEBOOKS)})")
    try:
        grade = NotebookGrade.from_dict(data)
    except (KeyError, ValueError, TypeError) as err:
        raise FeedbackError(f"{where}: not a grade of this workbook ({type(err).__name__}: "
                            f"{err})") from None
    foreign = [g.exercise.id for g in grade.exercises if g.exercise.notebook != notebook]
    if foreign:
        raise FeedbackError(f"{where}: exercise {foreign[0]} is not one of {notebook}'s")
    return Entry(learner, notebook, path, grade)


def read_grades(source, *, solutions=None) -> tuple[list[Entry], list[str]]:
    """The graded notebooks of ``source`` (a results file, or ``grade --json``'s output),
    each checked against its submission as it is now; and the submissions it holds no grade
    of (their errors). Raises ``FeedbackError`` on anything that does not fit."""
    from .cohort import learner_of, submission  # here: cohort's imports are not needed above
    source = Path(source)
    if not source.is_file():
        raise FeedbackError(f"{source}: no such file (give a results file of grade "
                            "--results, or the JSON of grade --json)")
    text = source.read_text(encoding="utf-8", errors="replace")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    entries, skipped = [], []
    if isinstance(whole, (dict, list)) and not (isinstance(whole, dict) and "key" in whole):
        for i, data in enumerate(whole if isinstance(whole, list) else [whole]):
            where = f"{source}: grade #{i + 1}"
            if not isinstance(data, dict) or "notebook" not in data:
                raise FeedbackError(f"{where}: not a grade of grade --json")
            path = Path(str(data["notebook"]))
            try:
                notebook = submission(path, solutions=solutions).notebook
            except NotebookError as err:
                raise FeedbackError(f"{where}: {err}") from None
            entries.append(_entry_from(data, where, learner=learner_of(path), path=path,
                                       notebook=notebook))
        return entries, skipped
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise FeedbackError(f"{source}: empty: no grade to give feedback on")
    for n, line in enumerate(lines, 1):
        where = f"{source}, line {n}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise FeedbackError(f"{where}: not JSON (neither a results file nor grade "
                                "--json's output)") from None
        if not isinstance(record, dict) or not {"key", "path", "learner",
                                                 "notebook"} <= set(record):
            raise FeedbackError(f"{where}: not a line of a results file of grade --results")
        if record.get("grade") is None:
            skipped.append(f"{record['path']}: {record.get('error') or 'not graded'}")
            continue
        path = Path(str(record["path"]))
        try:
            now = submission(path, solutions=solutions)
        except NotebookError as err:
            raise FeedbackError(f"{where}: {err}") from None
        if now.key != record["key"]:
            raise FeedbackError(f"{where}: {path} is not the file that was graded (it "
                                "changed since, or the results file is of another run or "
                                "other solutions): grade it again")
        entries.append(_entry_from(record["grade"], where, learner=str(record["learner"]),
                                   path=path, notebook=str(record["notebook"])))
    return entries, skipped


# ------------------------------------------------------------------ the cells

def _cells(nb, role: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cell in nb.cells:
        info = cell_info(cell)
        if info.get("role") == role and info.get("exercise"):
            out.setdefault(info["exercise"], []).append(cell.source)
    return out


def _solution(source: str) -> str:
    """A solved exercise cell as a worked solution: its code, the solution markers left out
    (the signature and docstring stay, for context)."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in (BEGIN, END))


@dataclass(frozen=True)
class Revealed:
    """What ``reveal`` adds: the questions' keys and the solved notebooks' solutions."""

    keys: dict
    solutions: Path


# ------------------------------------------------------------------ the report

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       color: #222; }
section { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 1em; margin: 1em 0; }
section.passed { border-left: 6px solid #2a9d8f; }
section.failed { border-left: 6px solid #e76f51; }
section.not_attempted, section.answered { border-left: 6px solid #aaa; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
.points { float: right; font-weight: bold; }
.mistake { color: #9b2226; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def render(entry: Entry, learner_code: dict[str, list[str]],
           revealed: Revealed | None = None, solved=None) -> str:
    """The HTML report of ``entry``: ``learner_code`` is the submission's exercise cells by
    exercise; ``revealed`` and the ``solved`` notebook add the keys and solutions."""
    g = entry.grade
    solved_code = _cells(solved, "exercise") if solved is not None else {}
    worked = _cells(solved, "worked") if solved is not None else {}
    body = [f"<h1>{_e(entry.notebook)}: {_e(fmt_points(g.score))}/"
            f"{_e(fmt_points(g.max_score))} points</h1>",
            f"<p>Learner: {_e(entry.learner)}</p>"]
    for e in g.exercises:
        ex = e.exercise
        kind = "Question" if ex.is_question else "Exercise"
        body.append(f'<section class="{_e(e.status.value)}" id="{_e(ex.id)}">')
        body.append(f'<h2>{kind} {_e(ex.id)} <code>{_e(ex.function)}</code>'
                    f'<span class="points">{_e(fmt_points(e.points))}/'
                    f'{_e(fmt_points(ex.points))}</span></h2>')
        body.append(f"<p>{_e(e.status.mark)} {_e(e.status.value.replace('_', ' '))}: "
                    f"{_e(e.message)}</p>")
        if e.mistake:
            body.append(f'<p class="mistake">A classic mistake: '
                        f"{_e(mistakes.describe(e.mistake) or e.mistake)}.</p>")
        code = "\n\n".join(learner_code.get(ex.id, []))
        body.append("<h3>Your code</h3>" + (f"<pre>{_e(code)}</pre>" if code.strip()
                                            else "<p>(no cell of this exercise found)</p>"))
        if revealed is not None:
            if ex.is_question and ex.id in revealed.keys:
                key = revealed.keys[ex.id]
                body.append(f"<h3>The answer</h3><p>{_e(key.answer)}. Why: {_e(key.why)}</p>")
            elif ex.id in solved_code:
                body.append("<h3>A worked solution</h3>"
                            + "".join(f"<pre>{_e(_solution(s))}</pre>"
                                      for s in solved_code[ex.id]))
            body.extend(f"<pre>{_e(s)}</pre>" for s in worked.get(ex.id, []))
        body.append("</section>")
    if g.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in g.notes)
                    + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(entry.learner)}: {_e(entry.notebook)}</title>"
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "learner"


def write_feedback(entries: list[Entry], out, *, reveal: bool = False,
                   solutions=None) -> list[Path]:
    """Write ``out/<learner>/<notebook>.html`` for each entry; every submission is read and
    every report built before the first is written. Returns the files written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FeedbackError(f"{out}: exists and is not a folder")
    solutions = Path(solutions) if solutions else solutions_dir()
    revealed = None
    if reveal:
        from .instructor import InstructorSideMissing, question_keys
        try:
            revealed = Revealed(question_keys(), solutions)
        except InstructorSideMissing as err:
            raise FeedbackError(str(err)) from None
    reports: dict[Path, str] = {}
    for entry in entries:
        target = out / _safe(entry.learner) / f"{entry.notebook}.html"
        if target in reports:
            raise FeedbackError(f"two grades of {entry.notebook} for learner "
                                f"{entry.learner!r} (or learners whose names read alike): "
                                f"{entry.path} and another")
        try:
            code = _cells(read_submission(entry.path), "exercise")
            solved = read_notebook(solutions / f"{entry.notebook}.ipynb") if reveal else None
        except NotebookError as err:
            raise FeedbackError(str(err)) from None
        reports[target] = render(entry, code, revealed, solved)
    for target, text in reports.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return list(reports)

