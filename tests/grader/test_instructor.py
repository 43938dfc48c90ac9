"""lessonlib.grader.instructor: the question keys come from the instructor side, which only
the trusted grader loads; nothing a learner's notebook imports reaches them."""

import subprocess
import sys
import textwrap
from pathlib import Path

from lessonlib.grader import checks, instructor
from lessonlib.grader.exercises import EXERCISES, checks_module

LESSONLIB = Path(checks.__file__).resolve().parents[2]          # the lessonlib package
QUESTIONS = [e for e in EXERCISES.values() if e.is_question]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def _check(exercise):
    import importlib
    return getattr(importlib.import_module(checks_module(exercise.notebook)),
                   f"check_{exercise.function}")


def test_every_question_has_a_key_its_own_check_grades_right():
    keys = instructor.question_keys()
    assert sorted(keys) == sorted(e.id for e in QUESTIONS)
    for q in QUESTIONS:
        key = keys[q.id]
        result = _check(q).grade(lambda a=key.answer: a, key)
        assert result.passed, (q.id, result.line)


def test_a_learners_check_of_the_key_says_answered_and_never_right():
    keys = instructor.question_keys()
    for q in QUESTIONS:
        result = _check(q).evaluate(lambda a=keys[q.id].answer: a)
        assert result.status == "answered" and result.points == 0, q.id
        assert "right (" not in result.line and keys[q.id].why not in result.line


def test_without_the_instructor_side_grading_the_questions_says_what_to_install():
    run = _python("""
        import sys
        sys.modules["lessonlib_instructor"] = None     # as on a learner's machine
        from lessonlib.grader import instructor
        try:
            instructor.question_keys()
        except instructor.InstructorSideMissing as err:
            print(err)
        """)
    assert run.returncode == 0, run.stderr
    assert "pip install -r requirements-instructor.txt" in run.stdout


def test_what_the_notebooks_import_loads_no_key():
    run = _python("""
        import importlib, pkgutil, sys
        import lessonlib.grader.checks as checks
        import lessonlib.lessons as lessons
        for pkg in (checks, lessons):
            for m in pkgutil.iter_modules(pkg.__path__):
                importlib.import_module(f"{pkg.__name__}.{m.name}")
        import lessonlib.grader.framework
        print(sorted(m for m in sys.modules
                     if m.startswith("lessonlib_instructor") or m == "lessonlib.grader.instructor"))
        """)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_no_key_is_written_in_lessonlib():
    """The explanations that give each key away live on the instructor side only."""
    assert LESSONLIB.joinpath("grader", "framework.py").is_file()
    sources = "\n".join(" ".join(p.read_text(encoding="utf-8").split())
                        for p in LESSONLIB.rglob("*.py"))
    for qid, key in instructor.question_keys().items():
        words = " ".join(key.why.split())
        assert words[:60] not in sources, qid
