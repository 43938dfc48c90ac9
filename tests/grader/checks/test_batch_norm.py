"""The checks of notebook 03 accept correct implementations and reject the usual mistakes."""

import numpy as np
import pytest
from lessonlib_instructor import answers

from lessonlib.grader.checks.batch_norm import (
    check_adam_update_count,
    check_batch_mean_noise,
    check_batchnorm_backward,
    check_batchnorm_backward_graph,
    check_batchnorm_forward,
    check_bias_before_batch_norm,
    check_covariate_shift,
    check_linear_bn_backward,
    check_linear_bn_forward,
    check_recover_gamma_beta,
)
from lessonlib.grader.exercises import EXERCISES
from lessonlib.layers import batchnorm as ref
from tests.grader.common import Keyed, reference_copy

# the questions as the trusted grader checks them, against the instructor's keys
check_bias_before_batch_norm = Keyed(check_bias_before_batch_norm)
check_adam_update_count = Keyed(check_adam_update_count)
check_covariate_shift = Keyed(check_covariate_shift)
check_batch_mean_noise = Keyed(check_batch_mean_noise)


def _flat(line):
    """A check line with its whitespace collapsed (lines may be wrapped when printed)."""
    return " ".join(line.split())

# ------------------------------------------------------------------ 3.1 batchnorm_forward


def _fwd(axis=1, ddof=0, eps_inside=True, fixed_eps=None, swap=False, affine=True):
    """A forward pass with one of the classic mistakes switched on."""
    def forward(Z, gamma, beta, eps=1e-5):
        e = eps if fixed_eps is None else fixed_eps
        mu = Z.mean(axis=axis, keepdims=True)
        var = Z.var(axis=axis, keepdims=True, ddof=ddof)
        std = np.sqrt(var + e) if eps_inside else np.sqrt(var) + e
        Z_hat = (Z - mu) / std
        g, b = (beta, gamma) if swap else (gamma, beta)
        out = g * Z_hat + b if affine else Z_hat
        return out, (Z, Z_hat, mu, var, gamma, eps)
    return forward


def fwd_step_by_step(Z, gamma, beta, eps=1e-5):
    """Correct, written as the computational graph with explicit sums."""
    m = Z.shape[1]
    mu = np.sum(Z, axis=1, keepdims=True) / m
    xmu = Z - mu
    sq = xmu ** 2
    var = np.sum(sq, axis=1, keepdims=True) / m
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    Z_hat = xmu * ivar
    return gamma * Z_hat + beta, (Z, Z_hat, mu, var, gamma, eps)


def fwd_list_cache_einsum(Z, gamma, beta, eps=1e-5):
    """Correct: einsum for the statistics, a list for the cache, float32 kept."""
    m = Z.shape[1]
    mu = np.einsum("nm->n", Z)[:, None] / m
    d = Z - mu
    var = np.einsum("nm,nm->n", d, d)[:, None] / m
    Z_hat = d * (var + eps) ** -0.5
    return Z_hat * gamma + beta, [Z, Z_hat, mu, var, gamma, eps]


def fwd_mutates(Z, gamma, beta, eps=1e-5):
    Z -= Z.mean(axis=1, keepdims=True)
    var = Z.var(axis=1, keepdims=True)
    Z /= np.sqrt(var + eps)
    return gamma * Z + beta, (Z, Z, 0 * var, var, gamma, eps)


def fwd_no_cache(Z, gamma, beta, eps=1e-5):
    return _fwd()(Z, gamma, beta, eps)[0]


def fwd_bad_cache_order(Z, gamma, beta, eps=1e-5):
    out, (Z, Z_hat, mu, var, gamma, eps) = _fwd()(Z, gamma, beta, eps)
    return out, (Z_hat, Z, var, mu, gamma, eps)


def fwd_unbiased_cache(Z, gamma, beta, eps=1e-5):
    out, (Z, Z_hat, mu, var, gamma, eps) = _fwd()(Z, gamma, beta, eps)
    return out, (Z, Z_hat, mu, Z.var(axis=1, keepdims=True, ddof=1), gamma, eps)


def fwd_flat_stats_cache(Z, gamma, beta, eps=1e-5):
    out, (Z, Z_hat, mu, var, gamma, eps) = _fwd()(Z, gamma, beta, eps)
    return out, (Z, Z_hat, mu.ravel(), var.ravel(), gamma, eps)


WRONG_FORWARD = {
    "wrong axis": _fwd(axis=0),
    "whole array": _fwd(axis=None),
    "unbiased variance": _fwd(ddof=1),
    "eps outside the sqrt": _fwd(eps_inside=False),
    "eps ignored": _fwd(fixed_eps=0.0),
    "eps hard-coded": _fwd(fixed_eps=1e-5),
    "gamma and beta swapped": _fwd(swap=True),
    "returns Z_hat": _fwd(affine=False),
    "changes Z in place": fwd_mutates,
    "no cache": fwd_no_cache,
    "cache in the wrong order": fwd_bad_cache_order,
    "unbiased variance in the cache": fwd_unbiased_cache,
    "flat mu and var in the cache": fwd_flat_stats_cache,
}

