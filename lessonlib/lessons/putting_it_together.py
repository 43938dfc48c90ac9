"""Notebook 06, putting it together: tuning a deeper batch-norm network on the digits.

Everything of the week in one run:

- a network from ``lessonlib.network`` with ``n_hidden_layers`` hidden ReLU layers of
  ``hidden_units`` units each, batch norm after every hidden linear step (notebook 03) and
  a softmax output over ``C = 10`` classes (notebook 05), trained with Adam;
- a search space with the right scale for each hyperparameter (notebook 02): the
  learning rate log-uniform, Adam's ``beta1`` and batch norm's ``bn_decay`` (both weights
  of an exponentially weighted average) log-uniform on the ``1 - beta`` scale, the hidden
  units an integer;
- a coarse-to-fine random search with trials in parallel (notebook 01), built from
  ``search.parallel.random_search`` and ``search.spaces.refine_space``;
- the accuracy of the final model in evaluation mode, with the running statistics
  (notebook 04).

``X`` is ``(64, m)``, one 8x8 image per column, and ``y`` is ``(m,)``. A setting of the
hyperparameters (``params``) is a dict with ``"learning_rate"``, ``"beta1"``,
``"hidden_units"`` and ``"bn_decay"``, and optionally ``"epochs"``, ``"batch_size"`` and
``"n_hidden_layers"`` (defaults in ``FIXED``).
"""

from __future__ import annotations

import numbers
from concurrent.futures import Executor

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from ..core.data import shared_digits
from ..core.validate import as_callable, as_float_array, as_int, as_labels, as_real, as_rng
from ..network import Network, train_epochs
from ..optim import Optimizer
from ..search.parallel import random_search
from ..search.spaces import EmaBeta, IntLogUniform, IntUniform, LogUniform, refine_space

# The hyperparameters the search tunes, in the order they are printed.
SEARCHED = ("learning_rate", "beta1", "hidden_units", "bn_decay")
# What stays fixed: the trials must be cheap enough to run dozens in a few seconds.
FIXED = {"epochs": 12, "batch_size": 64, "n_hidden_layers": 3}
N_CLASSES = 10
N_FEATURES = 64

_LABELS = {"learning_rate": "learning rate", "beta1": "Adam beta1",
           "hidden_units": "hidden units", "bn_decay": "batch-norm decay"}


# ------------------------------------------------------------------ the exercises

def make_search_space() -> dict:
    """The search space of the capstone, each hyperparameter on its own scale.

    - ``learning_rate``: ``LogUniform(1e-4, 1e-1)``, three decades, as many trials
      between 1e-4 and 1e-3 as between 1e-2 and 1e-1;
    - ``beta1`` (Adam's momentum weight) and ``bn_decay`` (the weight of batch norm's
      running averages): ``EmaBeta(0.8, 0.999)``, log-uniform on ``1 - beta`` from 0.001
      to 0.2, averaging over about 5 to 1000 steps;
    - ``hidden_units``: ``IntLogUniform(16, 128)`` units per hidden layer.

    Returns ``{name: distribution}`` of ``lessonlib.search.spaces`` distributions. Reference
    solution of exercise 6.1.
    """
    return {"learning_rate": LogUniform(1e-4, 1e-1),
            "beta1": EmaBeta(0.8, 0.999),
            "hidden_units": IntLogUniform(16, 128),
            "bn_decay": EmaBeta(0.8, 0.999)}


def evaluate(net: Network, X, y) -> float:
    """Accuracy of ``net`` on the images ``X`` (``(64, m)``) with labels ``y`` (``(m,)``).

    Computed in evaluation mode: batch norm normalizes with the running statistics, so each
    example's prediction depends on that example alone (any order, any batch size, a single
    image works). The predicted class is the argmax of the ``(C, m)`` logits over axis 0.
    The network's mode (training or evaluation) is restored afterwards and nothing in it
    changes. Returns the fraction of correct predictions, a float in ``[0, 1]``. Reference
    solution of exercise 6.2.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
    X = as_float_array("X", X, ndim=2)
    if X.shape[0] != net.layer_dims[0]:
        raise ValueError(f"X must have shape ({net.layer_dims[0]}, m), got {X.shape}")
    y = as_labels("y", y, net.layer_dims[-1])
    if y.size != X.shape[1]:
        raise ValueError(f"y must have shape ({X.shape[1]},) to match X, got {y.shape}")
    with net.mode(training=False):
        predictions = net.predict(X)
    return float(np.mean(predictions == y))


# ------------------------------------------------------------------ one trial

def check_params(params) -> dict:
    """Validate a setting: the four searched hyperparameters and optional ``FIXED`` keys.

    Returns a complete setting (``FIXED`` filled in) with Python numbers, or raises
    ``TypeError``/``ValueError`` naming ``params`` and the offending key.
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of hyperparameters, got {type(params).__name__}")
    missing = [k for k in SEARCHED if k not in params]
    unknown = [k for k in params if k not in SEARCHED and k not in FIXED]
    if missing or unknown:
        raise ValueError(f"params must hold {', '.join(SEARCHED)} (optionally "
                         f"{', '.join(FIXED)}); missing {missing}, unknown {unknown}")
    out = dict(FIXED)
    out["learning_rate"] = as_real("params['learning_rate']", params["learning_rate"],
                                   low=0, low_inclusive=False)
    for k in ("beta1", "bn_decay"):
        out[k] = as_real(f"params[{k!r}]", params[k], low=0, high=1, high_inclusive=False)
    for k, low in (("hidden_units", 1), ("epochs", 1), ("batch_size", 2),
                   ("n_hidden_layers", 1)):
        value = params.get(k, out.get(k))
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) \
                and float(value).is_integer():
            value = int(value)
        out[k] = as_int(f"params[{k!r}]", value, low=low)
    return out


