"""Batch normalization in training mode: forward, backward, and why it helps.

Course shapes: ``Z`` is ``(n, m)``, one unit per row and one example per column; ``gamma``
and ``beta`` are ``(n, 1)``. Each unit is normalized over the ``m`` examples of the
mini-batch (axis 1)::

    mu    = mean(Z, axis=1)                        (n, 1)
    var   = mean((Z - mu)**2, axis=1)              (n, 1)  biased: divided by m, not m - 1
    Z_hat = (Z - mu) / sqrt(var + eps)             (n, m)  eps inside the square root
    Z_tilde = gamma * Z_hat + beta                 (n, m)

Introduced in notebook 03, which also runs the experiments below: a small version of Ioffe &
Szegedy's (2015) Figure 1, a learning-rate sweep, and the noise of batch statistics against
the batch size.

At test time (notebook 04) there may be a single example, so the mean and variance come from
running averages kept during training instead of the batch::

    running_mean = decay * running_mean + (1 - decay) * mu          (after each training batch)
    running_var  = decay * running_var  + (1 - decay) * var_unbiased
    Z_tilde = gamma * (Z - running_mean) / sqrt(running_var + eps) + beta        (test time)

``update_running_stats`` and ``batchnorm_inference`` are the references of exercises 4.1
and 4.2, ``BatchNorm`` is a layer holding ``gamma``, ``beta`` and the running statistics
with a training and an evaluation mode, and the last section holds notebook 04's
experiments (the population statistics and folding live in ``lessonlib.nn``).
"""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import numpy as np

from ._progress import ProgressBar
from ._threads import one_blas_thread
from ._validate import as_float_array, as_int, as_labels, as_real, as_rng
from .data import _shared_digits as _digits


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
    # Few passes and few new arrays (the benchmark against PyTorch is in lessonlib.bench):
    # Z_hat is built in place from the centred copy, var comes from one einsum.
    m = Z.shape[1]
    mu = Z.mean(axis=1, keepdims=True)
    Z_hat = np.subtract(Z, mu)
    var = np.einsum("ij,ij->i", Z_hat, Z_hat)[:, None] / m
    Z_hat *= 1.0 / np.sqrt(var + eps)
    out = np.multiply(Z_hat, gamma, dtype=np.result_type(Z_hat, gamma, beta))
    out += beta
    return out, BatchNormCache(Z, Z_hat, mu, var, gamma, eps)


def _bn_backward(dZ_tilde, cache):
    _, Z_hat, _, var, gamma, eps = cache
    m = Z_hat.shape[1]
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = np.einsum("ij,ij->i", dZ_tilde, Z_hat)[:, None]
    # dZ = gamma / sqrt(var + eps) * (dZ_tilde - mean(dZ_tilde) - Z_hat * mean(dZ_tilde Z_hat)),
    # one new array, the rest in place
    dZ = np.multiply(Z_hat, dgamma * (-1.0 / m),
                     dtype=np.result_type(Z_hat, dZ_tilde, gamma, var))
    dZ += dZ_tilde
    dZ -= dbeta / m
    dZ *= gamma / np.sqrt(var + eps)
    return dZ, dgamma, dbeta


class BatchNormInferenceCache(NamedTuple):
    """What the evaluation-mode forward keeps for a backward pass (frozen statistics).

    ``Z_hat`` ``(n, m)``, ``gamma`` ``(n, 1)`` and ``inv_std = 1 / sqrt(running_var + eps)``
    ``(n, 1)``: with fixed statistics batch norm is an affine map of each example alone.
    """

    Z_hat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray


def _bn_inference(Z, gamma, beta, mean, var, eps):
    inv_std = 1.0 / np.sqrt(var + eps)
    Z_hat = np.subtract(Z, mean, dtype=np.result_type(Z, mean, inv_std))
    Z_hat *= inv_std
    out = np.multiply(Z_hat, gamma, dtype=np.result_type(Z_hat, gamma, beta))
    out += beta
    return out, BatchNormInferenceCache(Z_hat, gamma, inv_std)


def _bn_inference_backward(dZ_tilde, cache):
    Z_hat, gamma, inv_std = cache
    return (dZ_tilde * (gamma * inv_std), np.sum(dZ_tilde * Z_hat, axis=1, keepdims=True),
            np.sum(dZ_tilde, axis=1, keepdims=True))


def _ema_step(running, stat, decay):
    return decay * running + (1 - decay) * stat


# ------------------------------------------------------------------ validation

def _check_Z(Z, name: str = "Z") -> np.ndarray:
    Z = as_float_array(name, Z, ndim=2)
    if Z.shape[1] < 2:
        raise ValueError(f"{name} must hold at least 2 examples (columns) in training mode, got "
                         f"shape {Z.shape}: the variance of a batch of one example is 0, so "
                         "there is nothing to normalize (at test time use running averages, "
                         "notebook 04)")
    return Z


def _check_unit_param(name: str, value, n: int) -> np.ndarray:
    arr = as_float_array(name, value)
    if arr.shape != (n, 1):
        raise ValueError(f"{name} must have shape ({n}, 1), one value per unit of Z, got "
                         f"shape {arr.shape}")
    return arr


# ------------------------------------------------------------------ forward and backward

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
    Z = _check_Z(Z)
    n = Z.shape[0]
    gamma = _check_unit_param("gamma", gamma, n)
    beta = _check_unit_param("beta", beta, n)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    return _bn_forward(Z, gamma, beta, eps)


