"""The exercise table: every graded exercise of the workbook, its points and its notebook.

A plain table, read without importing numpy or any check, so that ``release`` and the
grader's bookkeeping stay light. Each notebook's checks live in the checks module of the
same name (``checks_module("03_batch_norm")`` is ``lessonlib.grader.checks.batch_norm``);
a test keeps the table and the checks modules in step.

Also the states of an exercise (and of a question's answer) and the one mark of each, used
by the check lines, ``progress`` and ``grade``.
"""

from __future__ import annotations

import enum
import textwrap
from dataclasses import dataclass


class Status(str, enum.Enum):
    """Where an exercise stands (equal to its value, "passed", ...); ``mark`` is the character
    the check line starts with."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"
    ANSWERED = "answered"     # a question's well-formed answer, right or wrong at grading

    @property
    def mark(self) -> str:
        return {"passed": "✓", "failed": "✗", "not attempted": "○", "answered": "✎"}[self.value]


KINDS = ("exercise", "question")


@dataclass(frozen=True)
class Exercise:
    """One graded item: ``id`` like ``"1.1"``, the ``function`` the learner writes.

    ``kind`` is ``"exercise"`` (a function to implement) or ``"question"`` (a concept
    question, answered by a function that returns a letter or a number; its id is
    ``"Q3.1"``). Both are graded, counted and reported alike. ``forbids`` names the
    learner's other functions this one must not call (3.4 asks for the short formula, not
    a call of 3.3's graph walk), with why.
    """

    id: str
    function: str
    points: float
    notebook: str
    kind: str = "exercise"
    forbids: tuple[str, ...] = ()
    forbids_why: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.is_question != self.id.startswith("Q"):
            raise ValueError(f"a question's id starts with 'Q' and only a question's: "
                             f"{self.id!r} is a {self.kind}")

    @property
    def is_question(self) -> bool:
        return self.kind == "question"

    @property
    def label(self) -> str:
        """How a line names it: ``"Exercise 3.1"``, ``"Question 3.1"``."""
        return f"Question {self.id[1:]}" if self.is_question else f"Exercise {self.id}"

    @property
    def sort_key(self) -> tuple[int, ...]:
        """Notebook, then exercises before questions, then the number (1.2 before 1.10)."""
        major, minor = self.id.lstrip("Q").split(".")
        return (int(major), int(self.is_question), int(minor))


NOTEBOOKS = ("01_tuning_process", "02_choosing_scales", "03_batch_norm",
             "04_batch_norm_test_time", "05_softmax_regression", "06_putting_it_together")

EXERCISES: dict[str, Exercise] = {e.id: e for e in (
    Exercise("1.1", "random_search_points", 2, "01_tuning_process"),
    Exercise("1.2", "chance_at_least_one", 1, "01_tuning_process"),
    Exercise("1.3", "shrink_box", 2, "01_tuning_process"),
    Exercise("2.1", "sample_log_uniform", 2, "02_choosing_scales"),
    Exercise("2.2", "sample_ema_beta", 2, "02_choosing_scales"),
    Exercise("3.1", "batchnorm_forward", 2, "03_batch_norm"),
    Exercise("3.2", "recover_gamma_beta", 1, "03_batch_norm"),
    Exercise("3.3", "batchnorm_backward_graph", 2, "03_batch_norm"),
    Exercise("3.4", "batchnorm_backward", 2, "03_batch_norm",
             forbids=("batchnorm_backward_graph",),
             forbids_why="exercise 3.4 asks for the short formula you derived from it"),
    Exercise("3.5", "linear_bn_forward", 1, "03_batch_norm"),
    Exercise("3.6", "linear_bn_backward", 2, "03_batch_norm"),
    Exercise("4.1", "update_running_stats", 2, "04_batch_norm_test_time"),
    Exercise("4.2", "fold_batchnorm", 2, "04_batch_norm_test_time"),
    Exercise("4.3", "layernorm_forward", 2, "04_batch_norm_test_time"),
    Exercise("4.4", "layernorm_backward", 2, "04_batch_norm_test_time"),
    Exercise("5.1", "softmax", 2, "05_softmax_regression"),
    Exercise("5.2", "one_hot", 1, "05_softmax_regression"),
    Exercise("5.3", "cross_entropy_cost", 2, "05_softmax_regression"),
    Exercise("5.4", "softmax_jacobian", 2, "05_softmax_regression"),
    Exercise("5.5", "softmax_backward", 2, "05_softmax_regression"),
    Exercise("5.6", "cross_entropy_from_logits", 2, "05_softmax_regression"),
    Exercise("6.1", "make_search_space", 2, "06_putting_it_together"),
    Exercise("6.2", "evaluate", 2, "06_putting_it_together"),
)} | {q.id: q for q in (
    Exercise("Q1.1", "zoom_pays", 1, "01_tuning_process", "question"),
    Exercise("Q1.2", "panda_raises", 1, "01_tuning_process", "question"),
    Exercise("Q1.3", "band_hit_chances", 1, "01_tuning_process", "question"),
    Exercise("Q2.1", "below_1e3_chance", 1, "02_choosing_scales", "question"),
    Exercise("Q2.2", "long_window_shares", 1, "02_choosing_scales", "question"),
    Exercise("Q2.3", "top_decade_share", 1, "02_choosing_scales", "question"),
    Exercise("Q3.1", "bias_before_batch_norm", 1, "03_batch_norm", "question"),
    Exercise("Q3.2", "adam_update_count", 1, "03_batch_norm", "question"),
    Exercise("Q3.3", "covariate_shift", 1, "03_batch_norm", "question"),
    Exercise("Q3.4", "batch_mean_noise", 1, "03_batch_norm", "question"),
    Exercise("Q4.1", "one_example_batch", 1, "04_batch_norm_test_time", "question"),
    Exercise("Q4.2", "running_average_weight", 1, "04_batch_norm_test_time", "question"),
    Exercise("Q4.3", "start_up_bias", 1, "04_batch_norm_test_time", "question"),
    Exercise("Q5.1", "two_class_softmax", 1, "05_softmax_regression", "question"),
    Exercise("Q5.2", "untrained_cost", 1, "05_softmax_regression", "question"),
    Exercise("Q5.3", "random_start_cost", 1, "05_softmax_regression", "question"),
    Exercise("Q6.1", "tune_first", 1, "06_putting_it_together", "question"),
    Exercise("Q6.2", "two_digit_batch", 1, "06_putting_it_together", "question"),
    Exercise("Q6.3", "accuracy_standard_error", 1, "06_putting_it_together", "question"),
)}


def lecture(notebook: str) -> str:
    """The name a notebook's modules share: ``"03_batch_norm"`` -> ``"batch_norm"``."""
    if notebook not in NOTEBOOKS:
        raise ValueError(f"notebook must be one of {NOTEBOOKS}, got {notebook!r}")
    return notebook.split("_", 1)[1]


