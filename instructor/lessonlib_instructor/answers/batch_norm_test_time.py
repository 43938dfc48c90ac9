"""Notebook 04's derived answers: exercise 4.2 (``fold_batchnorm``) and exercise 4.4
(``layernorm_backward``), each with its classic mistakes for the checks' hints.

Course shapes: ``Z`` is ``(n, m)``, one example per column; ``W`` is ``(n, n_prev)``;
``gamma``, ``beta`` and the running statistics are ``(n, 1)``; layer norm's ``mu`` and
``var`` are ``(1, m)``, one per example. The cache of 4.4 is that of lessonlib's
``layernorm_forward`` ``(Z, Z_hat, mu, var, gamma, eps)``.
"""

from __future__ import annotations

import numpy as np

from lessonlib.core.validate import as_column, as_float_array, as_real, as_variance

# ------------------------------------------------------------------ 4.2 fold_batchnorm

def _fold_args(W, b, gamma, beta, running_mean, running_var, eps):
    W = as_float_array("W", W, ndim=2)
    n = W.shape[0]
    b = np.zeros((n, 1)) if b is None else as_column("b", b, n)
    return (W, b, as_column("gamma", gamma, n), as_column("beta", beta, n),
            as_column("running_mean", running_mean, n),
            as_variance("running_var", running_var, n),
            as_real("eps", eps, low=0, low_inclusive=False))


def fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """``(W_folded, b_folded)`` with ``W_folded @ A + b_folded`` equal to evaluation-mode
    batch norm of ``Z = W @ A + b`` for every ``A``. Exercise 4.2.

    With fixed statistics, batch norm maps unit ``j``'s ``z_j`` to ``s_j z_j + c_j``: an
    affine map per unit. Unit ``j``'s ``z_j`` is row ``j`` of ``W`` times ``a`` plus ``b_j``,
    so the factor scales row ``j`` of ``W`` and everything that does not depend on ``a``
    (``b``, the running mean, ``beta``) gathers in the new bias::

        s        = gamma / sqrt(running_var + eps)          (n, 1)
        W_folded = s * W                                    (n, n_prev)  row j times s_j
        b_folded = s * (b - running_mean) + beta            (n, 1)

    ``W`` is ``(n, n_prev)``; ``b`` ``(n, 1)`` or ``None`` (no bias); the rest ``(n, 1)``.
    """
    W, b, gamma, beta, mean, var, eps = _fold_args(W, b, gamma, beta, running_mean,
                                                   running_var, eps)
    s = gamma / np.sqrt(var + eps)
    return s * W, s * (b - mean) + beta