def batchnorm_backward(dZ_tilde, cache):
    """Gradients of batch norm: ``(dZ, dgamma, dbeta)``. Reference of exercise 3.3.

    ``dZ_tilde`` ``(n, m)`` is ``d cost / d Z_tilde``; ``cache`` is the
    ``(Z, Z_hat, mu, var, gamma, eps)`` that ``batchnorm_forward`` returned. With
    ``inv_std = 1 / sqrt(var + eps)`` (``(n, 1)``) and means over the ``m`` examples::

        dbeta  = sum(dZ_tilde, axis=1)                  (n, 1)
        dgamma = sum(dZ_tilde * Z_hat, axis=1)          (n, 1)
        dZ     = gamma * inv_std * (dZ_tilde - mean(dZ_tilde) - Z_hat * mean(dZ_tilde * Z_hat))

    The two subtracted terms are the paths through the batch mean and the batch variance,
    since every example's ``Z_hat`` depends on every example's ``Z``. Three passes over
    the ``(n, m)`` arrays, no loop over examples. Introduced in notebook 03.
    """
    if not isinstance(cache, tuple) or len(cache) != 6:
        raise TypeError("cache must be the 6-tuple (Z, Z_hat, mu, var, gamma, eps) returned "
                        f"by batchnorm_forward, got {type(cache).__name__}"
                        + (f" of length {len(cache)}" if isinstance(cache, tuple) else ""))
    Z, Z_hat, mu, var, gamma, eps = cache
    Z_hat = _check_Z(Z_hat, "cache's Z_hat")
    n, m = Z_hat.shape
    dZ_tilde = as_float_array("dZ_tilde", dZ_tilde, ndim=2)
    if dZ_tilde.shape != (n, m):
        raise ValueError(f"dZ_tilde must have the shape of Z, ({n}, {m}), got "
                         f"{dZ_tilde.shape}")
    var = _check_unit_param("cache's var", var, n)
    if np.any(var < 0):
        raise ValueError("cache's var must be >= 0 (a variance)")
    gamma = _check_unit_param("cache's gamma", gamma, n)
    eps = as_real("cache's eps", eps, low=0, low_inclusive=False)
    return _bn_backward(dZ_tilde, BatchNormCache(Z, Z_hat, mu, var, gamma, eps))


def recover_gamma_beta(Z, eps: float = 1e-5):
    """The ``gamma`` and ``beta`` for which batch norm gives back ``Z`` exactly.

    ``Z`` is ``(n, m)`` with ``m >= 2``. ``gamma = sqrt(var + eps)`` (biased variance, the
    same ``eps``) and ``beta = mu`` undo the normalization: ``gamma * Z_hat + beta = Z``.
    Returns ``(gamma, beta)``, each ``(n, 1)``. Reference of exercise 3.2 (notebook 03).
    """
    Z = _check_Z(Z)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    mu = Z.mean(axis=1, keepdims=True)
    var = np.mean((Z - mu) ** 2, axis=1, keepdims=True)
    return np.sqrt(var + eps), mu


def batchnorm_gradcheck(forward, backward, *, n: int = 4, m: int = 8, eps: float = 1e-5,
                        rng: np.random.Generator) -> dict:
    """Check a forward/backward pair against the numerical gradient, in float64.

    Draws a random batch ``Z`` ``(n, m)``, ``gamma``, ``beta`` and upstream gradient ``G``;
    the cost is ``sum(G * forward(Z, gamma, beta, eps)[0])``. Returns
    ``{"dZ": err, "dgamma": err, "dbeta": err, "max": err}``, relative errors of
    ``backward(G, cache)`` against ``gradcheck.numerical_gradient``.
    """
    from .gradcheck import numerical_gradient, relative_error

    for name, fn in (("forward", forward), ("backward", backward)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
    n = as_int("n", n, low=1)
    m = as_int("m", m, low=2)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    rng = as_rng(rng)
    Z = 2.0 * rng.standard_normal((n, m)) + rng.normal(0, 3, (n, 1))
    gamma = rng.uniform(0.5, 2.0, (n, 1))
    beta = rng.standard_normal((n, 1))
    G = rng.standard_normal((n, m)) + rng.standard_normal((n, 1))
    _, cache = forward(Z.copy(), gamma.copy(), beta.copy(), eps)
    dZ, dgamma, dbeta = backward(G.copy(), cache)

    def cost(Zx, gx, bx):
        return float(np.sum(G * forward(Zx, gx, bx, eps)[0]))

    num = {"dZ": numerical_gradient(lambda x: cost(x, gamma, beta), Z.copy()),
           "dgamma": numerical_gradient(lambda x: cost(Z, x, beta), gamma.copy()),
           "dbeta": numerical_gradient(lambda x: cost(Z, gamma, x), beta.copy())}
    got = {"dZ": dZ, "dgamma": dgamma, "dbeta": dbeta}
    errors = {}
    for k in num:
        g = np.asarray(got[k], dtype=float)
        if g.shape != num[k].shape:
            raise ValueError(f"backward returned {k} of shape {g.shape}, expected "
                             f"{num[k].shape}")
        errors[k] = relative_error(g, num[k])
    errors["max"] = max(errors.values())
    return errors


def gradcheck_report(forward, backward, *, rng: np.random.Generator) -> str:
    """One line for the notebook: the relative errors of a forward/backward pair.

    Falls back to lessonlib's reference (and says so) while either function still raises
    ``NotImplementedError``; any other error is reported in the line, never raised.
    """
    rng = as_rng(rng)
    state = rng.bit_generator.state
    label = "your batchnorm_forward and batchnorm_backward"
    try:
        err = batchnorm_gradcheck(forward, backward, rng=rng)
    except NotImplementedError:
        rng.bit_generator.state = state
        label = "lessonlib's reference (yours are not written yet)"
        err = batchnorm_gradcheck(batchnorm_forward, batchnorm_backward, rng=rng)
    except Exception as e:  # noqa: BLE001 - a learner's bug is reported, not raised
        return f"the gradient check could not run: {type(e).__name__}: {e}"
    verdict = "below 1e-7: correct" if err["max"] < 1e-7 else "above 1e-7: check your formula"
    return (f"{label}: relative error dZ {err['dZ']:.1e}, dgamma {err['dgamma']:.1e}, "
            f"dbeta {err['dbeta']:.1e} ({verdict})")


# ------------------------------------------------------------------ test time (notebook 04)

def _check_column(name: str, value, n: int | None = None) -> np.ndarray:
    """An ``(n, 1)`` float array (one value per unit), or a clear error naming it."""
    arr = as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[1] != 1 or (n is not None and arr.shape[0] != n):
        want = f"({n}, 1)" if n is not None else "(n, 1)"
        raise ValueError(f"{name} must have shape {want}, one value per unit, got shape "
                         f"{arr.shape}")
    return arr


def _check_variance(name: str, value, n: int | None = None) -> np.ndarray:
    arr = _check_column(name, value, n)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (a variance), got a smallest value of "
                         f"{float(arr.min()):g}")
    return arr


