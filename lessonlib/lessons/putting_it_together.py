"""Notebook 06, putting it together: tuning a batch-norm network on the digits.

Everything of the week in one run:

- a network from ``lessonlib.network`` with ``n_hidden_layers`` hidden ReLU layers of
  ``hidden_units`` units each, batch norm after every hidden linear step (notebook 03) and
  a softmax output over ``C = 10`` classes (notebook 05), trained with Adam;
- a search space over the hyperparameters notebook 01 ranks as worth tuning, each on its
  scale (notebook 02): the learning rate log-uniform, the hidden units and the mini-batch
  size integers on a log scale, the number of layers a uniform integer. Adam's ``beta1``,
  ``beta2`` and ``epsilon`` stay at their usual defaults, and batch norm's decay at 0.9,
  whose running averages warm up within the shortest training of the space;
- a coarse-to-fine random search with trials in parallel (notebook 01), built from
  ``search.parallel.random_search`` and ``search.spaces.refine_space``;
- the accuracy of the final model in evaluation mode, with the running statistics
  (notebook 04), against softmax regression and the same network without batch norm, with
  the standard error of each test accuracy.

``X`` is ``(64, m)``, one 8x8 image per column, and ``y`` is ``(m,)``. A setting of the
hyperparameters (``params``) is a dict with ``"learning_rate"``, ``"hidden_units"``,
``"batch_size"`` and ``"n_hidden_layers"``, and optionally any key of ``FIXED`` to change
its default (``search.settings``, which checks it). The stand-ins of the exercises are
below this floor, where the checks reach them without a lesson: 6.1's
``search.settings.linear_search_space`` and 6.2's ``network.evaluate``; the notebook reads
them, and ``FIXED``, from this module.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter, ScalarFormatter

from ..core.data import shared_digits
from ..core.validate import (
    as_callable,
    as_float_array,
    as_int,
    as_real,
    as_rng,
)
from ..network import Network, evaluate, train_epochs
from ..optim import Optimizer
from ..search.parallel import random_search
from ..search.settings import FIXED, as_params, linear_search_space  # noqa: F401 (notebook 06)
from ..search.spaces import (
    EmaBeta,
    IntLogUniform,
    IntUniform,
    LogUniform,
    refine_space,
    zoom_on_best,
)

N_CLASSES = 10
N_FEATURES = 64
# Softmax regression as notebook 05 trains it on the digits.
SOFTMAX_REGRESSION = {"epochs": 60, "batch_size": 32, "learning_rate": 0.5}

_LABELS = {"learning_rate": "learning rate", "hidden_units": "hidden units",
           "batch_size": "mini-batch size", "n_hidden_layers": "hidden layers"}


# ------------------------------------------------------------------ one trial

def build_network(params, *, rng: np.random.Generator, batch_norm: bool = True) -> Network:
    """The capstone's network for a setting: ``[64, h, ..., h, 10]`` with
    ``n_hidden_layers`` hidden ReLU layers of ``h = hidden_units`` and a softmax output;
    with ``batch_norm`` (the default), batch norm with ``bn_decay`` after each hidden
    linear step. ``batch_norm=False`` gives the same layers with a bias ``b[l]`` instead,
    from the same weight draws."""
    p = as_params(params)
    if not isinstance(batch_norm, bool):
        raise TypeError(f"batch_norm must be True or False, got {batch_norm!r}")
    dims = [N_FEATURES] + [p["hidden_units"]] * p["n_hidden_layers"] + [N_CLASSES]
    return Network(dims, activation="relu", batch_norm=batch_norm, bn_decay=p["bn_decay"],
                   rng=as_rng(rng))


def train_model(params, *, rng: np.random.Generator, validation: bool = True,
                batch_norm: bool = True) -> tuple[Network, dict]:
    """Build and train the network of ``params`` on the digits' training split with Adam
    (``learning_rate``; ``adam_beta1``, ``adam_beta2``, ``adam_epsilon`` at their defaults
    unless ``params`` sets them) for ``epochs`` epochs of mini-batches of ``batch_size``.

    Returns ``(net, history)``; ``history`` is ``network.train_epochs``'s, with the validation
    accuracy of each epoch when ``validation``. The network is left in evaluation mode.
    ``batch_norm=False`` trains the same network without batch norm, on the same steps.
    """
    p = as_params(params)
    rng = as_rng(rng)
    d = shared_digits()
    net = build_network(p, rng=rng, batch_norm=batch_norm)
    opt = Optimizer("adam", p["learning_rate"], beta1=p["adam_beta1"],
                    beta2=p["adam_beta2"], epsilon=p["adam_epsilon"])
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


def training_steps(params, m: int | None = None) -> int:
    """The number of Adam steps ``train_model`` takes for ``params``: ``epochs`` times the
    mini-batches of ``batch_size`` in ``m`` examples (the digits' training split by
    default), a last mini-batch of a single example not counted (batch norm skips it)."""
    p = as_params(params)
    m = shared_digits().train.m if m is None else as_int("m", m, low=1)
    full, rest = divmod(m, p["batch_size"])
    return p["epochs"] * (full + (rest >= 2))


# ------------------------------------------------------------------ the search

def coarse_to_fine_search(space: dict, *, n_rounds: int, n_per_round,
                          shrink=zoom_on_best, trial_fn=capstone_trial,
                          rng: np.random.Generator, n_jobs: int = 1,
                          executor: Executor | None = None) -> dict:
    """Random search in rounds, each round in the space ``refine_space`` shrinks around
    the best trials so far with ``shrink`` (``zoom_on_best``: a range a third as wide,
    centred on the best trial).

    ``n_per_round`` is the number of trials of every round, or a sequence of one number per
    round (a broad first round, say, then smaller ones). Each round is one
    ``random_search(trial_fn, space, n, rng=rng, n_jobs=n_jobs, executor=executor)``, so
    trials run in parallel and the results do not depend on ``n_jobs`` or ``executor``.
    Returns ``{"spaces": [space of round 1, ...],
    "rounds": [[trial, ...] per round], "results": every trial in order, "best": the trial
    with the highest score}``; a trial is ``{"params", "score", "seed", "round"}``
    (``round`` counts from 1). Ties keep the earliest trial.
    """
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict of name -> distribution, got "
                        f"{space!r}")
    n_rounds = as_int("n_rounds", n_rounds, low=1)
    if isinstance(n_per_round, (list, tuple)):
        if len(n_per_round) != n_rounds:
            raise ValueError(f"n_per_round must hold one number per round ({n_rounds}), got "
                             f"{len(n_per_round)}")
        counts = [as_int(f"n_per_round[{i}]", n, low=1) for i, n in enumerate(n_per_round)]
    else:
        counts = [as_int("n_per_round", n_per_round, low=1)] * n_rounds
    as_callable("shrink", shrink, "a function (points, scores, low, high) -> (low, high)")
    as_callable("trial_fn", trial_fn, "a function (params, *, rng) -> score")
    rng = as_rng(rng)
    spaces, rounds, seen = [], [], []
    for r in range(n_rounds):
        if r:
            space = refine_space(space, seen, shrink=shrink)
        spaces.append(space)
        found = random_search(trial_fn, space, counts[r], rng=rng, n_jobs=n_jobs,
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


def rank_correlation(x, y) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (each ``(n,)``, ``n >= 3``): the
    Pearson correlation of their ranks, tied values sharing their average rank. It is 1
    when ``y`` grows with ``x``, -1 when it falls, whatever the scale of either; 0 when
    either is constant."""
    x = as_float_array("x", x, ndim=1)
    y = as_float_array("y", y, ndim=1)
    if x.size != y.size or x.size < 3:
        raise ValueError(f"x and y must have the same length, at least 3, got {x.size} and "
                         f"{y.size}")
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry) / denom if denom > 0 else 0.0


