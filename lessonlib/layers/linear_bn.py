"""A hidden layer with batch norm: ``Z = W A_prev``, batch norm, then the activation.

Course shapes: ``A_prev`` is ``(n_prev, m)``, ``W`` is ``(n, n_prev)``, ``gamma`` and ``beta``
are ``(n, 1)``, ``A`` is ``(n, m)``. There is no bias ``b``: batch norm subtracts the batch
mean of ``Z``, which a constant ``b`` would shift by exactly as much, so ``b`` would have no
effect and a zero gradient; ``beta`` does its job. The forward pass of exercise 3.5
(notebook 03)::

    Z = W A_prev;  Z_tilde, bn_cache = batchnorm_forward(Z, gamma, beta, eps);  A = g(Z_tilde)
    cache = (A_prev, W, bn_cache, Z_tilde, activation)

``linear_bn_backward_by_autodiff`` stands in for exercise 3.6 until the learner's passes:
the layer's gradients by automatic differentiation (``autodiff``) of ``linear_bn_forward``.
"""

from __future__ import annotations

import numpy as np

from ..core.stand_ins import stand_in
from ..core.validate import as_float_array, as_real
from .activations import activate
from .autodiff import vjp
from .batchnorm import batchnorm_forward

LAYER_ACTIVATIONS = ("relu", "sigmoid")


@stand_in("3.1", "3.5")
def linear_bn_forward(A_prev, W, gamma, beta, activation: str = "relu", eps: float = 1e-5):
    """``(A, cache)`` of the layer: ``A = g(batchnorm(W @ A_prev))``. Reference of exercise 3.5.

    ``A_prev`` ``(n_prev, m)`` with ``m >= 2``, ``W`` ``(n, n_prev)``, ``gamma``, ``beta``
    ``(n, 1)``, ``activation`` ``"relu"`` or ``"sigmoid"``. Returns ``A`` ``(n, m)`` and
    ``cache = (A_prev, W, bn_cache, Z_tilde, activation)``, ``bn_cache`` as
    ``batchnorm_forward`` returns it.
    """
    A_prev = as_float_array("A_prev", A_prev, ndim=2)
    W = as_float_array("W", W, ndim=2)
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(f"W must have shape (n, {A_prev.shape[0]}) to multiply A_prev of "
                         f"shape {A_prev.shape}, got {W.shape}")
    if activation not in LAYER_ACTIVATIONS:
        raise ValueError(f"activation must be one of {LAYER_ACTIVATIONS}, got {activation!r}")
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    Z_tilde, bn_cache = batchnorm_forward(W @ A_prev, gamma, beta, eps)
    return activate(Z_tilde, activation), (A_prev, W, bn_cache, Z_tilde, activation)


@stand_in("3.3", "3.4", "3.6", whose="automatic differentiation of lessonlib's linear_bn_forward")
def linear_bn_backward_by_autodiff(dA, cache):
    """Stand-in for exercise 3.6: ``(dA_prev, dW, dgamma, dbeta)`` computed by automatic
    differentiation (autograd) of lessonlib's ``linear_bn_forward`` at the point the cache
    holds (``A_prev``, ``W``, ``gamma``, ``eps``, the activation, and ``beta``, read back
    as the mean of ``Z_tilde - gamma * Z_hat``), not from a formula for the backward pass.

    ``dA`` ``(n, m)``; ``cache`` as ``linear_bn_forward`` returns it. Returns arrays of
    shapes ``(n_prev, m)``, ``(n, n_prev)``, ``(n, 1)``, ``(n, 1)``. Needs autograd.
    """
    dA, (A_prev, W, bn_cache, Z_tilde, activation) = checked_layer_cache(dA, cache)
    Z_hat, gamma, eps = bn_cache[1], bn_cache[4], bn_cache[5]
    beta = np.mean(Z_tilde - gamma * Z_hat, axis=1, keepdims=True)

    def layer(A_prev, W, gamma, beta):
        return linear_bn_forward(A_prev, W, gamma, beta, activation, eps)[0]

    _, backward = vjp(layer, (A_prev, W, gamma, beta))
    return backward(dA)


def checked_layer_cache(dA, cache):
    """``dA`` and the cache of ``linear_bn_forward``, checked against each other."""
    if not isinstance(cache, tuple) or len(cache) != 5:
        raise TypeError("cache must be the 5-tuple (A_prev, W, bn_cache, Z_tilde, activation) "
                        f"linear_bn_forward returned, got {type(cache).__name__}")
    A_prev, W, bn_cache, Z_tilde, activation = cache
    if activation not in LAYER_ACTIVATIONS:
        raise ValueError(f"cache's activation must be one of {LAYER_ACTIVATIONS}, got "
                         f"{activation!r}")
    dA = as_float_array("dA", dA, ndim=2)
    if dA.shape != np.shape(Z_tilde):
        raise ValueError(f"dA must have the shape of the layer's output, {np.shape(Z_tilde)}, "
                         f"got {dA.shape}")
    if not isinstance(bn_cache, tuple) or len(bn_cache) != 6:
        raise TypeError("cache's bn_cache must be the 6-tuple batchnorm_forward returned, got "
                        f"{type(bn_cache).__name__}")
    return dA, cache
