"""Checks for notebook 05, softmax regression (exercises 5.1 to 5.6, questions 5.1 to 5.3).

Every check compares the learner's function with the reference's answers (``ck.ref``)
on fixed and random cases, and adds the properties that catch
the classic mistakes of the topic: columns that sum to 1 and invariance to a constant added
to the logits (softmax over the wrong axis), logits of +-1000 (no max subtraction: overflow,
NaN), a probability of 0 (``log(0)`` giving infinity or ``0 * log 0`` giving NaN), a summed
instead of averaged cost, and the gradient against a numerical one (``dZ`` missing the
``1 / m``). Any correct implementation passes: ``exp(Z - logsumexp(Z))``, float32 input,
``np.eye(C)[y].T``, a cost that picks the true class's probability with ``np.where``, and
so on.

Why these weights (``framework.weighted``): each exercise's points follow the mistake the
notebook stresses for it.

- 5.1 ``softmax``: subtracting the maximum is what section 1 stresses most ("every real
  implementation computes softmax this way"): logits of +-1000 weigh 8 and float32 logits 4
  of 16, so the naive ``exp(Z) / sum`` keeps 0.5/2. The columns, the fixed and random cases
  and the shift invariance weigh 1 each.
- 5.2 ``one_hot``: C rows even when a class is absent from ``y`` (the exercise's own
  warning) weighs 4 of 8, a square case that shows a transposed ``Y`` 2.
- 5.3 ``cross_entropy_cost``: the exercise asks for two things, the value (the mean of the
  examples' losses) and a cost that stays finite when a probability is 0. The fixed case
  weighs 3 (it reports a wrong value first), the random and float32 cases 1 each; a 0 on a
  wrong class 3, a 0 on the true class 3. A sum over the examples keeps 0.55/2, a log of 0
  0.91/2.
- 5.4 ``softmax_jacobian``: the formula, against a numerical Jacobian, weighs 4 of 7; the
  large logits 2 (the naive softmax of 5.1 again); the symmetry and zero row sums 1, which a
  flipped sign still passes.
- 5.5 ``softmax_backward``: the numerical gradient, which catches the 1/m the notebook asks
  about, weighs 3 of 7, the random cases 2, the lecture's square case 1 (dividing by C
  passes it) and float32 1.
- 5.6 ``cross_entropy_from_logits``: exact for logits far apart is the exercise's reason to
  exist (weight 9 of 12): the log of softmax, clipped or not, keeps 0.5/2.
"""

from __future__ import annotations

import functools

import numpy as np

from ...core.gradcheck import numerical_gradient, relative_error
from ..exercises import EXERCISES
from ..framework import (
    CheckFailure,
    NotAttempted,
    case_rng,
    fmt_array,
    make_check,
    make_question,
    require,
    require_array,
    shown,
    weighted,
)
from ..mistakes import named


def _fresh_probabilities(rng):
    """Probabilities ``(3, 3)`` of 3 examples and their labels, like the shown case."""
    columns = []
    for _ in range(3):
        a = round(float(rng.uniform(0.05, 0.8)), 2)
        b = round(float(rng.uniform(0.05, 0.95 - a)), 2)
        columns.append(rng.permutation([a, b, round(1 - a - b, 2)]))
    return np.array(columns).T, [int(v) for v in rng.integers(0, 3, 3)]


def _zero_wrong_class(rng):
    """Probabilities of 3 examples with labels [0, 1, 1], exact zeros on wrong classes."""
    p = float(np.round(rng.uniform(0.5, 0.95), 2))
    q = float(np.round(rng.uniform(0.2, 0.8), 2))
    return np.array([[1.0, 0.0, 1 - q], [0.0, p, q], [0.0, 1 - p, 0.0]])


def _one_cycle(rng):
    """Labels ``y`` of m = C examples whose one-hot matrix is not its own transpose: one
    cycle through all the classes (C from 3 to 6)."""
    C = int(rng.integers(3, 7))
    order = rng.permutation(C)
    y = [0] * C
    for i in range(C):
        y[order[i]] = int(order[(i + 1) % C])
    return y