def build_network(params, *, rng: np.random.Generator) -> Network:
    """The capstone's network for a setting: ``[64, h, ..., h, 10]`` with
    ``n_hidden_layers`` hidden ReLU layers of ``h = hidden_units``, batch norm with
    ``bn_decay`` after each hidden linear step, and a softmax output."""
    p = check_params(params)
    dims = [N_FEATURES] + [p["hidden_units"]] * p["n_hidden_layers"] + [N_CLASSES]
    return Network(dims, activation="relu", batch_norm=True, bn_decay=p["bn_decay"],
                   rng=as_rng(rng))


def train_model(params, *, rng: np.random.Generator, validation: bool = True
                ) -> tuple[Network, dict]:
    """Build and train the network of ``params`` on the digits' training split with Adam
    (``learning_rate``, ``beta1``; ``beta2 = 0.999``) for ``epochs`` epochs of mini-batches
    of ``batch_size``.

    Returns ``(net, history)``; ``history`` is ``network.train_epochs``'s, with the validation
    accuracy of each epoch when ``validation``. The network is left in evaluation mode.
    """
    p = check_params(params)
    rng = as_rng(rng)
    d = shared_digits()
    net = build_network(p, rng=rng)
    opt = Optimizer("adam", p["learning_rate"], beta1=p["beta1"])
    val = {"X_val": d.val.X, "y_val": d.val.y} if validation else {}
    with np.errstate(all="ignore"):            # a diverging trial is scored, not reported
        history = train_epochs(net, opt, d.train.X, d.train.y, epochs=p["epochs"],
                               batch_size=p["batch_size"], rng=rng, **val)
    return net.eval(), history


def capstone_trial(params, *, rng: np.random.Generator) -> float:
    """One trial of the search: train ``params``'s network, return its validation accuracy
    (``evaluate`` on the digits' validation split, in evaluation mode).

    Module-level, so a process pool can run it. A diverging run scores what its broken
    network predicts (about 0.1).
    """
    net, _ = train_model(params, rng=rng, validation=False)
    d = shared_digits()
    with np.errstate(all="ignore"):
        return evaluate(net, d.val.X, d.val.y)


# ------------------------------------------------------------------ the search

def coarse_to_fine_search(space: dict, *, n_rounds: int, n_per_round: int, n_best: int,
                          pad: float = 0.1, trial_fn=capstone_trial,
                          rng: np.random.Generator, n_jobs: int = 1,
                          executor: Executor | None = None) -> dict:
    """Random search in rounds, each round in the space ``refine_space`` shrinks
    around the ``n_best`` best trials so far.

    Each round is one ``random_search(trial_fn, space, n_per_round, rng=rng,
    n_jobs=n_jobs, executor=executor)``, so trials run in parallel and the results do not
    depend on ``n_jobs`` or ``executor``. Returns ``{"spaces": [space of round 1, ...],
    "rounds": [[trial, ...] per round], "results": every trial in order, "best": the trial
    with the highest score}``; a trial is ``{"params", "score", "seed", "round"}``
    (``round`` counts from 1). Ties keep the earliest trial.
    """
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict of name -> distribution, got "
                        f"{space!r}")
    n_rounds = as_int("n_rounds", n_rounds, low=1)
    n_per_round = as_int("n_per_round", n_per_round, low=1)
    n_best = as_int("n_best", n_best, low=1)
    pad = as_real("pad", pad, low=0)
    as_callable("trial_fn", trial_fn, "a function (params, *, rng) -> score")
    rng = as_rng(rng)
    spaces, rounds, seen = [], [], []
    for r in range(n_rounds):
        if r:
            space = refine_space(space, seen, n_best=n_best, pad=pad)
        spaces.append(space)
        found = random_search(trial_fn, space, n_per_round, rng=rng, n_jobs=n_jobs,
                                     executor=executor)
        for trial in found:
            trial["round"] = r + 1
        rounds.append(found)
        seen = seen + found
    return {"spaces": spaces, "rounds": rounds, "results": seen, "best": best_trial(seen)}


def best_trial(results) -> dict:
    """The trial with the highest ``"score"`` (the first of equals)."""
    if not isinstance(results, list) or not results:
        raise ValueError("results must be a non-empty list of trials {'params', 'score'}")
    scores = [r["score"] for r in results]
    return results[int(np.argmax(scores))]


