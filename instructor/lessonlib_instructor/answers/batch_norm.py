"""Notebook 03's derived answers: exercises 3.2 (``recover_gamma_beta``), 3.3
(``batchnorm_backward_graph``), 3.4 (``batchnorm_backward``) and 3.6
(``linear_bn_backward``). Course shapes: ``Z`` is ``(n, m)``, one example per column;
``gamma``, ``beta``, ``mu`` and ``var`` are ``(n, 1)``. The caches are those of lessonlib's
``batchnorm_forward`` ``(Z, Z_hat, mu, var, gamma, eps)`` and ``linear_bn_forward``
``(A_prev, W, bn_cache, Z_tilde, activation)``, checked by lessonlib's own validators.
"""

from __future__ import annotations

import numpy as np

from lessonlib.core.validate import as_float_array, as_real
from lessonlib.layers.activations import activate
from lessonlib.layers.batchnorm import checked_cache
from lessonlib.layers.linear_bn import checked_layer_cache


def recover_gamma_beta(Z, eps: float = 1e-5):
    """The ``gamma`` and ``beta`` for which batch norm gives back ``Z`` exactly:
    ``gamma = sqrt(var + eps)`` (biased variance, the same ``eps``) and ``beta = mu`` undo
    the normalization. ``Z`` is ``(n, m)``, ``m >= 2``; returns ``(gamma, beta)``, each
    ``(n, 1)``. Exercise 3.2."""
    Z = as_float_array("Z", Z, ndim=2)
    if Z.shape[1] < 2:
        raise ValueError(f"Z must hold at least 2 examples (columns), got shape {Z.shape}")
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    mu = Z.mean(axis=1, keepdims=True)
    var = np.mean((Z - mu) ** 2, axis=1, keepdims=True)
    return np.sqrt(var + eps), mu


def batchnorm_backward_slips(dZ_tilde, cache):
    """What the classic mistakes of exercises 3.3 and 3.4 return for ``dZ`` on this case, by
    name, so that a failing check can name the one a learner made
    (``checks.batch_norm_mistakes`` holds the hints; the arrays, being near the answer, stay
    on this side). Each is ``(n, m)``::

        no_mean_path       the path through the batch mean left out
        no_variance_path   the path through the batch variance left out
        no_batch_paths     both left out: normalization treated as elementwise
        no_gamma           gamma left out
        eps_outside        sqrt(var) + eps in place of sqrt(var + eps)
        times_m            the means over the examples taken as sums
        unbiased           the variance's path as if var were divided by m - 1
        variance_sign      the variance's path with its sign flipped (ds's sign in the walk)
        no_half_inv_s      dvar taken as ds, without the square root's 1 / (2 s)
    """
    dZ_tilde, (_, Z_hat, _, var, gamma, eps) = checked_cache(dZ_tilde, cache)
    m = Z_hat.shape[1]
    s = np.sqrt(var + eps)
    mean_g = dZ_tilde.mean(axis=1, keepdims=True)
    spread = Z_hat * (dZ_tilde * Z_hat).mean(axis=1, keepdims=True)
    scale = gamma / s
    return {"no_mean_path": scale * (dZ_tilde - spread),
            "no_variance_path": scale * (dZ_tilde - mean_g),
            "no_batch_paths": scale * dZ_tilde,
            "no_gamma": (dZ_tilde - mean_g - spread) / s,
            "eps_outside": gamma / (np.sqrt(var) + eps) * (dZ_tilde - mean_g - spread),
            "times_m": scale * (dZ_tilde - mean_g - spread) * m,
            "unbiased": scale * (dZ_tilde - mean_g - spread * m / (m - 1)),
            "variance_sign": scale * (dZ_tilde - mean_g + spread),
            "no_half_inv_s": scale * (dZ_tilde - mean_g - 2 * s * spread)}


