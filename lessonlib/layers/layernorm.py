"""Layer normalization: each example normalized over its units, not over the batch.

Course shapes: ``Z`` is ``(n, m)``; ``gamma`` and ``beta`` are ``(n, 1)``, one per unit as in
batch norm. Each example (column) is normalized with the mean and biased variance of its
``n`` values (axis 0), so an example's output never depends on the other examples of its
batch, a batch of one works, and training and test time compute the same thing::

    mu    = mean(Z, axis=0)                 (1, m)
    var   = mean((Z - mu)**2, axis=0)       (1, m)
    Z_tilde = gamma * (Z - mu) / sqrt(var + eps) + beta

(Ba, Kiros & Hinton, 2016, *Layer Normalization*.) ``layernorm_forward`` is the reference
of exercise 4.3 (notebook 04); ``LayerNorm`` is the layer ``network.Network(...,
layer_norm=True)`` uses. Its gradients come from automatic differentiation (``autodiff``)
of the forward pass: ``layernorm_backward_by_autodiff``, the labelled stand-in of exercise
4.4 (the backward pass, derived by the learner; lessonlib writes out no formula for it).
"""

from __future__ import annotations

import numpy as np

from ..core.stand_ins import gives_away, stand_in
from ..core.validate import as_column, as_float_array, as_int, as_real
from .autodiff import array_namespace, vjp, with_backward


@stand_in("3.1", "4.3")
def layernorm_forward(Z, gamma, beta, eps: float = 1e-5):
    """``(Z_tilde, cache)``: each column of ``Z`` ``(n, m)`` normalized over its ``n`` units
    (``n >= 2``), then scaled by ``gamma`` and shifted by ``beta`` (``(n, 1)``). Reference
    of exercise 4.3. ``cache = (Z, Z_hat, mu, var, gamma, eps)`` with ``mu``, ``var`` of
    shape ``(1, m)``."""
    Z = as_float_array("Z", Z, ndim=2)
    if Z.shape[0] < 2:
        raise ValueError(f"Z must have at least 2 units (rows) to normalize over, got shape "
                         f"{Z.shape}")
    gamma = as_column("gamma", gamma, Z.shape[0])
    beta = as_column("beta", beta, Z.shape[0])
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    return _forward(Z, gamma, beta, eps)


def _forward(Z, gamma, beta, eps):
    # Traceable by autograd (nothing in place): the network differentiates it. Few
    # operations, since autograd's cost is mostly per operation (as in batchnorm).
    mu = Z.mean(axis=0, keepdims=True)
    centred = Z - mu
    var = (centred * centred).mean(axis=0, keepdims=True)
    Z_hat = centred / array_namespace(var).sqrt(var + eps)
    return gamma * Z_hat + beta, (Z, Z_hat, mu, var, gamma, eps)


@stand_in("3.3", "3.4", "4.4",
          whose="automatic differentiation of lessonlib's layer norm forward")
def layernorm_backward_by_autodiff(dZ_tilde, cache):
    """``(dZ, dgamma, dbeta)`` of layer norm by automatic differentiation (autograd) of
    lessonlib's ``layernorm_forward`` at the cache's ``Z``, ``gamma`` and ``eps``, not from
    a formula for the backward pass.

    ``dZ_tilde`` ``(n, m)``; ``cache`` as ``layernorm_forward`` returns it,
    ``(Z, Z_hat, mu, var, gamma, eps)``. Returns arrays of shapes ``(n, m)``, ``(n, 1)``,
    ``(n, 1)``. Needs autograd.
    """
    if not isinstance(cache, tuple) or len(cache) != 6:
        raise TypeError("cache must be the 6-tuple (Z, Z_hat, mu, var, gamma, eps) returned "
                        f"by layernorm_forward, got {type(cache).__name__}")
    Z = as_float_array("cache's Z", cache[0], ndim=2)
    dZ_tilde = as_float_array("dZ_tilde", dZ_tilde, ndim=2)
    if dZ_tilde.shape != Z.shape:
        raise ValueError(f"dZ_tilde must have the shape of Z, {Z.shape}, got "
                         f"{dZ_tilde.shape}")
    gamma = as_column("cache's gamma", cache[4], Z.shape[0])
    eps = as_real("cache's eps", cache[5], low=0, low_inclusive=False)
    return _gradients(dZ_tilde, Z, gamma, eps)


