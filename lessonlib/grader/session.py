"""A learner's session: everything a notebook's kernel remembers of the learner's work.

The set-up cell of each notebook creates one and the rest of the notebook passes it on:

    session = Session("01_tuning_process")
    session.watch_cells()                        # optional: notice failed exercise cells
    ...
    check_shrink_box(shrink_box, session)        # a check cell records its result
    shrink = session.choose("1.3", boxes.keep_box)   # an experiment asks whose code to run
    ...
    session.show_progress()                      # the closing cell

It holds the latest result of each exercise's check, the learner's functions whose last
check passed (an experiment runs those, and lessonlib's labelled stand-in otherwise, and
says whose ran), and, once ``watch_cells`` is called, how the latest run of each cell that
defines an exercise's function failed, so that a check never grades a stale definition
silently. Nothing else in lessonlib keeps state between cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from .exercises import EXERCISES, NOTEBOOKS, Status, exercises_of, progress_lines

_DEF = re.compile(r"^[ \t]*def[ \t]+([A-Za-z_]\w*)[ \t]*\(", re.M)


class Choice(NamedTuple):
    """The function an experiment runs, and whose it is (a phrase for the notebook)."""

    fn: Callable
    whose: str
    yours: bool


def defined_in(source: str, functions) -> set[str]:
    """The names of ``functions`` that a cell's ``source`` defines (or tries to)."""
    return {name for name in _DEF.findall(source) if name in functions}


def describe(error: BaseException) -> str:
    """One short line for an exception: ``"SyntaxError: invalid syntax (line 3)"``."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError) and error.lineno:
        text = f"{type(error).__name__}: {error.msg} (line {error.lineno})"
    return " ".join(text.split())[:160]


class Session:
    """One learner's work in the notebook ``notebook`` (e.g. ``"01_tuning_process"``)."""

    def __init__(self, notebook: str):
        if notebook not in NOTEBOOKS:
            raise ValueError(f"notebook must be one of {', '.join(NOTEBOOKS)}, got "
                             f"{notebook!r}")
        self.notebook = notebook
        self.results: dict[str, object] = {}       # exercise id -> its latest CheckResult
        self._passing: dict[str, tuple[str, Callable]] = {}
        self._failed_runs: dict[str, str] = {}     # function name -> how its cell failed
        self._functions = {e.function for e in EXERCISES.values()}
        self.watching = False                      # set by watch_cells

    def __repr__(self) -> str:
        return f"Session({self.notebook!r}: {len(self.results)} checks run)"

    # ---------------------------------------------------------------- checks

    def record(self, result, fn) -> None:
        """After a check of ``result.exercise`` ran on the learner's ``fn``: keep the result,
        and keep ``fn`` for the experiments if it passed (forget it if not)."""
        exercise = result.exercise
        self.results[exercise.id] = result
        if result.passed and callable(fn):
            self._passing[exercise.id] = (exercise.function, fn)
        else:
            self._passing.pop(exercise.id, None)

    def choose(self, exercise: str, stand_in: Callable) -> Choice:
        """The learner's function for ``exercise`` if its last check passed, else
        ``stand_in`` (lessonlib's: its ``whose`` phrase names it), with whose it is."""
        if not callable(stand_in):
            raise TypeError(f"stand_in must be lessonlib's function, got "
                            f"{type(stand_in).__name__}")
        if exercise in self._passing:
            function, fn = self._passing[exercise]
            return Choice(fn, f"your {function}", True)
        whose = getattr(stand_in, "whose", None) or f"lessonlib's {stand_in.__name__}"
        return Choice(stand_in, f"{whose} (exercise {exercise} does not pass yet)", False)

    def answered(self, question: str) -> bool:
        """Whether ``question`` (``"Q3.4"``) has a well-formed answer in this session, that
        is whether its check printed ✎ (or ✓ where right/wrong feedback is on). A cell that
        measures a question's answer runs its measurement only then, so that Run All never
        prints an answer below a question not yet answered; until then this prints what to
        do and returns ``False``."""
        if not (isinstance(question, str) and question in EXERCISES
                and EXERCISES[question].is_question):
            raise ValueError(f"question must be a question's id such as 'Q3.1', got "
                             f"{question!r}")
        status = getattr(self.results.get(question), "status", None)
        if status in (Status.ANSWERED, Status.PASSED):
            return True
        print(f"This cell measures what question {question[1:]} asks: answer the question, "
              "run its check, then run this cell again.")
        return False

    def progress_lines(self) -> list[str]:
        """Where the learner stands in this notebook, from the checks run in the session:
        a head line, then one line per exercise and question (``exercises.progress_lines``)."""
        return progress_lines(self.notebook, {i: (r.status, r.points)
                                              for i, r in self.results.items()},
                              exercises_of(self.notebook))

    def show_progress(self) -> None:
        """Print ``progress_lines()``: the closing cell of each notebook calls this."""
        print("\n".join(self.progress_lines()))

    # ---------------------------------------------------------------- cell runs

    def record_cell_run(self, source: str, error: BaseException | None) -> None:
        """Note one run of a cell: ``error`` is what it raised, or ``None``."""
        for name in defined_in(source, self._functions):
            if error is None:
                self._failed_runs.pop(name, None)
            else:
                self._failed_runs[name] = describe(error)

    def stale_note(self, name: str, *, defined: bool) -> str | None:
        """The line a check prints above its own when the latest run of the cell defining
        ``name`` failed (``defined``: an older definition is still in memory)."""
        error = self._failed_runs.get(name)
        if error is None:
            return None
        what = ("this check ran the previous definition, still in memory" if defined else
                f"{name} is not defined")
        return (f"⚠ The last run of the cell defining {name} failed ({error}): {what}. Fix "
                "the cell and run it again.")

    def watch_cells(self, shell=None) -> None:
        """Follow this kernel's cell runs (``record_cell_run``), and answer a ``NameError``
        of an exercise function with why: its cell failed, or has not run yet. ``shell``:
        the IPython shell (default: the running one). A session created again (the set-up
        cell run twice) takes the watch over from the one before. Outside IPython nothing is
        watched; ``watching`` says which. Returns ``None`` (the set-up cell shows nothing)."""
        if shell is None:
            try:
                from IPython import get_ipython
            except ImportError:
                return
            shell = get_ipython()
        if shell is None or not hasattr(shell, "events"):
            return

        def after_cell(result):
            error = result.error_before_exec or result.error_in_exec
            self.record_cell_run(getattr(result.info, "raw_cell", "") or "", error)

        def undefined_name(shell, etype, value, tb, tb_offset=None):
            name = getattr(value, "name", None)
            note = None
            if name in self._functions:
                note = self.stale_note(name, defined=False) or (
                    f"⚠ {name} is not defined yet: run the exercise cell that defines it "
                    "(above), then this cell again.")
            if note is None:
                return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            print(note)
            return None

        previous = getattr(shell, "_lessonlib_watch", None)
        if previous is not None:
            try:
                shell.events.unregister("post_run_cell", previous)
            except ValueError:
                pass
        shell.events.register("post_run_cell", after_cell)
        shell.set_custom_exc((NameError,), undefined_name)
        shell._lessonlib_watch = after_cell
        self.watching = True
