"""What ``grade`` and the trusted grading process (``grader.trusted``) agree on.

Plain constants, so that the trusted process need not import nbformat (a second's start-up
on a small machine) and ``grade`` need not import numpy.
"""

from __future__ import annotations

# a graded copy's code cell metadata: "run" (set-up, the learner's cells) or "skip" (the
# lesson's experiments, which earn nothing)
GRADING_KEY = "lessonlib_grading"
