
from types import SimpleNamespace

import numpy as np
import pytest

from lessonlib.grader import framework, oracle
from lessonlib.grader.exercises import Exercise
from lessonlib.grader.framework import CheckFailure, make_check, require

EX = Exercise("9.1", "double", 3, "99_test")


def _positive(ck):
    out = ck.call(np.array([1.0, 2.0]))
    require(np.allclose(out, [2.0, 4.0]), "doubled [1, 2] wrong", "multiply by 2")


def _negative(ck):
    out = ck.call(np.array([-1.0]))
    require(np.allclose(out, [-2.0]), "doubled [-1] wrong", "signs matter")


def _scalar(ck):
    require(float(ck.call(3.0)) == 6.0, "doubled 3 wrong")


check_double = make_check(EX, [_positive, _negative, _scalar])


def test_pass_line_is_exact():
    r = check_double.evaluate(lambda x: 2 * x)
    assert r.passed and r.points == 3
    assert r.line == "✓ Exercise 9.1 double: 3/3 checks passed (3/3 points)"


def test_partial_credit_and_first_failure_with_hint():
    r = check_double.evaluate(lambda x: 2 * np.abs(x))
    assert r.status == "failed" and r.passed_checks == 2 and r.points == 2
    assert r.line == ("✗ Exercise 9.1 double: doubled [-1] wrong. Hint: signs matter. "
                      "(2/3 checks passed, 2/3 points)")


def test_not_attempted_stub():
    def stub(x):
        raise NotImplementedError("Exercise 9.1: double")
    r = check_double.evaluate(stub)
    assert r.status == "not attempted" and r.points == 0
    assert r.line == "○ Exercise 9.1 double: not attempted yet (0/3 points)"


def test_learner_exception_is_reported_not_raised():
    r = check_double.evaluate(lambda x: x.undefined)
    assert r.status == "failed" and "raised AttributeError" in r.line and r.points == 0


def test_a_learner_exception_shows_the_failing_case_small():
    def double(values):
        return values.reshape(3)      # fails on the 2-element case
    r = check_double.evaluate(double)
    assert "raised ValueError" in r.line
    assert "when called with values=[1, 2]" in r.line
    big = framework.describe_call(lambda Z, gamma, *, rng: 0,
                                  (np.zeros((40, 50)), np.ones((4, 1))),
                                  {"rng": np.random.default_rng(0)})
    assert big == "Z=shape (40, 50), gamma=shape (4, 1) [1, 1, 1, 1], rng=a Generator"
    assert framework.describe_call(print, (np.ones(2), (1, 2)), {}) == \
        "argument #1=[1, 1], argument #2=a tuple of 2"


def test_mutating_the_input_is_a_failure():
    def in_place(x):
        x *= 2
        return x
    r = check_double.evaluate(in_place)
    assert r.status == "failed" and "changed its argument #1 in place" in r.line


def test_learner_printing_and_warnings_do_not_reach_the_output(capsys):
    def chatty(x):
        print("debugging...")
        import warnings
        warnings.warn("careful")
        return 2 * x
    check_double(chatty)
    out = capsys.readouterr()
    assert out.out == "✓ Exercise 9.1 double: 3/3 checks passed (3/3 points)\n"
    assert out.err == ""


def test_not_a_function():
    r = check_double.evaluate(None)
    assert r.status == "failed" and "expected the function double" in r.line


def test_keyboard_interrupt_is_not_swallowed():
    def interrupted(x):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        check_double.evaluate(interrupted)


def test_an_odd_return_value_is_a_failure_not_a_crash():
    r = check_double.evaluate(lambda x: "twice")
    assert r.status == "failed" and r.points < 3


def test_require_and_fmt_array():
    with pytest.raises(CheckFailure, match="boom"):
        require(False, "boom")
    assert framework.fmt_array(np.array([1.23456, 2.0])) == "[1.235, 2]"
    assert framework.fmt_array(np.float64(0.5)) == "0.5"
    assert framework.fmt_array(np.zeros((3, 3)))[:24] == "array of shape (3, 3) [0"


