"""Grading a cohort: many submissions, every core or a Dask cluster, nothing graded twice.

``grade_cohort`` grades a list of ``Submission`` (a file, its learner, and a key naming its
content and its solved notebook's) and returns one ``Graded`` per submission, in the order
given, whatever order they finished in:

- ``jobs`` gradings run at once on this machine (each is a process of its own, so threads
  suffice to drive them), or ``scheduler`` names a Dask distributed scheduler whose workers
  have the workbook installed: a submission travels to a worker as its file's bytes (and its
  solved notebook's), and its grade comes back as plain data;
- a ``results`` file (JSON lines) gets one line per submission as soon as it is graded; a
  later run with the same file reuses the lines whose key is unchanged and grades the rest.
  A line is written in one append, and a torn last line (a killed run) is ignored;
- ``cases`` makes the checks' random cases a function of the submission's content: the same
  number, the same cases, so a run with ``jobs=1`` and one with ``jobs=8`` give the same
  grades (without it, every grading draws fresh ones).

A submission is that submission's problem: whatever its file holds, or whatever goes wrong
while grading it, it gets an ``error`` naming its file and the reason, and the others are
graded. Two submissions of the same learner and notebook are an error for both, never one
grade written over the other.

Also the instructor's gradebook: one row per learner (``gradebook_rows``), how many
learners made each catalogued mistake of each exercise (``mistake_rows``), a figure of how
the points of each exercise spread over the cohort (``plot_points``), and CSV files whose
cells no spreadsheet reads as a formula (``write_csv``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import mistakes, sandbox
from .exercises import EXERCISES, NOTEBOOKS, exercises_of
from .grade import TIME_LIMIT, NotebookGrade, find_solved, grade_notebook
from .notebook_files import NotebookError, parse_notebook, solutions_dir, submission_bytes


@dataclass(frozen=True)
class Submission:
    """One notebook to grade: its ``path``, its ``learner``, its workbook ``notebook`` and
    ``key``, a digest of its bytes and of its solved notebook's."""

    path: Path
    learner: str
    notebook: str
    solved: Path
    key: str


@dataclass(frozen=True)
class Graded:
    """A submission's result: its grade, or why it could not be graded (``error``)."""

    submission: Submission
    grade: NotebookGrade | None
    error: str | None = None
    reused: bool = False


def learner_of(path: Path, how: str = "folder", root: Path | None = None) -> str:
    """Whose submission ``path`` is: its folder (``"folder"``), or what its file name holds
    besides the notebook's (``"file"``: ``01_tuning_process-alice.ipynb`` is alice). Under
    a folder ``root`` given to ``grade``, a learner's folder is named by its path from
    ``root`` (``mallory/bob``, not ``bob``), so that no two folders give the same name."""
    path = Path(path)
    if how == "folder":
        if root is not None:
            try:
                rel = path.parent.relative_to(root)
            except ValueError:
                rel = None
            if rel is not None:
                return rel.as_posix() if rel.parts else Path(root).absolute().name
        return path.parent.name or path.absolute().parent.name
    if how == "file":
        stem = path.stem
        for name in sorted(NOTEBOOKS, key=len, reverse=True):
            stem = stem.replace(name, "")
        return re.sub(r"^[-_ .]+|[-_ .]+$", "", stem) or path.stem
    raise ValueError(f"how must be 'folder' or 'file', got {how!r}")


def submission(path, *, solutions=None, learner: str = "folder",
               root: Path | None = None) -> Submission:
    """A ``Submission`` for the notebook at ``path`` (a regular file, not a symbolic link;
    ``root``: the folder it was found in, for ``learner_of``); ``NotebookError`` when it is
    not one of the workbook's."""
    path = Path(path)
    solutions = Path(solutions) if solutions else solutions_dir()
    content = submission_bytes(path)
    solved = find_solved(parse_notebook(content, path), path, solutions)
    digest = hashlib.sha256()
    for part in (content, solved.read_bytes()):
        digest.update(hashlib.sha256(part).digest())
    return Submission(path, learner_of(path, learner, root), solved.stem, solved,
                      digest.hexdigest())


def cases_for(sub: Submission, seed: int | None) -> int | None:
    """The random cases of ``sub``'s checks for a run with ``seed`` (``None``: fresh)."""
    if seed is None:
        return None
    return int(hashlib.sha256(f"{seed}:{sub.key}".encode()).hexdigest()[:15], 16)


