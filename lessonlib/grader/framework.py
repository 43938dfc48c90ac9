"""The check framework behind every check cell.

A check runs the learner's function on fixed and random cases and on the classic mistakes
of its topic, always on copies of the inputs, with the function's own printing captured so
the check's output is one stable line (wrapped at word boundaries to 100 characters):

    ✓ Exercise 1.1 random_search_points: 6/6 checks passed (2/2 points)
    ✗ Exercise 1.1 random_search_points: <what failed>. Hint: <hint> (4/6 checks, 0.82/2 points)
    ○ Exercise 1.1 random_search_points: not attempted yet (0/2 points)

Partial credit is the exercise's points times the weighted share of sub-checks passed
(``weighted``: the mistakes a notebook stresses weigh most), and the heaviest failure is
the one reported. The
exercises themselves (ids, functions, points) are the table of ``grader.exercises``. The
same checks award the points of ``grade``, run in a trusted process of their own
(``grader.trusted``), not in the learner's kernel.

A check's expected values come from ``ck.ref`` (``grader.oracle``): lessonlib's references
when the tests, ``release`` or the trusted grader evaluate it (``check.evaluate``), and the
notebook's check data, which ``release`` precomputed, in a check cell.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core import stand_ins
from . import mistakes as catalogue
from . import oracle
from .exercises import Exercise, Status, fmt_points, not_attempted_line, wrap_line


class CheckFailure(Exception):
    """A sub-check found the learner's function wrong: ``message`` and a ``hint``, and
    ``mistake``, the id of the catalogued mistake it made (``grader.mistakes``), if any: by
    default the one the hint names (``mistakes.named``)."""

    def __init__(self, message: str, hint: str = "", mistake: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.mistake = getattr(hint, "mistake", "") if mistake is None else mistake
        if self.mistake and self.mistake not in catalogue.CATALOGUE:
            raise KeyError(f"{self.mistake!r} is not a catalogued mistake")


class NotAttempted(Exception):
    """The learner's function still raises ``NotImplementedError``; ``reason``, when
    given, says why in place of "not attempted yet" (a dependency not written yet)."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


@dataclass
class CheckResult:
    """What one check found; ``line`` is what the check cell prints."""

    exercise: Exercise
    status: Status
    passed_checks: int
    total_checks: int
    points: float
    message: str
    line: str
    failures: list = field(default_factory=list)
    mistake: str = ""              # the catalogued mistake made (``grader.mistakes``), if any

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b,
                                                                           equal_nan=True)
    if isinstance(a, (list, tuple, dict)):
        try:
            return a == b
        except ValueError:           # a container of arrays
            return all(_same(x, y) for x, y in zip(a, b)) and len(a) == len(b)
    return True                      # scalars and generators cannot be changed in place


