"""Every check of notebook 05 accepts the reference and unusual correct solutions and rejects
a catalogue of wrong ones."""

import numpy as np
import pytest

from lessonlib.grader.checks import softmax_regression as checks
from lessonlib.grader.exercises import EXERCISES
from lessonlib.layers import softmax as sm
from tests.grader.common import Keyed


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise 5.x")


def _logsumexp(Z, axis=0):
    top = Z.max(axis=axis, keepdims=True)
    return top + np.log(np.exp(Z - top).sum(axis=axis, keepdims=True))


# The solved notebook's solutions, written out: lessonlib's own answers are off limits while
# their exercise is checked (grader.references), so the catalogues do not pass them.

def solution_softmax(Z):
    E = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


def solution_one_hot(y, C):
    Y = np.zeros((C, len(y)))
    Y[y, np.arange(len(y))] = 1.0
    return Y


def solution_cost(Y_hat, Y):
    return float(-np.sum(Y * np.log(np.maximum(Y_hat, 1e-12))) / Y.shape[1])


def solution_jacobian(z):
    p = solution_softmax(z[:, None])[:, 0]
    return np.diag(p) - np.outer(p, p)


def solution_backward(Y_hat, Y):
    return (Y_hat - Y) / Y.shape[1]


def solution_from_logits(Z, Y):
    shifted = Z - Z.max(axis=0, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    return float(-np.sum(Y * log_probs) / Y.shape[1])


# ---------------------------------------------------------------- 5.1 softmax

def softmax_logsumexp(Z):
    return np.exp(Z - _logsumexp(Z))


def softmax_float32_loop(Z):
    """Column by column in the input's dtype, with the max taken out."""
    Z = np.asarray(Z)
    out = np.empty_like(Z)
    for i in range(Z.shape[1]):
        e = np.exp(Z[:, i] - np.max(Z[:, i]))
        out[:, i] = e / e.sum()
    return out


def softmax_einsum(Z):
    """The column sums written with np.einsum, and a keepdims-free broadcast."""
    E = np.exp(Z - np.max(Z, axis=0))
    return E / np.einsum("cm->m", E)


def softmax_list_return(Z):
    return (np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=0)).tolist()


# name: (wrong softmax, words of the reported hint, points out of 2). Subtracting the
# maximum is what the notebook stresses most: an overflow keeps at most 0.5/2.
SOFTMAX_WRONG = {
    "no max subtraction (overflow)": (
        lambda Z: np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True), "maximum", 0.5),
    "wrong axis": (
        lambda Z: np.exp(Z - Z.max(axis=1, keepdims=True))
        / np.exp(Z - Z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True), "axis 0", 0),
    "sum over the whole array": (
        lambda Z: np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(),
        "whole array", 0.25),
    "global max underflows": (
        lambda Z: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum(axis=0), "maximum", 0.38),
    "subtracts the minimum": (
        lambda Z: np.exp(Z - Z.min(axis=0)) / np.exp(Z - Z.min(axis=0)).sum(axis=0),
        "each column's maximum", 1.0),
    "hardmax": (sm.hardmax, "exponentiate the logits", 0.25),
    "transposed": (lambda Z: solution_softmax(Z).T, "shape", 0),
    "sigmoid per entry": (lambda Z: 1 / (1 + np.exp(-Z)), "do not sum to 1", 0),
    "normalizes the logits, not exp": (lambda Z: Z / Z.sum(axis=0), "", 0),
    "without keepdims over axis 1": (
        lambda Z: np.exp(Z - Z.max(axis=0)) / np.exp(Z - Z.max(axis=0)).sum(axis=1), "", 0),
    "returns None": (lambda Z: None, "return", 0),
    "subtracts max in place": (
        lambda Z: (Z.__isub__(Z.max(axis=0)), np.exp(Z) / np.exp(Z).sum(axis=0))[1],
        "in place", 0),
    "float32 cast without stabilizing": (
        lambda Z: (np.exp(np.float32(Z)) / np.exp(np.float32(Z)).sum(axis=0)),
        "each column's maximum", 0.38),
}


