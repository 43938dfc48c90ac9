"""Notebook 05's derived answers: exercises 5.4 (``softmax_jacobian``), 5.5
(``softmax_backward``) and 5.6 (``cross_entropy_from_logits``, through ``log_softmax``), and
the fused cost and gradient from the logits the tests and the PyTorch comparison use
(``softmax_cross_entropy``). Logits ``Z``, probabilities ``Y_hat``
and one-hot labels ``Y`` are ``(C, m)``, one example per column."""

from __future__ import annotations

import numpy as np

from lessonlib.core.validate import as_float_array
from lessonlib.layers.softmax import checked_pair, softmax


def softmax_jacobian(z) -> np.ndarray:
    """``J[j, c] = d y_hat_j / d z_c`` for one example's logits ``z`` ``(C,)``:
    ``diag(y_hat) - y_hat y_hat^T``, ``(C, C)``. Exercise 5.4."""
    z = as_float_array("z", z, ndim=1)
    p = softmax(z[:, None])[:, 0]
    return np.diag(p) - np.outer(p, p)


def softmax_jacobian_slips(z) -> dict:
    """What the classic mistakes of exercise 5.4 return at the logits ``z`` ``(C,)``, by name
    (``checks.softmax_regression`` holds the hints; the arrays, near the answer, stay on this
    side)::

        diagonal_only   the off-diagonal entries left at 0
        sign            the whole Jacobian with its sign flipped
        logits          the logits used where the probabilities belong
    """
    z = as_float_array("z", z, ndim=1)
    right = softmax_jacobian(z)
    return {"diagonal_only": np.diag(np.diag(right)), "sign": -right,
            "logits": np.diag(z) - np.outer(z, z)}


def softmax_backward(Y_hat, Y) -> np.ndarray:
    """``dZ = (Y_hat - Y) / m`` ``(C, m)``: the gradient of the mean cross-entropy cost with
    respect to the logits, through softmax. Exercise 5.5."""
    Y_hat, Y = checked_pair(Y_hat, Y)
    return (Y_hat - Y) / Y.shape[1]


def log_softmax(Z) -> np.ndarray:
    """``log(softmax(Z))`` for logits ``(C, m)``, finite even where softmax rounds to 0:
    ``Z - max - log(sum(exp(Z - max)))`` per column."""
    Z = as_float_array("Z", Z, ndim=2)
    shifted = Z - Z.max(axis=0, keepdims=True)     # a constant: softmax ignores it
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def cross_entropy_from_logits(Z, Y) -> float:
    """The mean cross-entropy cost straight from the logits ``Z`` (``(C, m)``) and one-hot
    ``Y`` (``(C, m)``), through ``log_softmax``: exact for logits of any size, where
    ``cross_entropy_cost(softmax(Z), Y)`` must clip a probability that rounded to 0.
    Exercise 5.6.
    """
    Z = as_float_array("Z", Z, ndim=2)
    Y = as_float_array("Y", Y, ndim=2)
    if Z.shape != Y.shape:
        raise ValueError(f"Z and Y must have the same shape (C, m), got Z of shape {Z.shape} "
                         f"and Y of shape {Y.shape}")
    terms = np.where(Y > 0, Y * log_softmax(Z), 0.0)      # 0 * -inf counts 0 where Y is 0
    return float(terms.sum() / -Y.shape[1])


def softmax_cross_entropy(Z, Y) -> tuple[float, np.ndarray]:
    """``(cost, dZ)`` from the logits: ``cross_entropy_from_logits`` and
    ``softmax_backward`` of its softmax."""
    cost = cross_entropy_from_logits(Z, Y)
    return cost, softmax_backward(softmax(Z), Y)