# The points (of 2) each mistake earns, pinned. The weights of check 3.1 (of 15): the form 1,
# the per-unit mean and variance 4, gamma and beta 2, eps 2, random cases 2, a constant unit
# 1, float32 1, the cache's values 2. Normalizing over the wrong axis, with the unbiased
# variance or eps outside the root costs nearly everything; a slip in the cache, a
# secondary output, costs its own share only.
FORWARD_POINTS = {
    "wrong axis": 0, "whole array": 0,          # mu and var of the wrong shape: even the form
    "unbiased variance": 0.13,                  # the form only
    "eps outside the sqrt": 0.27, "eps ignored": 0.27,        # the form and float32
    "eps hard-coded": 1.2,                      # right whenever eps = 1e-5
    "gamma and beta swapped": 0.4,              # the form and the cache
    "returns Z_hat": 0.93,                      # the form, gamma = 1 and beta = 0, the cache
    "changes Z in place": 0,                    # every call changes Z
    "no cache": 1.6,                            # Z_tilde right: the form and the cache lost
    "cache in the wrong order": 1.73, "unbiased variance in the cache": 1.73,
    "flat mu and var in the cache": 1.87,       # a shape slip in the cache: the form only
}


def test_forward_reference_passes():
    result = check_batchnorm_forward.evaluate(reference_copy(ref.batchnorm_forward))
    assert result.status == "passed", result.line
    assert result.points == 2


@pytest.mark.parametrize("fn", [fwd_step_by_step, fwd_list_cache_einsum, _fwd()],
                         ids=["step by step", "einsum and list cache", "np.var"])
def test_forward_other_correct_versions_pass(fn):
    result = check_batchnorm_forward.evaluate(fn)
    assert result.status == "passed", result.line
    assert result.points == 2


@pytest.mark.parametrize("name", list(WRONG_FORWARD))
def test_forward_mistakes_are_rejected(name):
    result = check_batchnorm_forward.evaluate(WRONG_FORWARD[name])
    assert result.status == "failed", result.line
    assert result.points == FORWARD_POINTS[name], result.line
    assert _flat(result.line).endswith(f"{FORWARD_POINTS[name]:g}/2 points)")
    assert result.line.startswith("✗ Exercise 3.1 batchnorm_forward:")
    assert "\n" not in result.line


@pytest.mark.parametrize("name, words", [
    ("wrong axis", "axis=1"), ("unbiased variance", "biased variance"),
    ("eps outside the sqrt", "inside the square root"), ("gamma and beta swapped", "gamma"),
    ("returns Z_hat", "Z_tilde")])
def test_forward_hints_name_the_mistake(name, words):
    assert words in check_batchnorm_forward.evaluate(WRONG_FORWARD[name]).line


# ------------------------------------------------------------------ 3.2 recover_gamma_beta


def rgb_np_std(Z, eps=1e-5):
    """Correct: through np.std and the identity std**2 + eps."""
    return np.sqrt(np.std(Z, axis=1, keepdims=True) ** 2 + eps), \
        np.mean(Z, axis=1, keepdims=True)


def rgb_via_forward_cache(Z, eps=1e-5):
    """Correct, unusual: read mu and var from lessonlib's forward pass."""
    n = Z.shape[0]
    _, cache = ref.batchnorm_forward(Z, np.ones((n, 1)), np.zeros((n, 1)), eps)
    return np.sqrt(cache.var + eps), cache.mu


def _rgb(kind):
    def recover(Z, eps=1e-5):
        mu = Z.mean(axis=1, keepdims=True)
        var = Z.var(axis=1, keepdims=True)
        return {"std only": (np.sqrt(var), mu),
                "unbiased": (np.sqrt(Z.var(axis=1, keepdims=True, ddof=1) + eps), mu),
                "variance": (var + eps, mu),
                "swapped": (mu, np.sqrt(var + eps)),
                "eps outside": (np.sqrt(var) + eps, mu),
                "flat": (np.sqrt(var + eps).ravel(), mu.ravel()),
                "wrong axis": (np.sqrt(Z.var(axis=0, keepdims=True) + eps),
                               Z.mean(axis=0, keepdims=True)),
                "inverse": (1 / np.sqrt(var + eps), -mu / np.sqrt(var + eps))}[kind]
    return recover


WRONG_RECOVER = ["std only", "unbiased", "variance", "swapped", "eps outside", "flat",
                 "wrong axis", "inverse"]
# Points (of 1), weights of 3.2 (of 8): the form 1, a batch 2, eps = 0.5 2, random batches
# 2, float32 1. gamma and beta are the answer, so a flat or wrongly shaped one earns nothing.
RECOVER_POINTS = {"std only": 0.25, "eps outside": 0.25,    # the form, and float32 hides eps
                  "unbiased": 0.12, "variance": 0.12, "swapped": 0.12, "inverse": 0.12,
                  "flat": 0, "wrong axis": 0}


def test_recover_reference_passes():
    result = check_recover_gamma_beta.evaluate(reference_copy(answers.recover_gamma_beta))
    assert result.status == "passed", result.line


@pytest.mark.parametrize("fn", [rgb_np_std, rgb_via_forward_cache])
def test_recover_other_correct_versions_pass(fn):
    result = check_recover_gamma_beta.evaluate(fn)
    assert result.status == "passed" and result.points == 1, result.line


