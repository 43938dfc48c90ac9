"""Batch normalization: the kernels, the checked reference functions, the layer, folding.

Course shapes: ``Z`` is ``(n, m)``, one unit per row and one example per column; ``gamma``
and ``beta`` are ``(n, 1)``. Each unit is normalized over the ``m`` examples of the
mini-batch (axis 1)::

    mu    = mean(Z, axis=1)                        (n, 1)
    var   = mean((Z - mu)**2, axis=1)              (n, 1)  biased: divided by m, not m - 1
    Z_hat = (Z - mu) / sqrt(var + eps)             (n, m)  eps inside the square root
    Z_tilde = gamma * Z_hat + beta                 (n, m)

At test time there may be a single example, so the mean and variance come from running
averages kept during training instead of the batch::

    running_mean = decay * running_mean + (1 - decay) * mu          (after each training batch)
    running_var  = decay * running_var  + (1 - decay) * var_unbiased
    Z_tilde = gamma * (Z - running_mean) / sqrt(running_var + eps) + beta        (test time)

``batchnorm_forward`` (exercise 3.1, notebook 03) and ``update_running_stats`` (exercise
4.1, notebook 04) are the formulas the lecture states, which the experiments run as
labelled stand-ins until the learner's pass; ``batchnorm_inference`` is the lecture's
evaluation mode. The derived answers (3.2 to 3.4, and 4.2's folding) are on the instructor
side only. ``BatchNorm`` is the layer the network uses, holding ``gamma``, ``beta`` and the
running statistics, with a training and an evaluation mode; ``fold_batchnorm``, the
stand-in of exercise 4.2, folds evaluation-mode batch norm into the linear layer before it
by measuring the affine map the two make, without a formula for it.

Every gradient lessonlib itself uses comes from automatic differentiation (``autodiff``) of
the forward passes: ``batchnorm_backward_by_autodiff`` stands in for exercises 3.3 and 3.4
until the learner's pass, and ``BatchNorm.backward`` is computed the same way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core.stand_ins import gives_away, stand_in
from ..core.validate import (
    as_column,
    as_decay,
    as_float_array,
    as_int,
    as_real,
    as_variance,
)
from .autodiff import array_namespace, value, vjp, with_backward


class BatchNormCache(NamedTuple):
    """What ``batchnorm_forward`` keeps for the backward pass (a tuple, in this order).

    ``Z`` ``(n, m)`` the input; ``Z_hat`` ``(n, m)`` the normalized input; ``mu`` and
    ``var`` ``(n, 1)`` the batch mean and biased variance; ``gamma`` ``(n, 1)``; ``eps``.
    """

    Z: np.ndarray
    Z_hat: np.ndarray
    mu: np.ndarray
    var: np.ndarray
    gamma: np.ndarray
    eps: float


# ------------------------------------------------------------------ the core (unchecked)

def _bn_forward(Z, gamma, beta, eps):
    # Traceable by autograd (nothing in place): the network differentiates it. Few
    # operations, since autograd's cost is mostly per operation; Z.var would be one fewer
    # but costs more in both passes (measured on notebook 03's network and lessonlib.bench).
    mu = Z.mean(axis=1, keepdims=True)
    centred = Z - mu
    var = (centred * centred).mean(axis=1, keepdims=True)
    Z_hat = centred / array_namespace(var).sqrt(var + eps)
    return Z_hat * gamma + beta, BatchNormCache(Z, Z_hat, mu, var, gamma, eps)


class BatchNormInferenceCache(NamedTuple):
    """What the evaluation-mode forward keeps for a backward pass: its inputs, ``Z``
    ``(n, m)``, ``gamma`` ``(n, 1)``, the frozen statistics ``mean`` and ``var`` ``(n, 1)``
    and ``eps``. With fixed statistics batch norm is an affine map of each example alone."""

    Z: np.ndarray
    gamma: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    eps: float


def _bn_inference(Z, gamma, beta, mean, var, eps):
    # Traceable in Z, gamma and beta (the statistics are constants).
    inv_std = 1.0 / np.sqrt(var + eps)
    Z_hat = (Z - mean) * inv_std
    return Z_hat * gamma + beta, BatchNormInferenceCache(Z, gamma, mean, var, eps)


def _ema_step(running, stat, decay):
    return decay * running + (1 - decay) * stat


# ------------------------------------------------------------------ validation

def _as_Z(Z, name: str = "Z") -> np.ndarray:
    Z = as_float_array(name, Z, ndim=2)
    if Z.shape[1] < 2:
        raise ValueError(f"{name} must hold at least 2 examples (columns) in training mode, got "
                         f"shape {Z.shape}: the variance of a batch of one example is 0, so "
                         "there is nothing to normalize (at test time use running averages, "
                         "notebook 04)")
    return Z


def _as_unit_param(name: str, value, n: int) -> np.ndarray:
    arr = as_float_array(name, value)
    if arr.shape != (n, 1):
        raise ValueError(f"{name} must have shape ({n}, 1), one value per unit of Z, got "
                         f"shape {arr.shape}")
    return arr


# ------------------------------------------------------------------ forward and backward

@stand_in("3.1", "4.3")
def batchnorm_forward(Z, gamma, beta, eps: float = 1e-5):
    """Batch norm in training mode: ``(Z_tilde, cache)``. Reference of exercise 3.1.

    ``Z`` is ``(n, m)`` with ``m >= 2`` examples; ``gamma`` and ``beta`` are ``(n, 1)``;
    ``eps > 0``. Each unit (row) is normalized over the ``m`` examples of the batch with
    its mean and its *biased* variance (divided by ``m``), ``eps`` inside the square root::

        Z_hat = (Z - mu) / sqrt(var + eps),   Z_tilde = gamma * Z_hat + beta

    Returns ``Z_tilde`` ``(n, m)`` and ``cache = (Z, Z_hat, mu, var, gamma, eps)`` (a
    ``BatchNormCache``, which unpacks like that tuple). float32 input stays float32 when
    ``gamma`` and ``beta`` are float32 too. Introduced in notebook 03.
    """
    Z = _as_Z(Z)
    n = Z.shape[0]
    gamma = _as_unit_param("gamma", gamma, n)
    beta = _as_unit_param("beta", beta, n)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    return _bn_forward(Z, gamma, beta, eps)


@stand_in("3.3", "3.4", "4.4",
          whose="automatic differentiation of lessonlib's batch norm forward")
def batchnorm_backward_by_autodiff(dZ_tilde, cache):
    """Stand-in for exercises 3.3 and 3.4: ``(dZ, dgamma, dbeta)`` computed by automatic
    differentiation (autograd) of lessonlib's ``batchnorm_forward`` at the cache's ``Z``,
    ``gamma`` and ``eps``, not from a formula for the backward pass.

    ``dZ_tilde`` ``(n, m)`` is ``d cost / d Z_tilde``; ``cache`` is the
    ``(Z, Z_hat, mu, var, gamma, eps)`` that ``batchnorm_forward`` returned. Returns arrays
    of shapes ``(n, m)``, ``(n, 1)`` and ``(n, 1)``. Needs autograd.
    """
    dZ_tilde, cache = checked_cache(dZ_tilde, cache)
    Z = as_float_array("cache's Z", cache.Z, ndim=2)
    if Z.shape != dZ_tilde.shape:
        raise ValueError(f"cache's Z must have the shape of dZ_tilde, {dZ_tilde.shape}, got "
                         f"{Z.shape}")
    return _training_gradients(dZ_tilde, Z, cache.gamma, cache.eps)


def _training_gradients(dZ_tilde, Z, gamma, eps):
    """``(dZ, dgamma, dbeta)`` of ``batchnorm_forward`` at ``Z``, ``gamma``, ``eps`` by
    autograd (``beta`` shifts the output only, so its value does not matter)."""
    _, backward = vjp(lambda Z, gamma, beta: batchnorm_forward(Z, gamma, beta, eps)[0],
                      (Z, gamma, np.zeros_like(gamma)))
    return backward(dZ_tilde)


def _inference_gradients(dZ_tilde, cache: BatchNormInferenceCache):
    """``(dZ, dgamma, dbeta)`` of ``batchnorm_inference`` with the cache's frozen
    statistics, by autograd."""
    Z, gamma, mean, var, eps = cache
    _, backward = vjp(lambda Z, gamma, beta: batchnorm_inference(Z, gamma, beta, mean, var,
                                                                 eps),
                      (Z, gamma, np.zeros_like(gamma)))
    return backward(dZ_tilde)


def checked_cache(dZ_tilde, cache) -> tuple[np.ndarray, BatchNormCache]:
    """``dZ_tilde`` and the cache of ``batchnorm_forward``, checked against each other."""
    if not isinstance(cache, tuple) or len(cache) != 6:
        raise TypeError("cache must be the 6-tuple (Z, Z_hat, mu, var, gamma, eps) returned "
                        f"by batchnorm_forward, got {type(cache).__name__}"
                        + (f" of length {len(cache)}" if isinstance(cache, tuple) else ""))
    Z, Z_hat, mu, var, gamma, eps = cache
    Z_hat = _as_Z(Z_hat, "cache's Z_hat")
    n, m = Z_hat.shape
    dZ_tilde = as_float_array("dZ_tilde", dZ_tilde, ndim=2)
    if dZ_tilde.shape != (n, m):
        raise ValueError(f"dZ_tilde must have the shape of Z, ({n}, {m}), got "
                         f"{dZ_tilde.shape}")
    var = _as_unit_param("cache's var", var, n)
    if np.any(var < 0):
        raise ValueError("cache's var must be >= 0 (a variance)")
    gamma = _as_unit_param("cache's gamma", gamma, n)
    eps = as_real("cache's eps", eps, low=0, low_inclusive=False)
    return dZ_tilde, BatchNormCache(Z, Z_hat, mu, var, gamma, eps)


# ------------------------------------------------------------------ test time (notebook 04)

@stand_in("4.1")
def update_running_stats(running_mean, running_var, mu, var, decay: float):
    """One step of the exponentially weighted running averages of batch norm.

    Reference of exercise 4.1 (notebook 04). ``running_mean``, ``running_var`` are the
    averages so far and ``mu``, ``var`` the statistics of the current training batch, all
    ``(n, 1)``; ``0 <= decay < 1`` is the weight on the *old* value (the lecture's
    exponentially weighted average)::

        running_mean = decay * running_mean + (1 - decay) * mu
        running_var  = decay * running_var  + (1 - decay) * var

    Returns the new ``(running_mean, running_var)`` as new arrays; the inputs are not
    changed. Which variance is averaged is the caller's choice: ``BatchNorm`` passes the
    unbiased one, ``var * m / (m - 1)``. ``decay = 0`` keeps only the last batch; PyTorch's
    ``momentum`` is ``1 - decay``, Keras's ``momentum`` is ``decay``.
    """
    running_mean = as_column("running_mean", running_mean)
    n = running_mean.shape[0]
    running_var = as_variance("running_var", running_var, n)
    mu = as_column("mu", mu, n)
    var = as_variance("var", var, n)
    decay = as_decay(decay)
    return _ema_step(running_mean, mu, decay), _ema_step(running_var, var, decay)


@gives_away("4.2")    # a route to 4.2's fold: measure this affine map
def batchnorm_inference(Z, gamma, beta, running_mean, running_var, eps: float = 1e-5):
    """Batch norm at test time: normalize with the running statistics, not the batch's.

    The lecture's evaluation mode (notebook 04), what ``BatchNorm`` computes after
    ``layer.eval()``. ``Z`` is ``(n, m)`` with any ``m >= 1``;
    ``gamma``, ``beta``, ``running_mean`` and ``running_var`` are ``(n, 1)``; ``eps > 0``::

        Z_tilde = gamma * (Z - running_mean) / sqrt(running_var + eps) + beta

    Each column is transformed on its own, so an example's output does not depend on the
    other examples of the batch, and a batch of one example works. Nothing is updated.
    Returns ``Z_tilde`` ``(n, m)`` (float32 when every input is float32).
    """
    Z = as_float_array("Z", Z, ndim=2)
    n = Z.shape[0]
    gamma = _as_unit_param("gamma", gamma, n)
    beta = _as_unit_param("beta", beta, n)
    running_mean = as_column("running_mean", running_mean, n)
    running_var = as_variance("running_var", running_var, n)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    return _bn_inference(Z, gamma, beta, running_mean, running_var, eps)[0]


class BatchNorm:
    """A batch-norm layer for ``Z`` of shape ``(n, m)`` with a training and an evaluation mode.

    It holds the trainable ``gamma`` (ones) and ``beta`` (zeros), each ``(n, 1)``, apart
    from the running statistics used at test time, ``running_mean`` (starts at 0) and
    ``running_var`` (starts at 1), also ``(n, 1)``, which gradient descent never touches.

    - **Training mode** (the default; ``layer.train()``): ``forward`` normalizes with the
      batch's mean and *biased* variance (``m >= 2`` examples), exactly as
      ``batchnorm_forward``, then updates the running statistics::

          running_mean = decay * running_mean + (1 - decay) * mu
          running_var  = decay * running_var  + (1 - decay) * var * m / (m - 1)

    - **Evaluation mode** (``layer.eval()``): ``forward`` is ``batchnorm_inference`` with
      the running statistics; it works for any ``m >= 1`` and changes nothing.

    **Which variance is kept:** ``running_var`` averages the *unbiased* batch variance
    (times ``m / (m - 1)``), as Ioffe & Szegedy's Algorithm 2 and PyTorch do; the batch
    itself is normalized with the biased one. **Other libraries:** PyTorch's
    ``torch.nn.BatchNorm1d(n, eps=eps, momentum=1 - decay)`` is this layer (same start
    values, unbiased ``running_var``; its default ``momentum=0.1`` is ``decay = 0.9``, and
    its examples are rows, not columns). Keras's ``BatchNormalization(momentum=decay,
    epsilon=eps)`` keeps ``moving_mean`` and ``moving_variance`` with the same rule and
    start values, but averages the *biased* batch variance (smaller by ``(m - 1) / m``);
    its defaults are ``momentum=0.99``, ``epsilon=1e-3``.

    Besides, ``n_updates`` counts the training batches averaged in so far, and
    ``batch_mean``, ``batch_var`` hold the last training batch's mean and biased variance
    (``None`` before the first). ``forward(Z) -> (Z_tilde, cache)`` and
    ``backward(dZ_tilde, cache) -> (dZ, dgamma, dbeta)`` follow lessonlib's convention; the
    backward pass is automatic differentiation of the forward pass (it needs autograd), and
    in evaluation mode it treats the statistics as constants. Introduced in notebook 04.

    ``functions=(forward, backward)``, with the signatures of ``batchnorm_forward`` and
    ``batchnorm_backward`` (the cache ``(Z, Z_hat, mu, var, gamma, eps)``), runs those in
    training mode instead of lessonlib's: notebook 03 trains networks with the learner's.
    When autograd differentiates through such a layer (the network's gradients), its
    gradients come from that ``backward``.
    """

    def __init__(self, n_units: int, *, decay: float = 0.9, eps: float = 1e-5,
                 functions=None):
        self.n_units = as_int("n_units", n_units, low=1)
        self.functions = as_bn_functions(functions)
        self.decay = as_decay(decay)
        self.eps = as_real("eps", eps, low=0, low_inclusive=False)
        n = self.n_units
        self.gamma = np.ones((n, 1))
        self.beta = np.zeros((n, 1))
        self.running_mean = np.zeros((n, 1))
        self.running_var = np.ones((n, 1))
        self.training = True
        self.n_updates = 0
        self.batch_mean: np.ndarray | None = None
        self.batch_var: np.ndarray | None = None

    def __repr__(self) -> str:
        mode = "training" if self.training else "evaluation"
        return (f"BatchNorm({self.n_units}, decay={self.decay:g}, eps={self.eps:g}; {mode} "
                f"mode, {self.n_updates} updates)")

    def train(self, mode: bool = True) -> BatchNorm:
        """Switch to training mode (``mode=False``: evaluation mode); returns the layer."""
        self.training = _as_flag("mode", mode)
        return self

    def eval(self) -> BatchNorm:
        """Switch to evaluation mode (running statistics, nothing updated)."""
        return self.train(False)

    def _update(self, mu: np.ndarray, var: np.ndarray, m: int) -> None:
        """Average one training batch's ``mu`` and biased ``var`` of ``m`` examples in."""
        self.batch_mean, self.batch_var = mu, var
        self.running_mean = _ema_step(self.running_mean, mu, self.decay)
        self.running_var = _ema_step(self.running_var, var * (m / (m - 1)), self.decay)
        self.n_updates += 1

    @gives_away("3.1", "4.1", "4.2", "4.3")
    def forward(self, Z, *, training: bool | None = None, update: bool = True,
                validate: bool = True, gamma=None, beta=None):
        """``(Z_tilde, cache)`` for ``Z`` ``(n, m)``.

        ``training`` (default: the layer's mode) picks the statistics: the batch's own
        (``m >= 2``), then, with ``update``, a step of the running ones towards them; or the
        running statistics alone (any ``m``, nothing changes). ``validate=False`` skips the
        argument checks, for a caller that passes arrays it built itself (the network: a NaN
        from a diverging run must flow through to be detected there). ``gamma`` and
        ``beta`` ``(n, 1)`` replace the layer's own for this call: the network passes the
        parameters autograd traces (``autodiff``).
        """
        training = self.training if training is None else _as_flag("training", training)
        gamma = self.gamma if gamma is None else gamma
        beta = self.beta if beta is None else beta
        if validate:
            Z = _as_Z(Z) if training else as_float_array("Z", Z, ndim=2)
            if Z.shape[0] != self.n_units:
                raise ValueError(f"Z must have shape ({self.n_units}, m), one row per unit of "
                                 f"the layer, got {Z.shape}")
            gamma = _as_unit_param("gamma", gamma, self.n_units)
            beta = _as_unit_param("beta", beta, self.n_units)
        if not training:
            return _bn_inference(Z, gamma, beta, self.running_mean, self.running_var,
                                 self.eps)
        if self.functions is None:
            out, cache = _bn_forward(Z, gamma, beta, self.eps)
        else:
            out, cache = with_backward(*self.functions)(Z, gamma, beta, self.eps)
        if update:
            self._update(value(cache[2]), value(cache[3]), Z.shape[1])      # mu and var
        return out, cache

    @gives_away("3.3", "3.4", "4.4")     # 4.4: layer norm is batch norm of the transpose
    def backward(self, dZ_tilde, cache, *, validate: bool = True):
        """``(dZ, dgamma, dbeta)`` from ``dZ_tilde`` ``(n, m)`` and the cache of ``forward``
        (``validate``: as in ``forward``): the layer's ``functions`` backward pass in training
        mode when it has one, else automatic differentiation of the forward pass (shapes
        ``(n, m)``, ``(n, 1)``, ``(n, 1)``; needs autograd)."""
        theirs = self.functions is not None and not isinstance(cache, BatchNormInferenceCache)
        if not (theirs or isinstance(cache, (BatchNormCache, BatchNormInferenceCache))):
            raise TypeError("cache must be what BatchNorm.forward returned, got "
                            f"{type(cache).__name__}")
        if validate:
            dZ_tilde = as_float_array("dZ_tilde", dZ_tilde, ndim=2)
            shape = np.shape(cache[0] if isinstance(cache, BatchNormInferenceCache)
                             else cache[1])                     # Z's, Z_hat's
            if dZ_tilde.shape != shape:
                raise ValueError(f"dZ_tilde must have the shape of Z, {shape}, got "
                                 f"{dZ_tilde.shape}")
        if theirs:
            return self.functions[1](dZ_tilde, cache)
        if isinstance(cache, BatchNormInferenceCache):
            return _inference_gradients(dZ_tilde, cache)
        return _training_gradients(dZ_tilde, cache.Z, cache.gamma, cache.eps)


def as_bn_functions(functions, name: str = "functions"):
    """``None``, or a pair ``(forward, backward)`` of functions with the signatures of
    ``batchnorm_forward`` and ``batchnorm_backward``; returned as a tuple."""
    if functions is None:
        return None
    if not isinstance(functions, (tuple, list)) or len(functions) != 2 \
            or not all(callable(f) for f in functions):
        raise TypeError(f"{name} must be None or a pair (forward, backward) of functions "
                        "like batchnorm_forward and batchnorm_backward, got "
                        f"{type(functions).__name__}")
    return tuple(functions)


def _as_flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# ------------------------------------------------------------------ folding (notebook 04)

@stand_in("4.2", whose="lessonlib's fold_batchnorm, which measures the layer on the zero "
                      "vector and the basis vectors")
def fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps: float = 1e-5):
    """Stand-in for exercise 4.2: ``(W_folded, b_folded)``, one linear layer that computes
    what ``Z = W A + b`` followed by evaluation-mode batch norm (``gamma``, ``beta``, fixed
    ``running_mean`` and ``running_var``, ``eps``) computes, measured rather than derived.

    With fixed statistics the two steps together are an affine map of ``A``, so they are
    known from their outputs on a few inputs: on the zero vector they give ``b_folded``,
    and on the basis vector ``e_k`` they give ``b_folded`` plus column ``k`` of
    ``W_folded``. This function runs the linear layer and evaluation-mode batch norm on
    those ``n_prev + 1`` inputs and reads the two off; it states no formula for them.
    ``W_folded @ A + b_folded`` then equals the two steps to round-off.

    ``W`` is ``(n, n_prev)``; ``b`` is ``(n, 1)`` or ``None`` (a layer without bias, as in a
    batch-normalized layer); ``gamma``, ``beta``, ``running_mean``, ``running_var`` are
    ``(n, 1)``. Returns ``W_folded`` ``(n, n_prev)`` and ``b_folded`` ``(n, 1)``. Used by
    ``network.fold_network``; introduced in notebook 04.
    """
    W = as_float_array("W", W, ndim=2)
    n, n_prev = W.shape
    b = np.zeros((n, 1)) if b is None else as_column("b", b, n)
    gamma = as_column("gamma", gamma, n)
    beta = as_column("beta", beta, n)
    running_mean = as_column("running_mean", running_mean, n)
    running_var = as_variance("running_var", running_var, n)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    inputs = np.hstack([np.zeros((n_prev, 1)), np.eye(n_prev)]).astype(W.dtype)
    outputs = _bn_inference(W @ inputs + b, gamma, beta, running_mean, running_var, eps)[0]
    b_folded = outputs[:, :1]
    return outputs[:, 1:] - b_folded, b_folded
