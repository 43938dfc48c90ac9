"""Notebook 03, the lecture's claims measured: normalized inputs train faster, where the
plateau of a deep sigmoid network comes from, covariate shift, and batch norm's slight
regularization.

``input_scaling_curves`` trains softmax regression on raw and on standardized pixels;
``layer_spread`` measures how much each hidden layer's input still differs from example to
example; ``covariate_shift_model`` and ``shifted_accuracy`` evaluate a classifier on digits
whose distribution has changed; ``regularization_gap`` compares training and validation
accuracy with and without batch norm over several seeds. Kept apart from
``lessons.batch_norm`` (the exercises' experiments) so that each module stays short.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..core.data import shared_digits
from ..core.threads import one_blas_thread
from ..core.validate import as_float_array, as_int, as_real, as_rng, as_sizes
from ..network import Network, train_epochs
from ..optim import OPTIMIZERS, Optimizer

_EPS = 1e-5


def _statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's (row's) mean and biased variance over the examples, ``(n, 1)`` each."""
    return X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True)


def _standardize(X, mean, var) -> np.ndarray:
    """``(X - mean) / sqrt(var + eps)``: a feature that never varies becomes 0."""
    return (X - mean) / np.sqrt(var + _EPS)


def _positive_rates(learning_rates) -> np.ndarray:
    rates = as_float_array("learning_rates", learning_rates, ndim=1)
    if np.any(rates <= 0):
        raise ValueError(f"learning_rates must all be > 0, got {rates.tolist()}")
    return rates


# ------------------------------------------------------------------ normalizing the inputs

def input_scaling_curves(learning_rates, *, epochs: int = 10, batch_size: int = 64,
                         n_seeds: int = 3, rng: np.random.Generator) -> dict:
    """Softmax regression on the digits' raw pixels and on standardized pixels.

    Plain gradient descent on mini-batches of ``batch_size`` for ``epochs`` epochs, at each
    of ``learning_rates``, from ``n_seeds`` seeds drawn from ``rng``. For a seed, both inputs
    start from the same weights and see the same mini-batches. Standardized pixels use the
    training set's mean and variance (``(x - mu) / sqrt(var + 1e-5)``: a pixel that is 0 in
    every image stays 0). Returns ``{"learning_rates": (k,), "raw": (s, k, epochs),
    "standardized": (s, k, epochs)}``: the mean training cost of each epoch.
    """
    rates = _positive_rates(learning_rates)
    epochs = as_int("epochs", epochs, low=1)
    batch_size = as_int("batch_size", batch_size, low=1)
    n_seeds = as_int("n_seeds", n_seeds, low=1)
    rng = as_rng(rng)
    d = shared_digits()
    inputs = {"raw": d.train.X, "standardized": _standardize(d.train.X,
                                                             *_statistics(d.train.X))}
    seeds = rng.integers(2**63, size=n_seeds)
    out = {name: np.zeros((n_seeds, rates.size, epochs)) for name in inputs}
    with np.errstate(all="ignore"):
        for s, seed in enumerate(seeds):
            for k, lr in enumerate(rates):
                for name, X in inputs.items():
                    run_rng = np.random.default_rng(int(seed))
                    net = Network([X.shape[0], d.n_classes], rng=run_rng)
                    hist = train_epochs(net, Optimizer("gd", float(lr)), X, d.train.y,
                                        epochs=epochs, batch_size=batch_size, rng=run_rng)
                    cost = np.full(epochs, np.nan)
                    cost[:len(hist["cost"])] = hist["cost"]
                    out[name][s, k] = cost
    return {"learning_rates": rates, **out}


def best_rate(curves: np.ndarray) -> int:
    """The index of the learning rate whose final cost, averaged over the seeds, is lowest.

    ``curves`` is ``(s, k, epochs)`` as ``input_scaling_curves`` returns them; a rate with
    a NaN (a run that diverged) is never the best.
    """
    curves = as_float_array("curves", curves, ndim=3, finite=False)
    final = curves[:, :, -1].mean(axis=0)
    if np.all(np.isnan(final)):
        raise ValueError("curves must hold at least one learning rate whose runs all "
                         "finished (every one is NaN)")
    return int(np.nanargmin(final))


