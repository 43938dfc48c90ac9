"""Notebook 05's derived answers: exercises 5.4 (``softmax_jacobian``) and 5.5
(``softmax_backward``), and the fused cost and gradient from the logits the tests and the
PyTorch comparison use (``softmax_cross_entropy``). Logits ``Z``, probabilities ``Y_hat``
and one-hot labels ``Y`` are ``(C, m)``, one example per column."""

from __future__ import annotations

import numpy as np

from lessonlib.core.validate import as_float_array
from lessonlib.layers.softmax import checked_pair, cross_entropy_from_logits, softmax


def softmax_jacobian(z) -> np.ndarray:
    """``J[j, c] = d y_hat_j / d z_c`` for one example's logits ``z`` ``(C,)``:
    ``diag(y_hat) - y_hat y_hat^T``, ``(C, C)``. Exercise 5.4."""
    z = as_float_array("z", z, ndim=1)
    p = softmax(z[:, None])[:, 0]
    return np.diag(p) - np.outer(p, p)


def softmax_backward(Y_hat, Y) -> np.ndarray:
    """``dZ = (Y_hat - Y) / m`` ``(C, m)``: the gradient of the mean cross-entropy cost with
    respect to the logits, through softmax. Exercise 5.5."""
    Y_hat, Y = checked_pair(Y_hat, Y)
    return (Y_hat - Y) / Y.shape[1]


def softmax_cross_entropy(Z, Y) -> tuple[float, np.ndarray]:
    """``(cost, dZ)`` from the logits: lessonlib's ``cross_entropy_from_logits`` and
    ``softmax_backward`` of its softmax."""
    cost = cross_entropy_from_logits(Z, Y)
    return cost, softmax_backward(softmax(Z), Y)