def batchnorm_backward(dZ_tilde, cache):
    """``(dZ, dgamma, dbeta)`` of batch norm, in short. Exercise 3.4.

    With ``inv_std = 1 / sqrt(var + eps)`` and means over the ``m`` examples::

        dbeta  = sum(dZ_tilde, axis=1)                  (n, 1)
        dgamma = sum(dZ_tilde * Z_hat, axis=1)          (n, 1)
        dZ     = gamma * inv_std * (dZ_tilde - mean(dZ_tilde) - Z_hat * mean(dZ_tilde * Z_hat))

    The two subtracted terms are the paths through the batch mean and the batch variance.
    """
    dZ_tilde, (_, Z_hat, _, var, gamma, eps) = checked_cache(dZ_tilde, cache)
    m = Z_hat.shape[1]
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = np.einsum("ij,ij->i", dZ_tilde, Z_hat)[:, None]
    dZ = np.multiply(Z_hat, dgamma * (-1.0 / m),
                     dtype=np.result_type(Z_hat, dZ_tilde, gamma, var))
    dZ += dZ_tilde
    dZ -= dbeta / m
    dZ *= gamma / np.sqrt(var + eps)
    return dZ, dgamma, dbeta


def batchnorm_backward_graph(dZ_tilde, cache):
    """The same gradients node by node on the forward pass's graph. Exercise 3.3.

    ``mu = mean(Z); C = Z - mu; var = mean(C**2); s = sqrt(var + eps); Z_hat = C / s;
    Z_tilde = gamma * Z_hat + beta``, walked backwards: a node's gradient sums what flows
    back from every node it feeds, and an ``(n, 1)`` node sums over the examples.
    """
    dZ_tilde, (Z, Z_hat, mu, var, gamma, eps) = checked_cache(dZ_tilde, cache)
    m = Z_hat.shape[1]
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = (dZ_tilde * Z_hat).sum(axis=1, keepdims=True)
    C = as_float_array("cache's Z", Z, ndim=2) - as_float_array("cache's mu", mu, ndim=2)
    s = np.sqrt(var + eps)
    dZ_hat = gamma * dZ_tilde
    ds = -(dZ_hat * C).sum(axis=1, keepdims=True) / s**2
    dvar = ds / (2 * s)
    dC = dZ_hat / s + dvar * 2 * C / m
    dmu = -dC.sum(axis=1, keepdims=True)
    return dC + dmu / m, dgamma, dbeta


def _activation_derivative(A, Z, kind: str):
    """``g'(Z)`` from ``Z`` and ``A = g(Z)``, for the layer's ``"relu"`` or ``"sigmoid"``."""
    return (Z > 0).astype(A.dtype) if kind == "relu" else A * (1 - A)


def linear_bn_backward_slips(dA, cache) -> dict:
    """What the classic mistakes of exercise 3.6 return, by name, each a list
    ``[dA_prev, dW, dgamma, dbeta]`` (``checks.batch_norm`` holds the hints)::

        no_activation_derivative   back through batch norm without the activation's g'
    """
    dA, (A_prev, W, bn_cache, _, _) = checked_layer_cache(dA, cache)
    dZ, dgamma, dbeta = batchnorm_backward(dA, bn_cache)
    return {"no_activation_derivative": [W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta]}


def linear_bn_backward(dA, cache):
    """``(dA_prev, dW, dgamma, dbeta)`` of ``A = g(batchnorm(W @ A_prev))``: back through
    the activation, batch norm (``batchnorm_backward``) and the product (``dW = dZ
    A_prev^T``, ``dA_prev = W^T dZ``). Shapes ``(n_prev, m)``, ``(n, n_prev)``, ``(n, 1)``,
    ``(n, 1)``. Exercise 3.6."""
    dA, (A_prev, W, bn_cache, Z_tilde, activation) = checked_layer_cache(dA, cache)
    A = activate(Z_tilde, activation)
    dZ, dgamma, dbeta = batchnorm_backward(
        dA * _activation_derivative(A, Z_tilde, activation), bn_cache)
    return W.T @ dZ, dZ @ A_prev.T, dgamma, dbeta