def _ranks(v: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``v``, ties given their average rank."""
    values, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse.ravel()]


def rank_correlations(results) -> dict:
    """``rank_correlation`` of the score with each hyperparameter over ``results`` (trials
    ``{"params", "score"}``, at least 3), in the order of the first trial's params."""
    if not isinstance(results, list) or len(results) < 3:
        raise ValueError("results must be a list of at least 3 trials {'params', 'score'}")
    scores = [r["score"] for r in results]
    return {k: rank_correlation([r["params"][k] for r in results], scores)
            for k in results[0]["params"]}


def scores_by_decade(results, key: str = "learning_rate") -> list[tuple]:
    """The trials of ``results`` grouped by the decade of ``params[key]`` (``[10**k,
    10**(k+1))``, a positive hyperparameter): one ``(low, high, n, median score, lowest
    score)`` per decade that holds a trial, in increasing order."""
    if not isinstance(results, list) or not results:
        raise ValueError("results must be a non-empty list of trials {'params', 'score'}")
    if not all(isinstance(r, dict) and key in r.get("params", {}) for r in results):
        raise ValueError(f"key must be a hyperparameter of every trial, got {key!r}")
    values = as_float_array(f"params[{key!r}]", [r["params"][key] for r in results], ndim=1)
    if values.min() <= 0:
        raise ValueError(f"params[{key!r}] must be positive to be grouped by decades")
    scores = np.array([r["score"] for r in results], dtype=float)
    decade = np.floor(np.log10(values) + 1e-12)
    return [(10.0 ** k, 10.0 ** (k + 1), int(np.sum(decade == k)),
             float(np.median(scores[decade == k])), float(scores[decade == k].min()))
            for k in np.unique(decade)]


def format_params(params) -> str:
    """One line for a setting: ``"learning rate 0.00412, 57 hidden units, mini-batches of
    64, 3 hidden layers"``."""
    p = as_params(params)
    return (f"learning rate {p['learning_rate']:.3g}, {p['hidden_units']} hidden units, "
            f"mini-batches of {p['batch_size']}, {p['n_hidden_layers']} hidden layers")


def format_space(space: dict) -> list[str]:
    """One line per hyperparameter of ``space``: name, distribution and range."""
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict of name -> distribution, got "
                        f"{space!r}")
    width = max(len(k) for k in space)
    return [f"{k:<{width}}  {type(v).__name__:<13} [{v.low:.4g}, {v.high:.4g}]"
            for k, v in space.items()]