class Checker:
    """Calls the learner's function safely on behalf of the sub-checks.

    ``exercise_id`` names the exercise whose lessonlib answers are off limits while the
    function runs (``core.stand_ins``; a sub-check's own ``Checker`` of a learner's helper
    passes on ``ck.exercise_id``). ``ref`` is where the sub-checks find the reference
    answers (``grader.oracle``): ``ck.ref.softmax(Z)``.
    """

    def __init__(self, fn, context: dict | None = None, exercise_id: str | None = None,
                 ref=None):
        self.fn = fn
        self.context = context or {}
        self.exercise_id = exercise_id
        self.ref = ref
        self.notes: list[str] = []     # said after the line (``note``)

    def note(self, text: str) -> None:
        """Say ``text`` once after the check's line (how the check treated a dependency)."""
        if text not in self.notes:
            self.notes.append(text)

    def call(self, *args, **kwargs):
        """Call the learner's function on copies of the arguments.

        Its printing and warnings are captured, ``NotImplementedError`` means "not attempted
        yet", any other exception, any change to an argument in place and any call of
        lessonlib's own answer to the exercise is a failure.
        """
        args_copy = copy.deepcopy(args)
        kwargs_copy = {k: (v if isinstance(v, np.random.Generator) else copy.deepcopy(v))
                       for k, v in kwargs.items()}
        sink = io.StringIO()
        error = None
        with stand_ins.checking(self.exercise_id) as called:
            try:
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                        warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    out = self.fn(*args_copy, **kwargs_copy)
            except stand_ins.OffLimits:
                out = None
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as err:  # noqa: BLE001 - any learner error becomes a failure
                error = err
        if called:
            raise CheckFailure(f"your function called lessonlib's {called[0]}",
                               "write it yourself: lessonlib's own answer earns no points")
        if isinstance(error, NotImplementedError):
            raise NotAttempted() from error
        if error is not None:
            raise CheckFailure(f"raised {type(error).__name__}: {_short(str(error))} when "
                               f"called with {describe_call(self.fn, args, kwargs)}",
                               "call it yourself on inputs of these shapes and read the "
                               "traceback") from error
        for i, (orig, passed) in enumerate(zip(args, args_copy)):
            if not _same(orig, passed):
                raise CheckFailure(f"changed its argument #{i + 1} in place",
                                   "work on a copy (or build a new array) instead of "
                                   "writing into the inputs")
        for k, v in kwargs.items():
            if not isinstance(v, np.random.Generator) and not _same(v, kwargs_copy[k]):
                raise CheckFailure(f"changed its argument {k}= in place",
                                   "work on a copy instead of writing into the inputs")
        return out