def _check_decay(decay, name: str = "decay") -> float:
    return as_real(name, decay, low=0, high=1, high_inclusive=False)


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
    running_mean = _check_column("running_mean", running_mean)
    n = running_mean.shape[0]
    running_var = _check_variance("running_var", running_var, n)
    mu = _check_column("mu", mu, n)
    var = _check_variance("var", var, n)
    decay = _check_decay(decay)
    return _ema_step(running_mean, mu, decay), _ema_step(running_var, var, decay)


def batchnorm_inference(Z, gamma, beta, running_mean, running_var, eps: float = 1e-5):
    """Batch norm at test time: normalize with the running statistics, not the batch's.

    Reference of exercise 4.2 (notebook 04). ``Z`` is ``(n, m)`` with any ``m >= 1``;
    ``gamma``, ``beta``, ``running_mean`` and ``running_var`` are ``(n, 1)``; ``eps > 0``::

        Z_tilde = gamma * (Z - running_mean) / sqrt(running_var + eps) + beta

    Each column is transformed on its own, so an example's output does not depend on the
    other examples of the batch, and a batch of one example works. Nothing is updated.
    Returns ``Z_tilde`` ``(n, m)`` (float32 when every input is float32).
    """
    Z = as_float_array("Z", Z, ndim=2)
    n = Z.shape[0]
    gamma = _check_unit_param("gamma", gamma, n)
    beta = _check_unit_param("beta", beta, n)
    running_mean = _check_column("running_mean", running_mean, n)
    running_var = _check_variance("running_var", running_var, n)
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
    ``backward(dZ_tilde, cache) -> (dZ, dgamma, dbeta)`` follow lessonlib's convention; in
    evaluation mode the backward pass treats the statistics as constants. Introduced in
    notebook 04.
    """

    def __init__(self, n_units: int, *, decay: float = 0.9, eps: float = 1e-5):
        self.n_units = as_int("n_units", n_units, low=1)
        self.decay = _check_decay(decay)
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
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"mode must be True or False, got {mode!r}")
        self.training = bool(mode)
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

    def forward(self, Z):
        """``(Z_tilde, cache)`` for ``Z`` ``(n, m)``: batch statistics and an update of the
        running ones in training mode, the running statistics alone in evaluation mode."""
        if self.training:
            Z = _check_Z(Z)
        else:
            Z = as_float_array("Z", Z, ndim=2)
        if Z.shape[0] != self.n_units:
            raise ValueError(f"Z must have shape ({self.n_units}, m), one row per unit of the "
                             f"layer, got {Z.shape}")
        if not self.training:
            return _bn_inference(Z, self.gamma, self.beta, self.running_mean,
                                 self.running_var, self.eps)
        out, cache = _bn_forward(Z, self.gamma, self.beta, self.eps)
        self._update(cache.mu, cache.var, Z.shape[1])
        return out, cache

    def backward(self, dZ_tilde, cache):
        """``(dZ, dgamma, dbeta)`` from ``dZ_tilde`` ``(n, m)`` and the cache of ``forward``."""
        if not isinstance(cache, (BatchNormCache, BatchNormInferenceCache)):
            raise TypeError("cache must be what BatchNorm.forward returned, got "
                            f"{type(cache).__name__}")
        dZ_tilde = as_float_array("dZ_tilde", dZ_tilde, ndim=2)
        if dZ_tilde.shape != cache.Z_hat.shape:
            raise ValueError(f"dZ_tilde must have the shape of Z, {cache.Z_hat.shape}, got "
                             f"{dZ_tilde.shape}")
        if isinstance(cache, BatchNormInferenceCache):
            return _bn_inference_backward(dZ_tilde, cache)
        return _bn_backward(dZ_tilde, cache)


# ------------------------------------------------------------------ one unit, the widget

def unit_batch(gamma: float, beta: float, batch_size: int, *, eps: float = 1e-5,
               rng: np.random.Generator) -> dict:
    """One unit's values ``z`` over a batch of ``batch_size`` examples, before and after
    batch norm with scalar ``gamma`` and ``beta``: the logic of notebook 03's widget.

    ``z`` comes from a skewed distribution with mean 3 and standard deviation 2 (a shifted
    gamma distribution), as a hidden unit's input often is. Returns ``{"z": (m,),
    "z_tilde": (m,), "batch_mean", "batch_std"`` (of ``z``), ``"mean", "std"`` (of
    ``z_tilde``), ``"gamma", "beta"}``.
    """
    gamma = as_real("gamma", gamma)
    beta = as_real("beta", beta)
    batch_size = as_int("batch_size", batch_size, low=2)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    rng = as_rng(rng)
    shape = 2.0
    z = 3.0 + 2.0 * (rng.gamma(shape, 1.0, batch_size) - shape) / np.sqrt(shape)
    z_tilde, cache = _bn_forward(z[None, :], np.array([[gamma]]), np.array([[beta]]), eps)
    z_tilde = z_tilde[0]
    return {"z": z, "z_tilde": z_tilde, "batch_mean": float(cache.mu[0, 0]),
            "batch_std": float(np.sqrt(cache.var[0, 0])), "mean": float(z_tilde.mean()),
            "std": float(z_tilde.std()), "gamma": gamma, "beta": beta}


def plot_unit_batch(batch: dict, ax=None):
    """Histograms of one unit's ``z`` and ``z_tilde`` from ``unit_batch``. Returns the Axes."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    z, zt = batch["z"], batch["z_tilde"]
    lo = min(z.min(), zt.min(), -4.0)
    hi = max(z.max(), zt.max(), 10.0)
    bins = np.linspace(lo, hi, 50)
    ax.hist(z, bins=bins, alpha=0.5, color="tab:gray",
            label=f"z: mean {batch['batch_mean']:.2f}, std {batch['batch_std']:.2f}")
    ax.hist(zt, bins=bins, alpha=0.6, color="tab:blue",
            label=f"z_tilde: mean {batch['mean']:.2f}, std {batch['std']:.2f}")
    ax.axvline(batch["beta"], color="tab:blue", ls="--", lw=1)
    ax.set_xlabel("value of the unit")
    ax.set_ylabel("examples in the batch")
    ax.set_title(f"batch of {z.size}: gamma = {batch['gamma']:.2f}, "
                 f"beta = {batch['beta']:.2f}")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def normalization_widget(*, seed: int = 0):
    """Sliders for ``gamma``, ``beta`` and the batch size redrawing ``plot_unit_batch``."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    seed = as_int("seed", seed, low=0)
    g = widgets.FloatSlider(value=1.0, min=-3.0, max=3.0, step=0.1, description="gamma")
    b = widgets.FloatSlider(value=0.0, min=-3.0, max=6.0, step=0.1, description="beta")
    m = widgets.IntSlider(value=64, min=2, max=1024, description="batch size")
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            batch = unit_batch(g.value, b.value, m.value, rng=np.random.default_rng(seed))
            plot_unit_batch(batch)
            plt.show()

    for w in (g, b, m):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([g, b, m]), out])


# ------------------------------------------------------------------ why it works

PERCENTILES = (15, 50, 85)


def _check_hidden(hidden) -> tuple:
    """The hidden-layer sizes of an experiment's network: at least one, each >= 1."""
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a sequence of hidden-layer sizes, got "
                        f"{type(hidden).__name__} {hidden!r}")
    sizes = tuple(as_int(f"hidden[{i}]", h, low=1) for i, h in enumerate(hidden))
    if not sizes:
        raise ValueError("hidden must list at least one hidden-layer size, got none")
    return sizes