# ---------------------------------------------------------------- concept questions

Q_CHOICE = Exercise("Q9.1", "why_so", 1, "99_test", kind="question")
Q_PARTS = Exercise("Q9.2", "which_scales", 2, "99_test", kind="question")
Q_NUMBER = Exercise("Q9.3", "how_many", 1, "99_test", kind="question")
KEY_CHOICE = SimpleNamespace(answer="c", why="because the mean is subtracted", rel_tol=0.01)
KEY_PARTS = SimpleNamespace(answer=("a", "b", "b", "a"), why="see section 2", rel_tol=0.01)
KEY_NUMBER = SimpleNamespace(answer=0.25, why="one decade of four", rel_tol=0.01)
check_why_so = framework.make_question(Q_CHOICE, choices="abcd")
check_which_scales = framework.make_question(Q_PARTS, choices="ab", parts=4)
check_how_many = framework.make_question(Q_NUMBER)


def graded(check, key):
    """The question's check as the trusted grader runs it, against ``key``."""
    return lambda fn: check.grade(fn, key)


def test_a_learners_check_records_a_well_formed_answer_and_shows_no_key(capsys):
    for answer in ("a", "c", " (C) "):
        r = check_why_so.evaluate(lambda a=answer: a)
        assert r.status == "answered" and r.points == 0 and not r.passed
        letter = answer.strip().strip("()").lower()
        assert r.line == (f"✎ Question 9.1 why_so: answered ({letter}); right or wrong comes "
                          "with grading (1 point)")
    check_which_scales(lambda: ("a", "b", "a", "b"))
    out = capsys.readouterr().out
    assert out.startswith("✎ Question 9.2 which_scales: answered (a), (b), (a), (b);")
    assert " ".join(out.split()).endswith("right or wrong comes with grading (2 points)")
    assert check_how_many.evaluate(lambda: 0.9).line.startswith(
        "✎ Question 9.3 how_many: answered 0.9;")


def test_a_right_choice_passes_whatever_its_spelling():
    for answer in ("c", "C", " (c) "):
        r = graded(check_why_so, KEY_CHOICE)(lambda a=answer: a)
        assert r.passed and r.points == 1
        assert r.line == "✓ Question 9.1 why_so: right (1/1 points)"


def test_a_wrong_choice_is_told_the_answer_and_why_in_grading_only():
    r = graded(check_why_so, KEY_CHOICE)(lambda: "a")
    assert r.status == "failed" and r.points == 0
    assert r.line == ("✗ Question 9.1 why_so: you answered (a); the answer is (c). Why: "
                      "because the mean is subtracted. (0/1 points)")


@pytest.mark.parametrize("answer", ["e", "ab", 3, None, ("c",), "the third one"])
def test_an_answer_of_the_wrong_form_is_told_the_form_not_the_answer(answer):
    for evaluate in (check_why_so.evaluate, graded(check_why_so, KEY_CHOICE)):
        r = evaluate(lambda: answer)
        assert r.status == "failed" and r.points == 0
        assert "expected one of the letters a, b, c, d" in r.line and "(c)" not in r.line


def test_a_question_not_answered_yet_and_one_that_raises():
    def stub():
        raise NotImplementedError("Question 9.1: why_so")

    def broken():
        return 1 / 0
    for evaluate in (check_why_so.evaluate, graded(check_why_so, KEY_CHOICE)):
        assert evaluate(stub).line == "○ Question 9.1 why_so: not attempted yet (0/1 points)"
        r = evaluate(broken)
        assert r.status == "failed" and "ZeroDivisionError" in r.line and "(c)" not in r.line
        assert evaluate("c").status == "failed"