def describe_call(fn, args: tuple, kwargs: dict) -> str:
    """The arguments of a failing call, short: each by its parameter's name where ``fn``'s
    signature gives one, an array by its shape (and its values when it has at most 6)."""
    try:
        signature = inspect.signature(fn)
        if any(p.kind is p.VAR_POSITIONAL for p in signature.parameters.values()):
            raise TypeError("no names for *args")
        named = dict(signature.bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        named = {**{f"argument #{i + 1}": a for i, a in enumerate(args)}, **kwargs}

    def one(value) -> str:
        if isinstance(value, np.random.Generator):
            return "a Generator"
        if isinstance(value, np.ndarray):
            return (fmt_array(value) if value.size <= 6 and value.ndim == 1
                    else f"shape {value.shape}" + (f" {fmt_array(value.ravel())}"
                                                   if value.size <= 6 else ""))
        if isinstance(value, (tuple, list, dict)):
            return f"a {type(value).__name__} of {len(value)}"
        return _short(repr(value), 40)
    return ", ".join(f"{k}={one(v)}" for k, v in named.items()) or "no arguments"


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def fmt_array(a, digits: int = 4) -> str:
    """A short, stable text for an array or a number (no raw numpy repr in check lines)."""
    if a is None:
        return "None"
    arr = np.asarray(a)
    if arr.dtype == object:
        return _short(repr(a), 60)
    if arr.ndim == 0:
        return f"{arr.item():.{digits}g}" if arr.dtype.kind in "fc" else str(arr.item())
    flat = arr.ravel()
    body = ", ".join(f"{x:.{digits}g}" for x in flat[:6]) + (", ..." if flat.size > 6 else "")
    return f"[{body}]" if arr.ndim == 1 else f"array of shape {arr.shape} [{body}]"


_CASES = {"fresh": None}


def case_rng(seed: int) -> np.random.Generator:
    """The generator of a check's random case number ``seed``.

    In a notebook the cases are the same on every run, so the check lines are stable; a
    trusted grading run draws fresh ones (``fresh_cases``), so answers hard-coded for the
    cases a learner has seen earn nothing there.
    """
    fresh = _CASES["fresh"]
    return np.random.default_rng(seed if fresh is None else [seed, fresh])


def derived_in_time(call, case: str, budget: float, why: str):
    """``call()`` (the learner's function on a case too large to measure gradients on),
    failing with the hint ``why`` when it does not return within the grader's per-call limit
    or takes more than ``budget`` seconds here: a derived backward pass answers in
    milliseconds, finite differences of the forward pass cannot. ``case`` starts the
    message ("on a (6, 40,000) batch")."""
    start = time.perf_counter()
    try:
        out = call()
    except CheckFailure as f:
        if "did not return within" in f.message:
            raise CheckFailure(f"{case} {f.message}", why) from None
        raise
    require(time.perf_counter() - start <= budget, f"{case} your function took more than "
            f"{budget:g} s, which is ample for a derived backward pass", why)
    return out


def shown(seed: int, case, fresh):
    """A case the notebook shows: ``case`` in a notebook; when grading with fresh cases, a
    case of the same kind the learner has not seen, ``fresh(case_rng(seed))``, so that answers
    memorised for the shown cases earn nothing there."""
    return case if fixed_cases() else fresh(case_rng(seed))


def fixed_cases() -> bool:
    """Whether the checks draw the notebooks' fixed cases (``fresh_cases`` is ``None``)."""
    return _CASES["fresh"] is None


def fresh_cases(entropy: int | None) -> None:
    """From now on, draw the checks' random cases from ``entropy`` (``None``: the fixed
    cases of the notebooks)."""
    _CASES["fresh"] = None if entropy is None else int(entropy)


def require(condition: bool, message: str, hint: str = "",
            mistake: str | None = None) -> None:
    """Fail the current sub-check with ``message`` and ``hint`` unless ``condition``;
    ``mistake`` names the catalogued mistake (default: the one ``hint`` names, if any)."""
    if not condition:
        raise CheckFailure(message, hint, mistake)


def require_array(value, name: str, shape: tuple | None = None) -> np.ndarray:
    """The learner's output as a finite float array of ``shape``, or a clear failure."""
    if value is None:
        raise CheckFailure(f"returned None instead of {name}",
                           "end the function with a return statement")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailure(f"returned {type(value).__name__} instead of {name} "
                           "(an array of numbers)") from None
    if shape is not None and arr.shape != tuple(shape):
        raise CheckFailure(f"returned {name} of shape {arr.shape}, expected {tuple(shape)}",
                           "check the order of the axes")
    if not np.all(np.isfinite(arr)):
        raise CheckFailure(f"returned {name} containing NaN or infinity")
    return arr




def weighted(weight: float):
    """Give a sub-check its ``weight`` in the exercise's points (default 1): the mistakes
    a notebook stresses weigh most, a slip in a secondary output little. Use as a
    decorator, ``@weighted(3)``, or ``weighted(3)(sub)``."""
    if not weight > 0:
        raise ValueError(f"weight must be positive, got {weight!r}")

    def mark(sub):
        sub.weight = float(weight)
        return sub
    return mark


def _weight(sub) -> float:
    return float(getattr(sub, "weight", 1.0))


def evaluate(exercise: Exercise, subchecks, fn, context: dict | None = None,
             ref=None) -> CheckResult:
    """Run every sub-check on ``fn``; all count for credit, in proportion to their
    weights (``weighted``), and the heaviest failure is reported (the first of equals).

    ``context`` holds the learner's other functions a check may use (e.g. ``forward=``);
    the sub-checks find it as ``ck.context``. ``ref`` gives the reference answers (default:
    lessonlib's own, ``oracle.reference_namespace()``). Check data that cannot answer
    (``oracle.CheckDataError``) is raised, never reported as the learner's failure.
    """
    total = len(subchecks)
    max_pts = fmt_points(exercise.points)
    head = f"{exercise.label} {exercise.function}"
    if not callable(fn):
        msg = f"expected the function {exercise.function}, got {type(fn).__name__}"
        line = f"{Status.FAILED.mark} {head}: {msg} (0/{total} checks, 0/{max_pts} points)"
        return CheckResult(exercise, Status.FAILED, 0, total, 0.0, msg, line, [msg])
    ck = Checker(fn, context, exercise.id, oracle.reference_namespace() if ref is None else ref)
    failures: list[tuple[str, str, float, str]] = []
    passed, earned = 0, 0.0
    for sub in subchecks:
        try:
            sub(ck)
        except NotAttempted as waiting:
            line = not_attempted_line(exercise, waiting.reason)
            return CheckResult(exercise, Status.NOT_ATTEMPTED, 0, total, 0.0,
                               waiting.reason or "not attempted yet", line)
        except CheckFailure as f:
            failures.append((f.message, f.hint, _weight(sub), f.mistake))
        except (KeyboardInterrupt, SystemExit, oracle.CheckDataError):
            raise
        except Exception as err:  # noqa: BLE001 - an odd return value broke a comparison
            failures.append((f"returned something the check could not use "
                             f"({type(err).__name__}: {_short(str(err), 80)})",
                             "compare what you return with the docstring", _weight(sub), ""))
        else:
            passed += 1
            earned += _weight(sub)
    points = round(exercise.points * earned / sum(_weight(sub) for sub in subchecks), 2)
    notes = "".join(f"; {n}" for n in ck.notes)
    if not failures:
        line = (f"{Status.PASSED.mark} {head}: {passed}/{total} checks passed{notes} "
                f"({max_pts}/{max_pts} points)")
        return CheckResult(exercise, Status.PASSED, passed, total, exercise.points,
                           f"{passed}/{total} checks passed{notes}", line)
    message, hint, _, mistake = max(failures, key=lambda f: f[2])  # the first of the heaviest
    if not mistake:     # the reported failure names none: the heaviest failure that does
        mistake = next((f[3] for f in sorted(failures, key=lambda f: -f[2]) if f[3]), "")
    text = _sentence(message) + (f" Hint: {_sentence(hint)}" if hint else "") \
        + "".join(f" Note: {_sentence(n)}" for n in ck.notes)
    line = (f"{Status.FAILED.mark} {head}: {text} ({passed}/{total} checks passed, "
            f"{fmt_points(points)}/{max_pts} points)")
    return CheckResult(exercise, Status.FAILED, passed, total, points, text, line,
                       [f[0] for f in failures], mistake)


def _sentence(text: str) -> str:
    """``text`` ending with one full stop (or its own question mark)."""
    text = text.rstrip(".")
    return text if text.endswith("?") else text + "."


def names_used(fn) -> set[str]:
    """The global and enclosing names the code of ``fn`` (and of the functions nested in
    it) refers to."""
    code = getattr(getattr(fn, "__wrapped__", fn), "__code__", None)
    names, todo = set(), [code] if code is not None else []
    while todo:
        code = todo.pop()
        names.update(code.co_names, code.co_freevars)
        todo.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return names


def forbidden_call(exercise: Exercise, names) -> CheckResult | None:
    """The failing result of ``exercise`` when the learner's function uses one of the
    ``names`` it must not call (``Exercise.forbids``), else ``None``."""
    called = sorted(set(exercise.forbids) & set(names))
    if not called:
        return None
    text = (f"your {exercise.function} calls your {called[0]}. Hint: "
            f"{exercise.forbids_why.rstrip('.')}.")
    line = (f"{Status.FAILED.mark} {exercise.label} {exercise.function}: {text} "
            f"(0/{fmt_points(exercise.points)} points)")
    return CheckResult(exercise, Status.FAILED, 0, 1, 0.0, text, line, [text])


def _checker(exercise: Exercise, evaluate_fn, cell_evaluate=None):
    """The check function of ``exercise``: ``check(fn, session, **context)`` prints one
    line and records the result in the learner's ``session`` (``grader.session``: its
    progress, and a passing ``fn`` for the experiments). The check cell evaluates with
    ``cell_evaluate`` (default: ``evaluate_fn``)."""
    def check(fn, session=None, **context) -> None:
        result = forbidden_call(exercise, names_used(fn)) \
            or (cell_evaluate or evaluate_fn)(fn, **context)
        if session is not None:
            session.record(result, fn)
            note = session.stale_note(exercise.function, defined=True)
            if note:
                print(wrap_line(note))
        print(wrap_line(result.line))

    check.evaluate = evaluate_fn
    check.exercise = exercise
    check.__name__ = f"check_{exercise.function}"
    check.__doc__ = (f"Check {exercise.label.lower()} ({exercise.function}, "
                     f"{fmt_points(exercise.points)} points), print one line and record it "
                     "in the session.")
    return check


def make_check(exercise: Exercise, subchecks):
    """The check of ``exercise``: ``check(fn, session, **context)`` runs ``subchecks`` on
    ``fn`` and prints one line. The session keeps a passing ``fn`` for the experiments that
    follow (``session.choose``); a failing one makes them use lessonlib's again.

    The check cell takes the reference answers from the notebook's check data
    (``oracle.replay_for``). The returned function also has ``.evaluate(fn, *, ref=None,
    **context) -> CheckResult``, with lessonlib's references unless ``ref`` says otherwise
    (the tests, ``release`` and the trusted grader use it), and ``.exercise``.
    """
    subchecks = list(subchecks)
    _evaluate = evaluate

    def evaluate_fn(fn, *, ref=None, **context):
        return _evaluate(exercise, subchecks, fn, context, ref)

    def in_cell(fn, **context):
        if not fixed_cases():
            raise oracle.CheckDataError("the check data holds a notebook's fixed cases, not "
                                        "fresh ones: evaluate with lessonlib's references")
        return evaluate_fn(fn, ref=oracle.replay_for(exercise.notebook), **context)

    check = _checker(exercise, evaluate_fn, in_cell)
    check.subchecks = tuple(subchecks)
    return check


# ------------------------------------------------------------------ concept questions

def _as_parts(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _read_choice(got, choices: str):
    """The learner's letter, lower-cased, or ``None`` when it is not one of ``choices``."""
    letter = got.strip().strip("()").lower() if isinstance(got, str) else ""
    return letter if len(letter) == 1 and letter in choices else None


def _read_number(got):
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.number)):
        return None
    return float(got) if np.isfinite(float(got)) else None


