"""The checks of notebook 04 accept correct implementations and reject the usual mistakes."""

import numpy as np
import pytest

from lessonlib.grader.checks.batch_norm_test_time import _FOLD_HINTS as FOLD_HINTS
from lessonlib.grader.checks.batch_norm_test_time import (
    check_fold_batchnorm,
    check_layernorm_backward,
    check_layernorm_forward,
    check_one_example_batch,
    check_running_average_weight,
    check_start_up_bias,
    check_update_running_stats,
)
from lessonlib.grader.exercises import EXERCISES
from lessonlib.layers import batchnorm as ref
from tests.grader.common import Keyed

# the questions as the trusted grader checks them, against the instructor's keys
check_one_example_batch = Keyed(check_one_example_batch)
check_running_average_weight = Keyed(check_running_average_weight)
check_start_up_bias = Keyed(check_start_up_bias)


def test_exercises_are_registered_for_notebook_04():
    assert EXERCISES["4.1"].function == "update_running_stats"
    assert EXERCISES["4.2"].function == "fold_batchnorm"
    assert {EXERCISES[k].notebook for k in ("4.1", "4.2")} == {"04_batch_norm_test_time"}


# ------------------------------------------------------------------ 4.1 update_running_stats


def urs_formula(running_mean, running_var, mu, var, decay):
    """Correct: the notebook's solution, written out (lessonlib's own function is off limits
    while its exercise is checked)."""
    return (decay * running_mean + (1 - decay) * mu,
            decay * running_var + (1 - decay) * var)


def urs_alternative_form(running_mean, running_var, mu, var, decay):
    """Correct: the same average written as a step towards the batch statistic."""
    return (running_mean + (1 - decay) * (mu - running_mean),
            running_var + (1 - decay) * (var - running_var))


def urs_np_average(running_mean, running_var, mu, var, decay):
    """Correct: np.average with weights, returned as nested lists."""
    new_mean = np.average(np.stack([running_mean, mu]), axis=0, weights=[decay, 1 - decay])
    new_var = np.average(np.stack([running_var, var]), axis=0, weights=[decay, 1 - decay])
    return [new_mean.tolist(), new_var.tolist()]


def urs_copy_then_in_place(running_mean, running_var, mu, var, decay):
    """Correct: in-place arithmetic, but on copies."""
    rm, rv = running_mean.copy(), running_var.copy()
    rm *= decay
    rm += (1 - decay) * mu
    rv *= decay
    rv += (1 - decay) * var
    return rm, rv


def urs_wrong_term(running_mean, running_var, mu, var, decay):
    return (1 - decay) * running_mean + decay * mu, (1 - decay) * running_var + decay * var


def urs_in_place(running_mean, running_var, mu, var, decay):
    running_mean *= decay
    running_mean += (1 - decay) * mu
    running_var *= decay
    running_var += (1 - decay) * var
    return running_mean, running_var


def urs_batch_stats(running_mean, running_var, mu, var, decay):
    return mu.copy(), var.copy()


def urs_no_one_minus(running_mean, running_var, mu, var, decay):
    return decay * running_mean + mu, decay * running_var + var


def urs_swapped(running_mean, running_var, mu, var, decay):
    return decay * running_mean + (1 - decay) * var, decay * running_var + (1 - decay) * mu


def urs_var_not_averaged(running_mean, running_var, mu, var, decay):
    return decay * running_mean + (1 - decay) * mu, running_var.copy()


def urs_fixed_decay(running_mean, running_var, mu, var, decay):
    return 0.9 * running_mean + 0.1 * mu, 0.9 * running_var + 0.1 * var


def urs_halfway(running_mean, running_var, mu, var, decay):
    return (running_mean + mu) / 2, (running_var + var) / 2


def _make_bias_corrected():
    state = {"t": 0}

    def urs_bias_corrected(running_mean, running_var, mu, var, decay):
        """Wrong here: the layer's running averages are not bias-corrected."""
        state["t"] += 1
        c = 1 - decay ** state["t"]
        return ((decay * running_mean + (1 - decay) * mu) / c,
                (decay * running_var + (1 - decay) * var) / c)
    return urs_bias_corrected


def urs_only_mean(running_mean, running_var, mu, var, decay):
    return decay * running_mean + (1 - decay) * mu


