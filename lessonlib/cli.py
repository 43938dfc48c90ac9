"""``python -m lessonlib {release,handout,gradescope,grade,feedback,progress,bench,refresh}``:
the workbook's command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .grader import cohort
from .grader.cohort import Graded
from .grader.exercises import NOTEBOOKS, wrap_line
from .grader.grade import TIME_LIMIT, NotebookGrade, format_report
from .grader.notebook_files import NotebookError, solutions_dir
from .grader.release import refresh_solved, release


def _release_and_report(*, check: bool = False, force: bool = False, **kwargs) -> int:
    """Run ``release``, then write the check data beside the learner notebooks
    (``grader.check_data``); print a line per file. 1 when one differs (``check``) or was
    kept (learner edits, or a data file release did not write), 2 on an error."""
    from .grader.check_data import write_check_data  # here: it loads numpy and the checks
    try:
        results = release(check=check, force=force, **kwargs)
        results += write_check_data(check=check, **kwargs)
    except NotebookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for r in results:
        print(f"{r.name}: {r.status}" + (f" ({r.detail})" if r.detail else ""))
    bad = {"differs"} if check else {"kept (learner edits)", "kept (not check data)"}
    return 1 if any(r.status in bad for r in results) else 0


def _cmd_release(args) -> int:
    return _release_and_report(solutions=args.solutions, out=args.out, force=args.force,
                               check=args.check)


def _expand_with_roots(paths) -> list[tuple[Path, Path | None]]:
    """``(file, folder given)`` for each notebook file: a folder is replaced by the notebooks
    under it (sorted; symbolic links to folders are not followed), a file stands for itself
    (``None``); a file named twice is kept once."""
    out, seen = [], set()
    for p in paths:
        if Path(p).is_dir():
            found = [(q, Path(p)) for q in sorted(Path(p).rglob("*.ipynb"))
                     if ".ipynb_checkpoints" not in q.parts]
        else:
            found = [(Path(p), None)]
        for q, root in found:
            if (key := os.path.abspath(q)) not in seen:
                seen.add(key)
                out.append((q, root))
    return out


def _expand(paths) -> list[Path]:
    """Notebook files, with each folder replaced by the notebooks under it (sorted)."""
    return [q for q, _ in _expand_with_roots(paths)]


def _write_csv(path: Path, reports: list[NotebookGrade]) -> None:
    columns = ("id", "kind", "function", "points", "max_points", "passed", "message",
               "mistake", "mistake_description")
    rows = [["notebook", "exercise", *columns[1:]]]
    for r in reports:
        for e in r.exercises:
            row = e.as_dict()
            rows.append([r.notebook] + [row[k] for k in columns])
        rows.append([r.notebook, "total", "", "", r.score, r.max_score, r.passed, "", "", ""])
    cohort.write_csv(path, rows)


def _grade_each(paths, args, *, bar: bool) -> tuple[list[Graded], bool]:
    """Grade ``paths``, ``(file, folder given)`` pairs (``grader.cohort``): the results in
    the order of ``paths``, and whether a file could not be graded (said on stderr).
    ``bar``: a progress bar on a terminal, with the count done, the failures and the time
    left."""
    subs, broken = [], False
    for path, root in paths:
        try:
            subs.append(cohort.submission(path, solutions=args.solutions,
                                          learner=getattr(args, "learner", "folder"),
                                          root=root))
        except NotebookError as err:
            print(f"error: {err}", file=sys.stderr)
            broken = True
    from tqdm import tqdm  # here: the command line starts without it
    progress = tqdm(total=len(subs), unit="notebook", file=sys.stderr,
                    disable=None if bar else True, dynamic_ncols=True)
    failed = 0

    def done(graded: Graded) -> None:
        nonlocal failed
        failed += graded.grade is None or not graded.grade.passed
        progress.set_postfix_str(f"{failed} not passed" + (" (reused)" if graded.reused
                                                            else ""), refresh=False)
        progress.update()

    try:
        results = cohort.grade_cohort(
            subs, jobs=getattr(args, "jobs", None) or os.cpu_count() or 1,
            scheduler=getattr(args, "scheduler", None), results=getattr(args, "results", None),
            solutions=args.solutions, timeout=args.timeout, sandboxed=args.sandboxed,
            seed=getattr(args, "cases", None), on_done=done,
            keys=getattr(args, "keys", True),
            time_limit=getattr(args, "time_limit", None) or TIME_LIMIT)
    finally:
        progress.close()
    for graded in results:
        if graded.error is not None:
            print(f"error: {graded.error}", file=sys.stderr)
            broken = True
    return results, broken


def _write_files(what: str, out, build) -> int:
    """Run ``build()``, which writes files into ``out``, and list them (exit 0), or say why
    it could not (exit 2)."""
    try:
        files = build()
    except NotebookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{what} written to {out}: {len(files)} files")
    print("\n".join(f"  {f}" for f in files))
    return 0


def _cmd_handout(args) -> int:
    from .grader.handout import write_handout  # here: only this command builds a wheel
    return _write_files("handout", args.out, lambda: write_handout(args.out))


def _cmd_gradescope(args) -> int:
    from .grader.gradescope import build_autograder  # here: only this command builds wheels
    return _write_files("Gradescope autograder", args.out, lambda: build_autograder(
        args.out, visibility=args.visibility, notebooks=args.notebooks or NOTEBOOKS))


def _unwritable(files) -> str | None:
    """Why one of the output ``files`` could not be written (its folder is missing, or it is
    a folder), checked before grading so that a typo costs no grading run."""
    for f in files:
        if f is None:
            continue
        if f.is_dir():
            return f"{f} is a folder, not a file to write"
        if not f.parent.is_dir():
            return f"cannot write {f}: no folder {f.parent}"
    return None


def _cmd_grade(args) -> int:
    args.sandboxed = not args.no_sandbox
    if not (args.timeout > 0 and args.time_limit > 0):
        print("error: --timeout and --time-limit must be positive", file=sys.stderr)
        return 2
    missing = [p for p in args.notebooks if not p.exists()]
    why = (f"no such file or folder: {missing[0]}" if missing else
           _unwritable([args.json, args.csv, args.gradebook, args.figure, args.mistakes]))
    if why is None and args.feedback is not None and args.feedback.exists() \
            and not args.feedback.is_dir():
        why = f"--feedback {args.feedback} exists and is not a folder"
    if why is None and args.reveal and args.feedback is None:
        why = "--reveal goes with --feedback DIR"
    if why:
        print(f"error: {why}; nothing graded or written", file=sys.stderr)
        return 2
    paths = _expand_with_roots(args.notebooks)
    if not paths:
        print("error: no notebooks to grade", file=sys.stderr)
        return 2
    results, broken = _grade_each(paths, args, bar=True)
    reports = [g.grade for g in results if g.grade is not None]
    for report in reports:
        print(format_report(report))
    if args.json:
        data = [r.as_dict() for r in reports]
        single = len(args.notebooks) == 1 and not Path(args.notebooks[0]).is_dir()
        out = data[0] if single and data else data
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    if args.csv:
        _write_csv(args.csv, reports)
    graded = [g for g in results if g.grade is not None]
    if args.gradebook:
        header, rows = cohort.gradebook_rows(graded)
        cohort.write_csv(args.gradebook, [header, *rows])
    if args.figure and graded:
        cohort.plot_points(graded, args.figure)
    if args.mistakes:
        header, rows = cohort.mistake_rows(graded)
        cohort.write_csv(args.mistakes, [header, *rows])
    if args.feedback is not None:
        from .grader import feedback
        entries = [feedback.Entry(g.submission.learner, g.submission.notebook,
                                  g.submission.path, g.grade) for g in graded]
        try:
            written = feedback.write_feedback(entries, args.feedback, reveal=args.reveal,
                                              solutions=args.solutions)
        except feedback.FeedbackError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"feedback: {len(written)} reports in {args.feedback}")
    if broken:
        return 2
    return 0 if all(r.passed for r in reports) else 1


def _cmd_feedback(args) -> int:
    from .grader import feedback
    try:
        entries, skipped = feedback.read_grades(args.grades, solutions=args.solutions)
        written = feedback.write_feedback(entries, args.out, reveal=args.reveal,
                                          solutions=args.solutions)
    except feedback.FeedbackError as err:
        print(f"error: {err}; no report written", file=sys.stderr)
        return 2
    for why in skipped:
        print(f"no report (not graded): {why}", file=sys.stderr)
    print(f"{len(written)} reports written to {args.out}")
    print("\n".join(f"  {f}" for f in written))
    return 0


def learners_notebooks(folder: Path) -> list[Path]:
    """The workbook's notebooks a learner works on, from the folder ``progress`` runs in:
    ``NN_name.ipynb`` files there, else in its ``notebooks/`` (a checkout's or a handout's
    layout); none is an error that says where it looked."""
    for place in (folder, folder / "notebooks"):
        found = sorted(place.glob("[0-9][0-9]_*.ipynb"))
        if found:
            return found
    raise FileNotFoundError(
        f"no workbook notebook (such as 01_tuning_process.ipynb) in {folder} or "
        f"{folder / 'notebooks'}: run progress in the folder that holds your notebooks, or "
        "name them")


def _cmd_progress(args) -> int:
    from .grader.progress import progress_of  # here: it loads nbclient
    try:
        paths = _expand(args.notebooks) or learners_notebooks(Path.cwd())
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    found, broken = [], False
    for path in paths:
        try:
            found.append(progress_of(path, timeout=args.timeout))
        except NotebookError as err:
            print(f"error: {err}", file=sys.stderr)
            broken = True
            continue
        for line in found[-1].lines():
            print(wrap_line(line, indent=" " * 8) if line.startswith("      ") else line)
    if len(found) > 1:
        print(f"total: {sum(p.score for p in found):g}/{sum(p.total for p in found):g} points")
    return 2 if broken or any(p.error for p in found) else 0


def _cmd_bench(args) -> int:
    from .bench import run  # here: bench loads numpy, nbclient and the network
    print(run(notebooks=not args.no_notebooks, cohort=args.cohort))
    return 0


def _cmd_refresh(args) -> int:
    paths = args.notebooks or sorted(solutions_dir().glob("*.ipynb"))
    for p in paths:
        print(f"executing {p}")
        refresh_solved(p)
    return _release_and_report(only={Path(p).stem for p in paths})   # what was refreshed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lessonlib",
                                     description="Release and grade the week-3 workbook.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="write the learner notebooks from the solved ones, "
                       "and their check data (notebooks/checks/)")
    p.add_argument("--solutions", type=Path, help="folder of solved notebooks "
                   "(default: instructor/solutions)")
    p.add_argument("--out", type=Path, help="folder for learner notebooks (default: notebooks)")
    p.add_argument("--force", action="store_true", help="replace learner notebooks that have "
                   "edits (each is first copied to NAME.ipynb.bak)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a learner "
                   "notebook or check data file differs from what release would write")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("handout", help="write what a class gets: the learner notebooks, "
                       "the data, a wheel of lessonlib, requirements and a README")
    p.add_argument("out", type=Path, help="a new folder for the handout")
    p.set_defaults(func=_cmd_handout)

    p = sub.add_parser("gradescope", help="write a Gradescope autograder zip: setup.sh, "
                       "run_autograder, the wheels of lessonlib and its instructor side, the "
                       "solved notebooks and the data")
    p.add_argument("out", type=Path, help="a new .zip file")
    p.add_argument("--visibility", choices=("after_published", "visible", "hidden",
                                            "after_due_date"), default="after_published",
                   help="when learners see their results and each test's output (Gradescope's "
                   "visibility; default after_published)")
    p.add_argument("--notebook", dest="notebooks", action="append", choices=NOTEBOOKS,
                   metavar="NAME", help="a notebook the assignment grades (repeatable; "
                   "default: all six), such as 01_tuning_process")
    p.set_defaults(func=_cmd_gradescope)

    p = sub.add_parser("grade", help="grade learner notebooks by re-executing them")
    p.add_argument("notebooks", nargs="+", type=Path,
                   help="notebooks, or folders whose notebooks are all graded")
    p.add_argument("--json", type=Path, help="also write the scores as JSON (an object for "
                   "one notebook, a list for several or a folder)")
    p.add_argument("--csv", type=Path, help="also write one row per exercise and a total row "
                   "per notebook as CSV")
    p.add_argument("--timeout", type=float, default=60, help="seconds allowed per cell and "
                   "per call of a learner's function (default 60)")
    p.add_argument("--time-limit", type=float, default=TIME_LIMIT, metavar="SECONDS",
                   help="wall-clock seconds allowed per submission, however many cells it "
                   f"has (default {TIME_LIMIT:g}); a submission still running then is "
                   "stopped and graded on what finished")
    p.add_argument("--solutions", type=Path, help="folder of solved notebooks")
    p.add_argument("--no-sandbox", action="store_true", help="run the submissions' code "
                   "without the sandbox (grade refuses to when bubblewrap is missing)")
    p.add_argument("--jobs", type=int, help="submissions graded at once on this machine "
                   "(default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="grade on the Dask distributed "
                   "cluster whose scheduler is at ADDRESS (tcp://host:8786)")
    p.add_argument("--results", type=Path, help="a JSON-lines file of results, appended to "
                   "as each submission is graded; a re-run skips what it already holds")
    p.add_argument("--gradebook", type=Path, help="also write one row per learner and a "
                   "column per notebook, with a total, as CSV")
    p.add_argument("--figure", type=Path, help="also draw how the points of each exercise "
                   "spread over the submissions (PNG)")
    p.add_argument("--learner", choices=("folder", "file"), default="folder",
                   help="whose submission a file is: its folder's name (default) or what "
                   "its file name holds besides the notebook's")
    p.add_argument("--cases", type=int, metavar="SEED", help="draw the checks' random cases "
                   "from SEED and each submission's content, so that runs agree (default: "
                   "fresh cases at each grading)")
    p.add_argument("--mistakes", type=Path, metavar="FILE", help="also write, per exercise, "
                   "how many learners made each catalogued mistake, most common first (CSV)")
    p.add_argument("--feedback", type=Path, metavar="DIR", help="also write one HTML report "
                   "per learner and notebook into DIR (as the feedback command does)")
    p.add_argument("--reveal", action="store_true", help="with --feedback: show the "
                   "questions' keys and the exercises' worked solutions")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("feedback", help="write one self-contained HTML report per learner "
                       "and notebook from grades already made",
                       description="Write OUT/<learner>/<notebook>.html for each graded "
                       "submission: the points, the failing check's message and hint, the "
                       "learner's own code; with --reveal the keys and worked solutions. "
                       "Every input is checked before any report is written.")
    p.add_argument("grades", type=Path, metavar="RESULTS_OR_JSON", help="a results file of "
                   "grade --results, or the JSON of grade --json; the submissions it names "
                   "must be unchanged since they were graded")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for the reports (made if missing)")
    p.add_argument("--reveal", action="store_true", help="also show each question's key and "
                   "why, and each exercise's worked solution (needs the instructor side)")
    p.add_argument("--solutions", type=Path, help="folder of solved notebooks")
    p.set_defaults(func=_cmd_feedback)

    p = sub.add_parser("progress", help="which exercises pass, fail or are not attempted "
                       "(runs the notebooks' exercise and check cells; writes nothing)")
    p.add_argument("notebooks", nargs="*", type=Path,
                   help="learner notebooks (default: the NN_name.ipynb notebooks of the "
                   "current folder, else of its notebooks/ folder)")
    p.add_argument("--timeout", type=float, default=60, help="seconds allowed per cell")
    p.set_defaults(func=_cmd_progress)

    p = sub.add_parser("bench", help="speed against PyTorch (optional) and grade against a "
                       "plain run, as printed ratios")
    p.add_argument("--no-notebooks", action="store_true", help="skip the notebook timings")
    p.add_argument("--cohort", type=int, default=0, metavar="N", help="also grade a synthetic "
                   "cohort of N learners x 6 notebooks: one at a time, on every core, and on "
                   "a local Dask cluster")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("refresh", help="maintainers: re-execute solved notebooks, store "
                       "their check lines, then release")
    p.add_argument("notebooks", nargs="*", type=Path)
    p.set_defaults(func=_cmd_refresh)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