def _answer_form(choices: str | None, parts: int) -> tuple[str, str]:
    """What a question's answer must look like, and an example of that form."""
    form = f"one of the letters {', '.join(choices)}" if choices else "a number"
    example = "'b'" if choices else "0.25"
    if parts > 1:
        form, example = f"a tuple of {parts} answers, each {form}", \
            "(" + ", ".join([example] * parts) + ")"
    return form, example


def _shown(choices: str | None, values) -> str:
    return ", ".join(f"({v})" if choices else f"{v:.4g}" for v in values)


def _read_answer(exercise: Exercise, fn, *, choices: str | None, parts: int):
    """The parts of the answer ``fn()`` returns, read in the question's form, or the
    ``CheckResult`` of an answer that is missing or not of that form."""
    max_pts = fmt_points(exercise.points)
    head = f"{exercise.label} {exercise.function}"

    def malformed(message, hint):
        text = f"{message}. Hint: {hint}."
        return CheckResult(exercise, Status.FAILED, 0, parts, 0.0, text,
                           f"{Status.FAILED.mark} {head}: {text} (0/{max_pts} points)", [text])

    if not callable(fn):
        return malformed(f"expected the function {exercise.function}, got "
                         f"{type(fn).__name__}", "answer inside the function's body")
    try:
        got = Checker(fn).call()
    except NotAttempted:
        return CheckResult(exercise, Status.NOT_ATTEMPTED, 0, parts, 0.0,
                           "not attempted yet", not_attempted_line(exercise))
    except CheckFailure as f:
        return malformed(f.message, "the function takes no argument and returns the answer")
    form, example = _answer_form(choices, parts)
    got_parts = _as_parts(got) if parts > 1 else (got,)
    read = tuple((_read_choice(g, choices) if choices else _read_number(g)) for g in got_parts)
    if len(read) != parts or any(r is None for r in read):
        return malformed(f"returned {_short(repr(got), 60)}, expected {form}",
                         f"return the answer as {example}")
    return read


