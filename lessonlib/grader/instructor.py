"""The instructor side, loaded by name at run time by the trusted grader alone.

The question keys live in the package ``lessonlib_instructor`` (``instructor/`` in the
checkout, installed by ``requirements-instructor.txt``), which a handout leaves out. No
module a learner's notebook imports reaches this one (an import-linter contract in
``pyproject.toml``); the grader's trusted process calls ``question_keys`` to grade the
questions against their keys.
"""

from __future__ import annotations

import importlib

PACKAGE = "lessonlib_instructor"


class InstructorSideMissing(RuntimeError):
    """The instructor side is not installed here (a learner's machine, or a handout)."""


def question_keys() -> dict:
    """``{question id: key}``, each key with ``answer``, ``why`` and ``rel_tol``."""
    try:
        module = importlib.import_module(f"{PACKAGE}.questions")
    except ModuleNotFoundError as err:
        if err.name not in (PACKAGE, f"{PACKAGE}.questions"):
            raise
        raise InstructorSideMissing(
            "grading the questions needs the instructor side, which is not installed here: "
            "from the top of the checkout, python3 -m pip install -r "
            "requirements-instructor.txt") from None
    return dict(module.KEYS)