def figure1_run(*, batch_norm: bool, steps: int, learning_rate: float,
                hidden=(100, 100, 100), batch_size: int = 60, record_every: int = 20,
                unit: int = 0, optimizer: str = "gd", rng: np.random.Generator) -> dict:
    """Train the network of Ioffe & Szegedy's Figure 1 on the digits and watch it.

    Sigmoid hidden layers of sizes ``hidden``, a softmax output, mini-batches of
    ``batch_size``, ``steps`` updates of ``optimizer`` at ``learning_rate``. The weights
    are drawn from ``rng`` first, then the mini-batch order, so two runs from generators
    in the same state start from the same weights and see the same batches, with or
    without batch norm. Every ``record_every`` steps (and at step 0) it records the
    validation accuracy and the 15th, 50th and 85th percentiles over the validation set of
    the input to the sigmoid of ``unit`` in the last hidden layer. With batch norm the
    validation set is normalized as one batch with its own statistics (``training=True``),
    as notebook 03 does before running averages are introduced in notebook 04. Returns
    ``{"steps": (k,), "val_acc": (k,), "percentiles": (k, 3), "cost": (steps,),
    "batch_norm": bool}``.
    """
    from .nn import Network, Optimizer, train_epochs

    steps = as_int("steps", steps, low=1)
    record_every = as_int("record_every", record_every, low=1)
    batch_size = as_int("batch_size", batch_size, low=2)
    hidden = _check_hidden(hidden)
    rng = as_rng(rng)
    d = _digits()
    dims = [d.train.X.shape[0], *hidden, d.n_classes]
    net = Network(dims, activation="sigmoid", batch_norm=batch_norm, rng=rng)
    unit = as_int("unit", unit, low=0, high=dims[-2] - 1)
    opt = Optimizer(optimizer, learning_rate)
    rec = {"steps": [], "val_acc": [], "percentiles": [], "cost": []}
    last = len(hidden)

    def record(step):
        rec["steps"].append(step)
        rec["val_acc"].append(net.accuracy(d.val.X, d.val.y, training=True))
        rec["percentiles"].append(np.percentile(net.hidden_input(d.val.X, last)[unit],
                                                PERCENTILES))

    def on_step(step, _net, cost):
        rec["cost"].append(cost)
        if step % record_every == 0:
            record(step)
        return step >= steps

    per_epoch = -(-d.train.m // batch_size)
    with one_blas_thread():
        record(0)
        train_epochs(net, opt, d.train.X, d.train.y,
                     epochs=steps // max(per_epoch - 1, 1) + 2, batch_size=batch_size,
                     rng=rng, on_step=on_step)
    return {"steps": np.array(rec["steps"]), "val_acc": np.array(rec["val_acc"]),
            "percentiles": np.array(rec["percentiles"]), "cost": np.array(rec["cost"]),
            "batch_norm": bool(batch_norm)}


def compare_batch_norm(*, steps: int, learning_rate: float, rng: np.random.Generator,
                       **options) -> dict:
    """``figure1_run`` without and with batch norm from the same weights and batches.

    Draws one seed from ``rng`` and gives both runs a generator made from it. ``options``
    go to ``figure1_run``. Returns ``{"without": run, "with": run}``.
    """
    rng = as_rng(rng)
    seed = int(rng.integers(2**63))
    return {name: figure1_run(batch_norm=flag, steps=steps, learning_rate=learning_rate,
                              rng=np.random.default_rng(seed), **options)
            for name, flag in (("without", False), ("with", True))}


def steps_to_accuracy(steps, accuracy, target: float):
    """The first of ``steps`` at which ``accuracy`` reaches ``target``, or ``None``.

    ``steps`` and ``accuracy`` are ``(k,)``, as ``figure1_run`` records them.
    """
    steps = as_float_array("steps", steps, ndim=1)
    accuracy = as_float_array("accuracy", accuracy, ndim=1)
    if steps.shape != accuracy.shape:
        raise ValueError(f"steps and accuracy must have the same shape, got {steps.shape} "
                         f"and {accuracy.shape}")
    target = as_real("target", target, low=0, high=1)
    hit = np.flatnonzero(accuracy >= target)
    return int(steps[hit[0]]) if hit.size else None


def plot_accuracy_curves(runs, target: float | None = None, ax=None):
    """Validation accuracy against training steps for each run of ``figure1_run``."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for run in runs:
        label = "with batch norm" if run["batch_norm"] else "without batch norm"
        ax.plot(run["steps"], run["val_acc"], color="tab:blue" if run["batch_norm"]
                else "tab:gray", label=label)
    if target is not None:
        ax.axhline(target, color="k", ls=":", lw=1, label=f"target {target:.2f}")
    ax.set_xlabel("training steps")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    return ax


def plot_percentiles(run: dict, ax=None):
    """The 15th, 50th and 85th percentiles of the watched unit's input over training."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    color = "tab:blue" if run["batch_norm"] else "tab:gray"
    p = run["percentiles"]
    ax.fill_between(run["steps"], p[:, 0], p[:, 2], color=color, alpha=0.2)
    for j, q in enumerate(PERCENTILES):
        ax.plot(run["steps"], p[:, j], color=color, lw=2 if q == 50 else 1,
                label=f"{q}th percentile")
    ax.set_xlabel("training steps")
    ax.set_ylabel("input of the sigmoid")
    ax.set_title("with batch norm" if run["batch_norm"] else "without batch norm")
    ax.legend(loc="best", fontsize=8)
    return ax


def learning_rate_sweep(learning_rates, *, epochs: int, hidden=(100, 100, 100),
                        batch_size: int = 60, optimizer: str = "gd",
                        rng: np.random.Generator) -> dict:
    """Final validation accuracy on the digits for each learning rate, without and with
    batch norm: ``{"without": (k,), "with": (k,)}``.

    The network of ``figure1_run`` trained for ``epochs`` epochs. For each learning rate
    one seed is drawn from ``rng``, and the two runs start from the same weights and see
    the same mini-batches. A run that diverges scores 0. As in ``figure1_run``, the
    validation set is normalized as one batch with its own statistics.
    """
    from .nn import Network, Optimizer, train_epochs

    rates = as_float_array("learning_rates", learning_rates, ndim=1)
    if np.any(rates <= 0):
        raise ValueError("learning_rates must all be > 0")
    epochs = as_int("epochs", epochs, low=1)
    batch_size = as_int("batch_size", batch_size, low=2)
    hidden = _check_hidden(hidden)
    rng = as_rng(rng)
    d = _digits()
    dims = [d.train.X.shape[0], *hidden, d.n_classes]
    acc = {"without": [], "with": []}
    with contextlib.ExitStack() as stack:
        stack.enter_context(one_blas_thread())
        stack.enter_context(np.errstate(all="ignore"))
        bar = stack.enter_context(ProgressBar(len(rates), "rates"))
        for lr in rates:
            seed = int(rng.integers(2**63))
            for name, flag in (("without", False), ("with", True)):
                run_rng = np.random.default_rng(seed)
                net = Network(dims, activation="sigmoid", batch_norm=flag, rng=run_rng)
                hist = train_epochs(net, Optimizer(optimizer, float(lr)), d.train.X,
                                    d.train.y, epochs=epochs, batch_size=batch_size,
                                    rng=run_rng)
                acc[name].append(0.0 if hist.get("diverged")
                                 else net.accuracy(d.val.X, d.val.y, training=True))
            bar.update()
    return {name: np.array(v) for name, v in acc.items()}


def plot_learning_rate_sweep(learning_rates, accuracy: dict, ax=None):
    """Final validation accuracy against the learning rate (log axis), without and with
    batch norm (``accuracy`` as ``learning_rate_sweep`` returns it)."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogx(learning_rates, accuracy["without"], "o-", color="tab:gray",
                label="without batch norm")
    ax.semilogx(learning_rates, accuracy["with"], "o-", color="tab:blue",
                label="with batch norm")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final validation accuracy")
    ax.set_ylim(0, 1)
    ax.legend(loc="best")
    return ax


def batch_stat_noise(values, batch_sizes, *, n_batches: int = 400,
                     rng: np.random.Generator) -> dict:
    """How much a batch's mean and variance of one unit scatter, against the batch size.

    ``values`` ``(N,)`` are the unit's values over the whole training set; for each ``m``
    in ``batch_sizes`` it draws ``n_batches`` mini-batches of ``m`` examples without
    replacement. Returns ``{"batch_sizes": (k,), "mean_noise": (k,), "var_noise": (k,),
    "mean_line": (k,), "var_line": (k,)}``: the standard deviation over batches of the
    batch mean divided by the unit's standard deviation, of the batch variance divided by
    its variance, and the ``c / sqrt(m)`` lines they follow (``c = 1`` for the mean and
    ``sqrt(kurtosis - 1)`` for the variance).
    """
    values = as_float_array("values", values, ndim=1)
    if isinstance(batch_sizes, (str, bytes)) or not hasattr(batch_sizes, "__iter__"):
        raise TypeError(f"batch_sizes must be a sequence of batch sizes, got "
                        f"{type(batch_sizes).__name__} {batch_sizes!r}")
    sizes = np.array([as_int(f"batch_sizes[{i}]", s, low=2, high=values.size)
                      for i, s in enumerate(batch_sizes)])
    n_batches = as_int("n_batches", n_batches, low=2)
    rng = as_rng(rng)
    sigma2 = values.var()
    if sigma2 == 0:
        raise ValueError("values must not all be equal (their variance is 0)")
    kurt = np.mean((values - values.mean()) ** 4) / sigma2 ** 2
    mean_noise, var_noise = [], []
    for m in sizes:
        idx = np.argsort(rng.random((n_batches, values.size)), axis=1)[:, :m]
        batch = values[idx]
        mean_noise.append(batch.mean(axis=1).std() / np.sqrt(sigma2))
        var_noise.append(batch.var(axis=1).std() / sigma2)
    return {"batch_sizes": sizes, "mean_noise": np.array(mean_noise),
            "var_noise": np.array(var_noise), "mean_line": 1 / np.sqrt(sizes),
            "var_line": np.sqrt((kurt - 1) / sizes)}


def plot_batch_stat_noise(noise: dict, ax=None):
    """The noise of ``batch_stat_noise`` on log-log axes with its ``1/sqrt(m)`` lines."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    m = noise["batch_sizes"]
    ax.loglog(m, noise["mean_noise"], "o", color="tab:blue", label="batch mean")
    ax.loglog(m, noise["mean_line"], "-", color="tab:blue", lw=1, label="1 / sqrt(m)")
    ax.loglog(m, noise["var_noise"], "s", color="tab:orange", label="batch variance")
    ax.loglog(m, noise["var_line"], "-", color="tab:orange", lw=1,
              label="sqrt(kurtosis - 1) / sqrt(m)")
    ax.set_xlabel("batch size m")
    ax.set_ylabel("relative std over batches")
    ax.legend(loc="lower left", fontsize=8)
    return ax


# ------------------------------------------------------------------ notebook 04: experiments

def ema(values, decay: float, *, initial=0.0, bias_correction: bool = False) -> np.ndarray:
    """The exponentially weighted average of a sequence, step by step.

    ``values`` is ``(T, ...)``, one batch statistic per step (``(T,)`` for one unit);
    ``v_0 = initial`` and ``v_t = decay * v_{t-1} + (1 - decay) * values[t - 1]``. With
    ``bias_correction`` the start-up bias of the initial value is removed (the week-2
    correction, generalized to any initial value)::

        v_t_corrected = (v_t - decay**t * initial) / (1 - decay**t)

    which for ``initial = 0`` is ``v_t / (1 - decay**t)``: a weighted average of the values
    seen so far, with weights summing to 1. Returns ``(v_1, ..., v_T)`` of the shape of
    ``values``. The logic behind notebook 04's start-up bias plot and its ``decay`` slider.
    """
    values = as_float_array("values", values)
    if values.ndim == 0:
        raise ValueError("values must be a sequence (T, ...), got a single number")
    decay = _check_decay(decay)
    initial = as_float_array("initial", initial)
    try:
        v = np.broadcast_to(initial, values.shape[1:]).astype(float)
    except ValueError:
        raise ValueError(f"initial must be a number or match one step of values, "
                         f"{values.shape[1:]}, got shape {initial.shape}") from None
    initial = v.copy()
    out = np.empty(values.shape)
    for t, x in enumerate(values):
        v = _ema_step(v, x, decay)
        out[t] = v
    if bias_correction and decay > 0:
        w = decay ** np.arange(1, len(values) + 1, dtype=float)
        w = w.reshape(-1, *([1] * (values.ndim - 1)))
        out = (out - w * initial) / (1 - w)
    return out


def follow_batch_means(batch_means, decay: float, *, population=None,
                       bias_correction: bool = False) -> dict:
    """How a running mean with weight ``decay`` follows one unit's per-batch means.

    ``batch_means`` ``(T,)`` are the unit's mini-batch means at steps ``1..T``;
    ``population`` ``(T,)``, if given, its mean over the whole training set at each step
    (what the running mean tries to estimate). Returns ``{"steps": (T,), "batch_means",
    "population", "running": (T,)`` (from 0, as in the layer; bias-corrected with
    ``bias_correction``), ``"decay", "lag", "noise", "rms_error"}``:

    - ``lag = decay / (1 - decay)``: the average age, in steps, of what the running mean
      averages (its weights ``(1 - decay) * decay**k`` on the value ``k`` steps back);
    - ``noise = sqrt((1 - decay) / (1 + decay))``: how much of the batch-to-batch noise
      is left (the standard deviation of the average of independent noise, relative);
    - ``rms_error``: root-mean-square of ``running - population`` over the second half
      of the steps (after the start-up), or ``None`` without ``population``.

    The logic of notebook 04's ``decay`` widget.
    """
    batch_means = as_float_array("batch_means", batch_means, ndim=1)
    decay = _check_decay(decay)
    if population is not None:
        population = as_float_array("population", population, ndim=1)
        if population.shape != batch_means.shape:
            raise ValueError(f"population must have the shape of batch_means, "
                             f"{batch_means.shape}, got {population.shape}")
    running = ema(batch_means, decay, bias_correction=bias_correction)
    half = len(batch_means) // 2
    rms = None if population is None else \
        float(np.sqrt(np.mean((running[half:] - population[half:]) ** 2)))
    return {"steps": np.arange(1, len(batch_means) + 1), "batch_means": batch_means,
            "population": population, "running": running, "decay": decay,
            "bias_correction": bool(bias_correction), "lag": decay / (1 - decay),
            "noise": float(np.sqrt((1 - decay) / (1 + decay))), "rms_error": rms}


def plot_running_mean(trace: dict, ax=None):
    """The per-batch means, the population mean and the running mean of
    ``follow_batch_means`` against the training step. Returns the Axes."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    steps = trace["steps"]
    ax.plot(steps, trace["batch_means"], ".", ms=3, color="tab:gray", alpha=0.6,
            label="mean of each mini-batch")
    if trace["population"] is not None:
        ax.plot(steps, trace["population"], "-", color="k", lw=1.2,
                label="mean over the training set")
    label = "running mean" + (" (bias-corrected)" if trace["bias_correction"] else "")
    ax.plot(steps, trace["running"], "-", color="tab:blue", lw=2, label=label)
    title = (f"decay = {trace['decay']:.3f}: lag {trace['lag']:.1f} steps, noise "
             f"x{trace['noise']:.2f}")
    if trace["rms_error"] is not None:
        title += f", rms error {trace['rms_error']:.3f}"
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("training step")
    ax.set_ylabel("mean of the unit's z")
    ax.legend(loc="best", fontsize=8)
    return ax


def decay_widget(batch_means, population=None, *, decay: float = 0.9):
    """A ``decay`` slider (and a bias-correction box) redrawing ``plot_running_mean``."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    batch_means = as_float_array("batch_means", batch_means, ndim=1)
    follow_batch_means(batch_means, decay, population=population)     # validate once
    slider = widgets.FloatSlider(value=decay, min=0.0, max=0.995, step=0.005,
                                 readout_format=".3f", description="decay",
                                 continuous_update=False)
    box = widgets.Checkbox(value=False, description="bias correction")
    out = widgets.Output()
    ylim = (float(min(batch_means.min(), 0.0)), float(batch_means.max()))
    pad = 0.05 * (ylim[1] - ylim[0])

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            trace = follow_batch_means(batch_means, slider.value, population=population,
                                       bias_correction=box.value)
            ax = plot_running_mean(trace)
            ax.set_ylim(ylim[0] - pad, ylim[1] + pad)
            plt.show()

    for w in (slider, box):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([slider, box]), out])