def _random_logits(seed: int, C: int, m: int, scale: float = 3.0) -> np.ndarray:
    return scale * case_rng(seed).standard_normal((C, m))


def _random_labels(seed: int, C: int, m: int) -> np.ndarray:
    return case_rng(seed).integers(0, C, m)


# ------------------------------------------------------------------ 5.1 softmax

_STABLE_HINT = named("softmax-overflow", "exp overflowed: softmax is unchanged when one "
                     "constant is subtracted from a whole column, so subtract each column's "
                     "maximum before exponentiating, which keeps every exponent at or below 0")


def _softmax_out(ck, Z, case, overflow_hint=_STABLE_HINT):
    out = ck.call(Z)
    require(out is not None, f"returned None for {case}", "end the function with a return "
            "statement")
    arr = np.asarray(out)
    require(arr.shape == Z.shape, f"for {case} returned shape {arr.shape}, expected "
            f"{Z.shape}", "softmax keeps the shape (C, m) of Z: one probability per class "
            "and example")
    try:
        arr = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        require(False, f"for {case} returned {type(out).__name__}, expected an array of "
                "numbers")
    require(np.all(np.isfinite(arr)), f"for {case} returned NaN or infinity "
            f"({fmt_array(arr)})", overflow_hint)
    return arr


def _axis_hint(P):
    if np.allclose(P.sum(axis=1), 1):
        return named("softmax-wrong-axis", "each column is one example: normalize over axis 0 "
                     "(the classes), not axis 1")
    if np.isclose(P.sum(), 1):
        return named("softmax-whole-sum",
                     "divide each column by its own sum, not by the sum of the whole array")
    return ("the columns do not sum to 1: normalize each column (axis 0, the classes) by its "
            "own sum")


def _value_hint(P):
    """The hint for finite probabilities that differ from softmax's (an overflow is told by
    ``_softmax_out``): the axis when the columns do not sum to 1, else the formula."""
    if not np.allclose(P.sum(axis=0), 1, atol=1e-6):
        return _axis_hint(P)
    return ("the columns sum to 1 but hold other values than softmax's: check that you "
            "exponentiate the logits (less each column's maximum, which changes nothing) "
            "before dividing by the column's sum")


@weighted(1)
def _softmax_columns(ck):
    Z = _random_logits(1, 4, 7)
    P = _softmax_out(ck, Z, "logits of shape (4, 7)")
    sums = P.sum(axis=0)
    require(np.all(P >= 0) and np.allclose(sums, 1, atol=1e-6),
            f"for logits of shape (4, 7) the columns sum to {fmt_array(sums, 3)}, expected "
            "1 each", _axis_hint(P))


@weighted(1)
def _softmax_fixed(ck):
    z = shown(5, np.array([[5.0], [2.0], [-1.0], [3.0]]),
              lambda rng: np.round(rng.uniform(-5, 5, (4, 1)), 1))
    want = ck.ref.softmax(z)
    got = _softmax_out(ck, z, f"the column z = {fmt_array(z.ravel(), 3)}")
    require(np.allclose(got, want, rtol=1e-6, atol=1e-9),
            f"for z = {fmt_array(z.ravel(), 3)} expected {fmt_array(want[:, 0], 3)}, got "
            f"{fmt_array(got.ravel(), 3)}", _value_hint(got))


@weighted(1)
def _softmax_random(ck):
    for seed, (C, m) in enumerate([(3, 5), (10, 20), (2, 1), (6, 6), (1, 4)], start=10):
        Z = _random_logits(seed, C, m)
        want = ck.ref.softmax(Z)
        got = _softmax_out(ck, Z, f"random logits of shape {(C, m)}")
        require(np.allclose(got, want, rtol=1e-6, atol=1e-9),
                f"for random logits of shape {(C, m)} expected {fmt_array(want)}, got "
                f"{fmt_array(got)}", _axis_hint(got))


