"""What the grader's two sides agree on: the check cells running in the learner's kernel
(``framework``) and ``grade`` reading their results from outside (``grade``).

Plain strings, so that ``grade`` and the command line need neither numpy nor the checks.
"""

from __future__ import annotations

from .exercises import checks_module

# Names the file each check appends its result record to (one JSON line per check).
GRADE_LOG_ENV = "LESSONLIB_GRADE_LOG"


def graded_check_source(notebook: str, token: str, source: str) -> str:
    """The source of an official check cell in a graded copy: the genuine checks of
    ``notebook`` imported again (whatever the learner's cells rebound), the one-time
    ``token`` that ties the next result record to this cell, then the cell's ``source``."""
    return (f"from {checks_module(notebook)} import *  # noqa: F403\n"
            "__import__('lessonlib.grader.framework').grader.framework."
            f"graded_cell({token!r})\n" + source)