def _accuracy_with(net, stats, X, y) -> float:
    """``net``'s evaluation-mode accuracy with ``stats`` as its running statistics."""
    saved = net.running_statistics()
    net.set_running_statistics(stats)
    try:
        return net.accuracy(X, y, training=False)
    finally:
        net.set_running_statistics(saved)


def statistics_gap(running: dict, population: dict, eps: float = 1e-5) -> tuple[float, float]:
    """How far running statistics are from population ones, averaged over all units.

    ``running`` and ``population`` map layers to ``(mean, var)`` (as
    ``Network.running_statistics`` and ``nn.population_statistics`` return them). Returns
    ``(mean_gap, var_gap)``: the average of ``|running_mean - mean| / sqrt(var + eps)``
    (the error of the mean in the unit's standard deviations) and of
    ``|running_var - var| / (var + eps)`` (the relative error of the variance).
    """
    if not isinstance(running, dict) or not isinstance(population, dict) or \
            set(running) != set(population) or not running:
        raise ValueError("running and population must map the same batch-norm layers to "
                         "(mean, var)")
    eps = as_real("eps", eps, low=0)
    dm, dv = [], []
    for layer in population:
        pairs = []
        for name, stats in (("running", running), ("population", population)):
            pair = stats[layer]
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"{name}[{layer}] must be a pair (mean, var), got "
                                f"{type(pair).__name__}")
            n = pairs[0][0].shape[0] if pairs else None
            pairs.append((_check_column(f"{name}[{layer}] mean", pair[0], n),
                          _check_variance(f"{name}[{layer}] var", pair[1], n)))
        (r_mean, r_var), (mean, var) = pairs
        if eps == 0 and np.any(var == 0):
            raise ValueError(f"eps must be > 0 when a population variance is 0 (layer {layer}): "
                             "the gaps divide by var + eps")
        dm.append(np.abs(r_mean - mean).ravel() / np.sqrt(var.ravel() + eps))
        dv.append(np.abs(r_var - var).ravel() / (var.ravel() + eps))
    return float(np.mean(np.concatenate(dm))), float(np.mean(np.concatenate(dv)))