@weighted(1)
def _softmax_shift(ck):
    Z = _random_logits(2, 5, 6)
    shift = np.array([[30.0, -40.0, 0.0, 200.0, -500.0, 700.0]])
    a = _softmax_out(ck, Z, "logits of shape (5, 6)")
    b = _softmax_out(ck, Z + shift, "the same logits plus a constant in each column "
                     "(up to 700)")
    require(np.allclose(a, b, rtol=1e-6, atol=1e-9),
            "adding a constant to each column of the logits changed the probabilities "
            f"(from {fmt_array(a)} to {fmt_array(b)})",
            named("softmax-overflow", "softmax(Z + c) = softmax(Z); " + _STABLE_HINT))


@weighted(8)
def _softmax_extreme(ck):
    Z = np.array([[1000.0, -1000.0, -1000.0, 0.0],
                  [1001.0, -1001.0, 0.0, 0.0],
                  [1002.0, -1002.0, 1000.0, 0.0]])
    Z = shown(6, Z, lambda rng: Z + np.round(rng.uniform(-3, 3, Z.shape), 1))
    want = ck.ref.softmax(Z)
    got = _softmax_out(ck, Z, "logits of +-1000 such as [1000, 1001, 1002]")
    require(np.allclose(got, want, rtol=1e-6, atol=1e-9),
            f"for logits of +-1000 expected {fmt_array(want)}, got {fmt_array(got)}",
            _value_hint(got))


@weighted(4)
def _softmax_float32(ck):
    Z = _random_logits(3, 5, 8).astype(np.float32)
    Z[:, 0] += np.float32(500)
    want = ck.ref.softmax(Z.astype(np.float64))
    got = _softmax_out(ck, Z, "float32 logits of shape (5, 8)",
                       named("softmax-overflow", "float32 overflows at exp(89): " + _STABLE_HINT))
    require(np.allclose(got, want, rtol=1e-4, atol=1e-6),
            f"for float32 logits expected {fmt_array(want)}, got {fmt_array(got)}",
            _value_hint(got))


check_softmax = make_check(
    EXERCISES["5.1"],
    [_softmax_columns, _softmax_fixed, _softmax_random, _softmax_shift, _softmax_extreme,
     _softmax_float32])

# ------------------------------------------------------------------ 5.2 one_hot


def _one_hot_out(ck, y, C):
    case = f"y = {fmt_array(y)}, C = {C}"
    out = ck.call(np.asarray(y, dtype=np.int64), C)
    arr = require_array(out, "Y")
    m = len(y)
    require(not (arr.shape == (m, C) and m != C), f"for {case} returned shape {arr.shape}, "
            f"expected {(C, m)}", "one column per example: your array has a row per "
            "example, where the rows are the classes")
    require(arr.shape == (C, m), f"for {case} returned shape {arr.shape}, expected {(C, m)}",
            "use C, not max(y) + 1, for the number of rows: Y has a row for every class, "
            "even ones absent from y" if arr.shape == (max(y) + 1, m) else
            "Y has C rows (one per class) and m columns (one per example)")
    return arr, case


@weighted(1)
def _one_hot_fixed(ck):
    y = shown(22, [2, 0, 1, 2], lambda rng: [int(v) for v in rng.integers(0, 3, 5)])
    want = ck.ref.one_hot(y, 3)
    got, case = _one_hot_out(ck, y, 3)
    require(np.array_equal(got, want), f"for {case} expected {fmt_array(want)} (row by row), "
            f"got {fmt_array(got)}", "column i has a single 1, in row y[i]")


@weighted(2)
def _one_hot_square(ck):
    y = shown(23, [1, 2, 0], _one_cycle)          # m = C and one_hot(y) is not symmetric
    C = len(y)
    want = ck.ref.one_hot(y, C)
    got, case = _one_hot_out(ck, y, C)
    require(not np.array_equal(got, want.T), f"for {case} returned the transpose of the "
            "expected array", "rows are classes and columns are examples")
    require(np.array_equal(got, want), f"for {case} expected {fmt_array(want)}, got "
            f"{fmt_array(got)}", "column i has a single 1, in row y[i]")


@weighted(4)
def _one_hot_unused_classes(ck):
    y, C = shown(24, ([0, 1, 1], 5), lambda rng: (
        [int(v) for v in rng.integers(0, 3, int(rng.integers(3, 6)))], int(rng.integers(5, 8))))
    want = ck.ref.one_hot(y, C)
    got, case = _one_hot_out(ck, y, C)
    require(np.array_equal(got, want), f"for {case} expected a 1 in rows "
            f"{', '.join(map(str, y))} of the columns, got {fmt_array(got)}",
            "column i has a single 1, in row y[i]; the rows of classes absent from y stay 0")