def describe_parameters(net: Network) -> list[str]:
    """One line per parameter array of ``net``: its name in course notation and its shape.

    ``W[l]`` and ``b[l]`` are the linear step's; batch norm's scale and shift are
    ``bn gamma[l]`` and ``bn beta[l]`` (``net.params`` calls them ``"gamma{l}"`` and
    ``"beta{l}"``), so that they are not taken for Adam's ``beta1`` and ``beta2``.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a lessonlib.network.Network, got {type(net).__name__}")
    lines = []
    for key, p in net.params.items():
        name = key.rstrip("0123456789")
        label = f"{'bn ' if name in ('gamma', 'beta') else ''}{name}[{key[len(name):]}]"
        lines.append(f"{label:<12} {str(p.shape):>9}")
    return lines


# ------------------------------------------------------------------ the comparison

def standard_error(accuracy, m) -> float:
    """The standard error of an accuracy measured on ``m`` independent examples:
    ``sqrt(p (1 - p) / m)`` (the spread of a binomial share), for ``p = accuracy``."""
    p = as_real("accuracy", accuracy, low=0, high=1)
    m = as_int("m", m, low=1)
    return math.sqrt(p * (1 - p) / m)


def paired_difference(correct_a, correct_b) -> tuple[float, float]:
    """Accuracy of model a minus that of model b on the same ``m`` test examples, and the
    standard error of that difference.

    ``correct_a`` and ``correct_b`` are ``(m,)``: 1 where the model is right, 0 where it is
    wrong (or the share of seeds that are right). The difference is the mean of
    ``d = correct_a - correct_b`` and its standard error ``std(d) / sqrt(m)``: the examples
    both models get right (or wrong) add no noise, so it is smaller than
    ``sqrt(se_a**2 + se_b**2)``. Returns ``(difference, standard error)``.
    """
    a = as_float_array("correct_a", correct_a, ndim=1)
    b = as_float_array("correct_b", correct_b, ndim=1)
    if a.size != b.size or a.size < 2:
        raise ValueError(f"correct_a and correct_b must have the same length, at least 2, got "
                         f"{a.size} and {b.size}")
    if a.min() < 0 or a.max() > 1 or b.min() < 0 or b.max() > 1:
        raise ValueError("correct_a and correct_b must hold shares in [0, 1]")
    d = a - b
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))


def _softmax_regression(rng) -> Network:
    """Softmax regression on the digits' training split, as notebook 05 trains it."""
    d = shared_digits()
    net = Network([N_FEATURES, N_CLASSES], rng=rng)
    s = SOFTMAX_REGRESSION
    train_epochs(net, Optimizer("gd", s["learning_rate"]), d.train.X, d.train.y,
                 epochs=s["epochs"], batch_size=s["batch_size"], rng=rng)
    return net.eval()


