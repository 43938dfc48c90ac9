"""The instructor side of the workbook: what a learner must not be able to read.

``questions`` holds the key of every concept question; ``SOLUTIONS`` is the folder of the
solved notebooks (the single source of the learner notebooks). Nothing a learner's kernel
imports reaches this package: ``lessonlib`` never imports it (an import-linter contract in
``pyproject.toml``), and only the trusted grader loads it by name, at run time
(``lessonlib.grader.instructor``). It is installed by ``requirements-instructor.txt``, not by
the learner's ``requirements.txt``, and a handout leaves it out.
"""

from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
