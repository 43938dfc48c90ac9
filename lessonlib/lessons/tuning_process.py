"""Notebook 01, the tuning process: what matters, random search rather than a grid, coarse
to fine, pandas and caviar.

The lecture's ranking of hyperparameters, two toy objectives on the unit square (one whose
score hardly depends on its second axis, and a smooth bowl), real trials on the digits for
``search.parallel.random_search``, the panda approach (``babysit``), and the notebook's
pictures and its trial-budget widget. The searches themselves are in ``lessonlib.search``.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..core.data import shared_digits
from ..core.stand_ins import stand_in
from ..core.validate import as_callable, as_float_array, as_int, as_real, as_rng
from ..network import Network, train_epochs
from ..optim import Optimizer
from ..search.boxes import grid_points, random_search_points

HYPERPARAMETER_TIERS = {
    1: ("learning rate alpha",),
    2: ("momentum term beta", "number of hidden units", "mini-batch size"),
    3: ("number of layers", "learning-rate decay"),
}
# Adam's beta1 = 0.9, beta2 = 0.999 and epsilon = 1e-8 are usually left at these defaults.
ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


# ----------------------------------------------------------------- toy objectives

def one_axis_objective(points) -> np.ndarray:
    """A score on the unit square that depends mostly on the first hyperparameter.

    ``points`` is ``(n, 2)``; returns ``(n,)``. A narrow bump along axis 0 (the "learning
    rate") plus a ripple one twentieth as large along axis 1 (an "epsilon" that hardly
    matters), as in the lecture's picture of why a grid wastes trials.
    """
    points = as_float_array("points", points, ndim=2)
    if points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    x, y = points[:, 0], points[:, 1]
    return np.exp(-0.5 * ((x - 0.62) / 0.06) ** 2) + 0.05 * np.cos(2 * np.pi * y)


def bowl_objective(points) -> np.ndarray:
    """A smooth single-peaked score on the unit square (best value 0 at (0.71, 0.28)).

    ``points`` is ``(n, 2)``; returns ``(n,)``, ``-(dx**2 + 0.3 * dy**2)``.
    """
    points = as_float_array("points", points, ndim=2)
    if points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    return -((points[:, 0] - 0.71) ** 2 + 0.3 * (points[:, 1] - 0.28) ** 2)



# ------------------------------------------------------ the chance of a hit

@stand_in("1.2", whose="no formula yet: the column waits for your chance_at_least_one")
def no_chance_formula(fraction: float, n_trials: int) -> float:
    """Stand-in for exercise 1.2 until the learner's ``chance_at_least_one`` passes: NaN,
    printed as ``nan`` where the formula's column would be (the exercise's answer is not
    in lessonlib)."""
    as_real("fraction", fraction, low=0, high=1)
    as_int("n_trials", n_trials, low=0)
    return math.nan


def trials_for(chance_fn, fraction: float, target: float, *, limit: int = 100_000):
    """The smallest ``n`` with ``chance_fn(fraction, n) >= target``, found by counting
    ``n = 0, 1, 2, ...`` (``chance_fn`` has the signature of exercise 1.2); ``None`` when no
    ``n`` up to ``limit`` reaches it (a NaN never does)."""
    as_callable("chance_fn", chance_fn, "a function (fraction, n_trials) -> chance")
    fraction = as_real("fraction", fraction, low=0, high=1)
    target = as_real("target", target, low=0, high=1)
    limit = as_int("limit", limit, low=0)
    return next((n for n in range(limit + 1) if chance_fn(fraction, n) >= target), None)


# ------------------------------------------------------ real trials on the digits

def digits_trial(params: dict, *, rng: np.random.Generator) -> float:
    """Train a one-hidden-layer ReLU network on the digits; return validation accuracy.

    ``params`` holds ``learning_rate`` and optionally ``hidden_units`` (default 32),
    ``epochs`` (default 10), ``batch_size`` (default 64) and ``beta`` (momentum, 0.9).
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict with a 'learning_rate', got "
                        f"{type(params).__name__}")
    if "learning_rate" not in params:
        raise ValueError(f"params must hold a learning_rate, got keys {sorted(params)}")

    def number(key, default, **bounds):
        return as_real(f"params['{key}']", params.get(key, default), **bounds)

    learning_rate = number("learning_rate", None, low=0, low_inclusive=False)
    beta = number("beta", 0.9, low=0, high=1, high_inclusive=False)
    units, epochs, batch_size = (int(number(key, default, low=1)) for key, default in
                                 (("hidden_units", 32), ("epochs", 10), ("batch_size", 64)))
    rng = as_rng(rng)
    d = shared_digits()
    net = Network([64, units, 10], rng=rng)
    opt = Optimizer("momentum", learning_rate, beta1=beta)
    hist = train_epochs(net, opt, d.train.X, d.train.y, epochs=epochs,
                        batch_size=batch_size, rng=rng, X_val=d.val.X, y_val=d.val.y)
    return hist["val_acc"][-1] if hist["val_acc"] else 0.0


