"""lessonlib.grader.protocol: grade marks the cells the trusted process reads."""

from lessonlib.grader import grade, protocol, trusted


def test_both_sides_use_the_one_key():
    assert grade.GRADING_KEY == trusted.GRADING_KEY == protocol.GRADING_KEY