def format_params(params) -> str:
    """One line for a setting: ``"learning rate 0.00412, beta1 0.912, 57 hidden units,
    bn decay 0.963"``."""
    p = check_params(params)
    return (f"learning rate {p['learning_rate']:.3g}, beta1 {p['beta1']:.4g}, "
            f"{p['hidden_units']} hidden units, bn decay {p['bn_decay']:.4g}")


def format_space(space: dict) -> list[str]:
    """One line per hyperparameter of ``space``: name, distribution and range."""
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict of name -> distribution, got "
                        f"{space!r}")
    width = max(len(k) for k in space)
    return [f"{k:<{width}}  {type(v).__name__:<13} [{v.low:.4g}, {v.high:.4g}]"
            for k, v in space.items()]


# ------------------------------------------------------------------ plots

def _axis(dist):
    """``(transform, label suffix, log axis)`` for plotting a hyperparameter's values."""
    if isinstance(dist, EmaBeta):
        return (lambda b: 1.0 - np.asarray(b, float)), True, "1 - "
    log = isinstance(dist, (LogUniform, IntLogUniform))
    return (lambda x: np.asarray(x, float)), log, ""


def plot_search(search: dict, key: str = "learning_rate", ax=None, *, legend: bool = True):
    """Validation accuracy of every trial of a ``coarse_to_fine_search`` against one
    hyperparameter, coloured by round, on the axis its distribution samples uniformly.

    A learning rate (``LogUniform``) is on a log axis; an EMA weight (``EmaBeta``) is shown
    as ``1 - beta`` on a log axis; each round's range is a bar under the points and the best
    trial is a star; ``legend=False`` leaves out the legend. Returns the Axes.
    """
    if not isinstance(search, dict) or "rounds" not in search or "spaces" not in search:
        raise TypeError("search must be what coarse_to_fine_search returned")
    if key not in search["spaces"][0]:
        raise ValueError(f"key must be one of {list(search['spaces'][0])}, got {key!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    transform, log, prefix = _axis(search["spaces"][0][key])
    scores = [r["score"] for r in search["results"]]
    low_y = min(min(scores), 0.8)
    for i, (found, space) in enumerate(zip(search["rounds"], search["spaces"])):
        x = transform([t["params"][key] for t in found])
        ax.scatter(x, [t["score"] for t in found], s=22, color=f"C{i}",
                   label=f"round {i + 1}")
        ends = transform([space[key].low, space[key].high])
        ax.plot(ends, [low_y - 0.02 * (i + 1)] * 2, color=f"C{i}", lw=4,
                solid_capstyle="butt")
    best = search["best"]
    ax.scatter(transform([best["params"][key]]), [best["score"]], marker="*", s=250,
               color="crimson", zorder=3, label=f"best: {best['score']:.3f}")
    dist = search["spaces"][0][key]
    if log:
        ax.set_xscale("log")
    if isinstance(dist, (IntUniform, IntLogUniform)):
        ticks = [2 ** k for k in range(12) if dist.low <= 2 ** k <= dist.high]
        if len(ticks) >= 2:
            ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    name = {"beta1": "beta1", "bn_decay": "bn decay"}.get(key, _LABELS.get(key, key))
    ax.set_xlabel(prefix + name + (" (log axis)" if log else ""))
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(low_y - 0.02 * (len(search["rounds"]) + 1), 1.005)
    if legend:
        ax.legend(loc="center left", fontsize=8)
    return ax


def plot_search_overview(search: dict, axes=None):
    """``plot_search`` for every hyperparameter of the search, in a 2x2 grid (four
    hyperparameters) or one row. Returns the array of Axes."""
    if not isinstance(search, dict) or "spaces" not in search:
        raise TypeError("search must be what coarse_to_fine_search returned")
    keys = list(search["spaces"][0])
    if axes is None:
        rows = 2 if len(keys) == 4 else 1
        _, axes = plt.subplots(rows, len(keys) // rows, figsize=(10, 3.2 * rows))
    axes = np.atleast_1d(axes).ravel()
    if axes.size < len(keys):
        raise ValueError(f"axes must hold at least {len(keys)} Axes, got {axes.size}")
    for i, (ax, key) in enumerate(zip(axes, keys)):
        plot_search(search, key, ax=ax, legend=i == 0)
    axes[0].figure.tight_layout()
    return axes


def plot_training(history: dict, ax=None):
    """Training and validation accuracy per epoch of ``train_model``'s history. Returns the
    Axes."""
    if not isinstance(history, dict) or "train_acc" not in history:
        raise TypeError("history must be the dict train_model returned")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(history["train_acc"]) + 1)
    ax.plot(epochs, history["train_acc"], marker=".", label="training")
    if history.get("val_acc"):
        ax.plot(epochs, history["val_acc"], marker=".", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (evaluation mode)")
    ax.legend(loc="lower right")
    return ax