def urs_stacked(running_mean, running_var, mu, var, decay):
    return np.hstack([decay * running_mean + (1 - decay) * mu,
                      decay * running_var + (1 - decay) * var])


@pytest.mark.parametrize("fn", [urs_formula, urs_alternative_form, urs_np_average,
                                urs_copy_then_in_place])
def test_update_running_stats_accepts_correct(fn):
    result = check_update_running_stats.evaluate(fn)
    assert result.status == "passed", result.line
    assert result.points == 2 and result.line.startswith("✓ Exercise 4.1")


# Points (of 2) pinned. Weights of 4.1 (of 11): the form 1, one step 3, other decays 2, 300
# steps fed back 3, a constant statistic 1, float32 1. Both outputs are the answer: a wrong
# formula for either keeps the form's point only; changing the inputs in place, or returning
# anything but the pair, earns nothing.
@pytest.mark.parametrize("fn, words, points", [
    (urs_wrong_term, "gives the newest batch the weight decay", 0.18),
    (urs_in_place, "changed running_mean (argument #1) in place", 0),
    (urs_batch_stats, "keeps the newest batch alone", 0.18),
    (urs_no_one_minus, "the weights add up to more than 1", 0.18),
    (urs_swapped, "the running mean averages the batch means", 0.18),
    (urs_var_not_averaged, "update running_var too", 0.18),
    (urs_fixed_decay, "use the decay you are given", 0.91),     # right when decay = 0.9
    (urs_halfway, "decay = 0", 0.18),
    (_make_bias_corrected(), "expected running_mean", 0.18),
    (urs_only_mean, "expected a pair", 0),
    (urs_stacked, "expected a pair", 0),
])
def test_update_running_stats_rejects_mistakes(fn, words, points):
    """Exercise 4.1 states the weights of the average, not its update: no hint may give the
    update away (decay * running + (1 - decay) * batch statistic)."""
    result = check_update_running_stats.evaluate(fn)
    assert result.status == "failed" and not result.passed, result.line
    assert result.points == points, result.line
    assert words in " ".join(result.line.split()), result.line
    assert "decay * running" not in result.line and "decay * old" not in result.line
    assert "\n" not in result.line


def test_update_running_stats_mutation_is_named_for_every_argument():
    def mutates_var(running_mean, running_var, mu, var, decay):
        var *= 1.0 + 1e-9
        return urs_formula(running_mean, running_var, mu, var, decay)
    line = check_update_running_stats.evaluate(mutates_var).line
    assert "changed var (argument #4) in place" in line


def test_update_running_stats_stub_is_not_attempted():
    def stub(running_mean, running_var, mu, var, decay):
        raise NotImplementedError("Exercise 4.1: update_running_stats")
    result = check_update_running_stats.evaluate(stub)
    assert result.status == "not attempted" and result.points == 0
    assert result.line == ("○ Exercise 4.1 update_running_stats: not attempted yet "
                           "(0/2 points)")


def test_update_running_stats_check_prints_one_line(capsys):
    check_update_running_stats(urs_formula)
    assert capsys.readouterr().out == ("✓ Exercise 4.1 update_running_stats: 6/6 checks "
                                       "passed (2/2 points)\n")


# ------------------------------------------------------------------ 4.2 fold_batchnorm


def _factor(gamma, running_var, eps):
    return gamma / np.sqrt(running_var + eps)