@pytest.mark.parametrize("kind", WRONG_RECOVER)
def test_recover_mistakes_are_rejected(kind):
    result = check_recover_gamma_beta.evaluate(_rgb(kind))
    assert result.status == "failed", result.line
    assert result.points == RECOVER_POINTS[kind], result.line
    assert result.line.startswith("✗ Exercise 3.2 recover_gamma_beta:")


def test_recover_hint_for_missing_eps():
    assert "without eps" in check_recover_gamma_beta.evaluate(_rgb("std only")).line


# ------------------------------- 3.3 batchnorm_backward_graph and 3.4 batchnorm_backward

BACKWARD_CHECKS = [pytest.param(check_batchnorm_backward_graph, "3.3 batchnorm_backward_graph",
                                id="3.3"),
                   pytest.param(check_batchnorm_backward, "3.4 batchnorm_backward", id="3.4")]


def bwd_step_by_step(dZ_tilde, cache):
    """Correct: the computational graph node by node (the long way)."""
    Z, Z_hat, mu, var, gamma, eps = cache
    m = Z.shape[1]
    xmu = Z - mu
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    dbeta = np.sum(dZ_tilde, axis=1, keepdims=True)
    dgamma = np.sum(dZ_tilde * Z_hat, axis=1, keepdims=True)
    dZ_hat = dZ_tilde * gamma
    divar = np.sum(dZ_hat * xmu, axis=1, keepdims=True)
    dxmu1 = dZ_hat * ivar
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 * dsqrtvar / sqrtvar
    dsq = dvar * np.ones_like(Z) / m
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -np.sum(dx1, axis=1, keepdims=True)
    dx2 = dmu * np.ones_like(Z) / m
    return dx1 + dx2, dgamma, dbeta


def bwd_jacobian(dZ_tilde, cache):
    """Right, but quadratic in m: the full (m, m) Jacobian of each unit, a loop over units
    (the large batches reject it)."""
    Z, Z_hat, mu, var, gamma, eps = cache
    n, m = Z.shape
    dZ = np.empty_like(dZ_tilde)
    for i in range(n):
        J = (np.eye(m) - 1.0 / m - np.outer(Z_hat[i], Z_hat[i]) / m) / np.sqrt(var[i] + eps)
        dZ[i] = gamma[i] * (J.T @ dZ_tilde[i])
    return (dZ, (dZ_tilde * Z_hat).sum(axis=1, keepdims=True),
            dZ_tilde.sum(axis=1, keepdims=True))


def bwd_from_mu_var(dZ_tilde, cache):
    """Correct: recomputes Z_hat from Z, mu and var instead of reading it."""
    Z, _, mu, var, gamma, eps = cache
    m = Z.shape[1]
    Z_hat = (Z - mu) / np.sqrt(var + eps)
    dZ_hat = gamma * dZ_tilde
    dZ = (m * dZ_hat - dZ_hat.sum(1, keepdims=True)
          - Z_hat * (dZ_hat * Z_hat).sum(1, keepdims=True)) / (m * np.sqrt(var + eps))
    return dZ, (dZ_tilde * Z_hat).sum(1, keepdims=True), dZ_tilde.sum(1, keepdims=True)


def _bwd(kind):
    def backward(dZ_tilde, cache):
        Z, Z_hat, mu, var, gamma, eps = cache
        m = Z.shape[1]
        inv = 1.0 / np.sqrt(var + eps)
        g = dZ_tilde * gamma
        mean_g = g.mean(axis=1, keepdims=True)
        mean_gz = (g * Z_hat).mean(axis=1, keepdims=True)
        dgamma = np.sum(dZ_tilde * Z_hat, axis=1, keepdims=True)
        dbeta = np.sum(dZ_tilde, axis=1, keepdims=True)
        dZ = inv * (g - mean_g - Z_hat * mean_gz)
        if kind == "no mean path":
            dZ = inv * (g - Z_hat * mean_gz)
        elif kind == "no variance path":
            dZ = inv * (g - mean_g)
        elif kind == "no batch paths":
            dZ = inv * g
        elif kind == "no gamma":
            dZ = inv * (dZ_tilde - dZ_tilde.mean(1, keepdims=True)
                        - Z_hat * (dZ_tilde * Z_hat).mean(1, keepdims=True))
        elif kind == "eps outside":
            dZ = (g - mean_g - Z_hat * mean_gz) / (np.sqrt(var) + eps)
        elif kind == "unbiased":
            dZ = inv * (g - mean_g - Z_hat * mean_gz * m / (m - 1))
        elif kind == "times m":
            dZ = dZ * m
        elif kind == "dgamma not summed":
            dgamma = dZ_tilde * Z_hat
        elif kind == "dbeta not summed":
            dbeta = dZ_tilde
        elif kind == "dgamma summed over units":
            dgamma = np.sum(dZ_tilde * Z_hat, axis=0, keepdims=True)
        elif kind == "dbeta averaged":
            dbeta = dZ_tilde.mean(axis=1, keepdims=True)
        elif kind == "dgamma without Z_hat":
            dgamma = dbeta
        elif kind == "flat dbeta":
            dbeta = dbeta.ravel()
        elif kind == "flat dgamma":
            dgamma = dgamma.ravel()
        return dZ, dgamma, dbeta
    backward.kind = kind
    return backward