@pytest.mark.parametrize("fn", [solution_softmax, softmax_logsumexp, softmax_float32_loop,
                                softmax_einsum, softmax_list_return])
def test_softmax_accepts_correct(fn):
    r = checks.check_softmax.evaluate(fn)
    assert r.passed and r.points == 2, r.line


def test_softmax_accepts_scipy():
    special = pytest.importorskip("scipy.special")
    r = checks.check_softmax.evaluate(lambda Z: special.softmax(Z, axis=0))
    assert r.passed, r.line
    r = checks.check_softmax.evaluate(lambda Z: special.softmax(Z))     # over all entries
    assert r.status == "failed", r.line


@pytest.mark.parametrize("name", sorted(SOFTMAX_WRONG))
def test_softmax_rejects_wrong(name):
    fn, hint, points = SOFTMAX_WRONG[name]
    r = checks.check_softmax.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


# ---------------------------------------------------------------- 5.2 one_hot

def one_hot_eye(y, C):
    return np.eye(C)[y].T


def one_hot_compare(y, C):
    return (np.arange(C)[:, None] == np.asarray(y)[None, :]).astype(int)


def one_hot_loop_list(y, C):
    return [[1 if label == c else 0 for label in y] for c in range(C)]


# name: (wrong one_hot, words of the reported hint, points out of 1)
ONE_HOT_WRONG = {
    "not transposed": (lambda y, C: np.eye(C)[y], "one column per example", 0),
    "max label instead of C": (lambda y, C: np.eye(max(y) + 1)[y].T, "not max(y) + 1", 0.38),
    "transposed square": (lambda y, C: np.eye(C)[:, y].T if len(y) == C else np.eye(C)[y].T,
                          "transpose", 0.75),
    "labels shifted by one": (lambda y, C: np.eye(C)[(np.asarray(y) + 1) % C].T, "", 0),
    "whole rows set": (lambda y, C: _rows_set(y, C), "", 0),
    "labels as floats": (lambda y, C: np.asarray(y, float)[None, :].repeat(C, 0), "", 0),
    "returns None": (lambda y, C: None, "return", 0),
}


def _rows_set(y, C):
    Y = np.zeros((C, len(y)))
    Y[y, :] = 1
    return Y


@pytest.mark.parametrize("fn", [solution_one_hot, one_hot_eye, one_hot_compare, one_hot_loop_list])
def test_one_hot_accepts_correct(fn):
    r = checks.check_one_hot.evaluate(fn)
    assert r.passed and r.points == 1, r.line


@pytest.mark.parametrize("name", sorted(ONE_HOT_WRONG))
def test_one_hot_rejects_wrong(name):
    fn, hint, points = ONE_HOT_WRONG[name]
    r = checks.check_one_hot.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


# ---------------------------------------------------------------- 5.3 cross_entropy_cost

def cost_where_logsum(Y_hat, Y):
    """Picks each column's true-class probability with np.where, then a sum of logs."""
    p = np.sum(np.where(Y == 1, Y_hat, 0.0), axis=0)
    return -np.sum(np.log(np.clip(p, 1e-12, None))) / Y.shape[1]


def cost_keras_clip(Y_hat, Y):
    eps = 1e-7
    return float(np.mean(-np.sum(Y * np.log(np.clip(Y_hat, eps, 1 - eps)), axis=0)))


def cost_argmax_labels(Y_hat, Y):
    y = Y.argmax(axis=0)
    p = Y_hat[y, np.arange(Y.shape[1])]
    return np.array(-np.mean(np.log(np.maximum(p, np.finfo(float).tiny))))


def cost_float32_kept(Y_hat, Y):
    return np.float32(-(Y * np.log(np.maximum(Y_hat, np.float32(1e-30)))).sum()
                      / np.float32(Y.shape[1]))


def cost_nan_to_num(Y_hat, Y):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.nan_to_num(Y * np.log(Y_hat), nan=0.0, neginf=-1e3)
    return -terms.sum() / Y.shape[1]


