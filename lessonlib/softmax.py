"""Softmax regression: softmax over classes, one-hot labels and the cross-entropy cost.

Course shapes: logits ``Z`` and probabilities ``Y_hat`` are ``(C, m)``, one example per
column; one-hot labels ``Y`` are ``(C, m)``. Introduced in notebook 05; notebook 01's
small network uses it for its output layer.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_int, as_labels


def _logits(Z) -> np.ndarray:
    return as_float_array("Z", Z, ndim=2)


def softmax(Z) -> np.ndarray:
    """``exp(Z) / sum(exp(Z))`` over the classes axis (0), stable for large logits.

    ``Z`` is ``(C, m)``; returns ``(C, m)`` whose columns sum to 1. Subtracting each
    column's maximum first leaves the result unchanged and keeps ``exp`` from overflowing.
    """
    Z = _logits(Z)
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    E /= E.sum(axis=0, keepdims=True)
    return E


def log_softmax(Z) -> np.ndarray:
    """``log(softmax(Z))`` for ``Z`` of shape ``(C, m)``, finite even where softmax is 0."""
    Z = _logits(Z)
    shifted = Z - Z.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def hardmax(Z) -> np.ndarray:
    """One-hot ``(C, m)`` array with a 1 at each column's largest logit (first on ties)."""
    Z = _logits(Z)
    out = np.zeros_like(Z)
    out[Z.argmax(axis=0), np.arange(Z.shape[1])] = 1
    return out


def one_hot(y, C: int) -> np.ndarray:
    """Labels ``y`` of shape ``(m,)`` with values in ``[0, C)`` as a ``(C, m)`` one-hot array."""
    C = as_int("C", C, low=1)
    y = as_labels("y", y, C)
    Y = np.zeros((C, y.size))
    Y[y, np.arange(y.size)] = 1.0
    return Y


def _check_pair(Y_hat, Y) -> tuple[np.ndarray, np.ndarray]:
    Y_hat = as_float_array("Y_hat", Y_hat, ndim=2)
    Y = as_float_array("Y", Y, ndim=2)
    if Y_hat.shape != Y.shape:
        raise ValueError(f"Y_hat and Y must have the same shape (C, m), got {Y_hat.shape} "
                         f"and {Y.shape}")
    return Y_hat, Y


def cross_entropy_cost(Y_hat, Y) -> float:
    """Mean over the ``m`` examples of ``-sum_c Y[c] * log(Y_hat[c])``.

    ``Y_hat`` holds probabilities ``(C, m)`` whose columns sum to 1; ``Y`` is one-hot
    ``(C, m)``. Terms with ``Y = 0`` contribute 0, so a probability of exactly 0 on a wrong
    class is fine; a probability of 0 on the true class gives a large but finite cost
    (``log`` is taken of ``max(Y_hat, tiny)``).
    """
    Y_hat, Y = _check_pair(Y_hat, Y)
    if np.any(Y_hat < 0) or np.any(Y_hat > 1):
        raise ValueError("Y_hat must hold probabilities in [0, 1]")
    sums = Y_hat.sum(axis=0)
    if not np.allclose(sums, 1.0, atol=1e-4):
        worst = sums[np.argmax(np.abs(sums - 1))]
        raise ValueError(f"each column of Y_hat must sum to 1 (a softmax output), got a column "
                         f"summing to {worst:.6g}")
    tiny = np.finfo(Y_hat.dtype).tiny
    logs = np.log(np.maximum(Y_hat, tiny))
    return float(-np.sum(Y * logs) / Y.shape[1])


def softmax_cross_entropy(Z, Y) -> tuple[float, np.ndarray]:
    """Cost and gradient straight from the logits: ``(cost, dZ)`` with ``dZ = (Y_hat - Y) / m``.

    ``Z`` and one-hot ``Y`` are ``(C, m)``. Computed through ``log_softmax`` so it stays
    finite for logits of any size.
    """
    Z = _logits(Z)
    Y = as_float_array("Y", Y, ndim=2)
    if Z.shape != Y.shape:
        raise ValueError(f"Z and Y must have the same shape (C, m), got {Z.shape} and {Y.shape}")
    m = Z.shape[1]
    shifted = Z - Z.max(axis=0, keepdims=True)
    E = np.exp(shifted)
    total = E.sum(axis=0, keepdims=True)
    cost = float(-np.sum(Y * (shifted - np.log(total))) / m)
    dZ = (E / total - Y) / m
    return cost, dZ