@weighted(1)
def _one_hot_random(ck):
    for seed, (C, m) in enumerate([(10, 50), (4, 1), (2, 9)], start=20):
        y = _random_labels(seed, C, m)
        want = ck.ref.one_hot(y, C)
        got, case = _one_hot_out(ck, y, C)
        require(np.allclose(got.sum(axis=0), 1), f"for {case} the columns sum to "
                f"{fmt_array(got.sum(axis=0))}, expected 1 each",
                "each example (column) has exactly one 1")
        require(np.array_equal(got, want), f"for {case} the 1s are in the wrong rows",
                "column i has its 1 in row y[i]; labels start at 0")


check_one_hot = make_check(
    EXERCISES["5.2"],
    [_one_hot_fixed, _one_hot_square, _one_hot_unused_classes, _one_hot_random])

# ------------------------------------------------------------------ 5.3 cross_entropy_cost

# 5.3 states the property (the mean over the examples of minus the natural log of the true
# class's probability) and leaves the form to the learner: its hints name the mistake and
# the idea to revisit, never the code or the formula.
_NAN_HINT = ("a probability of 0 on a wrong class made the cost NaN: in floating point "
             "0 times log 0 is NaN, not 0, so a wrong class's 0 must never reach the log")
_INF_HINT = ("a probability of 0 on the true class made the cost infinite (log 0 is -inf): "
             "keep what reaches the log above 0, by a floor far below any probability a "
             "model would give")


def _cost_value(ck, Y_hat, Y, case, *, finite=True, nonfinite_hint=_NAN_HINT):
    out = ck.call(Y_hat, Y)
    require(out is not None, f"returned None for {case}", "end the function with a return "
            "statement")
    try:
        arr = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        require(False, f"for {case} returned {type(out).__name__}, expected a number")
    require(arr.size == 1, f"for {case} returned an array of shape {arr.shape}, expected a "
            "single number", "the cost is one number for the whole batch: the mean of the "
            "examples' losses, not a loss per example or per class")
    val = float(arr.reshape(-1)[0])
    if finite:
        require(np.isfinite(val), f"for {case} returned {val}", nonfinite_hint)
    return val


def _log_of_other_entries(Y_hat, Y):
    """The costs of two slips that take the log of other entries than the true class's:
    every entry of ``Y_hat``, and only the wrong classes' (clipped like a careful cost)."""
    logs = np.log(np.maximum(Y_hat, 1e-12))
    m = Y.shape[1]
    return -np.sum(logs) / m, -np.sum((1 - Y) * logs) / m


def _cost_hint(got, want, m, C, Y_hat, Y):
    close = functools.partial(np.isclose, rtol=1e-6, atol=0)
    if close(got, m * want):
        return named("cost-summed", "the cost came out m times too large: it is the mean of "
                     "the examples' losses, not their sum")
    if C != m and close(got, want * m / C):
        return named("cost-wrong-axis", "the cost was divided by C, the number of classes, "
                     "where it averages over the m examples: check which axis your mean or "
                     "division runs over")
    if close(got, want / C):
        return named("cost-mean-over-classes", "the cost came out C times too small: it "
                     "averages over the m examples (the columns) only; each example's loss is "
                     "one number, not an average over the classes")
    if close(got, -want):
        return named("cost-negative", "the cost came out negative: the log of a probability "
                     "is at most 0, and the loss is minus that log")
    if close(got, want / np.log(10)) or close(got, want / np.log(2)):
        return named("cost-log-base", "the cost is off by a constant factor: the loss uses "
                     "the natural log, and a log in another base measures in other units")
    if any(close(got, slip) for slip in _log_of_other_entries(Y_hat, Y)):
        return named("cost-other-classes", "the cost took the log of other classes' "
                     "probabilities: each example's loss depends only on the probability of "
                     "its true class, which Y marks")
    return ("each example's loss is minus the natural log of its true class's probability "
            "(Y marks that class), and the cost is their mean over the m examples: compare "
            "what your code takes the log of, and what it averages over, with that")