def _cost_log(Y_hat, Y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(Y_hat)


def _floored_log(Y_hat, log=np.log):
    return log(np.maximum(Y_hat, 1e-12))


# name: (wrong cost, words of the reported hint, points out of 2). 5.3 states what the cost
# measures and leaves the form to the learner: each hint names the mistake.
COST_WRONG = {
    "summed, not averaged": (lambda Y_hat, Y: -np.sum(Y * _floored_log(Y_hat)),
                             "m times too large", 0.55),
    "log(0) gives infinity": (lambda Y_hat, Y: -np.sum(Y * _cost_log(Y_hat, Y)) / Y.shape[1],
                              "0 times log 0 is NaN", 0.91),
    "np.where without clipping": (
        lambda Y_hat, Y: -np.sum(np.where(Y == 1, _cost_log(Y_hat, Y), 0)) / Y.shape[1],
        "log 0 is -inf", 1.45),
    "mean over classes too": (
        lambda Y_hat, Y: -np.mean(Y * _floored_log(Y_hat)), "C times too small", 0.55),
    "mean over axis 0 (the classes)": (
        lambda Y_hat, Y: float(-np.sum(np.mean(Y * _floored_log(Y_hat), axis=0))),
        "which axis", 1.64),
    "missing minus sign": (
        lambda Y_hat, Y: np.sum(Y * _floored_log(Y_hat)) / Y.shape[1], "negative", 0),
    "per-example vector": (
        lambda Y_hat, Y: -np.sum(Y * _floored_log(Y_hat), axis=0), "one number", 0),
    "binary cross-entropy": (
        lambda Y_hat, Y: -np.sum(Y * _floored_log(Y_hat) + (1 - Y) * _floored_log(1 - Y_hat))
        / Y.shape[1], "what your code takes the log of", 0.55),
    "arguments swapped": (
        lambda Y_hat, Y: -np.sum(Y_hat * _floored_log(Y)) / Y.shape[1],
        "what your code takes the log of", 0.55),
    "log of every entry": (lambda Y_hat, Y: -np.sum(_floored_log(Y_hat)) / Y.shape[1],
                           "other classes' probabilities", 0.55),
    "log of the wrong classes only": (
        lambda Y_hat, Y: -np.sum((1 - Y) * _floored_log(Y_hat)) / Y.shape[1],
        "other classes' probabilities", 0),
    "clipped at a large epsilon": (
        lambda Y_hat, Y: -np.sum(Y * np.log(np.clip(Y_hat, 1e-2, 1))) / Y.shape[1],
        "confident mistake", 1.09),
    "natural log replaced by log10": (
        lambda Y_hat, Y: -np.sum(Y * _floored_log(Y_hat, np.log10)) / Y.shape[1],
        "natural log", 0.55),
    "natural log replaced by log2": (
        lambda Y_hat, Y: -np.sum(Y * _floored_log(Y_hat, np.log2)) / Y.shape[1],
        "natural log", 0.55),
}


@pytest.mark.parametrize("fn", [solution_cost, cost_where_logsum, cost_keras_clip,
                                cost_argmax_labels, cost_float32_kept, cost_nan_to_num])
def test_cost_accepts_correct(fn):
    r = checks.check_cross_entropy_cost.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(COST_WRONG))
def test_cost_rejects_wrong(name):
    fn, hint, points = COST_WRONG[name]
    r = checks.check_cross_entropy_cost.evaluate(fn)
    assert r.status == "failed" and hint in " ".join(r.line.split()) and r.points == points, \
        r.line


def cost_picks_then_floors(Y_hat, Y):
    """Correct, unusual: each column's true-class probability by a dot product with Y's
    column, in a loop over the examples, floored at the smallest normal float."""
    p = np.array([Y_hat[:, i] @ Y[:, i] for i in range(Y.shape[1])])
    return float(np.mean(-np.log(np.maximum(p, np.finfo(p.dtype).tiny))))