def _gradients(dZ_tilde, Z, gamma, eps, forward=layernorm_forward):
    """``(dZ, dgamma, dbeta)`` of layer norm's ``forward`` at ``Z``, ``gamma``, ``eps`` by
    autograd (``beta`` shifts the output only, so its value does not matter)."""
    _, backward = vjp(lambda Z, gamma, beta: forward(Z, gamma, beta, eps)[0],
                      (Z, gamma, np.zeros_like(gamma)))
    return backward(dZ_tilde)


def _backward_by_autodiff(dZ_tilde, cache):
    """The backward pass ``LayerNorm`` pairs with a forward pass's cache: autograd through
    the unchecked forward pass (the network's arrays need no checks)."""
    Z, _, _, _, gamma, eps = cache
    return _gradients(dZ_tilde, Z, gamma, eps, forward=_forward)


class LayerNorm:
    """A layer-norm layer for ``Z`` ``(n, m)``: trainable ``gamma`` (ones) and ``beta``
    (zeros), ``(n, 1)``, and no running statistics, so its training and evaluation modes
    compute the same thing. ``forward`` and ``backward`` take the keywords of
    ``BatchNorm``'s, so ``network.Network`` drives either. ``forward_fn``, with the signature
    of ``layernorm_forward`` (and its cache), replaces lessonlib's forward pass, and
    ``backward_fn``, with the signature of exercise 4.4 (``(dZ_tilde, cache) -> (dZ, dgamma,
    dbeta)``, reading that cache), the gradients a network takes through the layer:
    notebook 04 trains with the learner's. Without ``backward_fn`` the gradients are
    automatic differentiation of lessonlib's forward pass (needs autograd), also when the
    network differentiates through the learner's forward. Either may be set after
    construction (``network.Network`` passes ``forward_fn`` only)."""

    def __init__(self, n_units: int, *, eps: float = 1e-5, forward_fn=None, backward_fn=None):
        self.n_units = as_int("n_units", n_units, low=2)
        for name, fn, like in (("forward_fn", forward_fn, "layernorm_forward"),
                               ("backward_fn", backward_fn, "layernorm_backward")):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be None or a function like {like}, got "
                                f"{type(fn).__name__}")
        self.forward_fn = forward_fn
        self.backward_fn = backward_fn
        self.eps = as_real("eps", eps, low=0, low_inclusive=False)
        self.gamma = np.ones((self.n_units, 1))
        self.beta = np.zeros((self.n_units, 1))
        self.training = True

    def train(self, mode: bool = True) -> LayerNorm:
        """Set the mode (it changes nothing in what layer norm computes); returns the layer."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"mode must be True or False, got {mode!r}")
        self.training = bool(mode)
        return self

    @gives_away("3.1", "4.3")
    def forward(self, Z, *, training=None, update: bool = True, validate: bool = True,
                gamma=None, beta=None):
        """``(Z_tilde, cache)``; ``training`` and ``update`` are accepted and ignored;
        ``gamma`` and ``beta`` replace the layer's own for this call, as in ``BatchNorm``."""
        gamma = self.gamma if gamma is None else gamma
        beta = self.beta if beta is None else beta
        if self.forward_fn is not None or self.backward_fn is not None:
            return with_backward(self.forward_fn or _forward,
                                 self.backward_fn or _backward_by_autodiff)(Z, gamma, beta,
                                                                            self.eps)
        if validate:
            return layernorm_forward(Z, gamma, beta, self.eps)
        return _forward(Z, gamma, beta, self.eps)

    @gives_away("3.3", "3.4", "4.4")
    def backward(self, dZ_tilde, cache, *, validate: bool = True):
        """``(dZ, dgamma, dbeta)`` from the cache of ``forward``, by automatic
        differentiation of lessonlib's forward pass (needs autograd); ``backward_fn``'s
        when the layer has one."""
        if self.backward_fn is not None:
            return self.backward_fn(dZ_tilde, cache)
        if validate:
            return layernorm_backward_by_autodiff(dZ_tilde, cache)
        return _backward_by_autodiff(dZ_tilde, cache)