def checks_module(notebook: str) -> str:
    """The module holding a notebook's checks: ``lessonlib.grader.checks.<lecture>``."""
    return f"lessonlib.grader.checks.{lecture(notebook)}"


def exercises_of(notebook: str) -> list[Exercise]:
    """The notebook's exercises in order (1.1 before 1.2 before 1.10)."""
    return sorted((e for e in EXERCISES.values() if e.notebook == notebook),
                  key=lambda e: e.sort_key)


def fmt_points(x: float) -> str:
    """Points as the check lines print them: ``2``, ``1.33``."""
    return f"{round(x, 2):g}"


LINE_WIDTH = 100


def wrap_line(text: str, width: int = LINE_WIDTH, indent: str = "  ") -> str:
    """``text`` broken at spaces into lines of at most ``width`` characters (a longer word
    or number stays whole), later lines indented by ``indent``: JupyterLab would otherwise
    wrap a long check line anywhere, in the middle of a number."""
    return textwrap.fill(text, width=width, break_long_words=False, break_on_hyphens=False,
                         subsequent_indent=indent)


def not_attempted_line(exercise: Exercise, reason: str = "") -> str:
    """The line a check prints for a function that still raises ``NotImplementedError``
    (``reason``: why, when it is not the function's own stub)."""
    return (f"{Status.NOT_ATTEMPTED.mark} {exercise.label} {exercise.function}: "
            f"{reason or 'not attempted yet'} (0/{fmt_points(exercise.points)} points)")


def progress_lines(notebook: str, results: dict, exercises: list[Exercise] | None = None,
                   *, title: str | None = None) -> list[str]:
    """Where a learner stands in ``notebook``: a head line, then one line per exercise.

    ``results`` maps exercise ids to ``(Status, points)``; an exercise without a result
    counts as not attempted. ``exercises`` defaults to the notebook's rows of the table;
    ``title`` (default: the notebook's name) is what the head line is about. Used by each
    notebook's closing cell and by ``python -m lessonlib progress``.
    """
    exercises = exercises_of(notebook) if exercises is None else list(exercises)
    if not exercises:
        raise ValueError(f"notebook must name a workbook notebook with exercises, "
                         f"got {notebook!r}")
    width = max(len(e.function) for e in exercises)
    rows, score, ungraded = [], 0.0, False
    done = {kind: [0, 0] for kind in KINDS}     # exercises passed, questions answered
    for e in exercises:
        status, pts = results.get(e.id, (Status.NOT_ATTEMPTED, 0.0))
        score += pts
        ungraded |= status is Status.ANSWERED
        done[e.kind][0] += status is Status.PASSED or (e.is_question
                                                      and status is Status.ANSWERED)
        done[e.kind][1] += 1
        shown = "-" if status is Status.ANSWERED else fmt_points(pts)
        rows.append(f"  {status.mark} {e.id:<5} {e.function:<{width}}  "
                    f"{shown:>4}/{fmt_points(e.points):<3} {status.value}")
    total = sum(e.points for e in exercises)
    verbs = {"exercise": "passed", "question": "answered"}
    counts = " and ".join(f"{n_done}/{n} {kind}s {verbs[kind]}"
                          for kind, (n_done, n) in done.items() if n)
    head = (f"Progress in {title or notebook}: {fmt_points(score)}/{fmt_points(total)} points, "
            f"{counts}" + (" (graded later)" if ungraded else ""))
    return [head, *rows]
