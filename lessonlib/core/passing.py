"""The learner's functions that pass their checks, for the experiments that follow them.

Once an exercise's check passes, the check keeps the learner's function here; when a later
run of the check does not pass, it forgets it again. An experiment asks for a function by
exercise with ``choose(exercise, reference)`` and gets the learner's function when there is
one, else lessonlib's ``reference``, together with a line that says whose code it ran::

    forward = choose("3.1", bn.batchnorm_forward)
    forward.whose   # "your batchnorm_forward", or
                    # "lessonlib's batchnorm_forward (exercise 3.1 does not pass yet)"

A stand-in that is not simply lessonlib's function of that name (a gradient by automatic
differentiation, say) carries its own phrase, given by ``stand_in``.

Nothing else is looked up: no global names, no notebook namespace. The registry lives in
the Python process (the notebook's kernel) and starts empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .validate import as_callable

_PASSING: dict[str, tuple[str, Callable]] = {}


class Choice(NamedTuple):
    """The function an experiment runs, and whose it is (a phrase for the notebook)."""

    fn: Callable
    whose: str
    yours: bool


def record(exercise: str, function: str, fn, passed: bool) -> None:
    """After a check of ``exercise`` ran on ``fn`` (the learner's ``function``): keep ``fn``
    when it ``passed``, forget any function kept for the exercise when it did not."""
    if passed:
        _PASSING[exercise] = (function, as_callable("fn", fn, "the checked function"))
    else:
        _PASSING.pop(exercise, None)


def stand_in(whose: str):
    """Decorator: label a stand-in with the phrase ``choose`` says when it runs it, e.g.
    ``"automatic differentiation of lessonlib's batch norm forward"``. Returns the
    function itself."""
    if not isinstance(whose, str):
        raise TypeError(f"whose must be a phrase (str), got {type(whose).__name__}")
    if not whose.strip():
        raise ValueError("whose must be a non-empty phrase, got an empty one")

    def label(fn):
        fn.whose = whose
        return fn
    return label


def choose(exercise: str, reference) -> Choice:
    """The learner's function for ``exercise`` if its last check passed, else ``reference``
    (lessonlib's stand-in: its ``stand_in`` phrase names it, or else its ``__name__``, the
    exercise's function)."""
    reference = as_callable("reference", reference, "lessonlib's implementation")
    if exercise in _PASSING:
        function, fn = _PASSING[exercise]
        return Choice(fn, f"your {function}", True)
    whose = getattr(reference, "whose", None) or f"lessonlib's {reference.__name__}"
    return Choice(reference, f"{whose} (exercise {exercise} does not pass yet)", False)


def forget_all() -> None:
    """Forget every kept function (a fresh start, as in a new kernel)."""
    _PASSING.clear()