def _cost_compare(ck, Y_hat, Y, case):
    want = ck.ref.cross_entropy_cost(Y_hat, Y)
    got = _cost_value(ck, Y_hat, Y, case)
    C, m = Y.shape
    require(np.isclose(got, want, rtol=1e-5, atol=1e-6),
            f"for {case} expected {want:.6f}, got {got:.6g}",
            _cost_hint(got, want, m, C, Y_hat, Y))


@weighted(3)
def _cost_fixed(ck):
    Y_hat, y = shown(33, (np.array([[0.7, 0.1, 0.25], [0.2, 0.6, 0.25], [0.1, 0.3, 0.5]]),
                          [0, 2, 1]), _fresh_probabilities)
    Y = ck.ref.one_hot(y, 3)
    true = ", ".join(f"{Y_hat[c, i]:g}" for i, c in enumerate(y))
    _cost_compare(ck, Y_hat, Y, f"3 examples, true-class probabilities {true}")


@weighted(1)
def _cost_random(ck):
    for seed, (C, m) in enumerate([(4, 5), (10, 30), (3, 1), (2, 8)], start=30):
        Y_hat = ck.ref.softmax(_random_logits(seed, C, m, scale=2.0))
        Y = ck.ref.one_hot(_random_labels(seed + 100, C, m), C)
        _cost_compare(ck, Y_hat, Y, f"random probabilities of shape {(C, m)}")


@weighted(1)
def _cost_float32(ck):
    Y_hat = ck.ref.softmax(_random_logits(40, 5, 6)).astype(np.float32)
    Y = ck.ref.one_hot(_random_labels(41, 5, 6), 5).astype(np.float32)
    want = ck.ref.cross_entropy_cost(Y_hat.astype(np.float64), Y.astype(np.float64))
    got = _cost_value(ck, Y_hat, Y, "float32 probabilities of shape (5, 6)")
    require(np.isclose(got, want, rtol=1e-4), f"for float32 probabilities expected "
            f"{want:.5f}, got {got:.6g}", _cost_hint(got, want, 6, 5, Y_hat, Y))


@weighted(3)
def _cost_zero_wrong_class(ck):
    Y_hat = np.array([[1.0, 0.0, 0.5], [0.0, 0.8, 0.5], [0.0, 0.2, 0.0]])
    Y_hat = shown(34, Y_hat, _zero_wrong_class)
    Y = ck.ref.one_hot([0, 1, 1], 3)
    _cost_compare(ck, Y_hat, Y, "probabilities of exactly 0 on wrong classes")


@weighted(3)
def _cost_zero_true_class(ck):
    other = shown(35, 0.5, lambda rng: round(float(rng.uniform(0.2, 0.8)), 2))
    Y_hat = np.array([[0.0, other], [1.0, 1 - other]])
    Y = ck.ref.one_hot([0, 0], 2)
    got = _cost_value(ck, Y_hat, Y, "a probability of 0 on the true class",
                      nonfinite_hint=_INF_HINT)
    confident = _cost_value(ck, np.array([[1e-6, other], [1 - 1e-6, 1 - other]]), Y,
                            "a probability of 1e-6 on the true class",
                            nonfinite_hint=_INF_HINT)
    hint = ("a confident mistake must cost a lot: whatever keeps the log finite must not "
            "lift small probabilities, only a 0")
    require(got >= confident - 1e-6,
            f"a probability of 0 on the true class cost {got:.4g}, less than a probability "
            f"of 1e-6 there ({confident:.4g})", hint)
    require(got > 5, f"a probability of 0 on the true class cost {got:.4g}, expected more "
            "than 5 for these two examples, about what a true class at 1e-4 costs", hint)


check_cross_entropy_cost = make_check(
    EXERCISES["5.3"],
    [_cost_fixed, _cost_random, _cost_float32, _cost_zero_wrong_class, _cost_zero_true_class])

# ------------------------------------------------------------------ 5.4 softmax_jacobian

def _jac(ck, z):
    C = z.size
    return require_array(ck.call(z.copy()), "the Jacobian", (C, C))