def babysit(learning_rate: float, budget_epochs: int, *, hidden_units: int = 32,
            up: float = 1.5, down: float = 0.5, rng: np.random.Generator) -> dict:
    """The panda approach: train one model epoch by epoch, nudging its learning rate.

    After each epoch the validation accuracy is compared with the previous epoch's: if it
    rose the learning rate is multiplied by ``up``, if it fell by ``down``, and if it stayed
    the same it is kept. Returns ``{"learning_rate": [...], "val_acc": [...]}``,
    one entry per epoch, and ``"best_val_acc"``.
    """
    learning_rate = as_real("learning_rate", learning_rate, low=0, low_inclusive=False)
    budget_epochs = as_int("budget_epochs", budget_epochs, low=1)
    hidden_units = as_int("hidden_units", hidden_units, low=1)
    up = as_real("up", up, low=0, low_inclusive=False)
    down = as_real("down", down, low=0, low_inclusive=False)
    rng = as_rng(rng)
    d = shared_digits()
    net = Network([64, hidden_units, 10], rng=rng)
    opt = Optimizer("momentum", learning_rate)
    hist = {"cost": [], "train_acc": [], "val_acc": []}
    rates = []
    for _ in range(budget_epochs):
        rates.append(opt.learning_rate)
        train_epochs(net, opt, d.train.X, d.train.y, epochs=1, batch_size=64, rng=rng,
                     X_val=d.val.X, y_val=d.val.y, history=hist)
        if hist.get("diverged"):
            break
        acc = hist["val_acc"]
        if len(acc) < 2 or acc[-1] > acc[-2]:
            opt.learning_rate *= up
        elif acc[-1] < acc[-2]:
            opt.learning_rate *= down
    return {"learning_rate": rates, "val_acc": hist["val_acc"],
            "best_val_acc": max(hist["val_acc"]) if hist["val_acc"] else 0.0}


# ----------------------------------------------------------- pictures and widget

def search_coverage(n_trials: int, *, sampler=None, rng: np.random.Generator) -> dict:
    """Grid and random designs of (about) ``n_trials`` trials on the unit square.

    The grid is the largest ``k x k`` with ``k**2 <= n_trials``; the random design has
    exactly ``n_trials`` points, drawn by ``sampler`` (the signature of exercise 1.1's
    ``random_search_points``: the learner's once it passes; default: lessonlib's).
    Returns ``{"grid": (k*k, 2), "random": (n_trials, 2),
    "grid_distinct": k, "random_distinct": int}``, the ``*_distinct`` entries counting the
    distinct values tried on the important axis (axis 0). The logic of notebook 01's widget.
    """
    n_trials = as_int("n_trials", n_trials, low=1)
    sampler = random_search_points if sampler is None else as_callable(
        "sampler", sampler, "a function (n_trials, low, high, *, rng) -> (n_trials, d)")
    k = math.isqrt(n_trials)
    grid = grid_points(k, [0, 0], [1, 1])
    rand = as_float_array("sampler's points", sampler(n_trials, np.zeros(2), np.ones(2),
                                                      rng=as_rng(rng)), ndim=2)
    if rand.shape != (n_trials, 2):
        raise ValueError(f"sampler must return points of shape ({n_trials}, 2), got "
                         f"{rand.shape}")
    return {"grid": grid, "random": rand,
            "grid_distinct": int(np.unique(grid[:, 0]).size),
            "random_distinct": int(np.unique(rand[:, 0]).size)}


def band_hit_rates(n_per_axis: int, n_trials: int, *, n_searches: int = 4000,
                   n_bands: int = 10, sampler=None, rng: np.random.Generator) -> dict:
    """How often a grid and a random design try a good value of hyperparameter 1.

    The good values fill one of ``n_bands`` equal bands of hyperparameter 1's range [0, 1]
    (axis 0 of the unit square), each band as likely as the others. The ``n_per_axis`` x
    ``n_per_axis`` grid (``grid_points``) hits for the bands holding one of its values: its
    chance is counted exactly, over every band. The random design of ``n_trials`` trials
    (drawn by ``sampler``, exercise 1.1's signature; default lessonlib's) is simulated over
    ``n_searches`` searches, each against a band drawn at random. Returns ``{"grid": float,
    "random": float, "random_se": float}`` (the last the simulation's standard error).
    Notebook 01's question 1.3.
    """
    n_per_axis = as_int("n_per_axis", n_per_axis, low=1)
    n_trials = as_int("n_trials", n_trials, low=1)
    n_searches = as_int("n_searches", n_searches, low=2)
    n_bands = as_int("n_bands", n_bands, low=1)
    sampler = random_search_points if sampler is None else as_callable(
        "sampler", sampler, "a function (n_trials, low, high, *, rng) -> (n_trials, d)")
    rng = as_rng(rng)
    grid_bands = np.unique(np.minimum(
        np.floor(grid_points(n_per_axis, [0, 0], [1, 1])[:, 0] * n_bands), n_bands - 1))
    pts = as_float_array("sampler's points", sampler(n_trials * n_searches, np.zeros(2),
                                                     np.ones(2), rng=rng), ndim=2)
    if pts.shape != (n_trials * n_searches, 2):
        raise ValueError(f"sampler must return points of shape ({n_trials * n_searches}, 2), "
                         f"got {pts.shape}")
    bands = np.minimum(np.floor(pts[:, 0] * n_bands), n_bands - 1).reshape(n_searches,
                                                                          n_trials)
    good = rng.integers(n_bands, size=n_searches)
    hits = np.any(bands == good[:, None], axis=1)
    p = float(hits.mean())
    return {"grid": grid_bands.size / n_bands, "random": p,
            "random_se": math.sqrt(max(p * (1 - p), 1e-12) / n_searches)}


