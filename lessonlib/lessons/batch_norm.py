"""Notebook 03, batch normalization: normalizing activations, fitting it into a network,
why it works.

The gradient check of a learner's forward/backward pair (``gradcheck_report``), one unit
before and after batch norm (``unit_batch`` and its widget), a network of the learner's
layers (``train_with_layers``), a small version of Ioffe & Szegedy's (2015) Figure 1
(``figure1_run``, ``compare_batch_norm``), a learning-rate sweep, and the noise of batch
statistics against the batch size. Then the lecture's claims, measured: normalized inputs
train faster (``input_scaling_curves``), where the plateau of a deep sigmoid network comes
from (``layer_spread``), covariate shift (``covariate_shift_model``, ``shifted_accuracy``)
and batch norm's slight regularization (``regularization_gap``). Batch norm itself is in
``lessonlib.layers.batchnorm``.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..core.bars import progress_bar
from ..core.data import shared_digits
from ..core.gradcheck import batchnorm_gradcheck
from ..core.stand_ins import stand_in
from ..core.threads import one_blas_thread
from ..core.validate import as_callable, as_float_array, as_int, as_real, as_rng, as_sizes
from ..layers.autodiff import vjp
from ..layers.batchnorm import batchnorm_backward_by_autodiff, batchnorm_forward
from ..layers.softmax import one_hot, softmax_cross_entropy_by_autodiff
from ..network import Network, train_epochs
from ..optim import OPTIMIZERS, Optimizer
from .widgets import FixedWidgets

# ------------------------------------------------------------------ the questions

# ------------------------------------------------------------------ the gradient check

@stand_in("3.2", whose="gamma = 1 and beta = 0, which recover nothing")
def no_recovery(Z, eps: float = 1e-5):
    """Stand-in for exercise 3.2 until the learner's ``recover_gamma_beta`` passes:
    ``(gamma, beta) = (ones, zeros)``, each ``(n, 1)`` for ``Z`` ``(n, m)``, with which
    batch norm only normalizes (the exercise's answer is not in lessonlib)."""
    Z = as_float_array("Z", Z, ndim=2)
    as_real("eps", eps, low=0, low_inclusive=False)
    return np.ones((Z.shape[0], 1)), np.zeros((Z.shape[0], 1))


def _whose(fn) -> str:
    """What the line calls ``fn``: a ``Choice`` (``session.choose``) says whose it is, a
    plain function goes by its name."""
    return getattr(fn, "whose", None) if hasattr(fn, "fn") else getattr(fn, "__name__",
                                                                         repr(fn))


def gradcheck_report(forward, backward, *, rng: np.random.Generator) -> str:
    """One line for the notebook: the relative errors of a forward/backward pair.

    ``forward`` and ``backward`` are functions, or the ``Choice`` s ``session.choose``
    returns (as ``gradcheck_choices`` does), whose ``whose`` the line repeats. Any error,
    ``NotImplementedError`` included, is reported in the line, never raised; nothing falls
    back to another function here (``session.choose`` does that, and says so).
    """
    rng = as_rng(rng)
    label = f"batch norm by {_whose(forward)} and {_whose(backward)}"
    fns = [f.fn if hasattr(f, "fn") else f for f in (forward, backward)]
    try:
        err = batchnorm_gradcheck(*fns, rng=rng)
    except NotImplementedError:
        return f"the gradient check could not run: {label}: one is not written yet"
    except Exception as e:  # noqa: BLE001 - a learner's bug is reported, not raised
        return f"the gradient check could not run: {label}: {type(e).__name__}: {e}"
    verdict = "below 1e-7: correct" if err["max"] < 1e-7 else "above 1e-7: check your formula"
    return (f"{label}: relative error dZ {err['dZ']:.1e}, dgamma {err['dgamma']:.1e}, "
            f"dbeta {err['dbeta']:.1e} ({verdict})")


def gradcheck_choices(session) -> tuple:
    """The forward and backward pass notebook 03's gradient check runs, by the checks that
    pass in the learner's ``session`` (``grader.session.Session``): your
    ``batchnorm_forward`` once exercise 3.1 passes, else lessonlib's; your
    ``batchnorm_backward`` once 3.4 passes, else your ``batchnorm_backward_graph`` once 3.3
    passes, else automatic differentiation of lessonlib's forward pass. Returns two
    ``Choice`` s, whose ``whose`` says which."""
    if not callable(getattr(session, "choose", None)):
        raise TypeError(f"session must be the notebook's Session, got {type(session).__name__}")
    forward = session.choose("3.1", batchnorm_forward)
    backward = session.choose("3.4", batchnorm_backward_by_autodiff)
    if not backward.yours:
        graph = session.choose("3.3", batchnorm_backward_by_autodiff)
        backward = graph if graph.yours else backward._replace(
            whose=f"{batchnorm_backward_by_autodiff.whose} (exercises 3.3 and 3.4 do not "
                  "pass yet)")
    return forward, backward


# ------------------------------------------------------------------ one unit, the widget

def unit_batch(gamma: float, beta: float, batch_size: int, *, eps: float = 1e-5,
               forward=batchnorm_forward, rng: np.random.Generator) -> dict:
    """One unit's values ``z`` over a batch of ``batch_size`` examples, before and after
    batch norm with scalar ``gamma`` and ``beta``: the logic of notebook 03's widget.

    ``z`` comes from a skewed distribution with mean 3 and standard deviation 2 (a shifted
    gamma distribution), as a hidden unit's input often is. ``forward`` is the batch norm
    that transforms it (the learner's, once it passes). Returns ``{"z": (m,),
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
    z_tilde, _ = forward(z[None, :], np.array([[gamma]]), np.array([[beta]]), eps)
    z_tilde = z_tilde[0]
    return {"z": z, "z_tilde": z_tilde, "batch_mean": float(z.mean()),
            "batch_std": float(z.std()), "mean": float(z_tilde.mean()),
            "std": float(z_tilde.std()), "gamma": gamma, "beta": beta}


def plot_unit_batch(batch: dict, ax=None):
    """Histograms of one unit's ``z`` and ``z_tilde`` from ``unit_batch``. Returns the Axes.

    The legend sits outside the axes, to their right, so that it covers no bar whatever
    the batch size.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    z, zt = batch["z"], batch["z_tilde"]
    lo = min(z.min(), zt.min(), -4.0)
    hi = max(z.max(), zt.max(), 10.0)
    bins = np.linspace(lo, hi, 50)
    def two(x):                     # 2 decimals, and never "-0.00"
        return f"{np.round(x, 2) + 0.0:.2f}"

    ax.hist(z, bins=bins, alpha=0.5, color="tab:gray",
            label=f"z: mean {two(batch['batch_mean'])}, std {two(batch['batch_std'])}")
    ax.hist(zt, bins=bins, alpha=0.6, color="tab:blue",
            label=f"z_tilde: mean {two(batch['mean'])}, std {two(batch['std'])}")
    ax.axvline(batch["beta"], color="tab:blue", ls="--", lw=1, label="beta")
    ax.set_xlabel("value of the unit")
    ax.set_ylabel("examples in the batch")
    ax.set_title(f"batch of {z.size}: gamma = {batch['gamma']:.2f}, "
                 f"beta = {batch['beta']:.2f}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, fontsize=8)
    return ax


BATCH_SIZES = tuple(2 ** k for k in range(1, 11))    # the widget's batch sizes, 2 to 1024

# Each widget opens under a fixed model id, with a placeholder in the notebook's metadata
# (``lessons.widgets``): a saved notebook reopened with a new kernel logs no missing model.
_WIDGETS = FixedWidgets("03_batch_norm", {
    "normalization_widget": "Run this cell to get the gamma, beta and batch size sliders back "
                            "(a widget needs a running kernel)."})
WIDGET_IDS = _WIDGETS.ids


def saved_widget_state() -> dict:
    """The ``metadata.widgets`` of notebook 03: a placeholder per widget's fixed id."""
    return _WIDGETS.saved_state()


def normalization_widget(*, seed: int = 0, forward=batchnorm_forward, gamma: float = 1.0,
                         beta: float = 0.0, batch_size: int = 64):
    """Sliders for ``gamma``, ``beta`` and the batch size redrawing ``plot_unit_batch``
    (batch norm by ``forward``; the batch of ``unit_batch`` drawn from ``seed``).

    ``gamma`` and ``beta`` move in steps of 0.1 (from -3 to 3, and from -3 to 6), the batch
    size through the powers of two of ``BATCH_SIZES``; each slider opens on exactly the
    value given. Returns an ipywidgets ``VBox`` under the fixed model id
    ``WIDGET_IDS["normalization_widget"]``; making it again closes the one made before.
    """

    seed = as_int("seed", seed, low=0)
    g = widgets.FloatSlider(value=_on_grid("gamma", gamma, -3.0, 3.0), min=-3.0, max=3.0,
                            step=0.1, description="gamma")
    b = widgets.FloatSlider(value=_on_grid("beta", beta, -3.0, 6.0), min=-3.0, max=6.0,
                            step=0.1, description="beta")
    batch_size = as_int("batch_size", batch_size)
    if batch_size not in BATCH_SIZES:
        raise ValueError(f"batch_size must be one of the slider's sizes {list(BATCH_SIZES)}, "
                         f"got {batch_size}")
    m = widgets.SelectionSlider(options=[(str(k), k) for k in BATCH_SIZES], value=batch_size,
                                description="batch size")
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            batch = unit_batch(g.value, b.value, m.value, forward=forward,
                               rng=np.random.default_rng(seed))
            plot_unit_batch(batch)
            plt.show()

    for w in (g, b, m):
        w.observe(redraw, names="value")
    redraw()
    return _WIDGETS.box("normalization_widget", [widgets.HBox([g, b, m]), out])


def _on_grid(name: str, value, low: float, high: float, step: float = 0.1) -> float:
    """``value`` if a slider from ``low`` to ``high`` in steps of ``step`` has it (the
    browser snaps a slider's value to ``low + k * step``), else a clear error."""
    value = as_real(name, value, low=low, high=high)
    k = (value - low) / step
    if abs(k - round(k)) > 1e-9:
        raise ValueError(f"{name} must be a multiple of {step:g} (a step of its slider), got "
                         f"{value:g}")
    return value


# ------------------------------------------------------------------ a network of your layers

def train_with_layers(layer_forward, layer_backward, *, hidden=(64, 64),
                      activation: str = "relu", epochs: int = 10, batch_size: int = 64,
                      learning_rate: float = 0.1, rng: np.random.Generator) -> dict:
    """Train a network on the digits whose hidden layers are ``layer_forward`` and
    ``layer_backward`` (the signatures of exercises 3.5 and 3.6).

    Hidden layers of sizes ``hidden`` (He-scaled ``W``, ``gamma`` ones, ``beta`` zeros, no
    ``b``), then a linear softmax output with lessonlib's cross-entropy, trained by plain
    gradient descent at ``learning_rate`` on shuffled mini-batches. The output layer's
    gradients come from automatic differentiation (``layers.autodiff``; needs autograd),
    the hidden layers' from ``layer_backward``. After each epoch it
    records the training and validation accuracy, each set normalized as one batch with
    its own statistics (notebook 03 has no running averages yet). Returns
    ``{"train_acc": [...], "val_acc": [...]}``, one entry per epoch.
    """
    as_callable("layer_forward", layer_forward, "a function like linear_bn_forward")
    as_callable("layer_backward", layer_backward, "a function like linear_bn_backward")
    epochs = as_int("epochs", epochs, low=1)
    learning_rate = as_real("learning_rate", learning_rate, low=0, low_inclusive=False)
    d, dims, batch_size, rng = _digits_network(hidden, batch_size, rng)
    hidden_params = [[np.sqrt(2.0 / n_in) * rng.standard_normal((n_out, n_in)),
                      np.ones((n_out, 1)), np.zeros((n_out, 1))]
                     for n_in, n_out in zip(dims[:-2], dims[1:-1])]
    W_out = np.sqrt(1.0 / dims[-2]) * rng.standard_normal((dims[-1], dims[-2]))
    b_out = np.zeros((dims[-1], 1))

    def forward(X):
        caches, A = [], X
        for W, gamma, beta in hidden_params:
            A, cache = layer_forward(A, W, gamma, beta, activation)
            caches.append(cache)
        return A, caches

    def accuracy(part) -> float:
        A, _ = forward(part.X)
        return float(np.mean((W_out @ A + b_out).argmax(axis=0) == part.y))

    Y = one_hot(d.train.y, d.n_classes)
    history = {"train_acc": [], "val_acc": []}
    with one_blas_thread():
        for _ in range(epochs):
            order = rng.permutation(d.train.m)
            for start in range(0, d.train.m - 1, batch_size):
                idx = order[start:start + batch_size]
                A, caches = forward(d.train.X[:, idx])
                ZL, output_backward = vjp(lambda A, W, b: W @ A + b, (A, W_out, b_out))
                _, dZL = softmax_cross_entropy_by_autodiff(ZL, Y[:, idx])
                dA, dW_out, db_out = output_backward(dZL)
                W_out -= learning_rate * dW_out
                b_out -= learning_rate * db_out
                for params, cache in zip(reversed(hidden_params), reversed(caches)):
                    dA, *grads = layer_backward(dA, cache)
                    for p, g in zip(params, grads):
                        p -= learning_rate * g
            history["train_acc"].append(accuracy(d.train))
            history["val_acc"].append(accuracy(d.val))
    return history


# ------------------------------------------------------------------ why it works

PERCENTILES = (15, 50, 85)


def _positive_rates(learning_rates) -> np.ndarray:
    """``learning_rates`` as a ``(k,)`` float array, each checked to be > 0."""
    rates = as_float_array("learning_rates", learning_rates, ndim=1)
    if np.any(rates <= 0):
        raise ValueError(f"learning_rates must all be > 0, got {rates.tolist()}")
    return rates


def _digits_network(hidden, batch_size, rng):
    """The digits, the layer sizes ``[64, *hidden, 10]`` of a network on them, and the
    checked ``batch_size`` and ``rng``."""
    batch_size = as_int("batch_size", batch_size, low=2)
    hidden = as_sizes("hidden", hidden)
    rng = as_rng(rng)
    d = shared_digits()
    return d, [d.train.X.shape[0], *hidden, d.n_classes], batch_size, rng


def figure1_run(*, batch_norm: bool, steps: int, learning_rate: float,
                hidden=(100, 100, 100), batch_size: int = 60, record_every: int = 20,
                unit: int = 0, optimizer: str = "gd", bn_functions=None,
                rng: np.random.Generator) -> dict:
    """Train the network of Ioffe & Szegedy's Figure 1 on the digits and watch it.

    Sigmoid hidden layers of sizes ``hidden``, a softmax output, mini-batches of
    ``batch_size``, ``steps`` updates of ``optimizer`` at ``learning_rate``. The weights
    are drawn from ``rng`` first, then the mini-batch order, so two runs from generators
    in the same state start from the same weights and see the same batches, with or
    without batch norm. Every ``record_every`` steps (and at step 0) it records the
    validation accuracy and the 15th, 50th and 85th percentiles over the validation set of
    the input to the sigmoid of ``unit`` in the last hidden layer. With batch norm the
    validation set is normalized as one batch with its own statistics (``training=True``),
    as notebook 03 does before running averages are introduced in notebook 04; at the end
    it also records the validation accuracy with the running averages the network kept
    (evaluation mode, ``"val_acc_running"``). With batch norm ``"gamma"`` and ``"beta"``
    are the watched unit's at each record (NaN without).
    ``bn_functions=(forward, backward)`` runs those as batch norm (``network.Network``).
    Returns ``{"steps": (k,), "val_acc": (k,), "percentiles": (k, 3), "gamma": (k,),
    "beta": (k,), "cost": (steps,), "val_acc_running": float, "batch_norm": bool}``.
    """
    steps = as_int("steps", steps, low=1)
    record_every = as_int("record_every", record_every, low=1)
    d, dims, batch_size, rng = _digits_network(hidden, batch_size, rng)
    net = Network(dims, activation="sigmoid", batch_norm=batch_norm,
                  bn_functions=bn_functions if batch_norm else None, rng=rng)
    unit = as_int("unit", unit, low=0, high=dims[-2] - 1)
    opt = Optimizer(optimizer, learning_rate)
    rec = {"steps": [], "val_acc": [], "percentiles": [], "gamma": [], "beta": [],
           "cost": []}
    last = len(dims) - 2

    def record(step):
        rec["steps"].append(step)
        rec["val_acc"].append(net.accuracy(d.val.X, d.val.y, training=True))
        rec["percentiles"].append(np.percentile(net.hidden_input(d.val.X, last)[unit],
                                                PERCENTILES))
        for name in ("gamma", "beta"):
            rec[name].append(net.params[f"{name}{last}"][unit, 0] if batch_norm else np.nan)

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
        running = net.accuracy(d.val.X, d.val.y, training=False)
    return {**{k: np.array(v) for k, v in rec.items()}, "val_acc_running": running,
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
                        batch_size: int = 60, optimizer: str = "gd", bn_functions=None,
                        rng: np.random.Generator) -> dict:
    """Final validation accuracy on the digits for each learning rate, without and with
    batch norm: ``{"without": (k,), "with": (k,)}``.

    The network of ``figure1_run`` trained for ``epochs`` epochs. For each learning rate
    one seed is drawn from ``rng``, and the two runs start from the same weights and see
    the same mini-batches. A run that diverges scores 0. As in ``figure1_run``, the
    validation set is normalized as one batch with its own statistics, and
    ``bn_functions`` are the batch norm the runs with it use.
    """
    rates = _positive_rates(learning_rates)
    epochs = as_int("epochs", epochs, low=1)
    d, dims, batch_size, rng = _digits_network(hidden, batch_size, rng)
    acc = {"without": [], "with": []}
    with one_blas_thread(), np.errstate(all="ignore"):
        for lr in progress_bar(rates, desc="rates"):
            seed = int(rng.integers(2**63))
            for name, flag in (("without", False), ("with", True)):
                run_rng = np.random.default_rng(seed)
                net = Network(dims, activation="sigmoid", batch_norm=flag,
                              bn_functions=bn_functions if flag else None, rng=run_rng)
                hist = train_epochs(net, Optimizer(optimizer, float(lr)), d.train.X,
                                    d.train.y, epochs=epochs, batch_size=batch_size,
                                    rng=run_rng)
                acc[name].append(0.0 if hist.get("diverged")
                                 else net.accuracy(d.val.X, d.val.y, training=True))
    return {name: np.array(v) for name, v in acc.items()}


def plot_learning_rate_sweep(learning_rates, accuracy: dict, ax=None):
    """Final validation accuracy against the learning rate (log axis), without and with
    batch norm (``accuracy`` as ``learning_rate_sweep`` returns it)."""
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


# ================================================================== the lecture's claims
# Measured on the digits: normalized inputs train faster, where the plateau of a deep
# sigmoid network comes from, covariate shift, and batch norm's slight regularization.

_STANDARDIZE_EPS = 1e-5


def _statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each feature's (row's) mean and biased variance over the examples, ``(n, 1)`` each."""
    return X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True)


def _standardize(X, mean, var) -> np.ndarray:
    """``(X - mean) / sqrt(var + eps)``: a feature that never varies becomes 0."""
    return (X - mean) / np.sqrt(var + _STANDARDIZE_EPS)


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
    learning_rate = as_real("learning_rate", learning_rate, low=0, low_inclusive=False)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    d, dims, batch_size, rng = _digits_network(hidden, batch_size, rng)
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
