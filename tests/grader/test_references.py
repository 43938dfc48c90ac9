"""lessonlib.grader.references: lessonlib's answers are off limits inside a check, however
the learner reaches them, and nowhere else."""

import functools
import importlib

import numpy as np
import pytest

from lessonlib.grader import references
from lessonlib.grader.exercises import EXERCISES, checks_module
from lessonlib.grader.references import OFF_LIMITS, off_limits, resolve
from lessonlib.layers import softmax as sm

EXERCISE_IDS = sorted((e.id for e in EXERCISES.values() if not e.is_question),
                      key=lambda i: EXERCISES[i].sort_key)


def _check(exercise_id):
    e = EXERCISES[exercise_id]
    return getattr(importlib.import_module(checks_module(e.notebook)), f"check_{e.function}")


def test_every_exercise_has_its_references_and_each_resolves_to_a_function():
    assert sorted(OFF_LIMITS) == sorted(EXERCISE_IDS)
    for paths in OFF_LIMITS.values():
        for path in paths:
            assert callable(resolve(path)) and resolve(path).__code__.co_freevars == ()


@pytest.mark.parametrize("exercise_id", [i for i in EXERCISE_IDS if OFF_LIMITS[i]])
def test_returning_lessonlibs_own_answer_earns_nothing(exercise_id):
    reference = resolve(OFF_LIMITS[exercise_id][0])

    def cheat(*args, **kwargs):
        return reference(*args, **kwargs)
    r = _check(exercise_id).evaluate(cheat)
    assert r.points == 0 and r.status == "failed"
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


def test_the_code_is_restored_when_the_learners_function_raises_anything():
    original = sm.softmax.__code__
    with pytest.raises(KeyboardInterrupt), off_limits("5.1"):
        assert sm.softmax.__code__ is not original
        raise KeyboardInterrupt
    assert sm.softmax.__code__ is original and references._CALLED == []


def test_off_limits_collects_the_names_called_inside_only():
    with off_limits("5.5") as called:
        with pytest.raises(references.ReferenceCalled):
            sm.softmax_backward_by_autodiff(np.ones((2, 1)) / 2, np.array([[1.0], [0.0]]))
    assert called == ["softmax_backward_by_autodiff"]
    with off_limits(None) as nothing:
        sm.softmax_backward_by_autodiff(np.ones((2, 1)) / 2, np.array([[1.0], [0.0]]))
    assert nothing == []


@pytest.mark.parametrize("entropy", [None, 1, 2**31 + 7])
@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_lessonlibs_answer_written_out_passes_on_fresh_cases(exercise_id, entropy):
    """The checks' fresh random cases (trusted grading) accept a correct answer as the
    fixed ones do."""
    from lessonlib_instructor import answers

    from lessonlib.grader import framework
    from tests.grader.common import reference_copy
    function = EXERCISES[exercise_id].function
    answer = getattr(answers, function, None) or reference_copy(resolve(OFF_LIMITS[exercise_id][0]))
    framework.fresh_cases(entropy)
    try:
        r = _check(exercise_id).evaluate(answer)
    finally:
        framework.fresh_cases(None)
    assert r.passed, r.line


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_returning_an_autodiff_stand_in_earns_nothing_in_the_learners_notebook(exercise_id):
    """The stand-ins the experiments run until an exercise passes are its answer too."""
    stand_ins = [p for p in OFF_LIMITS[exercise_id] if p.endswith("_by_autodiff")]
    for path in stand_ins:
        stand_in = resolve(path)

        def cheat(*args, _stand_in=stand_in, **kwargs):
            return _stand_in(*args, **kwargs)
        r = _check(exercise_id).evaluate(cheat)
        assert r.points == 0 and "your function called lessonlib's" in r.line, path


def test_every_exercise_with_an_autodiff_stand_in_has_it_off_limits():
    from lessonlib.layers import batchnorm, layernorm, linear_bn
    stand_ins = {f"layers.{m.__name__.rsplit('.', 1)[1]}:{name}"
                 for m in (batchnorm, layernorm, linear_bn, sm) for name in vars(m)
                 if name.endswith("_by_autodiff") and not name.startswith("_")}
    listed = {p for paths in OFF_LIMITS.values() for p in paths}
    assert stand_ins and stand_ins <= listed