def plot_search_coverage(coverage: dict, objective=one_axis_objective, axes=None):
    """Two panels: the grid and the random trials over the objective's heat map, with the
    trials projected onto the important axis as ticks. Returns the pair of Axes."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
    g = np.linspace(0, 1, 121)
    xx, yy = np.meshgrid(g, g)
    zz = objective(np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(xx.shape)
    for ax, key, title in ((axes[0], "grid", "grid"), (axes[1], "random", "random")):
        pts = coverage[key]
        ax.clear()
        ax.contourf(xx, yy, zz, levels=20, cmap="viridis")
        ax.scatter(pts[:, 0], pts[:, 1], c="white", edgecolors="black", s=30, zorder=3)
        ax.plot(pts[:, 0], np.full(len(pts), -0.03), "|", color="crimson", ms=12,
                clip_on=False)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.05, 1)
        ax.set_xlabel("hyperparameter 1 (matters)")
        ax.set_title(f"{title}: {len(pts)} trials,\n"
                     f"{coverage[key + '_distinct']} values of hyperparameter 1")
    axes[0].set_ylabel("hyperparameter 2 (hardly matters)")
    return axes


def coverage_widget(*, seed: int = 0, max_trials: int = 100, sampler=None):
    """A trial-budget slider that redraws ``plot_search_coverage`` (notebook 01); ``sampler``
    draws the random design, as in ``search_coverage``."""

    seed = as_int("seed", seed, low=0)
    max_trials = as_int("max_trials", max_trials, low=1)
    slider = widgets.IntSlider(value=min(9, max_trials), min=1, max=max_trials,
                               description="trials")
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
            plot_search_coverage(search_coverage(slider.value, sampler=sampler,
                                                 rng=np.random.default_rng(seed)), axes=axes)
            plt.show()

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, out])


def plot_coarse_to_fine(search: dict, *, optimum=None, ax=None):
    """Each round of a ``boxes.coarse_to_fine`` search in its own colour: its trials and the
    box they were drawn in, with ``optimum`` (a point ``(2,)``) marked if given.

    The first box is usually the whole search box, so the axes leave a margin around it
    and it is drawn dashed: it does not hide in the frame. Returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 5))
    boxes, points = search["boxes"], np.asarray(search["points"])
    per_round = len(points) // len(boxes)
    for r, (lo, hi) in enumerate(boxes):
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        ax.add_patch(plt.Rectangle(lo, *(hi - lo), fill=False, color=f"C{r}", lw=2,
                                   ls="--" if r == 0 else "-", zorder=2))
        pts = points[per_round * r: per_round * (r + 1)]
        ax.scatter(pts[:, 0], pts[:, 1], color=f"C{r}", s=18, zorder=3,
                   label=f"round {r + 1}: {len(pts)} trials and their box")
    if optimum is not None:
        ax.plot(*np.asarray(optimum, float), "k*", ms=14, zorder=4, label="true best")
    lo, hi = np.asarray(boxes[0][0], float), np.asarray(boxes[0][1], float)
    margin = 0.06 * (hi - lo)
    ax.set_xlim(lo[0] - margin[0], hi[0] + margin[0])
    ax.set_ylim(lo[1] - margin[1], hi[1] + margin[1])
    ax.set_aspect("equal" if np.isclose(hi[0] - lo[0], hi[1] - lo[1]) else "auto")
    ax.set_xlabel("hyperparameter 1")
    ax.set_ylabel("hyperparameter 2")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=9)
    return ax


def plot_search_results(results: list[dict], key: str = "learning_rate", ax=None):
    """Score of each trial against ``log10`` of one hyperparameter, best trial marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    x = np.log10([r["params"][key] for r in results])
    s = np.array([r["score"] for r in results])
    ax.scatter(x, s, color="tab:blue", label="trial")
    i = int(np.argmax(s))
    ax.scatter(x[i], s[i], marker="*", s=250, color="crimson", zorder=3,
               label=f"best: {key} = {10 ** x[i]:.3g}, score {s[i]:.3f}")
    ax.set_xlabel(f"log10({key})")
    ax.set_ylabel("validation accuracy")
    ax.legend(loc="lower right")
    return ax
