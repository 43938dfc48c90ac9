"""Activations of the hidden layers and their derivatives.

``activate(Z, kind)`` is ``g(Z)`` elementwise for ``kind`` in ``ACTIVATIONS``, traceable by
automatic differentiation (``autodiff``), which is how lessonlib's network gets ``g'``.
"""

from __future__ import annotations

import numpy as np

from ..core.validate import as_float_array
from .autodiff import array_namespace

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def sigmoid(z) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))`` elementwise, without overflow.

    With two classes softmax is logistic regression: ``softmax(Z)[1] = sigmoid(Z[1] - Z[0])``
    (notebook 05).
    """
    return _sigmoid(as_float_array("z", z))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + array_namespace(z).tanh(0.5 * z))


def activate(Z: np.ndarray, kind: str) -> np.ndarray:
    """``g(Z)`` for ``Z`` of any shape; ``kind`` is ``"relu"``, ``"tanh"`` or ``"sigmoid"``."""
    if kind == "relu":      # where, not maximum: autograd then gives g'(0) = 0, not 1/2
        return array_namespace(Z).where(Z > 0, Z, 0.0)
    if kind == "tanh":
        return array_namespace(Z).tanh(Z)
    if kind == "sigmoid":
        return _sigmoid(Z)
    raise ValueError(f"kind must be one of {ACTIVATIONS}, got {kind!r}")