# The hint of each classic mistake of 5.4, by the name under which the instructor side
# computes what it returns (``softmax_jacobian_slips``, asked before the learner's function).
_JACOBIAN_HINTS = {
    "diagonal_only": named("jacobian-diagonal-only", "the off-diagonal entries are not 0: "
                           "raising z_c lowers every other probability through the sum in the "
                           "denominator"),
    "sign": named("jacobian-sign", "the sign is flipped: raising z_c raises y_hat_c"),
    "logits": named("jacobian-logits", "use the probabilities y_hat = softmax(z), not the "
                    "logits"),
}


def _jacobian_hint(got, slips):
    """The hint for a Jacobian ``got`` given what each classic mistake returns (``slips``)."""
    for name, hint in _JACOBIAN_HINTS.items():
        if np.shape(got) == np.shape(slips[name]) and np.allclose(got, slips[name]):
            return hint
    return ("differentiate y_hat_j with respect to z_c by the quotient rule, separately for "
            "j = c and for j != c")


def _numerical_jacobian(ref, z):
    """The centred-difference Jacobian (C, C) of the reference softmax at the logits ``z``
    (C,), row j the gradient of probability j (a derived answer, ``oracle``)."""
    return np.stack([numerical_gradient(lambda x, j=j: float(ref.softmax(x[:, None])[j, 0]),
                                        z.copy()) for j in range(z.size)])


@weighted(4)
def _jacobian_numerical(ck):
    for z in [np.array([5.0, 2.0, -1.0, 3.0]), np.array([0.3, -0.2]),
              _random_logits(80, 7, 1)[:, 0]]:
        num = ck.ref.derived(_numerical_jacobian, z)
        slips = ck.ref.softmax_jacobian_slips(z)
        got = _jac(ck, z)
        err = relative_error(got, num)
        require(err < 1e-7, f"for z = {fmt_array(z, 3)} the Jacobian differs from the "
                f"numerical one by a relative error of {err:.1e}, expected below 1e-7",
                _jacobian_hint(got, slips))


@weighted(1)
def _jacobian_rows_sum_to_zero(ck):
    z = _random_logits(81, 10, 1)[:, 0]
    slips = ck.ref.softmax_jacobian_slips(z)
    got = _jac(ck, z)
    require(np.allclose(got.sum(axis=1), 0, atol=1e-9) and np.allclose(got, got.T, atol=1e-9),
            f"for 10 random logits the rows sum to {fmt_array(got.sum(axis=1), 3)}, expected "
            "0 (the probabilities always sum to 1) and a symmetric matrix",
            _jacobian_hint(got, slips))


@weighted(2)
def _jacobian_large_logits(ck):
    z = shown(44, np.array([1000.0, 1001.0, 1002.0]),
              lambda rng: 1000.0 + np.round(rng.uniform(-2, 2, 3), 2))
    stable = "compute the probabilities with your stable softmax (subtract the maximum)"
    want = ck.ref.softmax_jacobian(z)
    got = np.asarray(ck.call(z.copy()), dtype=float)
    require(got.shape == (3, 3) and np.all(np.isfinite(got)),
            f"for z = {fmt_array(z, 6)} returned {fmt_array(got)}, expected a finite (3, 3) "
            "matrix", stable)
    require(np.allclose(got, want, atol=1e-9),
            f"for z = {fmt_array(z, 6)} expected {fmt_array(want)}, got {fmt_array(got)}",
            stable)


check_softmax_jacobian = make_check(
    EXERCISES["5.4"], [_jacobian_numerical, _jacobian_rows_sum_to_zero, _jacobian_large_logits])

# ------------------------------------------------------------------ 5.5 softmax_backward


def _dZ(ck, Y_hat, Y, case):
    out = ck.call(Y_hat, Y)
    arr = require_array(out, "dZ")
    require(arr.shape == Y.shape, f"for {case} returned dZ of shape {arr.shape}, expected "
            f"{Y.shape}", "dZ has the shape (C, m) of Z: do not sum over the examples")
    return arr