def fold_batchnorm_slips(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """What the classic mistakes of exercise 4.2 return on this case, by name, each a pair
    ``(W_folded, b_folded)``, so that a failing check can name the one a learner made
    (``checks.batch_norm_test_time`` holds the hints; the arrays, near the answer, stay on
    this side)::

        columns          each column of W scaled by a unit's factor (W square only)
        W_unchanged      W left as it is, only the bias folded
        no_gamma         the factor without gamma
        eps_outside      sqrt(running_var) + eps in place of sqrt(running_var + eps)
        no_sqrt          the variance where the standard deviation belongs
        std_in_root      the standard deviation under the root where the variance belongs
        no_b             b left out of the bias
        b_unscaled       b added to the bias without the factor
        beta_scaled      beta multiplied by the factor, as if added before scaling
        mean_unscaled    the running mean subtracted without the factor
        no_mean          the running mean left out
        mean_added       the running mean added instead of subtracted
    """
    W, b, gamma, beta, mean, var, eps = _fold_args(W, b, gamma, beta, running_mean,
                                                   running_var, eps)
    s = gamma / np.sqrt(var + eps)
    right_W, right_b = s * W, s * (b - mean) + beta

    def both(scale):
        return scale * W, scale * (b - mean) + beta

    slips = {
        "W_unchanged": (W, right_b),
        "no_gamma": both(1 / np.sqrt(var + eps)),
        "eps_outside": both(gamma / (np.sqrt(var) + eps)),
        "no_sqrt": both(gamma / (var + eps)),
        "std_in_root": both(gamma / np.sqrt(np.sqrt(var) + eps)),
        "no_b": (right_W, -s * mean + beta),
        "b_unscaled": (right_W, b - s * mean + beta),
        "beta_scaled": (right_W, s * (b - mean + beta)),
        "mean_unscaled": (right_W, s * b - mean + beta),
        "no_mean": (right_W, s * b + beta),
        "mean_added": (right_W, s * (b + mean) + beta),
    }
    if W.shape[0] == W.shape[1]:
        slips = {"columns": (W * s.T, right_b)} | slips
    return slips


def _checked_cache(dZ_tilde, cache):
    if not isinstance(cache, (tuple, list)) or len(cache) != 6:
        raise TypeError("cache must be the 6-tuple (Z, Z_hat, mu, var, gamma, eps) returned "
                        f"by layernorm_forward, got {type(cache).__name__}")
    Z_hat = as_float_array("cache's Z_hat", cache[1], ndim=2)
    n, m = Z_hat.shape
    dZ_tilde = as_float_array("dZ_tilde", dZ_tilde, ndim=2)
    if dZ_tilde.shape != (n, m):
        raise ValueError(f"dZ_tilde must have the shape of Z, {(n, m)}, got {dZ_tilde.shape}")
    var = as_float_array("cache's var", cache[3], ndim=2)
    if var.shape != (1, m):
        raise ValueError(f"cache's var must have shape (1, {m}), got {var.shape}")
    gamma = as_column("cache's gamma", cache[4], n)
    eps = as_real("cache's eps", cache[5], low=0, low_inclusive=False)
    return dZ_tilde, Z_hat, var, gamma, eps


def layernorm_backward(dZ_tilde, cache):
    """``(dZ, dgamma, dbeta)`` of layer norm. Exercise 4.4.

    Batch norm's graph with the statistics moved to the other axis: ``mu`` and ``var`` are
    shared by the ``n`` units of one example, so the paths through them sum over axis 0,
    while ``gamma`` and ``beta`` stay shared by the ``m`` examples (sums over axis 1). As
    ``gamma`` now varies along the axis the paths sum over, it enters before them::

        dbeta  = sum(dZ_tilde, axis=1)                   (n, 1)
        dgamma = sum(dZ_tilde * Z_hat, axis=1)           (n, 1)
        dZ_hat = gamma * dZ_tilde                        (n, m)
        dZ     = (dZ_hat - mean(dZ_hat, axis=0)
                  - Z_hat * mean(dZ_hat * Z_hat, axis=0)) / sqrt(var + eps)

    The two subtracted means are the paths through the example's mean and variance.
    """
    dZ_tilde, Z_hat, var, gamma, eps = _checked_cache(dZ_tilde, cache)
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = (dZ_tilde * Z_hat).sum(axis=1, keepdims=True)
    dZ_hat = gamma * dZ_tilde
    dZ = (dZ_hat - dZ_hat.mean(axis=0, keepdims=True)
          - Z_hat * (dZ_hat * Z_hat).mean(axis=0, keepdims=True)) / np.sqrt(var + eps)
    return dZ, dgamma, dbeta


def layernorm_backward_slips(dZ_tilde, cache):
    """What the classic mistakes of exercise 4.4 return for ``dZ`` on this case, by name,
    so that a failing check can name the one a learner made (``checks.batch_norm_test_time``
    holds the hints; the arrays, being near the answer, stay on this side). Each is
    ``(n, m)``::

        batch_axis       the paths through mu and var summed over the examples (axis 1)
        gamma_outside    gamma applied after the paths, as batch norm's short form allows
        no_var_path      the path through the example's variance left out
        no_mean_path     the path through the example's mean left out
        elementwise      both left out: normalization treated as elementwise
        no_gamma         gamma left out
        eps_outside      sqrt(var) + eps in place of sqrt(var + eps)
        over_m           the means of the paths divided by m instead of n
    """
    dZ_tilde, Z_hat, var, gamma, eps = _checked_cache(dZ_tilde, cache)
    n, m = Z_hat.shape
    inv = 1.0 / np.sqrt(var + eps)
    dZ_hat = gamma * dZ_tilde

    def paths(d, axis=0, count=None, mean=True, spread=True):
        count = d.shape[axis] if count is None else count
        out = d.copy()
        if mean:
            out = out - d.sum(axis=axis, keepdims=True) / count
        if spread:
            out = out - Z_hat * (d * Z_hat).sum(axis=axis, keepdims=True) / count
        return out

    return {
        "batch_axis": paths(dZ_hat, axis=1) * inv,
        "gamma_outside": gamma * paths(dZ_tilde) * inv,
        "no_var_path": paths(dZ_hat, spread=False) * inv,
        "no_mean_path": paths(dZ_hat, mean=False) * inv,
        "elementwise": dZ_hat * inv,
        "no_gamma": paths(dZ_tilde) * inv,
        "eps_outside": paths(dZ_hat) / (np.sqrt(var) + eps),
        "over_m": paths(dZ_hat, count=m) * inv,
    }