def _graph(kind):
    """The node-by-node walk with one of its classic slips."""
    def backward(dZ_tilde, cache):
        Z, Z_hat, mu, var, gamma, eps = cache
        m = Z.shape[1]
        C, s = Z - mu, np.sqrt(var + eps)
        dZ_hat = gamma * dZ_tilde
        ds = -np.sum(dZ_hat * C, axis=1, keepdims=True) / s ** 2
        if kind == "ds with the wrong sign":
            ds = -ds
        dvar = ds / (2 * s) if kind != "dvar without the square root's 1/(2s)" else ds
        dC = dZ_hat / s + dvar * 2 * C / m
        if kind == "C not summed over its two uses":
            dC = dZ_hat / s
        dmu = -np.sum(dC, axis=1, keepdims=True)
        dZ = dC + dmu / m if kind != "Z not summed over its two uses" else dC
        return dZ, np.sum(dZ_tilde * Z_hat, 1, keepdims=True), np.sum(dZ_tilde, 1,
                                                                     keepdims=True)
    backward.kind = kind
    return backward


WRONG_BACKWARD = ["no mean path", "no variance path", "no batch paths", "no gamma",
                  "eps outside", "unbiased", "times m", "dgamma not summed",
                  "dbeta not summed", "dgamma summed over units", "dbeta averaged",
                  "dgamma without Z_hat", "flat dbeta", "flat dgamma"]
WRONG_GRAPH = ["ds with the wrong sign", "dvar without the square root's 1/(2s)",
               "C not summed over its two uses", "Z not summed over its two uses"]
# Points (of 2), the same for 3.3 and 3.4. Weights (of 20): the form 1, dbeta 2, dgamma 2, dZ
# against the numerical gradient 8, dZ summing to 0 (the mean's path) 2, float32 1, dZ with
# the learner's own forward 2, dZ on batches of 8,000 and 40,000 examples in time 2. Each
# sub-check reads only its own gradient, so a wrong dZ keeps dgamma's and dbeta's 4 and a
# slip in dgamma or dbeta costs only its own.
BACKWARD_POINTS = {
    "no mean path": 0.5, "no batch paths": 0.5, "Z not summed over its two uses": 0.5,
    "no variance path": 0.7, "no gamma": 0.7, "unbiased": 0.7, "times m": 0.7,
    "ds with the wrong sign": 0.7, "dvar without the square root's 1/(2s)": 0.7,
    "C not summed over its two uses": 0.7,       # dZ still sums to 0: the mean's path is there
    "eps outside": 0.8,                           # close enough in float32
    "dgamma not summed": 1.7, "dbeta not summed": 1.7, "dgamma summed over units": 1.7,
    "dbeta averaged": 1.8, "dgamma without Z_hat": 1.8,       # a wrong value: its own 2
    "flat dbeta": 1.9, "flat dgamma": 1.9,                    # a shape slip: the form's 1
}


def bwd_finite_differences(dZ_tilde, cache):
    """An attack: dZ measured, not derived, by centred differences of lessonlib's forward
    pass, two passes per example (every unit at once: the units do not interact)."""
    from lessonlib.layers.batchnorm import batchnorm_forward
    Z, Z_hat, mu, var, gamma, eps = cache
    beta = np.zeros_like(gamma)
    n, m = Z.shape
    dZ, h = np.empty_like(Z), 1e-6
    for j in range(m):
        step = np.zeros_like(Z)
        step[:, j] = h
        up = (dZ_tilde * batchnorm_forward(Z + step, gamma, beta, eps)[0]).sum(axis=1)
        down = (dZ_tilde * batchnorm_forward(Z - step, gamma, beta, eps)[0]).sum(axis=1)
        dZ[:, j] = (up - down) / (2 * h)
    return dZ, (dZ_tilde * Z_hat).sum(1, keepdims=True), dZ_tilde.sum(1, keepdims=True)


@pytest.mark.parametrize("check, fn", [
    (check_batchnorm_backward, bwd_finite_differences),
    (check_batchnorm_backward_graph, bwd_jacobian), (check_batchnorm_backward, bwd_jacobian)],
    ids=["finite differences", "a full Jacobian per unit, 3.3", "a full Jacobian per unit"])
def test_a_backward_pass_measured_or_quadratic_in_m_loses_the_large_batches(check, fn):
    """Right on the small cases (up to the finite differences' own error), too slow on a
    batch of 8,000, so it never reaches 40,000: the large batches' 2 of 20 are lost, and the
    hint says why."""
    result = check.evaluate(fn)
    assert result.status == "failed" and result.points <= 1.8, result.line
    slow = "on a (6, 8,000) batch your function took more than 0.25 s"
    assert any(f.startswith(slow) for f in result.failures), result.failures
    if fn is bwd_jacobian:                # exact: only the large batches fail
        assert result.points == 1.8 and "derive the gradients" in _flat(result.line)


@pytest.mark.parametrize("check, head", BACKWARD_CHECKS)
@pytest.mark.parametrize("fn", [reference_copy(answers.batchnorm_backward),
                                reference_copy(answers.batchnorm_backward_graph)],
                         ids=["reference", "reference graph"])