def test_cost_accepts_a_loop_that_picks_the_true_class():
    r = checks.check_cross_entropy_cost.evaluate(cost_picks_then_floors)
    assert r.passed and r.points == 2, r.line


def test_cost_hints_name_the_mistake_never_the_formula():
    """5.3 leaves the form to the learner: no catalogued hint shows code or a formula."""
    for name, (fn, _, _) in COST_WRONG.items():
        hint = " ".join(checks.check_cross_entropy_cost.evaluate(fn).line.split())
        hint = hint.split("Hint: ", 1)[1]
        for giveaway in ("np.", "Y *", "* Y", "Y_hat", "log(", "sum(", "mean(", "maximum",
                         "clip", "1e-12", "/ m", "axis=", "where("):
            assert giveaway not in hint, (name, giveaway, hint)


# ---------------------------------------------------------------- 5.5 softmax_backward

def backward_divide_by_label_sum(Y_hat, Y):
    """Y is one-hot, so Y.sum() is m: unusual but correct."""
    return (Y_hat - Y) / Y.sum()


def backward_float32_scaled(Y_hat, Y):
    return np.subtract(Y_hat, Y) * (Y_hat.dtype.type(1) / Y_hat.shape[1])


def backward_loop(Y_hat, Y):
    m = len(Y[0])
    return np.array([[(Y_hat[c][i] - Y[c][i]) / m for i in range(m)]
                     for c in range(len(Y))])


# name: (wrong dZ, words of the reported hint, points out of 2)
BACKWARD_WRONG = {
    "missing division by m": (lambda Y_hat, Y: Y_hat - Y, "divide each example's gradient by m", 0),
    "sign flipped": (lambda Y_hat, Y: (Y - Y_hat) / Y.shape[1], "sign", 0),
    "divided by C": (lambda Y_hat, Y: (Y_hat - Y) / Y.shape[0], "not by C", 0.29),
    "averaged over examples (db)": (
        lambda Y_hat, Y: (Y_hat - Y).mean(axis=1, keepdims=True), "shape", 0),
    "sigmoid derivative chained": (
        lambda Y_hat, Y: (Y_hat - Y) * Y_hat * (1 - Y_hat) / Y.shape[1], "", 0),
    "gradient wrt Y_hat": (lambda Y_hat, Y: -Y / Y_hat / Y.shape[1], "", 0),
    "divided by m twice": (lambda Y_hat, Y: (Y_hat - Y) / Y.shape[1] ** 2, "", 0),
    "transposed": (lambda Y_hat, Y: ((Y_hat - Y) / Y.shape[1]).T, "shape", 0),
    "in place": (lambda Y_hat, Y: Y_hat.__isub__(Y) / Y.shape[1], "in place", 0),
}


@pytest.mark.parametrize("fn", [solution_backward, backward_divide_by_label_sum,
                                backward_float32_scaled, backward_loop])
def test_backward_accepts_correct(fn):
    r = checks.check_softmax_backward.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(BACKWARD_WRONG))
def test_backward_rejects_wrong(name):
    fn, hint, points = BACKWARD_WRONG[name]
    r = checks.check_softmax_backward.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


def test_backward_missing_m_fails_the_numerical_gradient():
    r = checks.check_softmax_backward.evaluate(BACKWARD_WRONG["missing division by m"][0])
    assert any("numerical gradient" in f for f in r.failures), r.failures


# ---------------------------------------------------------------- 5.4 softmax_jacobian

def _p(z):
    return sm.softmax(np.asarray(z, float)[:, None])[:, 0]


def jacobian_loop(z):
    """Correct, unusual: entry by entry with the quotient rule on exp(z - max)."""
    e = np.exp(z - z.max())
    S = e.sum()
    C = len(z)
    return np.array([[(e[j] * S * (j == c) - e[j] * e[c]) / S ** 2 for c in range(C)]
                     for j in range(C)])


