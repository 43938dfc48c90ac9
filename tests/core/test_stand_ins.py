"""lessonlib.core.stand_ins: a function that gives an exercise's answer away is off limits
while that exercise is checked, however the learner reaches it, and nowhere else."""

import functools
import importlib

import numpy as np
import pytest

from lessonlib.core import stand_ins
from lessonlib.grader.exercises import EXERCISES, checks_module
from lessonlib.layers import softmax as sm
from tests.grader.common import marked_functions

EXERCISE_IDS = sorted((e.id for e in EXERCISES.values() if not e.is_question),
                      key=lambda i: EXERCISES[i].sort_key)
MARKED = marked_functions()


def _check(exercise_id):
    e = EXERCISES[exercise_id]
    return getattr(importlib.import_module(checks_module(e.notebook)), f"check_{e.function}")


def test_every_mark_names_exercises_that_exist():
    assert MARKED
    for path, fn in MARKED.items():
        assert set(fn.exercises) <= set(EXERCISE_IDS), path


def test_every_exercise_with_a_stand_in_an_experiment_runs_has_it_marked():
    """The forward passes, samplers and autodiff stand-ins named after an exercise's
    function, or ending in _by_autodiff, are marked for it."""
    functions = {e.function: e.id for e in EXERCISES.values() if not e.is_question}
    for path, fn in MARKED.items():
        name = path.rsplit(":", 1)[1]
        if name in functions:
            assert functions[name] in fn.exercises, path
    from lessonlib.layers import batchnorm, layernorm, linear_bn
    autodiff = [getattr(m, n) for m in (batchnorm, layernorm, linear_bn, sm) for n in vars(m)
                if n.endswith("_by_autodiff") and not n.startswith("_")]
    assert autodiff and all(hasattr(f, "exercises") and f.whose for f in autodiff)


@pytest.mark.parametrize("path", sorted(MARKED))
def test_returning_a_marked_function_earns_nothing(path):
    """Each marked function, called by the learner's function for one of its exercises,
    fails that check with "your function called lessonlib's ..." (a method is shown to
    raise inside the check's context: a check calls no method on its own)."""
    fn = MARKED[path]
    exercise_id = fn.exercises[0]
    if "." in path.rsplit(":", 1)[1]:
        with stand_ins.checking(exercise_id) as called, pytest.raises(stand_ins.OffLimits):
            fn(None)
        assert called == [path.rsplit(":", 1)[1]]
        return

    def cheat(*args, **kwargs):
        return fn(*args, **kwargs)
    r = _check(exercise_id).evaluate(cheat)
    assert r.points == 0 and r.status == "failed", (path, r.line)
    assert "your function called lessonlib's" in r.line


def _softmax_check(fn):
    return _check("5.1").evaluate(fn)


SOFTMAX_ROUTES = {
    "the module's name": lambda Z: sm.softmax(Z),
    "bound earlier under another name": (lambda f: lambda Z: f(Z))(sm.softmax),
    "a default argument": lambda Z, f=sm.softmax: f(Z),
    "functools.partial": lambda Z: functools.partial(sm.softmax)(Z),
    "a fresh import by its dotted name": lambda Z: importlib.import_module(
        "lessonlib.layers.softmax").softmax(Z),
    "the cost's gradient by autodiff": lambda Z: sm.softmax_cross_entropy_by_autodiff(
        Z, np.eye(Z.shape[0])[:, :Z.shape[1]] if Z.shape[0] >= Z.shape[1] else
        np.eye(Z.shape[0])[:, np.arange(Z.shape[1]) % Z.shape[0]])[1] * Z.shape[1],
    "caught by except Exception": lambda Z: _swallow(Z),
}


def _swallow(Z):
    try:
        return sm.softmax(Z)
    except Exception:   # noqa: BLE001 - what a cheat would write
        return np.full(Z.shape, 1 / Z.shape[0])


@pytest.mark.parametrize("route", SOFTMAX_ROUTES)
def test_every_route_to_the_reference_is_caught(route):
    r = _softmax_check(SOFTMAX_ROUTES[route])
    assert r.points == 0 and "your function called lessonlib's" in r.line


def test_outside_a_check_the_references_work_and_honest_code_passes():
    Z = np.array([[0.0, 1.0], [1.0, 0.0]])
    before = sm.softmax(Z)
    _softmax_check(SOFTMAX_ROUTES["the module's name"])
    np.testing.assert_array_equal(sm.softmax(Z), before)

    def honest(Z):
        E = np.exp(Z - Z.max(axis=0, keepdims=True))
        return E / E.sum(axis=0, keepdims=True)
    assert _softmax_check(honest).passed


def test_checking_collects_the_names_called_inside_only_and_resets():
    with stand_ins.checking("5.5") as called:
        with pytest.raises(stand_ins.OffLimits):
            sm.softmax_backward_by_autodiff(np.ones((2, 1)) / 2, np.array([[1.0], [0.0]]))
    assert called == ["softmax_backward_by_autodiff"]
    sm.softmax_backward_by_autodiff(np.ones((2, 1)) / 2, np.array([[1.0], [0.0]]))
    with stand_ins.checking(None) as nothing:
        sm.softmax_backward_by_autodiff(np.ones((2, 1)) / 2, np.array([[1.0], [0.0]]))
    assert nothing == []
    with pytest.raises(KeyboardInterrupt), stand_ins.checking("5.1"):
        raise KeyboardInterrupt
    assert sm.softmax(np.zeros((2, 1))).shape == (2, 1)      # usable again


def test_a_mark_needs_exercise_ids_and_a_phrase():
    with pytest.raises(TypeError, match="exercises"):
        stand_ins.gives_away()
    with pytest.raises(ValueError, match="whose"):
        stand_ins.stand_in("1.1", whose=" ")
    labelled = stand_ins.stand_in("1.1")(lambda: 1)
    assert labelled.whose == "lessonlib's <lambda>" and labelled.exercises == ("1.1",)


@pytest.mark.parametrize("entropy", [None, 1, 2**31 + 7])
@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_lessonlibs_answer_written_out_passes_on_fresh_cases(exercise_id, entropy):
    """The checks' fresh random cases (trusted grading) accept a correct answer as the
    fixed ones do."""
    from lessonlib_instructor import answers

    from lessonlib.grader import framework
    from tests.grader.common import reference_copy
    function = EXERCISES[exercise_id].function
    own = [fn for path, fn in MARKED.items() if path.endswith(f":{function}")]
    answer = getattr(answers, function, None) or reference_copy(own[0])
    framework.fresh_cases(entropy)
    try:
        r = _check(exercise_id).evaluate(answer)
    finally:
        framework.fresh_cases(None)
    assert r.passed, r.line