def evaluate_answer(exercise: Exercise, fn, *, choices: str | None = None,
                    parts: int = 1) -> CheckResult:
    """What a learner's own check cell says of a question: whether ``fn()`` answers in the
    question's form (a letter of ``choices``, or a number; a tuple of ``parts`` of them),
    and that the answer is recorded. Whether it is right comes with grading
    (``grade_answer``): the key is not here, and a right-or-wrong reply could be tried
    letter by letter."""
    read = _read_answer(exercise, fn, choices=choices, parts=parts)
    if isinstance(read, CheckResult):
        return read
    points = fmt_points(exercise.points)
    noun = "point" if exercise.points == 1 else "points"
    text = f"answered {_shown(choices, read)}"
    return CheckResult(exercise, Status.ANSWERED, 0, parts, 0.0, text,
                       f"{Status.ANSWERED.mark} {exercise.label} {exercise.function}: {text}; "
                       f"right or wrong comes with grading ({points} {noun})")


def _key_parts(exercise: Exercise, key, *, choices: str | None, parts: int) -> tuple:
    want = _as_parts(key.answer)
    ok = len(want) == parts and all(
        (isinstance(w, str) and len(w) == 1 and w in choices) if choices
        else _read_number(w) is not None for w in want)
    if not ok:
        form, _ = _answer_form(choices, parts)
        raise ValueError(f"the key of {exercise.id}, {key.answer!r}, is not {form}")
    return want


