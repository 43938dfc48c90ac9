"""In grading, the checks draw fresh cases: answers memorised for the cases a notebook shows
earn nothing there (issue 24, item 7).

For every exercise, a memoriser records what the solved function returns on every call the
notebook's check makes (the visible cases, which a learner can read off the check data or
print from a check run) and replays it; on any other call it returns ``None``. Checked with
fresh cases, as the trusted grader checks, it must earn no more than a function that always
returns ``None``.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from lessonlib.grader import check_data, framework, oracle
from lessonlib.grader.notebook_files import read_notebook, solutions_dir

SOLVED = sorted(solutions_dir().glob("*.ipynb"))


def _key(args, kwargs) -> bytes:
    """The call's inputs as bytes (a generator by its state)."""
    def plain(value):
        if isinstance(value, np.random.Generator):
            return ("rng", repr(value.bit_generator.state))
        if isinstance(value, (list, tuple)):
            return type(value).__name__, tuple(plain(v) for v in value)
        if isinstance(value, dict):
            return "dict", tuple((k, plain(v)) for k, v in sorted(value.items()))
        if isinstance(value, np.ndarray):
            return "array", value.dtype.str, value.shape, value.tobytes()
        try:
            return pickle.dumps(value)
        except Exception:  # noqa: BLE001 - an object that does not pickle: by its type
            return type(value).__name__
    return pickle.dumps(plain((args, kwargs)))


def _memoriser(fn):
    seen: dict[bytes, object] = {}

    def memorised(*args, **kwargs):
        key = _key(args, kwargs)
        if framework.fixed_cases():
            out = fn(*args, **kwargs)
            seen[key] = copy.deepcopy(out)
            return out
        return copy.deepcopy(seen[key]) if key in seen else None
    memorised.seen = seen
    return memorised


def _cases():
    for path in SOLVED:
        nb = read_notebook(path)
        for check, fn, context in check_data.solved_checks(nb):
            yield pytest.param(check, fn, context, id=check.exercise.id)


@pytest.mark.parametrize("check, fn, context", list(_cases()))
def test_answers_memorised_for_the_visible_cases_earn_nothing_in_grading(check, fn, context):
    ref = oracle.reference_namespace()
    memorised = _memoriser(fn)
    assert check.evaluate(memorised, ref=ref, **context).passed      # visible cases
    assert memorised.seen
    if set(memorised.seen) == {_key((), {})}:
        pytest.skip(f"{check.exercise.function} takes no input: what it returns is its "
                    "answer, the same in grading as in the notebook")
    try:
        framework.fresh_cases(20261205)
        honest = check.evaluate(lambda *a, **k: None, ref=ref, **context).points
        got = check.evaluate(memorised, ref=ref, **context)
    finally:
        framework.fresh_cases(None)
    assert got.points <= honest, got.line