def test_backward_references_pass(check, head, fn):
    result = check.evaluate(fn)
    assert result.status == "passed", result.line
    assert result.points == 2 and result.line.startswith(f"✓ Exercise {head}:")


@pytest.mark.parametrize("check, head", BACKWARD_CHECKS)
@pytest.mark.parametrize("fn", [bwd_step_by_step, bwd_from_mu_var, _bwd("correct"),
                                _graph("correct")],
                         ids=["step by step", "from mu and var", "compact", "graph"])
def test_backward_other_correct_versions_pass(check, head, fn):
    result = check.evaluate(fn)
    assert result.status == "passed" and result.points == 2, result.line


@pytest.mark.parametrize("check, head", BACKWARD_CHECKS)
@pytest.mark.parametrize("fn", [_bwd(k) for k in WRONG_BACKWARD]
                         + [_graph(k) for k in WRONG_GRAPH], ids=WRONG_BACKWARD + WRONG_GRAPH)
def test_backward_mistakes_are_rejected(check, head, fn):
    result = check.evaluate(fn)
    assert result.status == "failed", result.line
    assert result.line.startswith(f"✗ Exercise {head}:")
    assert result.points == BACKWARD_POINTS[fn.kind], result.line


@pytest.mark.parametrize("check, head", BACKWARD_CHECKS)
def test_a_secondary_slip_costs_only_its_own_sub_checks(check, head):
    """dZ right, dgamma of shape (n,): only the form fails (it used to fail all seven, since
    every sub-check read all three gradients); the line says what is wrong."""
    result = check.evaluate(_bwd("flat dgamma"))
    assert (result.passed_checks, result.points) == (7, 1.9), result.line
    assert "returned dgamma of shape (3,), expected (3, 1)" in _flat(result.line)
    assert "keepdims=True" in result.line
    # a wrong dZ with right dgamma and dbeta: those two keep their points, and the line is
    # about dZ, the heaviest failure
    result = check.evaluate(_bwd("no mean path"))
    assert result.passed_checks == 3 and "path through the batch mean" in _flat(result.line)
    worst_slip = min(p for k, p in BACKWARD_POINTS.items() if "dgamma" in k or "dbeta" in k)
    worst_dZ = max(p for k, p in BACKWARD_POINTS.items() if "dgamma" not in k
                   and "dbeta" not in k)
    assert worst_dZ < 1 < worst_slip


@pytest.mark.parametrize("check, head", BACKWARD_CHECKS)
@pytest.mark.parametrize("fn, words", [
    (_bwd("no mean path"), "path through the batch mean"),
    (_bwd("no variance path"), "path through the batch variance"),
    (_graph("C not summed over its two uses"), "path through the batch variance"),
    (_graph("Z not summed over its two uses"), "path through the batch mean"),
    (_bwd("dgamma not summed"), "sum dgamma over them"), (_bwd("dbeta not summed"), "sum dbeta")])
def test_backward_hints_name_the_mistake(check, head, fn, words):
    assert words in check.evaluate(fn).line


def test_backward_reports_relative_error():
    line = check_batchnorm_backward.evaluate(_bwd("no variance path")).line
    assert "relative error" in line and "1e-7" in line


# ------------------------------------------------------------------ all three


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise 3.x")


@pytest.mark.parametrize("check", [check_batchnorm_forward, check_recover_gamma_beta,
                                   check_batchnorm_backward, check_batchnorm_backward_graph])
def test_stub_is_not_attempted(check):
    result = check.evaluate(_stub)
    assert result.status == "not attempted"
    assert result.points == 0
    assert "not attempted yet" in result.line


@pytest.mark.parametrize("check", [check_batchnorm_forward, check_recover_gamma_beta,
                                   check_batchnorm_backward, check_batchnorm_backward_graph])
def test_non_function_and_crash_fail_cleanly(check):
    assert check.evaluate(None).status == "failed"

    def crashes(*args, **kwargs):
        raise ZeroDivisionError("oops")

    result = check.evaluate(crashes)
    assert result.status == "failed" and "ZeroDivisionError" in result.line


def test_exercises_registered():
    ids = ("3.1", "3.2", "3.3", "3.4")
    assert [EXERCISES[i].function for i in ids] == \
        ["batchnorm_forward", "recover_gamma_beta", "batchnorm_backward_graph",
         "batchnorm_backward"]
    assert all(EXERCISES[i].notebook == "03_batch_norm" for i in ids)


def test_check_prints_one_line(capsys):
    check_batchnorm_forward(reference_copy(ref.batchnorm_forward))
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("✓ Exercise 3.1")


def test_check_lines_are_deterministic():
    for check, fn in [(check_batchnorm_forward, _fwd(ddof=1)),
                      (check_batchnorm_backward, _bwd("no mean path")),
                      (check_recover_gamma_beta, _rgb("std only"))]:
        assert check.evaluate(fn).line == check.evaluate(fn).line


def _unbiased_forward(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=1, keepdims=True)
    var = Z.var(axis=1, keepdims=True, ddof=1)
    Z_hat = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_hat + beta, (Z, Z_hat, mu, var, gamma, eps)