def track_statistics(*, hidden=(100, 100), activation: str = "relu",
                     optimizer: str = "adam", learning_rate: float = 0.01,
                     epochs: int = 20, batch_size: int = 32, decay: float = 0.9,
                     record_every: int = 10, unit: int | None = None,
                     rng: np.random.Generator) -> dict:
    """Train a batch-normalized network on the digits and watch its running statistics.

    The network ``[64, *hidden, 10]`` (``activation`` units, batch norm with weight
    ``decay``) is trained with ``optimizer`` at ``learning_rate`` for ``epochs`` epochs of
    mini-batches of ``batch_size``. Every ``record_every`` steps (and at step 0) it computes
    the population statistics (``nn.population_statistics`` over the training set, batches
    of ``batch_size``) and records their gap to the running averages
    (``statistics_gap``) and the test accuracy with each. At every step it records, for
    ``unit`` of the first hidden layer, the mini-batch mean of its ``z``, its running mean
    and its mean over the whole training set (``W[1][unit] @ mean(X)``); ``unit=None``
    watches the unit whose mean over the training set is largest in size at the start.

    Returns ``{"net", "steps": (k,), "mean_gap": (k,), "var_gap": (k,),
    "acc_running": (k,), "acc_population": (k,), "batch_mean": (T,), "running_mean": (T,),
    "population_mean": (T,), "decay", "batch_size", "unit"}``; ``net`` is the trained
    network.
    """
    from .nn import Network, Optimizer, population_statistics, train_epochs

    epochs = as_int("epochs", epochs, low=1)
    batch_size = as_int("batch_size", batch_size, low=2)
    record_every = as_int("record_every", record_every, low=1)
    hidden = _check_hidden(hidden)
    decay = _check_decay(decay)
    rng = as_rng(rng)
    d = _digits()
    net = Network([d.train.X.shape[0], *hidden, d.n_classes], activation=activation,
                  batch_norm=True, bn_decay=decay, rng=rng)
    x_mean = d.train.X.mean(axis=1)
    unit = int(np.argmax(np.abs(net.params["W1"] @ x_mean))) if unit is None else \
        as_int("unit", unit, low=0, high=net.layer_dims[1] - 1)
    opt = Optimizer(optimizer, learning_rate)
    rec = {k: [] for k in ("steps", "mean_gap", "var_gap", "acc_running", "acc_population",
                           "batch_mean", "running_mean", "population_mean")}

    def record(step):
        pop = population_statistics(net, d.train.X, batch_size=batch_size)
        gaps = statistics_gap(net.running_statistics(), pop, net.eps)
        rec["steps"].append(step)
        rec["mean_gap"].append(gaps[0])
        rec["var_gap"].append(gaps[1])
        rec["acc_running"].append(net.accuracy(d.test.X, d.test.y, training=False))
        rec["acc_population"].append(_accuracy_with(net, pop, d.test.X, d.test.y))

    def on_step(step, _net, _cost):
        first = net.bn_layers[1]
        rec["batch_mean"].append(float(first.batch_mean[unit, 0]))
        rec["running_mean"].append(float(first.running_mean[unit, 0]))
        rec["population_mean"].append(float(net.params["W1"][unit] @ x_mean))
        if step % record_every == 0:
            record(step)

    with one_blas_thread():
        record(0)
        train_epochs(net, opt, d.train.X, d.train.y, epochs=epochs, batch_size=batch_size,
                     rng=rng, on_step=on_step)
    out = {k: np.array(v) for k, v in rec.items()}
    out.update(net=net, decay=decay, batch_size=batch_size, unit=unit)
    return out