# ------------------------------------------------------------------ the results file

def read_results(path) -> dict[str, dict]:
    """The finished lines of a results file, by key (a torn last line is left out)."""
    out: dict[str, dict] = {}
    if path is None or not Path(path).exists():
        return out
    for line in Path(path).read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.endswith("\n"):
            break                               # the run that wrote it was killed
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "key" in record:
            out[record["key"]] = record
    return out


def _append(path: Path, record: dict) -> None:
    """Add one line in one write; first cut off a torn last line, if any."""
    data = (json.dumps(record) + "\n").encode()
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.seek(0)
                text = f.read()
                kept = text.rsplit(b"\n", 1)[0] + b"\n" if b"\n" in text else b""
                f.truncate(0)
                f.write(kept)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _record(sub: Submission, answer: dict) -> dict:
    """A results file's line: the submission and its ``answer`` (``_answer``)."""
    return {"key": sub.key, "path": str(sub.path), "learner": sub.learner,
            "notebook": sub.notebook, **answer}


def _from_record(sub: Submission, record: dict, reused: bool) -> Graded:
    if record.get("grade") is None:
        return Graded(sub, None, record.get("error") or "not graded", reused)
    grade = NotebookGrade.from_dict(record["grade"], record.get("notes", ()))
    return Graded(sub, NotebookGrade(str(sub.path), grade.exercises, grade.notes), None,
                  reused)


# ------------------------------------------------------------------ grading

def _error(path, err: BaseException) -> dict:
    """An answer for a submission that could not be graded: its file and the reason. An
    error of the grader's own (not a ``NotebookError``) is ``again``: not written to the
    results file, so that a re-run grades the submission again."""
    if isinstance(err, NotebookError):
        return {"grade": None, "notes": [], "error": str(err)[:1000]}
    text = f"{path}: not graded: the grader failed on it ({type(err).__name__}: {err})"
    return {"grade": None, "notes": [], "error": text[:1000], "again": True}


def _answer(path: Path, **kwargs) -> dict:
    """``grade_notebook(path, **kwargs)`` as plain data: ``{"grade", "notes", "error"}``;
    whatever goes wrong is this submission's error, never the cohort's."""
    try:
        grade = grade_notebook(path, **kwargs)
    except Exception as err:  # noqa: BLE001 - one submission never stops the others
        return _error(path, err)
    return {"grade": grade.as_dict(), "notes": list(grade.notes), "error": None}


def grade_bytes(filename: str, content: bytes, solved_name: str, solved_content: bytes, *,
                timeout: float, sandboxed: bool, cases: int | None, keys: bool = True,
                time_limit: float = TIME_LIMIT) -> dict:
    """Grade a submission given as bytes, against its solved notebook given as bytes: what a
    Dask worker runs. Returns plain data: ``{"grade": ..., "notes": ..., "error": ...}``."""
    with sandbox.temp_folder("cohort") as tmp:
        sub_dir, sol_dir = Path(tmp, "submission"), Path(tmp, "solutions")
        sub_dir.mkdir()
        sol_dir.mkdir()
        path = sub_dir / Path(filename).name
        path.write_bytes(content)
        (sol_dir / f"{Path(solved_name).name}.ipynb").write_bytes(solved_content)
        answer = _answer(path, solutions=sol_dir, timeout=timeout, sandboxed=sandboxed,
                         cases=cases, keys=keys, time_limit=time_limit)
    if answer["error"]:         # name the file as the instructor knows it, not our copy
        answer["error"] = answer["error"].replace(str(path), filename)
    return answer


def collisions(subs: list[Submission]) -> dict[int, str]:
    """``{index: error}`` for the submissions that share a learner and a notebook with
    another: all of them, since which one is the learner's cannot be told."""
    owners: dict[tuple[str, str], list[int]] = {}
    for i, sub in enumerate(subs):
        owners.setdefault((sub.learner, sub.notebook), []).append(i)
    out = {}
    for (learner, notebook), group in owners.items():
        if len(group) < 2:
            continue
        for i in group:
            others = ", ".join(str(subs[j].path) for j in group if j != i)
            out[i] = (f"{subs[i].path}: not graded: learner {learner!r} has another "
                      f"submission of {notebook} ({others}); which one counts cannot be "
                      "told, so neither is graded: keep one, or name the learner otherwise "
                      "(--learner)")
    return out