def grade_answer(exercise: Exercise, key, fn, *, choices: str | None = None,
                 parts: int = 1) -> CheckResult:
    """Grade the answer ``fn()`` returns against ``key`` (its ``answer``, ``why`` and
    ``rel_tol``; the instructor side's, read by the trusted grader alone).

    One part each of a tuple gives partial credit. A wrong answer is told the right one and
    why; an answer of the wrong form is told the form only (``evaluate_answer``).
    """
    want = _key_parts(exercise, key, choices=choices, parts=parts)
    read = _read_answer(exercise, fn, choices=choices, parts=parts)
    if isinstance(read, CheckResult):
        return read
    max_pts = fmt_points(exercise.points)
    head = f"{exercise.label} {exercise.function}"
    right = sum((r == w) if choices else
                math.isclose(r, w, rel_tol=key.rel_tol, abs_tol=1e-12)
                for r, w in zip(read, want))
    if right == parts:
        return CheckResult(exercise, Status.PASSED, right, parts, exercise.points, "right",
                           f"{Status.PASSED.mark} {head}: right ({max_pts}/{max_pts} points)")
    text = (f"you answered {_shown(choices, read)}; the answer is {_shown(choices, want)}. "
            f"Why: {key.why.rstrip('.')}.")
    count = f"{right}/{parts} parts right, " if parts > 1 else ""
    points = round(exercise.points * right / parts, 2)
    return CheckResult(exercise, Status.FAILED, right, parts, points, text,
                       f"{Status.FAILED.mark} {head}: {text} ({count}{fmt_points(points)}/"
                       f"{max_pts} points)", [text])


def make_question(exercise: Exercise, *, choices: str | None = None, parts: int = 1):
    """The check of a concept question, answered in the form ``choices`` (a letter; else a
    number) times ``parts``: ``check(fn)`` prints whether the answer is well formed and
    recorded (``evaluate_answer``), like ``make_check``'s checks. ``check.grade(fn, key)``
    is the trusted grader's: right or wrong against the instructor's key
    (``grade_answer``)."""
    if not exercise.is_question:
        raise ValueError(f"{exercise.id} is an exercise, not a question")
    if choices is not None and (not isinstance(choices, str) or len(choices) < 2):
        raise ValueError(f"choices of {exercise.id} must be a string of two or more letters, "
                         f"got {choices!r}")
    if not isinstance(parts, int) or parts < 1:
        raise ValueError(f"parts of {exercise.id} must be a positive whole number, "
                         f"got {parts!r}")
    _evaluate = evaluate_answer
    check = _checker(exercise, lambda fn, **context: _evaluate(exercise, fn, choices=choices,
                                                               parts=parts))
    check.grade = lambda fn, key: grade_answer(exercise, key, fn, choices=choices,
                                               parts=parts)
    return check