def plot_input_scaling(result: dict, ax=None):
    """Training cost per epoch, raw against standardized pixels, each at its best learning
    rate (the mean over seeds, with the range of the seeds shaded). Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for name, color in (("raw", "tab:gray"), ("standardized", "tab:blue")):
        k = best_rate(result[name])
        runs = result[name][:, k]
        epochs = np.arange(1, runs.shape[1] + 1)
        ax.plot(epochs, runs.mean(axis=0), "o-", color=color,
                label=f"{name} pixels, learning rate {result['learning_rates'][k]:g}")
        ax.fill_between(epochs, runs.min(axis=0), runs.max(axis=0), color=color, alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cost")
    ax.legend(loc="upper right", fontsize=8)
    return ax


# ------------------------------------------------------------------ the plateau

def layer_spread(net: Network, X, *, saturated: float = 4.0) -> dict:
    """How much each hidden layer's activation input differs from example to example.

    For each hidden layer ``l`` of ``net`` (in its current mode), the input of the
    activation over the examples of ``X`` (``(n_x, m)``): ``"spread"`` is the median over
    the layer's units of its standard deviation over the examples, ``"saturated"`` the
    fraction of values with ``|z| > saturated`` (for a sigmoid, where its slope is below
    ``sigmoid'(4) = 0.018``, against 0.25 at 0). Returns ``{"spread": (L-1,),
    "saturated": (L-1,)}``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
    saturated = as_real("saturated", saturated, low=0, low_inclusive=False)
    spread, sat = [], []
    with one_blas_thread():
        for layer in range(1, net.n_layers):
            Z = net.hidden_input(X, layer)
            spread.append(float(np.median(Z.std(axis=1))))
            sat.append(float(np.mean(np.abs(Z) > saturated)))
    return {"spread": np.array(spread), "saturated": np.array(sat)}


# ------------------------------------------------------------------ covariate shift

SHIFTS = ("none", "contrast", "one pixel right", "inverted")


def shift_images(X, kind: str) -> np.ndarray:
    """The digits ``X`` (``(64, m)``, 8x8 images in [0, 1]) after a change of distribution.

    ``kind``: ``"none"``; ``"contrast"``, every pixel ``0.5 x + 0.3`` (less contrast, a grey
    background); ``"one pixel right"``, each image moved one column to the right (a blank
    column enters on the left); ``"inverted"``, ``1 - x`` (light digits on a dark ground).
    """
    X = as_float_array("X", X, ndim=2)
    if X.shape[0] != 64:
        raise ValueError(f"X must have shape (64, m), one 8x8 image per column, got "
                         f"{X.shape}")
    if kind not in SHIFTS:
        raise ValueError(f"kind must be one of {SHIFTS}, got {kind!r}")
    if kind == "contrast":
        return 0.5 * X + 0.3
    if kind == "inverted":
        return 1.0 - X
    if kind == "one pixel right":
        images = X.reshape(8, 8, -1)
        moved = np.zeros_like(images)
        moved[:, 1:] = images[:, :-1]
        return moved.reshape(64, -1)
    return X.copy()