def fold_formula(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """Correct: the notebook's solution, written out (lessonlib's stand-in is off limits
    while its exercise is checked)."""
    s = _factor(gamma, running_var, eps)
    return s * W, s * (b - running_mean) + beta


def fold_measured(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """Correct, unusual: no formula for the fold, the affine map measured on the zero vector
    and the basis vectors with the learner's own evaluation-mode batch norm."""
    def layer(A):
        Z = W @ A + b
        return gamma * (Z - running_mean) / np.sqrt(running_var + eps) + beta
    n_prev = W.shape[1]
    b_folded = layer(np.zeros((n_prev, 1)))
    return layer(np.eye(n_prev)) - b_folded, b_folded


def fold_diag_flat_bias(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """Correct, unusual: a diagonal matrix for the rows, the bias returned flat (n,)."""
    inv_std = 1.0 / np.sqrt(running_var[:, 0] + eps)
    D = np.diag(gamma[:, 0] * inv_std)
    return D @ W, D @ (b[:, 0] - running_mean[:, 0]) + beta[:, 0]


def fold_columns(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = _factor(gamma, running_var, eps)
    return W * s.ravel(), s * (b - running_mean) + beta


def fold_no_b(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = _factor(gamma, running_var, eps)
    return s * W, beta - s * running_mean


def fold_eps_outside(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / (np.sqrt(running_var) + eps)
    return s * W, s * (b - running_mean) + beta


def fold_beta_scaled(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = _factor(gamma, running_var, eps)
    return s * W, s * (b - running_mean + beta)


def fold_no_sqrt(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / (running_var + eps)
    return s * W, s * (b - running_mean) + beta


def fold_std_in_root(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """The standard deviation under the root where the variance belongs."""
    s = gamma / np.sqrt(np.sqrt(running_var) + eps)
    return s * W, s * (b - running_mean) + beta


def fold_mean_unscaled(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = _factor(gamma, running_var, eps)
    return s * W, s * b - running_mean + beta


def fold_W_unchanged(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = _factor(gamma, running_var, eps)
    return W.copy(), s * (b - running_mean) + beta


def fold_fixed_eps(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    return fold_formula(W, b, gamma, beta, running_mean, running_var, 1e-5)


def fold_in_place(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = _factor(gamma, running_var, eps)
    W *= s
    return W, s * (b - running_mean) + beta


def fold_triple(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    return (*fold_formula(W, b, gamma, beta, running_mean, running_var, eps), eps)


@pytest.mark.parametrize("fn", [fold_formula, fold_measured, fold_diag_flat_bias])
def test_fold_batchnorm_accepts_correct(fn):
    result = check_fold_batchnorm.evaluate(fn)
    assert result.status == "passed", result.line
    assert result.points == 2 and result.line.startswith("✓ Exercise 4.2 fold_batchnorm")


# Points (of 2) pinned. Weights of 4.2 (of 10): the form 1, the small case shown 3, random
# layers 3, the default eps 1, a tiny running variance 1, float32 1. A mistake in the
# factor or the bias fails every case that compares values and keeps only the form's 1;
# eps outside the root is off by about eps / (2 sqrt(var)) relative, within float32's
# tolerance, so it keeps float32's 1 too and fails alone where the running variance is
# tiny; scaling the columns raises on a layer that is not square, the form's case included;
# a fixed eps is right whenever eps is 1e-5 (the form, the default eps, float32).
@pytest.mark.parametrize("fn, words, points", [
    (fold_columns, "scales the columns of W", 0),
    (fold_no_b, "leaves out b", 0.2),
    (fold_eps_outside, "eps outside the square root", 0.4),
    (fold_beta_scaled, "multiplies beta by the factor", 0.2),
    (fold_no_sqrt, "divides by the running variance itself", 0.2),
    (fold_std_in_root, "square root of a standard deviation", 0.2),
    (fold_mean_unscaled, "subtracts the running mean without the factor", 0.2),
    (fold_W_unchanged, "W_folded is W unchanged", 0.2),
    (fold_fixed_eps, "failed", 0.6),
    (fold_in_place, "changed W (argument #1) in place", 0),
    (fold_triple, "expected a pair", 0),
])
def test_fold_batchnorm_rejects_mistakes(fn, words, points):
    result = check_fold_batchnorm.evaluate(fn)
    assert result.status == "failed" and not result.passed, result.line
    assert result.points == points, result.line
    if words != "failed":
        assert words in " ".join(result.line.split()), result.line
    assert "\n" not in result.line
    # no hint states the fold: neither the factor nor the bias as a formula
    assert "sqrt(running_var + eps)" not in result.line and "b - running_mean" not in result.line


def _slip(name):
    """The instructor side's array of the classic mistake ``name``, as a learner's function
    (a layer that is not square has no ``columns`` slip: it raises, as that mistake does)."""
    from lessonlib_instructor import answers

    def wrong(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        return answers.fold_batchnorm_slips(W, b, gamma, beta, running_mean, running_var,
                                            eps)[name]
    wrong.__name__ = f"fold_{name}"
    return wrong


@pytest.mark.parametrize("name", sorted(FOLD_HINTS))
def test_each_catalogued_fold_mistake_gets_its_own_hint(name):
    result = check_fold_batchnorm.evaluate(_slip(name))
    assert result.status == "failed", result.line
    assert " ".join(FOLD_HINTS[name].split()) in " ".join(result.line.split()), result.line


def test_fold_batchnorm_shows_the_small_case():
    result = check_fold_batchnorm.evaluate(fold_no_b)
    shown = [m for m in result.failures if "on a layer of 2 units" in m]
    assert shown and "W = array of shape (2, 2) [1, -2, 0.5, 3]" in shown[0], result.failures
    assert "expected W_folded" in shown[0] and "running_var = [4, 0.0625]" in shown[0]


def test_fold_batchnorm_names_rows_when_columns_do_not_broadcast():
    result = check_fold_batchnorm.evaluate(fold_columns)
    assert any("raised ValueError" in m for m in result.failures), result.failures
    assert "which axis of W has one entry per unit" in fold_check_hints(fold_columns)


def fold_check_hints(fn):
    """Every hint of a failing check run, one text (the line shows the heaviest only)."""
    from lessonlib.grader import framework
    from lessonlib.grader.checks import batch_norm_test_time as checks
    ck = framework.Checker(fn, exercise_id="4.2",
                           ref=framework.oracle.reference_namespace())
    hints = []
    for sub in (checks._fold_form, checks._fold_small, checks._fold_random):
        try:
            sub(ck)
        except framework.CheckFailure as f:
            hints.append(f.hint)
    return " ".join(hints)


def test_fold_batchnorm_tiny_variance_catches_eps_outside_alone():
    result = check_fold_batchnorm.evaluate(fold_eps_outside)
    assert any("running variance 1e-9" in m for m in result.failures), result.failures


def test_fold_batchnorm_stub_is_not_attempted():
    def stub(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        raise NotImplementedError("Exercise 4.2: fold_batchnorm")
    result = check_fold_batchnorm.evaluate(stub)
    assert result.status == "not attempted" and result.points == 0
    assert result.line == "○ Exercise 4.2 fold_batchnorm: not attempted yet (0/2 points)"


def test_not_a_function_fails_cleanly():
    result = check_fold_batchnorm.evaluate(None)
    assert result.status == "failed" and "expected the function" in result.line


# ------------------------------------------------------------------ 4.3 layernorm_forward

def ln_transposed(Z, gamma, beta, eps=1e-5):
    """Correct, unusual: batch norm's formula on the transpose (examples as rows)."""
    T = Z.T
    mu = T.mean(axis=1, keepdims=True)
    var = T.var(axis=1, keepdims=True)
    Z_hat = ((T - mu) / np.sqrt(var + eps)).T
    return gamma * Z_hat + beta, (Z, Z_hat, mu.T, var.T, gamma, eps)


def _ln(kind):
    def forward(Z, gamma, beta, eps=1e-5):
        axis = 1 if kind == "over the examples" else 0
        mu = Z.mean(axis=axis, keepdims=True)
        var = Z.var(axis=axis, keepdims=True, ddof=1 if kind == "unbiased" else 0)
        Z_hat = (Z - mu) / (np.sqrt(var) + eps if kind == "eps outside" else np.sqrt(var + eps))
        out = Z_hat if kind == "no gamma and beta" else gamma * Z_hat + beta
        return out, (Z, Z_hat, mu, var, gamma, eps)
    return forward


def test_layernorm_correct_and_unusual_version_pass():
    for fn in (ln_transposed, _ln("correct")):
        r = check_layernorm_forward.evaluate(fn)
        assert r.passed and r.points == 2, r.line


# Points (of 2) pinned. Weights of 4.3 (of 9): a batch of examples of different scales 3, one
# example 2, independence from the batch 2, the cache 1 (checked on its own), float32 1.
@pytest.mark.parametrize("kind, words, points", [
    ("over the examples", "axis=1 is batch norm", 0),        # batch norm: nothing right
    ("unbiased", "biased variance", 0.44),                    # still independent of its batch
    ("eps outside", "inside the square root", 0.67),          # and close enough in float32
    ("no gamma and beta", "gamma * Z_hat + beta", 0.67)])     # and a right cache
def test_layernorm_mistakes_are_rejected_with_their_hint(kind, words, points):
    r = check_layernorm_forward.evaluate(_ln(kind))
    assert r.status == "failed" and words in " ".join(r.line.split()), r.line
    assert r.points == points, r.line


# ------------------------------------------------------------------ 4.4 layernorm_backward

def lnb_reference(dZ_tilde, cache):
    """Correct: the worked answer, written out."""
    Z, Z_hat, mu, var, gamma, eps = cache
    dZ_hat = gamma * dZ_tilde
    dZ = (dZ_hat - dZ_hat.mean(axis=0, keepdims=True)
          - Z_hat * (dZ_hat * Z_hat).mean(axis=0, keepdims=True)) / np.sqrt(var + eps)
    return dZ, (dZ_tilde * Z_hat).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def lnb_graph_walk_on_the_transpose(dZ_tilde, cache):
    """Correct, unusual: exercise 3.3's node-by-node walk on the transposed arrays (layer
    norm of Z is batch norm of Z.T), gamma applied before the walk, flat dgamma and dbeta."""
    Z, Z_hat, mu, var, gamma, eps = cache
    C, s = (Z - mu).T, np.sqrt(var + eps).T               # (m, n), (m, 1)
    dZ_hat = (gamma * dZ_tilde).T
    m_units = C.shape[1]
    ds = -(dZ_hat * C).sum(axis=1, keepdims=True) / s**2
    dvar = ds / (2 * s)
    dC = dZ_hat / s + dvar * 2 * C / m_units
    dmu = -dC.sum(axis=1, keepdims=True)
    dZ = (dC + dmu / m_units).T
    return dZ, (dZ_tilde * Z_hat).sum(axis=1), dZ_tilde.sum(axis=1)


def lnb_float32_in_loops(dZ_tilde, cache):
    """Correct, unusual: one example at a time, in the input's dtype."""
    Z, Z_hat, mu, var, gamma, eps = cache
    dZ = np.empty_like(dZ_tilde)
    for i in range(dZ_tilde.shape[1]):
        d, z = gamma[:, 0] * dZ_tilde[:, i], Z_hat[:, i]
        dZ[:, i] = (d - d.mean() - z * (d * z).mean()) / np.sqrt(var[0, i] + eps)
    return dZ, (dZ_tilde * Z_hat).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


def _lnb(kind):
    """The classic mistakes of exercise 4.4."""
    def backward(dZ_tilde, cache):
        Z, Z_hat, mu, var, gamma, eps = cache
        axis = 1 if kind == "batch axis" else 0
        inside = gamma * dZ_tilde if kind != "gamma outside" else dZ_tilde
        mean = inside.mean(axis=axis, keepdims=True)
        spread = (inside * Z_hat).mean(axis=axis, keepdims=True)
        if kind == "no var path":
            spread = 0.0
        dZ = (inside - mean - Z_hat * spread) / np.sqrt(var + eps)
        if kind == "gamma outside":
            dZ = gamma * dZ
        dgamma = (dZ_tilde * Z_hat).sum(axis=1, keepdims=True)
        dbeta = dZ_tilde.sum(axis=1, keepdims=True)
        if kind == "swapped":
            dgamma, dbeta = dbeta, dgamma
        if kind == "params over the units":
            dgamma = (dZ_tilde * Z_hat).sum(axis=0, keepdims=True)
            dbeta = dZ_tilde.sum(axis=0, keepdims=True)
        return dZ, dgamma, dbeta
    return backward


def lnb_finite_differences(dZ_tilde, cache):
    """Wrong by design: measures dZ by centred differences of the forward pass, one column
    of units at a time for all examples at once (fast for small n, hopeless for n = 40,000)."""
    Z, Z_hat, mu, var, gamma, eps = cache
    if Z.shape[0] > 1000:                     # what the check's time limit stops: pretend
        raise TimeoutError("did not return within the 60 s limit")
    dZ, h = np.zeros_like(Z), 1e-5

    def out(X):
        m = X.mean(axis=0, keepdims=True)
        return gamma * (X - m) / np.sqrt(((X - m) ** 2).mean(axis=0, keepdims=True) + eps)

    for j in range(Z.shape[0]):
        up, down = Z.copy(), Z.copy()
        up[j] += h
        down[j] -= h
        dZ[j] = ((out(up) - out(down)) * dZ_tilde).sum(axis=0) / (2 * h)
    return dZ, (dZ_tilde * Z_hat).sum(axis=1, keepdims=True), dZ_tilde.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("fn", [lnb_reference, lnb_graph_walk_on_the_transpose,
                                lnb_float32_in_loops])
def test_layernorm_backward_accepts_correct(fn):
    r = check_layernorm_backward.evaluate(fn)
    assert r.passed and r.points == 2 and r.line == \
        "✓ Exercise 4.4 layernorm_backward: 7/7 checks passed (2/2 points)", r.line


# Points (of 2) pinned. Weights of 4.4 (of 10): the form 1, dgamma and dbeta 1, the small
# case 2, random cases 2, the sums 1, float32 1, the large case 2.
@pytest.mark.parametrize("kind, words, points", [
    ("batch axis", "which values each of them feeds", 0.4),         # right dgamma, dbeta
    ("gamma outside", "it cannot move past them", 0.4),
    ("no var path", "path through the example's variance", 0.6),    # and its sums are 0
    ("swapped", "only one of the two gradients involves Z_hat", 1.8),
    ("params over the units", "collect over the examples, not the units", 0),
])
def test_layernorm_backward_mistakes_are_rejected_with_their_hint(kind, words, points):
    r = check_layernorm_backward.evaluate(_lnb(kind))
    assert r.status == "failed" and words in " ".join(r.line.split()), r.line
    assert r.points == points, r.line


def test_layernorm_backward_shows_the_small_failing_case():
    r = check_layernorm_backward.evaluate(_lnb("no var path"))
    small = [m for m in r.failures if m.startswith("on a (3, 2) case")]
    assert small and "Z = array of shape (3, 2)" in small[0] and "dZ_tilde =" in small[0]
    assert "gamma = [" in small[0] and "expected dZ" in small[0]


def test_layernorm_backward_by_finite_differences_fails_the_large_case_saying_why():
    r = check_layernorm_backward.evaluate(lnb_finite_differences)
    assert r.status == "failed" and r.points == 1.2, r.line      # less precise, and too slow
    assert "(40,000, 6) case" in r.line and "two forward passes per entry of Z" in r.line


def test_layernorm_backward_must_not_call_lessonlibs_stand_in():
    from lessonlib.layers.layernorm import layernorm_backward_by_autodiff
    r = check_layernorm_backward.evaluate(lambda G, cache: layernorm_backward_by_autodiff(G, cache))
    assert r.points == 0 and "called lessonlib's layernorm_backward_by_autodiff" in r.line


def test_layernorm_backward_stub_is_not_attempted():
    def stub(dZ_tilde, cache):
        raise NotImplementedError("Exercise 4.4: layernorm_backward")
    assert check_layernorm_backward.evaluate(stub).line == \
        "○ Exercise 4.4 layernorm_backward: not attempted yet (0/2 points)"


# ------------------------------------------------------------------ questions


def test_questions_are_registered_for_notebook_04():
    assert (EXERCISES["Q4.1"].function, EXERCISES["Q4.2"].function) == \
        ("one_example_batch", "running_average_weight")
    assert all(EXERCISES[k].is_question and EXERCISES[k].notebook == "04_batch_norm_test_time"
               for k in ("Q4.1", "Q4.2"))


def test_one_example_batch_right_answer_passes():
    for answer in ("b", "B", " (b) "):
        r = check_one_example_batch.evaluate(lambda a=answer: a)
        assert r.passed and r.points == 1
    assert check_one_example_batch.evaluate(lambda: "b").line == \
        "✓ Question 4.1 one_example_batch: right (1/1 points)"


@pytest.mark.parametrize("answer", ["a", "c", "d"])
def test_one_example_batch_wrong_choices_fail_with_the_answer_and_why(answer):
    r = check_one_example_batch.evaluate(lambda: answer)
    assert r.status == "failed" and r.points == 0
    assert f"you answered ({answer}); the answer is (b)" in r.line
    assert "variance 0" in r.line and "beta" in r.line


def test_one_example_batch_exact_line_for_the_division_by_zero_answer():
    assert check_one_example_batch.evaluate(lambda: "c").line == (
        "✗ Question 4.1 one_example_batch: you answered (c); the answer is (b). Why: a batch "
        "of one has mean z and variance 0, so z_norm = (z - z) / sqrt(0 + eps) = 0 and the "
        "unit outputs gamma * 0 + beta = beta: eps prevents the division by zero, not the "
        "erasure. (0/1 points)")


def test_one_example_batch_stub_and_malformed_answers():
    def stub():
        raise NotImplementedError("Question 4.1: one_example_batch")
    assert check_one_example_batch.evaluate(stub).line == \
        "○ Question 4.1 one_example_batch: not attempted yet (0/1 points)"
    r = check_one_example_batch.evaluate(lambda: "e")
    assert r.points == 0 and "(b)" not in r.line            # the form, not the answer


def test_the_batch_of_one_really_outputs_beta():
    """The key of question 4.1 is what batch norm computes: two identical columns (the
    statistics of a batch of one) come out as beta whatever the input."""
    rng = np.random.default_rng(3)
    gamma, beta = rng.uniform(0.5, 2, (5, 1)), rng.normal(0, 1, (5, 1))
    for _ in range(3):
        z = rng.normal(0, 10, (5, 1))
        out, _ = ref.batchnorm_forward(np.hstack([z, z]), gamma, beta, 1e-5)
        assert np.all(np.isfinite(out)) and np.allclose(out, beta, atol=0)


@pytest.mark.parametrize("answer", [1 - 0.9 ** 10, 0.6513, 0.65, np.float32(0.6513)])
def test_running_average_weight_right_answers_pass(answer):
    r = check_running_average_weight.evaluate(lambda: answer)
    assert r.passed and r.line == "✓ Question 4.2 running_average_weight: right (1/1 points)"


@pytest.mark.parametrize("answer", [
    1.0,                    # "the average covers exactly the last 1 / (1 - decay) batches"
    0.1 * 10,               # ten batches of weight 0.1 each
    0.9 ** 10,              # the weight of everything older
    0.1 * 0.9 ** 10,        # the weight of the batch 10 updates back alone
    1 - 0.9 ** 9,           # nine batches
    1 - 0.9 ** 11,          # eleven batches
])
def test_running_average_weight_misconceptions_fail(answer):
    r = check_running_average_weight.evaluate(lambda: answer)
    assert r.status == "failed" and r.points == 0
    assert "the answer is 0.6513" in r.line


def test_running_average_weight_exact_line_for_a_sharp_window():
    assert check_running_average_weight.evaluate(lambda: 1.0).line == (
        "✗ Question 4.2 running_average_weight: you answered 1; the answer is 0.6513. Why: "
        "the batch k updates back weighs 0.1 * 0.9**k, so the 10 latest add up to 1 - 0.9**10; "
        "older batches, whose statistics came from older weights, share the other 0.35 and "
        "fade. (0/1 points)")
    r = check_running_average_weight.evaluate(lambda: "0.65")
    assert r.points == 0 and "expected a number" in r.line and "0.6513" not in r.line


def test_exercise_44_and_question_43_are_registered_for_notebook_04():
    assert (EXERCISES["4.4"].function, EXERCISES["4.4"].points) == ("layernorm_backward", 2)
    assert (EXERCISES["Q4.3"].function, EXERCISES["Q4.3"].points) == ("start_up_bias", 1)
    assert {EXERCISES[k].notebook for k in ("4.4", "Q4.3")} == {"04_batch_norm_test_time"}


@pytest.mark.parametrize("answer", [2 * (1 - 0.9 ** 5), 0.819, 0.82])
def test_start_up_bias_right_answers_pass(answer):
    r = check_start_up_bias.evaluate(lambda: answer)
    assert r.passed and r.line == "✓ Question 4.3 start_up_bias: right (1/1 points)"


@pytest.mark.parametrize("answer", [
    2.0,                    # "the running mean is the batch mean": no start-up bias
    1 - 0.9 ** 5,           # the weight of the five batches, not the mean
    2 * 0.9 ** 5,           # the start value's weight times 2
    2 * (1 - 0.9 ** 4),     # four updates
    2 * 0.1 * 5,            # five batches of weight 0.1 each: 1.0
])
def test_start_up_bias_misconceptions_fail_with_the_reasoning(answer):
    r = check_start_up_bias.evaluate(lambda: answer)
    assert r.status == "failed" and r.points == 0
    assert "the answer is 0.819" in r.line and "start value 0 takes the other 0.59" in r.line


def test_start_up_bias_malformed_answer_is_told_the_form_only():
    from lessonlib.grader.checks.batch_norm_test_time import check_start_up_bias as own
    r = own.evaluate(lambda: "0.82")
    assert r.points == 0 and "expected a number" in r.line and "0.819" not in r.line
    assert own.evaluate(lambda: 0.82).line == (
        "✎ Question 4.3 start_up_bias: answered 0.82; right or wrong comes with grading "
        "(1 point)")