# name: (wrong Jacobian, words of the reported hint, points out of 2)
JACOBIAN_WRONG = {
    "diagonal only": (lambda z: np.diag(_p(z) * (1 - _p(z))), "off-diagonal entries", 0),
    "sign flipped": (lambda z: np.outer(_p(z), _p(z)) - np.diag(_p(z)), "sign is flipped", 0.29),
    "logits for probabilities": (lambda z: np.diag(z) - np.outer(z, z), "not the logits", 0),
    "naive softmax": (lambda z: np.diag(np.exp(z) / np.exp(z).sum())
                      - np.outer(np.exp(z), np.exp(z)) / np.exp(z).sum() ** 2,
                      "stable softmax", 1.43),
}


@pytest.mark.parametrize("fn", [solution_jacobian, jacobian_loop])
def test_jacobian_accepts_correct(fn):
    r = checks.check_softmax_jacobian.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(JACOBIAN_WRONG))
def test_jacobian_rejects_wrong(name):
    fn, hint, points = JACOBIAN_WRONG[name]
    r = checks.check_softmax_jacobian.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


# ------------------------------------------------------- 5.6 cross_entropy_from_logits

def logits_cost_logsumexp(Z, Y):
    """Correct, unusual: log-sum-exp with np.logaddexp.reduce, the true class picked out."""
    lse = np.logaddexp.reduce(Z, axis=0)
    return float(np.mean(lse - np.sum(Y * Z, axis=0)))


# name: (wrong cost, words of the reported hint, points out of 2). Exact for logits far
# apart is what the exercise adds to 5.3: the log of softmax keeps 0.5/2.
LOGITS_WRONG = {
    "log of a clipped softmax": (
        lambda Z, Y: float(-np.sum(Y * np.log(np.maximum(sm.softmax(Z), 1e-12))) / Y.shape[1]),
        "without computing y_hat", 0.5),
    "log of softmax": (lambda Z, Y: float(-np.sum(Y * np.log(sm.softmax(Z))) / Y.shape[1]),
                       "without computing y_hat", 0.5),
    "no max subtracted": (
        lambda Z, Y: float(-np.sum(Y * (Z - np.log(np.exp(Z).sum(0)))) / Y.shape[1]),
        "exp overflows", 0.5),
    "summed, not averaged": (lambda Z, Y: solution_from_logits(Z, Y) * Y.shape[1],
                             "divide the sum by m", 0),
}


@pytest.mark.parametrize("fn", [solution_from_logits, logits_cost_logsumexp])
def test_cost_from_logits_accepts_correct(fn):
    r = checks.check_cross_entropy_from_logits.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(LOGITS_WRONG))
def test_cost_from_logits_rejects_wrong(name):
    fn, hint, points = LOGITS_WRONG[name]
    r = checks.check_cross_entropy_from_logits.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


# ---------------------------------------------------------------- all exercises

ALL = [checks.check_softmax, checks.check_one_hot, checks.check_cross_entropy_cost,
       checks.check_softmax_jacobian, checks.check_softmax_backward,
       checks.check_cross_entropy_from_logits]


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.exercise.function)
def test_stub_is_not_attempted(check):
    r = check.evaluate(_stub)
    assert r.status == "not attempted" and r.points == 0
    assert r.line == (f"○ Exercise {check.exercise.id} {check.exercise.function}: "
                      f"not attempted yet (0/{check.exercise.points:g} points)")


@pytest.mark.parametrize("check", ALL, ids=lambda c: c.exercise.function)
def test_not_a_function_and_crashing_functions_fail_cleanly(check):
    assert check.evaluate(42).status == "failed"

    def crash(*args):
        raise ZeroDivisionError("oops")

    r = check.evaluate(crash)
    assert r.status == "failed" and r.points == 0 and "ZeroDivisionError" in r.line


