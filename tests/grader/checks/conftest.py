"""Every exercise check a test of this folder evaluates is evaluated twice: with lessonlib's
references, as the test asks, and replaying the committed check data, as a check cell in a
learner's notebook does (``grader.oracle``). The two must give the same status, points and
line, for every correct and wrong implementation of the catalogues here."""

import importlib

import pytest

from lessonlib.grader import framework
from lessonlib.grader.exercises import EXERCISES, NOTEBOOKS, checks_module
from tests.grader.common import committed_replay, outcome, twin

_CHECKS = [check for notebook in NOTEBOOKS
           for name, check in vars(importlib.import_module(checks_module(notebook))).items()
           if name.startswith("check_") and hasattr(check, "exercise")
           and not check.exercise.is_question]
assert {c.exercise.id for c in _CHECKS} == {e.id for e in EXERCISES.values()
                                            if not e.is_question}


def _agreeing(check, evaluate):
    def evaluate_both(fn, *, ref=None, **context):
        second = twin(fn)                 # a function keeping state starts from the same
        live = evaluate(fn, ref=ref, **context)
        if ref is None and framework.fixed_cases():
            replay = committed_replay(check.exercise.notebook)
            assert outcome(evaluate(second, ref=replay, **context)) == outcome(live), \
                "replaying the committed check data changes the result"
        return live
    return evaluate_both


@pytest.fixture(autouse=True)
def _replay_agrees_with_the_references(monkeypatch):
    for check in _CHECKS:
        monkeypatch.setattr(check, "evaluate", _agreeing(check, check.evaluate))