def _stub_forward(Z, gamma, beta, eps=1e-5):
    raise NotImplementedError


def test_backward_check_runs_the_learners_own_forward_with_it():
    check = check_batchnorm_backward
    # a correct pair passes; a wrong or unfinished forward never costs backward points
    for forward in (ref.batchnorm_forward, _unbiased_forward, _stub_forward, None):
        assert check.evaluate(reference_copy(answers.batchnorm_backward), forward=forward).passed

    # a backward that only agrees with the reference cache's layout fails with the
    # learner's own forward, which stores the standard deviation in place of the variance
    def std_forward(Z, gamma, beta, eps=1e-5):
        Z_tilde, cache = ref.batchnorm_forward(Z, gamma, beta, eps)
        Z0, Z_hat, mu, var, g, e = cache
        return Z_tilde, (Z0, Z_hat, mu, np.sqrt(var + e), g, e)

    r = check.evaluate(reference_copy(answers.batchnorm_backward), forward=std_forward)
    assert r.status == "failed" and "your batchnorm_forward" in r.line, r.line


# ------------------------------------ 3.5 linear_bn_forward and 3.6 linear_bn_backward

def _sig(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def _g(act):
    return (lambda z: np.maximum(z, 0)) if act == "relu" else _sig


def lbf_inline(A_prev, W, gamma, beta, activation="relu", eps=1e-5):
    """Correct, unusual: batch norm written inline, einsum for the product."""
    Z = np.einsum("ij,jk->ik", W, A_prev)
    mu = Z.mean(1, keepdims=True)
    var = Z.var(1, keepdims=True)
    Z_hat = (Z - mu) / np.sqrt(var + eps)
    Z_tilde = gamma * Z_hat + beta
    return _g(activation)(Z_tilde), (A_prev, W, (Z, Z_hat, mu, var, gamma, eps), Z_tilde,
                                      activation)


def _lbf(kind):
    def forward(A_prev, W, gamma, beta, activation="relu", eps=1e-5):
        g = _g(activation)
        Z = W @ A_prev
        Z_tilde, bn_cache = ref.batchnorm_forward(Z, gamma, beta, eps)
        A = g(Z_tilde)
        cache = (A_prev, W, bn_cache, Z_tilde, activation)
        if kind == "activation first":
            Z_tilde, bn_cache = ref.batchnorm_forward(g(Z), gamma, beta, eps)
            A = Z_tilde
        elif kind == "no activation":
            A = Z_tilde
        elif kind == "cache in another order":
            cache = (W, A_prev, bn_cache, Z_tilde, activation)
        elif kind == "eps not passed on":
            Z_tilde, bn_cache = ref.batchnorm_forward(Z, gamma, beta)
            A, cache = g(Z_tilde), (A_prev, W, bn_cache, Z_tilde, activation)
        return A, cache
    return forward


def lbb_inline(dA, cache):
    """Correct, unusual: the batch-norm gradient written inline with sums, not means."""
    A_prev, W, (Z, Z_hat, mu, var, gamma, eps), Z_tilde, act = cache
    dZt = dA * ((Z_tilde > 0) if act == "relu" else _sig(Z_tilde) * (1 - _sig(Z_tilde)))
    m = Z.shape[1]
    g = gamma * dZt
    dZ = (m * g - g.sum(1, keepdims=True) - Z_hat * (g * Z_hat).sum(1, keepdims=True)) \
        / (m * np.sqrt(var + eps))
    return W.T @ dZ, dZ @ A_prev.T, (dZt * Z_hat).sum(1, keepdims=True), dZt.sum(1,
                                                                                keepdims=True)


def _lbb(kind):
    def backward(dA, cache):
        A_prev, W, bn_cache, Z_tilde, act = cache
        grad = (Z_tilde > 0) if act == "relu" else _sig(Z_tilde) * (1 - _sig(Z_tilde))
        dZt = dA if kind == "no activation derivative" else dA * grad
        dZ, dgamma, dbeta = answers.batchnorm_backward(dZt, bn_cache)
        dW = dZ @ A_prev.T if kind != "dW transposed" else A_prev @ dZ.T
        if kind == "dgamma from dA":
            dgamma = (dA * bn_cache[1]).sum(1, keepdims=True)
        return W.T @ dZ, dW, dgamma, dbeta
    return backward


def test_layer_references_and_unusual_versions_pass():
    from lessonlib_instructor.answers import linear_bn_backward

    from lessonlib.layers.linear_bn import linear_bn_forward
    for fn in (reference_copy(linear_bn_forward), lbf_inline, _lbf("correct")):
        result = check_linear_bn_forward.evaluate(fn)
        assert result.line.startswith("✓ Exercise 3.5") and result.points == 1
    for fn in (reference_copy(linear_bn_backward), lbb_inline, _lbb("correct")):
        result = check_linear_bn_backward.evaluate(fn)
        assert result.line.startswith("✓ Exercise 3.6") and result.points == 2


# Points pinned. 3.5 (of 1), weights (of 6): A with ReLU 2, with sigmoid 2, eps passed on 1,
# the cache 1 (it is checked on its own: the catalogued forwards that get A wrong keep a right
# cache). 3.6 (of 2), weights (of 4): dA_prev and dW 3, dgamma and dbeta 1, both activations.
@pytest.mark.parametrize("kind, words, points", [
    ("activation first", "batch norm comes before the activation", 0.17),
    ("no activation", "apply the activation to Z_tilde", 0.17),
    ("eps not passed on", "ignores its own eps", 0.83),
    ("cache in another order", "the docstring's order", 0.83)])
def test_layer_forward_mistakes_are_rejected_with_their_hint(kind, words, points):
    result = check_linear_bn_forward.evaluate(_lbf(kind))
    assert result.status == "failed" and words in _flat(result.line), result.line
    assert result.points == points


@pytest.mark.parametrize("kind, words, points", [
    ("no activation derivative", "its derivative comes first on the way back", 0),
    ("dW transposed", "returned dW of shape (5, 4), expected (4, 5)", 0.5),
    ("dgamma from dA", "its derivative comes first on the way back", 1.5)])
def test_layer_backward_mistakes_are_rejected_with_their_hint(kind, words, points):
    result = check_linear_bn_backward.evaluate(_lbb(kind))
    assert result.status == "failed" and words in _flat(result.line), result.line
    assert result.points == points


# A layer built on the learner's own batch norm: a wrong batch norm costs its own exercise
# only, and the layer's line says which function is at fault.

def _layer_on(bn_forward):
    def forward(A_prev, W, gamma, beta, activation="relu", eps=1e-5):
        Z_tilde, bn_cache = bn_forward(W @ A_prev, gamma, beta, eps)
        return _g(activation)(Z_tilde), (A_prev, W, bn_cache, Z_tilde, activation)
    return forward


def _layer_back_on(bn_backward, slip=False):
    def backward(dA, cache):
        A_prev, W, bn_cache, Z_tilde, act = cache
        grad = (Z_tilde > 0) if act == "relu" else _sig(Z_tilde) * (1 - _sig(Z_tilde))
        dZ, dgamma, dbeta = bn_backward(dA * grad, bn_cache)
        return W.T @ dZ, (A_prev @ dZ.T).T * (0.5 if slip else 1), dgamma, dbeta
    return backward


def _bwd_without_mean_path(dZ_tilde, cache):
    """A wrong batch norm backward: the paths through the mean and the variance missed."""
    Z, Z_hat, mu, var, gamma, eps = cache
    return (gamma * dZ_tilde / np.sqrt(var + eps), (dZ_tilde * Z_hat).sum(1, keepdims=True),
            dZ_tilde.sum(1, keepdims=True))


def _not_written(*args):
    raise NotImplementedError("Exercise 3.4: batchnorm_backward")


def test_a_right_layer_on_a_wrong_batch_norm_passes_and_names_the_batch_norm():
    wrong_forward = _fwd(ddof=1)
    result = check_linear_bn_forward.evaluate(_layer_on(wrong_forward), forward=wrong_forward)
    assert result.passed and result.points == 1, result.line
    assert "with your batchnorm_forward beneath it, which does not pass exercise 3.1" \
        in _flat(result.line)
    result = check_linear_bn_backward.evaluate(_layer_back_on(_bwd_without_mean_path),
                                               backward=_bwd_without_mean_path)
    assert result.passed and result.points == 2, result.line
    assert "which does not pass exercise 3.4 yet" in _flat(result.line)
    # the right batch norm beneath: no note
    result = check_linear_bn_forward.evaluate(_layer_on(ref.batchnorm_forward),
                                              forward=ref.batchnorm_forward)
    assert result.passed and "Note" not in result.line and "beneath" not in result.line


def test_a_wrong_layer_on_a_wrong_batch_norm_fails_and_says_to_fix_the_batch_norm_first():
    wrong_forward = _fwd(ddof=1)

    def layer(A_prev, W, gamma, beta, activation="relu", eps=1e-5):
        A, cache = _layer_on(wrong_forward)(A_prev, W, gamma, beta, activation, eps)
        return cache[3], cache                        # the activation forgotten
    result = check_linear_bn_forward.evaluate(layer, forward=wrong_forward)
    assert result.status == "failed"
    assert "your batchnorm_forward does not pass exercise 3.1 yet: fix it first" \
        in _flat(result.line)
    result = check_linear_bn_backward.evaluate(
        _layer_back_on(_bwd_without_mean_path, slip=True), backward=_bwd_without_mean_path)
    assert result.status == "failed" and result.points < 2
    assert "your batchnorm_backward does not pass exercise 3.4 yet: fix it first" \
        in _flat(result.line)


def test_a_layer_waiting_for_its_batch_norm_says_so():
    result = check_linear_bn_backward.evaluate(_layer_back_on(_not_written),
                                               backward=_not_written)
    assert result.status == "not attempted"
    assert result.line == ("○ Exercise 3.6 linear_bn_backward: waits for your "
                           "batchnorm_backward (exercise 3.4), which is not written yet "
                           "(0/2 points)")


    def own_stub(dA, cache):           # the layer's own stub, on a stub: not attempted
        raise NotImplementedError("Exercise 3.6: linear_bn_backward")
    result = check_linear_bn_backward.evaluate(own_stub, backward=_not_written)
    assert result.line == "○ Exercise 3.6 linear_bn_backward: not attempted yet (0/2 points)"


# ------------------------------------------------------------------ questions 3.1 to 3.4

@pytest.mark.parametrize("check, right, wrong", [
    (check_bias_before_batch_norm, "c", "abd"),
    (check_covariate_shift, "c", "abd")])
def test_a_choice_question_accepts_its_answer_and_rejects_every_distractor(check, right, wrong):
    assert check.evaluate(lambda: right).passed
    assert check.evaluate(lambda: f"({right.upper()})").passed
    for letter in wrong:
        r = check.evaluate(lambda letter=letter: letter)
        assert r.status == "failed" and r.points == 0
        assert f"the answer is ({right})" in r.line


def test_question_lines_are_exact():
    assert check_bias_before_batch_norm.evaluate(lambda: "c").line == \
        "✓ Question 3.1 bias_before_batch_norm: right (1/1 points)"
    assert check_bias_before_batch_norm.evaluate(lambda: "a").line == (
        "✗ Question 3.1 bias_before_batch_norm: you answered (a); the answer is (c). Why: b "
        "adds to every example's z and to the batch mean alike, so subtracting the mean "
        "cancels it: its gradient is 0 up to round-off, and beta does the shifting. "
        "(0/1 points)")

    def stub():
        raise NotImplementedError("Question 3.3: covariate_shift")
    assert check_covariate_shift.evaluate(stub).line == \
        "○ Question 3.3 covariate_shift: not attempted yet (0/1 points)"


def test_the_adam_count_accepts_the_count_and_rejects_each_miscount():
    for answer in (3530, 3530.0, np.int64(3530)):
        assert check_adam_update_count.evaluate(lambda a=answer: a).passed
    for answer in (3594,        # the hidden layers' b kept (question 3.1)
                   3402,        # gamma and beta not counted as learned
                   3658,        # batch norm's mu and sigma^2 counted as learned
                   3532,        # Adam's beta_1 and beta_2 counted as updated
                   7060,        # Adam's running averages v and s counted instead
                   3520):       # the output layer's b3 dropped too
        r = check_adam_update_count.evaluate(lambda a=answer: a)
        assert r.status == "failed" and r.points == 0, answer
        assert "the answer is 3530" in r.line and "never updates" in r.line
    r = check_adam_update_count.evaluate(lambda: "3530")
    assert r.points == 0 and "expected a number" in r.line
    assert "the answer is" not in r.line and "Why" not in r.line     # the form, not the key


def test_the_adam_count_is_what_the_notebooks_network_has():
    from lessonlib.network import Network
    from lessonlib.optim import Optimizer
    net = Network([64, 32, 32, 10], batch_norm=True, rng=np.random.default_rng(0))
    assert sum(p.size for p in net.params.values()) == answers_key("Q3.2")
    adam = Optimizer("adam", learning_rate=0.01)
    before = {k: v.copy() for k, v in net.params.items()}
    X, y = np.random.default_rng(1).random((64, 16)), np.arange(16) % 10
    adam.step(net.params, net.gradients(X, y)[1])
    moved = sum(int((net.params[k] != before[k]).sum()) for k in before)
    assert moved == answers_key("Q3.2")           # every one of them, and nothing else


def answers_key(qid):
    from lessonlib_instructor.questions import KEYS
    return KEYS[qid].answer


def test_the_noise_question_accepts_the_square_root_law_and_rejects_the_others():
    for answer in ((0.5, 0.125), (1 / np.sqrt(4), 1 / np.sqrt(64)), [0.5, 0.125],
                   (0.4993, 0.1213)):    # drawn without replacement from 1079 images
        assert check_batch_mean_noise.evaluate(lambda a=answer: a).passed, answer
    for answer, parts_right in (((0.25, 1 / 64), 0),               # 1 / m, the variance's law
                                ((np.sqrt(2 / 4), np.sqrt(2 / 64)), 0),  # the variance's noise
                                ((0.0, 0.0), 0),                   # "batch norm is exact"
                                ((0.5, 0.25), 1),                  # 16 times the batch halves it
                                ((1 / np.sqrt(3), 1 / np.sqrt(63)), 1)):   # m - 1
        r = check_batch_mean_noise.evaluate(lambda a=answer: a)
        assert r.status == "failed" and r.points == parts_right / 2, answer
        assert "the answer is 0.5, 0.125" in r.line and "sqrt(m)" in r.line
    r = check_batch_mean_noise.evaluate(lambda: 0.5)
    assert r.points == 0 and "a tuple of 2 answers" in r.line and "0.125" not in r.line


def test_the_questions_are_notebook_03s_in_its_order():
    checks = (check_bias_before_batch_norm, check_adam_update_count, check_covariate_shift,
              check_batch_mean_noise)
    for check, qid in zip(checks, ("Q3.1", "Q3.2", "Q3.3", "Q3.4")):
        assert check.exercise is EXERCISES[qid]
        assert check.exercise.notebook == "03_batch_norm"
    assert [EXERCISES[q].function for q in ("Q3.1", "Q3.2", "Q3.3", "Q3.4")] == [
        "bias_before_batch_norm", "adam_update_count", "covariate_shift", "batch_mean_noise"]