def compare_models(params, *, n_seeds: int = 3, rng: np.random.Generator,
                   evaluate_fn=evaluate) -> dict:
    """Test accuracy of three models trained with ``n_seeds`` seeds each on the same split.

    - ``"batch norm"``: ``train_model(params)``, the capstone's network;
    - ``"no batch norm"``: ``train_model(params, batch_norm=False)``, the same layers, the
      same hyperparameters and the same number of steps, without batch norm;
    - ``"softmax regression"``: no hidden layer, gradient descent with notebook 05's settings
      (``SOFTMAX_REGRESSION``).

    Every model is scored on the digits' test split with ``evaluate_fn(net, X, y)``.
    Returns ``{name: {"accuracies": [per seed], "accuracy": mean, "se": standard_error of
    the mean on the m test images, "correct": (m,) share of seeds right on each image}}``.
    """
    p = as_params(params)
    n_seeds = as_int("n_seeds", n_seeds, low=1)
    rng = as_rng(rng)
    as_callable("evaluate_fn", evaluate_fn, "a function (net, X, y) -> accuracy")
    d = shared_digits()
    makers = {"batch norm": lambda r: train_model(p, rng=r, validation=False)[0],
              "no batch norm": lambda r: train_model(p, rng=r, validation=False,
                                                     batch_norm=False)[0],
              "softmax regression": _softmax_regression}
    seeds = np.random.SeedSequence(int(rng.integers(2**63))).spawn(n_seeds)
    out = {}
    for name, make in makers.items():
        accuracies, correct = [], np.zeros(d.test.m)
        for seed in seeds:
            net = make(np.random.default_rng(seed))
            with np.errstate(all="ignore"):
                accuracies.append(float(evaluate_fn(net, d.test.X, d.test.y)))
                correct += net.predict(d.test.X, training=False) == d.test.y
        mean = float(np.mean(accuracies))
        out[name] = {"accuracies": accuracies, "accuracy": mean,
                     "se": standard_error(min(max(mean, 0.0), 1.0), d.test.m),
                     "correct": correct / n_seeds}
    return out


def format_comparison(comparison: dict) -> list[str]:
    """Lines for ``compare_models``'s result: each model's mean test accuracy with its
    standard error and its seeds' range, then each model against the first: the paired
    difference, its standard error, how many standard errors it is, and "a clear
    difference" beyond 2 of them, else "within noise"."""
    if not isinstance(comparison, dict) or not comparison or not all(
            isinstance(v, dict) and {"accuracies", "accuracy", "se", "correct"} <= set(v)
            for v in comparison.values()):
        raise TypeError("comparison must be the dict compare_models returned")
    names = list(comparison)
    width = max(len(n) for n in names)
    n_seeds = len(comparison[names[0]]["accuracies"])
    m = len(comparison[names[0]]["correct"])
    lines = [f"{'model':<{width}}  test accuracy (mean of {n_seeds} seeds) +- standard error "
             f"on {m} images; seeds from .. to .."]
    for name, r in comparison.items():
        lines.append(f"{name:<{width}}  {r['accuracy']:.3f} +- {r['se']:.3f}   "
                     f"{min(r['accuracies']):.3f} .. {max(r['accuracies']):.3f}")
    first = names[0]
    for name in names[1:]:
        diff, se = paired_difference(comparison[first]["correct"], comparison[name]["correct"])
        z = abs(diff) / se if se > 0 else (math.inf if diff else 0.0)
        verdict = "a clear difference" if z > 2 else "within noise"
        lines.append(f"{first} - {name}: {diff:+.3f} +- {se:.3f} ({diff * m:+.1f} images), "
                     f"{z:.1f} standard errors: {verdict}")
    return lines


# ------------------------------------------------------------------ plots

def _axis(dist):
    """``(transform, log axis, label prefix)`` for plotting a hyperparameter's values."""
    if isinstance(dist, EmaBeta):
        return (lambda b: 1.0 - np.asarray(b, float)), True, "1 - "
    log = isinstance(dist, (LogUniform, IntLogUniform))
    return (lambda x: np.asarray(x, float)), log, ""


def plot_search(search: dict, key: str = "learning_rate", ax=None, *, legend: bool = True):
    """Validation accuracy of every trial of a ``coarse_to_fine_search`` against one
    hyperparameter, coloured by round, on the axis its distribution samples uniformly.

    A learning rate (``LogUniform``) or a count on a log scale (``IntLogUniform``) is on a
    log axis; an EMA weight (``EmaBeta``) is shown as ``1 - beta`` on a log axis; each
    round's range is a bar under the points and the best trial is a star; ``legend=False``
    leaves out the legend. Returns the Axes.
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
        if isinstance(dist, IntUniform) and dist.high - dist.low <= 10:
            ticks = list(range(int(dist.low), int(dist.high) + 1))
        else:
            ticks = [2 ** k for k in range(12) if dist.low <= 2 ** k <= dist.high]
        if len(ticks) >= 2:
            ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(prefix + _LABELS.get(key, key) + (" (log axis)" if log else ""))
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(low_y - 0.02 * (len(search["rounds"]) + 1), 1.005)
    if legend:
        ax.legend(loc="center right", fontsize=8)
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