def test_parts_earn_partial_credit():
    grade = graded(check_which_scales, KEY_PARTS)
    r = grade(lambda: ("a", "b", "a", "b"))
    assert r.status == "failed" and r.points == 1
    assert r.line.endswith("(2/4 parts right, 1/2 points)")
    assert "the answer is (a), (b), (b), (a)" in r.line
    assert grade(lambda: ["A", "b", "b", "a"]).passed
    for evaluate in (check_which_scales.evaluate, grade):
        wrong_count = evaluate(lambda: ("a", "b"))
        assert "a tuple of 4 answers" in wrong_count.line and wrong_count.points == 0


def test_numbers_are_right_within_the_tolerance():
    grade = graded(check_how_many, KEY_NUMBER)
    assert grade(lambda: 0.2501).passed
    assert grade(lambda: np.float32(0.25)).passed
    r = grade(lambda: 0.9)
    assert r.line == ("✗ Question 9.3 how_many: you answered 0.9; the answer is 0.25. Why: "
                      "one decade of four. (0/1 points)")
    for bad in ("0.25", True, float("nan"), [0.25]):
        for evaluate in (check_how_many.evaluate, grade):
            r = evaluate(lambda b=bad: b)
            assert "expected a number" in r.line and r.points == 0


def test_a_question_key_and_form_must_be_well_formed():
    with pytest.raises(ValueError, match="is not one of the letters"):
        graded(check_why_so, SimpleNamespace(answer="e", why="x", rel_tol=0.01))(lambda: "a")
    with pytest.raises(ValueError, match="is not a number"):
        graded(check_how_many, SimpleNamespace(answer="x", why="y", rel_tol=0.01))(lambda: 1)
    with pytest.raises(ValueError, match="is not a tuple of 4"):
        graded(check_which_scales, KEY_CHOICE)(lambda: "a")
    with pytest.raises(ValueError, match="is an exercise"):
        framework.make_question(EX)
    with pytest.raises(ValueError, match="choices"):
        framework.make_question(Q_CHOICE, choices="a")
    with pytest.raises(ValueError, match="parts"):
        framework.make_question(Q_CHOICE, parts=0)
    with pytest.raises(ValueError, match="starts with 'Q'"):
        Exercise("9.9", "f", 1, "99_test", kind="question")
    with pytest.raises(ValueError, match="kind must be"):
        Exercise("9.9", "f", 1, "99_test", kind="quiz")


# ---------------------------------------------------------------- reference answers

EX_REF = Exercise("9.2", "probabilities", 1, "99_test")
LOGITS = np.array([[1.0, -2.0], [3.0, 0.5]])


def _like_softmax(ck):
    want = ck.ref.softmax(LOGITS)
    require(np.allclose(ck.call(LOGITS), want), f"expected {framework.fmt_array(want)}")


check_probabilities = make_check(EX_REF, [_like_softmax])


def _softmax(Z):
    return np.exp(Z) / np.exp(Z).sum(axis=0)


def test_a_check_reads_the_references_live_recorded_or_replayed():
    assert check_probabilities.evaluate(_softmax).passed            # lessonlib's by default
    recorder = oracle.Recorder(oracle.reference_namespace())
    wrong = check_probabilities.evaluate(np.exp, ref=recorder)
    assert [c["name"] for c in recorder.calls] == ["softmax"]
    replay = oracle.Replay(recorder.calls, "the test's data")
    assert check_probabilities.evaluate(np.exp, ref=replay).line == wrong.line
    assert check_probabilities.evaluate(_softmax, ref=replay).passed


def test_check_data_that_cannot_answer_is_raised_never_charged_to_the_learner():
    def stub(Z):
        raise NotImplementedError

    for fn in (_softmax, np.exp, stub):
        with pytest.raises(oracle.CheckDataError, match="no expected output for softmax"):
            check_probabilities.evaluate(fn, ref=oracle.Replay([], "the test's data"))


