"""lessonlib's functions that give an exercise's answer away, marked where they are defined.

lessonlib holds none of the answers the lecture leaves to the learner (those are the
instructor side's), but it keeps the formulas the lecture states and the labelled
stand-ins the experiments run until a learner's function passes: the forward passes, the
samplers, gradients by automatic differentiation, ... Each carries a decorator that names
the exercises it answers:

    @stand_in("3.4", whose="automatic differentiation of lessonlib's batch norm forward")
    def batchnorm_backward_by_autodiff(dZ_tilde, cache): ...

    @gives_away("3.1", "4.3")          # another route to those answers: the layer's method
    def forward(self, Z): ...

``stand_in`` also labels the function with the phrase an experiment prints when it runs it
(``whose``). While a check calls the learner's function for one of those exercises
(``checking``), calling the function raises ``OffLimits`` and is recorded, however the
learner imported or renamed it: the check then says "your function called lessonlib's
...". In grading, the sandbox's copy of lessonlib has the bodies of the notebook's marked
functions removed (``grader.graded_package`` reads these decorators from the source).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

# The exercise whose check is calling the learner's function, and the names of the marked
# functions called meanwhile: set by ``checking`` for the length of one call only.
_CHECKING: contextvars.ContextVar[tuple[str, list] | None] = contextvars.ContextVar(
    "lessonlib_checking", default=None)


class OffLimits(BaseException):
    """Raised by a marked function called while its exercise is checked. A
    ``BaseException``, so that an ``except Exception`` in the learner's code lets it by."""


def _exercise_ids(ids) -> tuple[str, ...]:
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise TypeError(f"name the exercises as strings such as '3.1', got {ids!r}")
    return tuple(ids)


def gives_away(*exercise_ids: str):
    """Decorator: the function computes the answer of ``exercise_ids`` (a route other than
    a stand-in: a layer's method, a sampler of a space); off limits while they are
    checked. Returns a wrapper with ``.exercises`` set."""
    ids = _exercise_ids(exercise_ids)

    def mark(fn):
        @functools.wraps(fn)
        def marked(*args, **kwargs):
            now = _CHECKING.get()
            if now is not None and now[0] in ids:
                now[1].append(fn.__qualname__)
                raise OffLimits(f"lessonlib's {fn.__qualname__} is off limits while "
                                f"exercise {now[0]} is checked")
            return fn(*args, **kwargs)
        marked.exercises = ids
        return marked
    return mark


def stand_in(*exercise_ids: str, whose: str | None = None):
    """Decorator: a labelled stand-in the experiments run until ``exercise_ids`` pass, off
    limits while they are checked (``gives_away``). ``whose`` is the phrase an experiment
    prints when it runs it, e.g. ``"automatic differentiation of lessonlib's batch norm
    forward"`` (default: ``"lessonlib's <name>"``)."""
    if whose is not None and (not isinstance(whose, str) or not whose.strip()):
        raise ValueError(f"whose must be a non-empty phrase, got {whose!r}")

    def label(fn):
        marked = gives_away(*exercise_ids)(fn)
        marked.whose = whose or f"lessonlib's {fn.__name__}"
        return marked
    return label


@contextlib.contextmanager
def checking(exercise_id: str | None):
    """While inside, the functions marked for ``exercise_id`` raise ``OffLimits``. Yields
    the list that collects the names of those called inside (``None``: nothing is off
    limits, and the list stays empty)."""
    called: list[str] = []
    if exercise_id is None:
        yield called
        return
    token = _CHECKING.set((exercise_id, called))
    try:
        yield called
    finally:
        _CHECKING.reset(token)
