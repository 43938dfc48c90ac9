"""Notebook 04, batch norm at test time: exponentially weighted running statistics.

The weight a running average gives to each past batch (``running_average_weights``), the
exponentially weighted average of a sequence and how a running mean follows a unit's
batch means (``ema``, ``follow_batch_means`` and the ``decay`` widget), the gap between
running and population statistics during training (``track_statistics``), and the test
accuracy with each choice of statistics. The ``BatchNorm`` layer, its evaluation mode and
folding are in ``lessonlib.layers.batchnorm``; population statistics and ``fold_network``
in ``lessonlib.network``.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..core.data import shared_digits
from ..core.threads import one_blas_thread
from ..core.validate import (
    as_callable,
    as_column,
    as_decay,
    as_float_array,
    as_int,
    as_labels,
    as_real,
    as_rng,
    as_sizes,
    as_variance,
)
from ..network import Network, population_statistics, train_epochs
from ..optim import Optimizer


def running_average_weights(update, decay: float, *, n_back: int = 12,
                            n_updates: int = 40) -> np.ndarray:
    """The weight a running mean gives to each of the last ``n_back`` batches, measured.

    ``update`` is a function with the signature of ``update_running_stats``
    (``(running_mean, running_var, mu, var, decay) -> (running_mean, running_var)``, each
    ``(n, 1)``). It is run ``n_updates`` times from ``running_mean = 0`` on ``n = n_back``
    units at once: unit ``k`` sees a batch mean of 1 at the update ``k`` updates before the
    last one and 0 at every other, so, the average being linear, its final running mean is
    the weight of that batch. Returns ``(n_back,)``: element ``k`` is the weight of the
    batch ``k`` updates before the latest (``k = 0``: the latest), ``(1 - decay) *
    decay**k`` for a correct ``update``. Notebook 04 measures question 4.2 with it.
    """
    update = as_callable("update", update, "a function like update_running_stats")
    decay = as_decay(decay)
    n_back = as_int("n_back", n_back, low=1)
    n_updates = as_int("n_updates", n_updates, low=n_back)
    running_mean, running_var = np.zeros((n_back, 1)), np.ones((n_back, 1))
    var = np.ones((n_back, 1))
    ages = np.arange(n_back)[:, None]
    for t in range(n_updates):
        mu = (ages == n_updates - 1 - t).astype(float)
        out = update(running_mean, running_var, mu, var, decay)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise ValueError(f"update must return a pair (running_mean, running_var), got "
                             f"{type(out).__name__}")
        running_mean = as_float_array("update's running_mean", out[0])
        running_var = as_float_array("update's running_var", out[1])
        if running_mean.shape != (n_back, 1) or running_var.shape != (n_back, 1):
            raise ValueError(f"update must return two arrays of shape ({n_back}, 1), got "
                             f"{running_mean.shape} and {running_var.shape}")
    return running_mean[:, 0].copy()


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
    decay = as_decay(decay)
    initial = as_float_array("initial", initial)
    try:
        v = np.broadcast_to(initial, values.shape[1:]).astype(float)
    except ValueError:
        raise ValueError(f"initial must be a number or match one step of values, "
                         f"{values.shape[1:]}, got shape {initial.shape}") from None
    initial = v.copy()
    out = np.empty(values.shape)
    for t, x in enumerate(values):
        v = decay * v + (1 - decay) * x
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
    decay = as_decay(decay)
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


def _accuracy_in_batches(net, X, y, k: int, rng) -> float:
    """``net``'s accuracy when ``X`` is split at random into batches of ``k`` or more
    examples, each normalized with its own statistics (training mode)."""
    m = y.size
    parts = np.array_split(rng.permutation(m), m // k)
    return sum(int(np.sum(net.predict(X[:, p], training=True) == y[p])) for p in parts) / m


def statistics_gap(running: dict, population: dict, eps: float = 1e-5) -> tuple[float, float]:
    """How far running statistics are from population ones, averaged over all units.

    ``running`` and ``population`` map layers to ``(mean, var)`` (as
    ``Network.running_statistics`` and ``network.population_statistics`` return them). Returns
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
            pairs.append((as_column(f"{name}[{layer}] mean", pair[0], n),
                          as_variance(f"{name}[{layer}] var", pair[1], n)))
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
    the population statistics (``network.population_statistics`` over the training set, batches
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
    epochs = as_int("epochs", epochs, low=1)
    batch_size = as_int("batch_size", batch_size, low=2)
    record_every = as_int("record_every", record_every, low=1)
    hidden = as_sizes("hidden", hidden)
    decay = as_decay(decay)
    rng = as_rng(rng)
    d = shared_digits()
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
    (``network.population_statistics`` of ``X_train`` in batches of ``batch_size``), and, for
    each ``k`` in ``test_batch_sizes``, ``"test batches of k"``: the test set split at
    random into batches of ``k`` or more examples, each normalized with its own statistics
    (training mode). Returns ``{label: accuracy}`` in that order; ``net`` is not changed.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
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
            out[f"test batches of {k}"] = _accuracy_in_batches(net, X_test, y_test, k, rng)
    return out


def predictions_in_batches(net, x, companions, *, training: bool) -> np.ndarray:
    """The class probabilities of one example ``x`` (``(n_x, 1)``) when it shares a batch
    with each of ``companions`` (a list of ``(n_x, k_i)`` arrays): ``(len(companions), C)``.

    With ``training=True`` batch norm uses each batch's statistics, so the answer depends on
    the companions; with ``training=False`` (running statistics) it does not.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
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


# ------------------------------------------------------------------ beyond the lecture

def compare_norms(batch_sizes=(64, 8, 2, 1), *, hidden=(64, 64), epochs: int = 3,
                  learning_rate: float = 0.01, n_repeats: int = 3, ln_forward=None,
                  ln_backward=None, rng: np.random.Generator) -> dict:
    """Batch norm against layer norm as the training mini-batches shrink.

    For each ``k`` in ``batch_sizes`` and each of ``n_repeats`` seeds, a ReLU network
    ``[64, *hidden, 10]`` with batch norm and one with layer norm (the same initial weights,
    the same mini-batches) are trained on the digits with Adam for ``epochs`` epochs of
    mini-batches of ``k``, then scored on the validation set: batch norm in evaluation mode
    (``"batch norm, running statistics"``), batch norm in training mode on random validation
    batches of 2, each normalized with its own statistics (``"batch norm, batches of 2"``),
    and layer norm, which computes the same in either mode (``"layer norm"``). Returns
    ``{k: {label: (mean, standard deviation) over the repeats}}``. Batch norm cannot train
    on batches of 1 (the variance of one example is 0): its entries are then ``None``.
    ``ln_forward`` is the layer norm's forward pass (``network.Network``'s ``ln_forward``)
    and ``ln_backward`` its backward pass (the signature of exercise 4.4, reading the cache
    of ``ln_forward``), through which the layer-norm networks take their gradients; by
    default, lessonlib's forward and automatic differentiation of it.
    """
    if isinstance(batch_sizes, (str, bytes)) or not hasattr(batch_sizes, "__iter__"):
        raise TypeError(f"batch_sizes must be a sequence of batch sizes, got {batch_sizes!r}")
    sizes = [as_int(f"batch_sizes[{i}]", k, low=1) for i, k in enumerate(batch_sizes)]
    hidden = as_sizes("hidden", hidden)
    epochs = as_int("epochs", epochs, low=1)
    n_repeats = as_int("n_repeats", n_repeats, low=1)
    rng = as_rng(rng)
    if ln_backward is not None:
        ln_backward = as_callable("ln_backward", ln_backward, "a function like "
                                  "layernorm_backward")
    d = shared_digits()
    dims = [d.train.X.shape[0], *hidden, d.n_classes]
    labels = ("batch norm, running statistics", "batch norm, batches of 2", "layer norm")
    out = {}
    with one_blas_thread():
        for k in sizes:
            scores = {label: [] for label in labels}
            for seed in rng.integers(2**63, size=n_repeats):
                for kind in ("batch", "layer") if k >= 2 else ("layer",):
                    run_rng = np.random.default_rng(seed)
                    layer = kind == "layer"
                    net = Network(dims, batch_norm=not layer, layer_norm=layer,
                                  ln_forward=ln_forward if layer else None, rng=run_rng)
                    for norm in net.ln_layers.values():
                        norm.backward_fn = ln_backward
                    train_epochs(net, Optimizer("adam", learning_rate), d.train.X,
                                 d.train.y, epochs=epochs, batch_size=k, rng=run_rng)
                    scores[labels[2] if kind == "layer" else labels[0]].append(
                        net.accuracy(d.val.X, d.val.y, training=False))
                    if kind == "batch":
                        scores[labels[1]].append(
                            _accuracy_in_batches(net, d.val.X, d.val.y, 2, run_rng))
            out[k] = {label: (float(np.mean(v)), float(np.std(v))) if v else None
                      for label, v in scores.items()}
    return out