def test_a_check_cell_replays_its_notebooks_data(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                 # a notebook's kernel runs in its folder
    with pytest.raises(oracle.CheckDataError, match="no check data for notebook 99_test"):
        check_probabilities(_softmax)
    recorder = oracle.Recorder(oracle.reference_namespace())
    check_probabilities.evaluate(_softmax, ref=recorder)
    path = oracle.data_path(tmp_path, "99_test")
    path.parent.mkdir()
    path.write_text(oracle.dumps("99_test", recorder.calls))
    check_probabilities(_softmax)
    assert capsys.readouterr().out == "✓ Exercise 9.2 probabilities: 1/1 checks passed " \
        "(1/1 points)\n"
    try:
        framework.fresh_cases(7)                # fresh cases are not in any check data
        with pytest.raises(oracle.CheckDataError, match="fixed cases"):
            check_probabilities(_softmax)
    finally:
        framework.fresh_cases(None)


# ---------------------------------------------------------------- fresh cases

def test_case_rng_is_fixed_in_notebooks_and_fresh_when_grading():
    a = framework.case_rng(3).random()
    assert framework.case_rng(3).random() == a
    try:
        framework.fresh_cases(12345)
        b = framework.case_rng(3).random()
        assert b != a and framework.case_rng(3).random() == b
        framework.fresh_cases(54321)
        assert framework.case_rng(3).random() not in (a, b)
    finally:
        framework.fresh_cases(None)
    assert framework.case_rng(3).random() == a


# ---------------------------------------------------------------- weights

def test_points_follow_the_weights_and_the_heaviest_failure_is_reported():
    light = framework.weighted(1)(lambda ck: require(False, "a slip", "light"))
    heavy = framework.weighted(3)(lambda ck: require(False, "the mistake", "heavy"))
    fine = framework.weighted(2)(lambda ck: None)
    check = make_check(EX, [light, fine, heavy])
    r = check.evaluate(lambda x: x)
    assert r.points == round(3 * 2 / 6, 2) and r.passed_checks == 1
    assert r.message == "the mistake. Hint: heavy."
    assert make_check(EX, [light, fine]).evaluate(lambda x: x).points == 2.0
    with pytest.raises(ValueError, match="weight must be positive"):
        framework.weighted(0)


# ---------------------------------------------------------------- calls an exercise forbids

def test_a_short_backward_pass_that_calls_the_graph_walk_earns_nothing(capsys):
    """3.4 asks for the short formula: a batchnorm_backward calling batchnorm_backward_graph
    fails its check cell with why, one written out passes; the trusted grader reads the
    same names from the exercise cell's source."""
    from lessonlib_instructor import answers

    from lessonlib.grader import trusted
    from lessonlib.grader.checks.batch_norm import check_batchnorm_backward
    from lessonlib.grader.exercises import EXERCISES
    from tests.grader.common import reference_copy

    batchnorm_backward_graph = reference_copy(answers.batchnorm_backward_graph)  # noqa: F841

    def batchnorm_backward(dZ_tilde, cache):
        return batchnorm_backward_graph(dZ_tilde, cache)

    assert "batchnorm_backward_graph" in framework.names_used(batchnorm_backward)
    check_batchnorm_backward(batchnorm_backward)
    line = capsys.readouterr().out
    assert line.startswith("✗ Exercise 3.4 batchnorm_backward: your batchnorm_backward calls "
                           "your batchnorm_backward_graph")
    assert "(0/2 points)" in " ".join(line.split())
    check_batchnorm_backward(reference_copy(answers.batchnorm_backward))
    assert capsys.readouterr().out.startswith("✓ Exercise 3.4")
    source = ("def batchnorm_backward(dZ_tilde, cache):\n"
              "    return batchnorm_backward_graph(dZ_tilde, cache)\n")
    result = framework.forbidden_call(EXERCISES["3.4"], trusted._names_in(source))
    assert result is not None and result.points == 0
    assert framework.forbidden_call(EXERCISES["3.3"], {"batchnorm_backward_graph"}) is None
    assert trusted._names_in("def broken(:\n") == set()