def _backward_hint(got, want, Y):
    """The hint for ``got`` against the reference's dZ ``want`` (labels ``Y``)."""
    C, m = Y.shape
    if m > 1 and np.allclose(got, want * m):
        return named("dz-times-m", "the cost is a mean over the m examples: divide each "
                     "example's gradient by m")
    if np.allclose(got, -want):
        return named("dz-sign", "the sign is flipped: raising the true class's logit must "
                     "lower the cost, so its entry of dZ is negative")
    if C != m and np.allclose(got, want * m / C):
        return named("dz-over-C", "divide by m (examples, Y.shape[1]), not by C (classes, "
                     "Y.shape[0])")
    return ("per example, the loss depends only on the true class's probability: chain its "
            "derivative with that class's row of your Jacobian, for c = t and for c != t, "
            "and write both cases with the one-hot label")


@weighted(1)
def _backward_fixed(ck):
    Y_hat, y = shown(55, (np.array([[0.7, 0.1, 0.25], [0.2, 0.6, 0.25], [0.1, 0.3, 0.5]]),
                          [0, 2, 1]), _fresh_probabilities)
    Y = ck.ref.one_hot(y, 3)
    want = ck.ref.softmax_backward(Y_hat, Y)
    got = _dZ(ck, Y_hat, Y, "3 examples of 3 classes")
    require(np.allclose(got, want, rtol=1e-6, atol=1e-9),
            f"for 3 examples of 3 classes expected {fmt_array(want)}, got {fmt_array(got)}",
            _backward_hint(got, want, Y))


@weighted(3)
def _backward_numerical(ck):
    C, m = 4, 5
    Z = _random_logits(50, C, m, scale=1.5)
    Y = ck.ref.one_hot(_random_labels(51, C, m), C)
    Y_hat = ck.ref.softmax(Z)
    num = ck.ref.numerical_dZ(Z, Y)
    got = _dZ(ck, Y_hat, Y, "random logits of shape (4, 5)")
    err = np.linalg.norm(got - num) / (np.linalg.norm(got) + np.linalg.norm(num) + 1e-300)
    require(err < 1e-6, f"dZ differs from the numerical gradient of the cost with respect "
            f"to Z by a relative error of {err:.2g} (expected < 1e-6): numerical "
            f"{fmt_array(num)}, yours {fmt_array(got)}",
            _backward_hint(got, num, Y))


@weighted(2)
def _backward_random(ck):
    for seed, (C, m) in enumerate([(10, 32), (2, 7), (5, 1), (3, 64)], start=60):
        Y_hat = ck.ref.softmax(_random_logits(seed, C, m))
        Y = ck.ref.one_hot(_random_labels(seed + 100, C, m), C)
        want = ck.ref.softmax_backward(Y_hat, Y)
        got = _dZ(ck, Y_hat, Y, f"random probabilities of shape {(C, m)}")
        require(np.allclose(got, want, rtol=1e-6, atol=1e-12),
                f"for random probabilities of shape {(C, m)} expected {fmt_array(want)}, "
                f"got {fmt_array(got)}", _backward_hint(got, want, Y))


@weighted(1)
def _backward_float32(ck):
    Y_hat = ck.ref.softmax(_random_logits(70, 6, 9)).astype(np.float32)
    Y = ck.ref.one_hot(_random_labels(71, 6, 9), 6).astype(np.float32)
    want = ck.ref.softmax_backward(Y_hat.astype(np.float64), Y.astype(np.float64))
    got = _dZ(ck, Y_hat, Y, "float32 probabilities of shape (6, 9)")
    require(np.allclose(got, want, rtol=1e-4, atol=1e-7),
            f"for float32 probabilities expected {fmt_array(want)}, got {fmt_array(got)}",
            _backward_hint(got, want, Y))


check_softmax_backward = make_check(
    EXERCISES["5.5"],
    [_backward_fixed, _backward_numerical, _backward_random, _backward_float32])


# ------------------------------------------------------- 5.6 cross_entropy_from_logits

def _overflows(ck) -> bool:
    """Whether the learner's cost is not finite for logits 710 and 700, where exp overflows
    but softmax's probabilities are far from 0: the mark of an unshifted log-sum-exp."""
    try:
        out = float(ck.call(np.array([[710.0], [700.0]]), np.array([[1.0], [0.0]])))
    except (CheckFailure, NotAttempted, TypeError, ValueError):
        return False
    return not np.isfinite(out)