def plot_shifted_digit(x, ax=None):
    """One digit ``x`` (``(64,)``) under each change of ``SHIFTS``, side by side."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2))
    x = as_float_array("x", x, ndim=1)[:, None]
    row = np.hstack([np.pad(shift_images(x, k)[:, 0].reshape(8, 8), ((0, 0), (0, 1)),
                            constant_values=np.nan) for k in SHIFTS])
    ax.imshow(row, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([4 + 9 * i for i in range(len(SHIFTS))], SHIFTS)
    ax.set_yticks([])
    return ax


def covariate_shift_model(*, hidden: int = 32, epochs: int = 10,
                          learning_rate: float = 0.01, rng: np.random.Generator) -> dict:
    """A classifier trained on the standardized training digits, for ``shifted_accuracy``.

    Its inputs are the pixels that vary over the training set (a few border pixels are 0 in
    every image), standardized with the training set's mean and variance; one hidden
    layer of ``hidden`` ReLU units, Adam at ``learning_rate`` on mini-batches of 64 for
    ``epochs`` epochs. Returns ``{"net": Network, "pixels": (64,) bool, "mean": (p, 1),
    "var": (p, 1)}``.
    """
    hidden = as_int("hidden", hidden, low=1)
    epochs = as_int("epochs", epochs, low=1)
    learning_rate = as_real("learning_rate", learning_rate, low=0, low_inclusive=False)
    rng = as_rng(rng)
    d = shared_digits()
    pixels = d.train.X.std(axis=1) > 0
    X = d.train.X[pixels]
    mean, var = _statistics(X)
    net = Network([X.shape[0], hidden, d.n_classes], rng=rng)
    train_epochs(net, Optimizer("adam", learning_rate), _standardize(X, mean, var),
                 d.train.y, epochs=epochs, batch_size=64, rng=rng)
    return {"net": net, "pixels": pixels, "mean": mean, "var": var}


def shifted_accuracy(model: dict, kind: str) -> dict:
    """Validation accuracy of ``model`` (``covariate_shift_model``) on shifted digits.

    The validation images go through ``shift_images(X, kind)``, then their pixels are
    standardized two ways: with the training set's statistics, as the model was trained
    (``"training_stats"``), and with the shifted images' own mean and variance per pixel,
    as batch norm would treat a unit (``"own_stats"``). Returns both accuracies.
    """
    if not isinstance(model, dict) or not {"net", "pixels", "mean", "var"} <= set(model):
        raise TypeError(f"model must be the dict covariate_shift_model returns, got "
                        f"{type(model).__name__}")
    d = shared_digits()
    X = shift_images(d.val.X, kind)[model["pixels"]]
    net = model["net"]
    with one_blas_thread():
        return {"training_stats": net.accuracy(_standardize(X, model["mean"], model["var"]),
                                               d.val.y),
                "own_stats": net.accuracy(_standardize(X, *_statistics(X)), d.val.y)}


# ------------------------------------------------------------------ regularization

def regularization_gap(*, n_seeds: int = 5, epochs: int = 20, hidden=(64, 64),
                       batch_size: int = 32, learning_rate: float = 0.1,
                       optimizer: str = "momentum", bn_functions=None,
                       rng: np.random.Generator) -> dict:
    """Training and validation accuracy on the digits without and with batch norm.

    ReLU hidden layers of sizes ``hidden``, ``optimizer`` at ``learning_rate``, ``epochs``
    epochs on mini-batches of ``batch_size``; for each of ``n_seeds`` seeds drawn from
    ``rng`` both networks start from the same weights and see the same mini-batches. With
    batch norm (``bn_functions``: the functions it runs) each set is normalized as one
    batch with its own statistics, as notebook 03 does. Returns ``{"without": {"train":
    (s,), "val": (s,)}, "with": {...}}``.
    """
    n_seeds = as_int("n_seeds", n_seeds, low=2)
    epochs = as_int("epochs", epochs, low=1)
    hidden = as_sizes("hidden", hidden)
    batch_size = as_int("batch_size", batch_size, low=2)
    learning_rate = as_real("learning_rate", learning_rate, low=0, low_inclusive=False)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    rng = as_rng(rng)
    d = shared_digits()
    dims = [d.train.X.shape[0], *hidden, d.n_classes]
    out = {name: {"train": [], "val": []} for name in ("without", "with")}
    for seed in rng.integers(2**63, size=n_seeds):
        for name, flag in (("without", False), ("with", True)):
            run_rng = np.random.default_rng(int(seed))
            net = Network(dims, batch_norm=flag, bn_functions=bn_functions if flag else None,
                          rng=run_rng)
            train_epochs(net, Optimizer(optimizer, learning_rate), d.train.X, d.train.y,
                         epochs=epochs, batch_size=batch_size, rng=run_rng)
            for part, split in (("train", d.train), ("val", d.val)):
                out[name][part].append(net.accuracy(split.X, split.y, training=True))
    return {name: {part: np.array(v) for part, v in parts.items()}
            for name, parts in out.items()}


def mean_and_error(values) -> tuple[float, float]:
    """The mean of ``values`` (``(s,)``, one per seed) and its standard error
    ``std(ddof=1) / sqrt(s)``."""
    values = as_float_array("values", values, ndim=1)
    if values.size < 2:
        raise ValueError(f"values must hold at least 2 numbers for a standard error, got "
                         f"{values.size}")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))