def test_exercises_registered_for_notebook_05():
    ids = {e.id: e for e in EXERCISES.values() if e.notebook == "05_softmax_regression"}
    assert sorted(ids) == ["5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "Q5.1", "Q5.2", "Q5.3"]
    assert [ids[i].function for i in sorted(ids)] == [
        "softmax", "one_hot", "cross_entropy_cost", "softmax_jacobian", "softmax_backward",
        "cross_entropy_from_logits", "two_class_softmax", "untrained_cost",
        "random_start_cost"]
    assert [ids[i].kind for i in ("Q5.1", "Q5.2", "Q5.3")] == ["question"] * 3


def test_check_prints_one_stable_line(capsys):
    checks.check_softmax(solution_softmax)
    checks.check_softmax(solution_softmax)
    out = capsys.readouterr().out.splitlines()
    assert out == ["✓ Exercise 5.1 softmax: 6/6 checks passed (2/2 points)"] * 2


def test_learner_printing_and_warnings_are_captured(capsys):
    def noisy(Z):
        print("debugging", Z.shape)
        return np.exp(Z) / np.exp(Z).sum(axis=0)

    checks.check_softmax(noisy)
    captured = capsys.readouterr()
    # the check's one line (whitespace collapsed: a long line may be wrapped when printed)
    assert captured.out.startswith("✗ Exercise 5.1") and "debugging" not in captured.out
    assert " ".join(captured.out.split()) == " ".join(
        checks.check_softmax.evaluate(noisy).line.split())
    assert captured.err == ""


def test_the_overflow_costs_most_and_is_what_the_line_reports():
    r = checks.check_softmax.evaluate(SOFTMAX_WRONG["no max subtraction (overflow)"][0])
    assert r.points == 0.5 and r.passed_checks == 4
    assert " ".join(r.line.split()) == (
        "✗ Exercise 5.1 softmax: for logits of +-1000 such as [1000, 1001, 1002] returned NaN "
        "or infinity (array of shape (3, 4) [nan, nan, 0, 0.3333, nan, nan, ...]). Hint: "
        "exp overflowed: softmax is unchanged when one constant is subtracted from a whole "
        "column, so subtract each column's maximum before exponentiating, which keeps every "
        "exponent at or below 0. (4/6 checks passed, 0.5/2 points)")


@pytest.mark.parametrize("check, catalogue", [
    (checks.check_softmax, SOFTMAX_WRONG), (checks.check_one_hot, ONE_HOT_WRONG)])
def test_softmax_and_one_hot_hints_show_no_code(check, catalogue):
    """The hints name the mistake and the idea; none hands over a line of numpy."""
    for name, (fn, _, _) in catalogue.items():
        line = " ".join(check.evaluate(fn).line.split())
        hint = line.split("Hint: ", 1)[1] if "Hint: " in line else ""
        for code in ("np.", "axis=", "keepdims", "Z.max", "exp(", "eye(", "arange", "Y["):
            assert code not in hint, (name, code, hint)


# ---------------------------------------------------------------- concept questions

def test_two_class_softmax_takes_z0_minus_z1():
    z0, z1 = 0.7, -1.9                          # the key agrees with the algebra
    assert np.isclose(sm.softmax(np.array([[z0], [z1]]))[0, 0], 1 / (1 + np.exp(-(z0 - z1))))
    for right in ("c", "C", "(c)"):
        r = Keyed(checks.check_two_class_softmax).evaluate(lambda a=right: a)
        assert r.passed and r.points == 1
    assert r.line == "✓ Question 5.1 two_class_softmax: right (1/1 points)"


@pytest.mark.parametrize("wrong", ["a", "b", "d", "e"])
def test_two_class_softmax_rejects_each_distractor(wrong):
    r = Keyed(checks.check_two_class_softmax).evaluate(lambda: wrong)
    assert r.status == "failed" and r.points == 0
    assert f"you answered ({wrong}); the answer is (c)" in r.line


def test_two_class_softmax_lines_are_exact():
    assert Keyed(checks.check_two_class_softmax).evaluate(lambda: "b").line == (
        "✗ Question 5.1 two_class_softmax: you answered (b); the answer is (c). Why: divide "
        "top and bottom by e^z0: 1 / (1 + e^(z1 - z0)) = sigmoid(z0 - z1). Only the "
        "difference of the logits counts; sigmoid(z1 - z0) is class 1's probability. "
        "(0/1 points)")
    assert Keyed(checks.check_two_class_softmax).evaluate(_stub).line == \
        "○ Question 5.1 two_class_softmax: not attempted yet (0/1 points)"
    malformed = Keyed(checks.check_two_class_softmax).evaluate(lambda: "f")
    assert "expected one of the letters a, b, c, d, e" in malformed.line
    assert "(c)" not in malformed.line


@pytest.mark.parametrize("right", [np.log(10), 2.3026, 2.30, np.float32(2.302585)])
def test_untrained_cost_is_ln_10(right):
    r = Keyed(checks.check_untrained_cost).evaluate(lambda: right)
    assert r.passed and r.points == 1, r.line
    assert r.line == "✓ Question 5.2 untrained_cost: right (1/1 points)"


@pytest.mark.parametrize("wrong", [
    0.1,                   # the probability itself, not its -log
    1.0,                   # log base 10
    0.9,                   # the error rate of a uniform guess
    23.03,                 # -sum over all 10 classes of ln(1/10), as if every class were true
    0.2303,                # divided by C m instead of m
    -2.3026,               # the sign of -log forgotten
])
def test_untrained_cost_rejects_the_usual_slips(wrong):
    r = Keyed(checks.check_untrained_cost).evaluate(lambda: wrong)
    assert r.status == "failed" and r.points == 0
    assert "the answer is 2.303" in r.line


def test_untrained_cost_line_is_exact_and_the_key_is_measured():
    Y = sm.one_hot(np.arange(10).repeat(3), 10)
    assert np.isclose(sm.cross_entropy_cost(np.full((10, 30), 0.1), Y), np.log(10))
    assert Keyed(checks.check_untrained_cost).evaluate(lambda: 1.0).line == (
        "✗ Question 5.2 untrained_cost: you answered 1; the answer is 2.303. Why: every "
        "example gives its true class 1/10, so every loss is -ln(1/10) = ln 10 = 2.303 "
        "whatever the label, and the mean over the examples is the same. (0/1 points)")
    assert "expected a number" in Keyed(checks.check_untrained_cost).evaluate(lambda: "2.303").line



def test_random_start_cost_is_above_ln_10_and_measured_so():
    """The key, (c), is what notebook 05 measures: the network's first weights start the
    digits' cost above ln 10 on every one of 20 draws (Jensen's inequality)."""
    from lessonlib.core.data import load_digits
    from lessonlib.lessons.softmax_regression import starting_costs
    digits = load_digits()
    costs = starting_costs(digits.train.X, digits.train.y, [1.0], n_draws=20, n_classes=10,
                           rng=np.random.default_rng(0))
    assert np.all(costs > np.log(10))
    for right in ("c", "C", "(c)"):
        r = Keyed(checks.check_random_start_cost).evaluate(lambda a=right: a)
        assert r.passed and r.points == 1, r.line
    assert r.line == "✓ Question 5.3 random_start_cost: right (1/1 points)"


@pytest.mark.parametrize("wrong", ["a", "b", "d"])
def test_random_start_cost_rejects_each_distractor(wrong):
    r = Keyed(checks.check_random_start_cost).evaluate(lambda: wrong)
    assert r.status == "failed" and r.points == 0
    assert f"you answered ({wrong}); the answer is (c)" in r.line and "Jensen" in r.line


@pytest.mark.parametrize("malformed", ["e", 3, "above", None])
def test_random_start_cost_tells_the_form_and_hides_the_key(malformed):
    r = checks.check_random_start_cost.evaluate(lambda: malformed)
    assert r.status == "failed" and r.points == 0
    assert "expected one of the letters a, b, c, d" in r.line and "(c)" not in r.line
    answered = checks.check_random_start_cost.evaluate(lambda: "b")
    assert answered.line == ("✎ Question 5.3 random_start_cost: answered (b); right or wrong "
                             "comes with grading (1 point)")
