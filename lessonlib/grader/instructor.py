"""The instructor side, loaded by name at run time: the one module that names it.

The question keys and the derived reference answers live in the package
``lessonlib_instructor`` (``instructor/`` in the checkout, installed by
``requirements-instructor.txt``), which a learner's install and a handout leave out, so that
nothing in a learner's environment can load them. lessonlib never imports it (an
import-linter contract); the trusted grader calls ``question_keys``, and the checks' live
references (``oracle.reference_namespace``: the trusted grader, ``release`` and the tests)
call ``answers``. A learner's check cell replays its check data and loads neither.
"""

from __future__ import annotations

import importlib

PACKAGE = "lessonlib_instructor"


class InstructorSideMissing(RuntimeError):
    """The instructor side is not installed here (a learner's machine, or a handout)."""


def _module(name: str, needed_for: str):
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ModuleNotFoundError as err:
        if err.name not in (PACKAGE, f"{PACKAGE}.{name}"):
            raise
        raise InstructorSideMissing(
            f"{needed_for} needs the instructor side, which is not installed here: from the "
            "top of the checkout, python3 -m pip install -r requirements-instructor.txt"
        ) from None


def question_keys() -> dict:
    """``{question id: key}``, each key with ``answer``, ``why`` and ``rel_tol``."""
    return dict(_module("questions", "grading the questions").KEYS)


def answers() -> dict:
    """``{name: function}``: the derived reference answers of the exercises (backward
    passes, the softmax Jacobian, ...), for the checks' live references
    (``oracle.reference_namespace``)."""
    module = _module("answers", "checking an exercise against its reference answer")
    return {name: getattr(module, name) for name in module.__all__}