def _logit_cost(ck, Z, Y, case):
    want = ck.ref.cross_entropy_from_logits(Z, Y)
    out = ck.call(Z, Y)
    require(np.ndim(out) == 0, f"for {case} returned {type(out).__name__} of shape "
            f"{np.shape(out)}, expected one number", "average over the examples: one float")
    got = float(out)
    m = Y.shape[1]
    if not np.isfinite(got) or got < want - 1.0:
        hint = ("log(softmax(Z)) loses (or clips) a probability that rounds to 0: write "
                "log y_hat_c from the logits, without computing y_hat")
        if _overflows(ck):
            hint = ("exp overflows for logits this large: shift each example's logits "
                    "before exponentiating, as exercise 5.1 does")
    elif m > 1 and np.isclose(got, m * want, rtol=1e-6):
        hint = "the cost is the mean over the m examples: divide the sum by m"
    else:
        hint = ("the cost is the mean over the examples of minus the log-probability of each "
                "example's true class")
    require(np.isfinite(got) and abs(got - want) <= 1e-7 * max(1.0, abs(want)),
            f"for {case} expected {want:.6g}, got {got:.6g}", hint)


@weighted(1)
def _logits_fixed(ck):
    Z = shown(97, np.array([[2.0, -1.0, 0.5], [1.0, 3.0, 0.5], [-0.5, 0.0, 0.5]]),
              lambda rng: np.round(rng.uniform(-3, 3, (3, 3)), 1))
    _logit_cost(ck, Z, ck.ref.one_hot([0, 1, 2], 3), "3 examples of 3 classes")


@weighted(1)
def _logits_random(ck):
    for seed, (C, m) in enumerate([(10, 16), (2, 5), (4, 1)], start=90):
        Z = _random_logits(seed, C, m, scale=3.0)
        _logit_cost(ck, Z, ck.ref.one_hot(_random_labels(seed + 7, C, m), C),
                    f"random logits of shape {(C, m)}")


@weighted(9)
def _logits_far_apart(ck):
    gaps = shown(98, (800.0, 1000.0), lambda rng: tuple(np.round(rng.uniform(750, 1100, 2))))
    Z = np.array([[0.0, gaps[1]], [gaps[0], 0.0]])
    _logit_cost(ck, Z, ck.ref.one_hot([0, 0], 2), f"logits {gaps[0]:g} and {gaps[1]:g} apart "
                f"(exact cost {sum(gaps) / 2:g})")


@weighted(1)
def _logits_float32(ck):
    Z = _random_logits(95, 5, 8, scale=2.0).astype(np.float32)
    Y = ck.ref.one_hot(_random_labels(96, 5, 8), 5).astype(np.float32)
    want = ck.ref.cross_entropy_from_logits(Z.astype(float), Y.astype(float))
    got = float(ck.call(Z, Y))
    require(abs(got - want) < 1e-4 * max(1.0, abs(want)),
            f"for float32 logits expected {want:.6g}, got {got:.6g}",
            "the same formula works for float32 arrays")


check_cross_entropy_from_logits = make_check(
    EXERCISES["5.6"], [_logits_fixed, _logits_random, _logits_far_apart, _logits_float32])


# ------------------------------------------------------------------ concept questions

# Q5.1: with C = 2, the probability of class 0 is e^z0 / (e^z0 + e^z1) = sigmoid(?).
# (a) z0  (b) z1 - z0  (c) z0 - z1  (d) z0 + z1  (e) z0 / z1
check_two_class_softmax = make_question(EXERCISES["Q5.1"], choices="abcde")

# Q5.2: the cost J when softmax gives 1/10 to each of C = 10 classes for every example.
check_untrained_cost = make_question(EXERCISES["Q5.2"])

# Q5.3: with the network's small random first weights, the cost before training is
# (a) exactly ln 10  (b) below ln 10  (c) above ln 10  (d) above or below, as often
check_random_start_cost = make_question(EXERCISES["Q5.3"], choices="abcd")