def grade_cohort(subs: list[Submission], *, jobs: int = 1, scheduler: str | None = None,
                 results=None, solutions=None, timeout: float = 60, sandboxed: bool = True,
                 seed: int | None = None, on_done=None, keys: bool = True,
                 time_limit: float = TIME_LIMIT) -> list[Graded]:
    """Grade ``subs`` (see the module's doc); ``on_done(graded)`` is called as each one is
    done, reused ones first. Returns the results in the order of ``subs``. ``keys=False``
    reads the questions' answers for their form only (a learner's ``progress``). Each
    submission has ``timeout`` seconds per cell and call, and ``time_limit`` in all."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    done = read_results(results)
    clashes = collisions(subs)
    out: dict[int, Graded] = {}
    todo = []
    for i, sub in enumerate(subs):
        if i in clashes:        # a property of the cohort, not of the file: not recorded
            out[i] = Graded(sub, None, clashes[i])
        elif sub.key in done:
            out[i] = _from_record(sub, done[sub.key], reused=True)
        else:
            todo.append(i)
            continue
        if on_done:
            on_done(out[i])

    def finished(i: int, answer: dict) -> None:
        sub = subs[i]
        record = _record(sub, answer)
        if results is not None and not record.pop("again", False):
            _append(Path(results), record)
        out[i] = _from_record(sub, record, reused=False)
        if on_done:
            on_done(out[i])

    options = {"timeout": timeout, "sandboxed": sandboxed, "keys": keys,
               "time_limit": time_limit}
    if scheduler is not None:
        _on_dask(scheduler, subs, todo, finished, seed=seed, options=options)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_answer, subs[i].path, solutions=solutions,
                                   cases=cases_for(subs[i], seed), **options): i
                       for i in todo}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    answer = future.result()
                except Exception as err:  # noqa: BLE001 - _answer catches all; in case
                    answer = _error(subs[i].path, err)
                finished(i, answer)
    return [out[i] for i in range(len(subs))]


def _on_dask(address: str, subs, todo, finished, *, seed, options: dict) -> None:
    """Grade ``todo`` on the Dask cluster at ``address``; a task lost with its worker is
    run again elsewhere (Dask's retries), and each submission is reported once. Only about
    two submissions per worker thread are sent ahead, so the files this process holds stay
    few, whatever the cohort's size; a task that fails is that submission's error."""
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed
    with Client(address, timeout=60) as client:
        ahead = max(2, 2 * sum(client.nthreads().values()))
        waiting = iter(todo)
        futures: dict = {}

        def send_next():
            for i in waiting:
                sub = subs[i]
                try:
                    content, solved = submission_bytes(sub.path), sub.solved.read_bytes()
                except (NotebookError, OSError) as err:
                    finished(i, _error(sub.path, err))
                    continue
                future = client.submit(
                    grade_bytes, str(sub.path), content, sub.notebook, solved,
                    cases=cases_for(sub, seed), **options,
                    key=f"lessonlib-grade-{i}-{sub.key[:16]}", pure=False, retries=3)
                futures[future] = i
                return future
            return None

        queue = dask_completed([f for f in (send_next() for _ in range(ahead)) if f])
        for future in queue:
            i = futures.pop(future)
            try:
                answer = future.result()
            except Exception as err:  # noqa: BLE001 - its worker died too often, say
                answer = _error(subs[i].path, err)
            future.release()
            finished(i, answer)
            if (nxt := send_next()) is not None:
                queue.add(nxt)


# ------------------------------------------------------------------ CSV files

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """``value`` safe in a spreadsheet: a text that would start a formula (``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe; numbers stay."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(path, rows) -> None:
    """Write ``rows`` (lists of cells) as CSV at ``path``, every cell through ``csv_cell``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([csv_cell(v) for v in row] for row in rows)


# ------------------------------------------------------------------ the gradebook

def gradebook_rows(graded: list[Graded]) -> tuple[list[str], list[list]]:
    """The wide gradebook: a header, then one row per learner (sorted) with the points of
    each notebook they handed in (blank when they did not) and their total."""
    notebooks = [n for n in NOTEBOOKS if any(g.submission.notebook == n for g in graded)]
    by_learner: dict[str, dict[str, float]] = {}
    for g in graded:
        points = g.grade.score if g.grade is not None else 0.0
        scores = by_learner.setdefault(g.submission.learner, {})
        if g.submission.notebook in scores:       # never one grade written over another
            raise ValueError(f"learner {g.submission.learner!r} has two grades of "
                             f"{g.submission.notebook}: {g.submission.path} and another")
        scores[g.submission.notebook] = points
    header = ["learner", *notebooks, "total"]
    maximum = {n: float(sum(e.points for e in exercises_of(n))) for n in notebooks}
    rows = [["(maximum)", *[maximum[n] for n in notebooks], sum(maximum.values())]]
    for learner in sorted(by_learner):
        scores = by_learner[learner]
        rows.append([learner, *[scores.get(n, "") for n in notebooks],
                     round(sum(scores.values()), 2)])
    return header, rows


def mistake_counts(graded: list[Graded]) -> dict[str, list[tuple[str, int, int]]]:
    """For each exercise a graded submission failed with a catalogued mistake (in the
    exercises' order): ``(mistake id, learners who made it, learners graded on the
    exercise)``, most common first (then by id)."""
    made: dict[str, dict[str, set]] = {}
    graded_on: dict[str, set] = {}
    for g in graded:
        if g.grade is None:
            continue
        for e in g.grade.exercises:
            graded_on.setdefault(e.exercise.id, set()).add(g.submission.learner)
            if e.mistake:
                made.setdefault(e.exercise.id, {}).setdefault(e.mistake, set()).add(
                    g.submission.learner)
    return {ex: sorted(((m, len(who), len(graded_on[ex])) for m, who in made[ex].items()),
                       key=lambda row: (-row[1], row[0]))
            for ex in sorted(made, key=lambda ex: EXERCISES[ex].sort_key)}


def mistake_rows(graded: list[Graded]) -> tuple[list[str], list[list]]:
    """The common mistakes as a table: a header, then one row per exercise and catalogued
    mistake, with how many learners made it and their share of the learners graded on that
    exercise; the exercises in order, each one's mistakes most common first."""
    header = ["exercise", "function", "mistake", "description", "learners", "of", "share"]
    rows = [[ex, EXERCISES[ex].function, m, mistakes.describe(m), n, total, round(n / total, 3)]
            for ex, found in mistake_counts(graded).items() for m, n, total in found]
    return header, rows


def points_by_exercise(graded: list[Graded]) -> dict[str, list[float]]:
    """Each exercise's points as a share of its maximum, one per graded submission."""
    shares: dict[str, list[float]] = {}
    for g in graded:
        if g.grade is None:
            continue
        for e in g.grade.exercises:
            shares.setdefault(e.exercise.id, []).append(e.points / e.exercise.points)
    return dict(sorted(shares.items(), key=lambda kv: EXERCISES[kv[0]].sort_key))


def plot_points(graded: list[Graded], path) -> None:
    """A PNG at ``path``: for each exercise, the share of submissions with full, partial and
    no points, hardest (fewest full marks) first, so the hard exercises stand out; an
    exercise's label names its most common catalogued mistake and how many made it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shares = points_by_exercise(graded)
    if not shares:
        raise ValueError("no graded submission to plot")
    rows = sorted(shares.items(), key=lambda kv: sum(s == 1 for s in kv[1]) / len(kv[1]))
    common = {ex: found[0] for ex, found in mistake_counts(graded).items()}
    labels = [f"{i} {EXERCISES[i].function}" + (
        f"\n{common[i][1]}/{common[i][2]} learners: {common[i][0]}" if i in common else "")
        for i, _ in rows]
    full = [sum(s == 1 for s in v) / len(v) for _, v in rows]
    part = [sum(0 < s < 1 for s in v) / len(v) for _, v in rows]
    none = [sum(s == 0 for s in v) / len(v) for _, v in rows]
    fig, ax = plt.subplots(figsize=(8, (0.45 if common else 0.3) * len(rows) + 1.5))
    y = range(len(rows))
    ax.barh(y, full, color="#2a9d8f", label="full points")
    ax.barh(y, part, left=full, color="#e9c46a", label="partial")
    ax.barh(y, none, left=[a + b for a, b in zip(full, part)], color="#e76f51",
            label="no points")
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of the {max(len(v) for _, v in rows)} graded submissions")
    ax.set_title("Points per exercise across the cohort (hardest first)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