def plot_statistics_gap(track: dict, ax=None):
    """The gap between running and population statistics (log scale) against the training
    step, from ``track_statistics``. Returns the Axes."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(track["steps"], track["mean_gap"], "-", color="tab:blue",
                label="mean: |running - population| / std")
    ax.semilogy(track["steps"], track["var_gap"], "-", color="tab:orange",
                label="variance: |running - population| / population")
    ax.set_xlabel("training step")
    ax.set_ylabel("gap, averaged over all units")
    ax.set_title(f"running averages (decay {track['decay']:g}) vs population statistics",
                 fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return ax


def accuracy_by_statistics(net, X_train, X_test, y_test, *, batch_size: int,
                           test_batch_sizes=(2, 8, 32), rng: np.random.Generator) -> dict:
    """Test accuracy of a trained batch-normalized ``net`` with each choice of statistics.

    ``"running averages"`` (evaluation mode), ``"population statistics"``
    (``nn.population_statistics`` of ``X_train`` in batches of ``batch_size``), and, for
    each ``k`` in ``test_batch_sizes``, ``"test batches of k"``: the test set split at
    random into batches of ``k`` or more examples, each normalized with its own statistics
    (training mode). Returns ``{label: accuracy}`` in that order; ``net`` is not changed.
    """
    from .nn import Network, population_statistics

    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.nn.Network, got {type(net).__name__}")
    rng = as_rng(rng)
    X_test = as_float_array("X_test", X_test, ndim=2)
    y_test = as_labels("y_test", y_test, net.layer_dims[-1])
    m = y_test.size
    if X_test.shape[1] != m:
        raise ValueError(f"y_test must have shape ({X_test.shape[1]},) to match X_test, got "
                         f"{y_test.shape}")
    sizes = [as_int(f"test_batch_sizes[{i}]", k, low=2, high=m)
             for i, k in enumerate(test_batch_sizes)]
    with one_blas_thread():
        pop = population_statistics(net, X_train, batch_size=batch_size)
        out = {"running averages": net.accuracy(X_test, y_test, training=False),
               "population statistics": _accuracy_with(net, pop, X_test, y_test)}
        for k in sizes:
            parts = np.array_split(rng.permutation(m), m // k)
            hits = sum(int(np.sum(net.predict(X_test[:, p], training=True) == y_test[p]))
                       for p in parts)
            out[f"test batches of {k}"] = hits / m
    return out


def predictions_in_batches(net, x, companions, *, training: bool) -> np.ndarray:
    """The class probabilities of one example ``x`` (``(n_x, 1)``) when it shares a batch
    with each of ``companions`` (a list of ``(n_x, k_i)`` arrays): ``(len(companions), C)``.

    With ``training=True`` batch norm uses each batch's statistics, so the answer depends on
    the companions; with ``training=False`` (running statistics) it does not.
    """
    from .nn import Network

    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.nn.Network, got {type(net).__name__}")
    x = as_float_array("x", x, ndim=2)
    if x.shape[1] != 1:
        raise ValueError(f"x must be one example of shape (n_x, 1), got {x.shape}")
    if not isinstance(companions, (list, tuple)) or not companions:
        raise TypeError("companions must be a non-empty list of (n_x, k) arrays")
    rows = []
    for i, c in enumerate(companions):
        c = as_float_array(f"companions[{i}]", c, ndim=2)
        if c.shape[0] != x.shape[0]:
            raise ValueError(f"companions[{i}] must have shape ({x.shape[0]}, k) like x, got "
                             f"{c.shape}")
        rows.append(net.predict_proba(np.hstack([x, c]), training=training)[:, 0])
    return np.array(rows)
