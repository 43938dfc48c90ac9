"""The tuning process: grid versus random search, coarse to fine, parallel trials.

A search box is a pair ``low, high`` of shape ``(d,)`` (one entry per hyperparameter) and
a set of trials is an array ``points`` of shape ``(n_trials, d)``, one trial per row (a
trial is a record, not a data example, so rows are used here). Scores are higher-is-better
and have shape ``(n_trials,)``. Introduced in notebook 01.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import scales
from ._progress import ProgressBar
from ._validate import as_float_array, as_int, as_real, as_rng
from .data import _shared_digits as _digits

# The lecture's ranking of hyperparameters by how much they usually matter.
HYPERPARAMETER_TIERS = {
    1: ("learning rate alpha",),
    2: ("momentum term beta", "number of hidden units", "mini-batch size"),
    3: ("number of layers", "learning-rate decay"),
}
# Adam's beta1 = 0.9, beta2 = 0.999 and epsilon = 1e-8 are usually left at these defaults.
ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


# ---------------------------------------------------------------------------- boxes

def _check_callable(name: str, fn, what: str):
    if not callable(fn):
        raise TypeError(f"{name} must be {what}, got {type(fn).__name__} {fn!r}")
    return fn


def _check_log_scale(log_scale, d: int) -> np.ndarray:
    """``log_scale`` as ``(d,)`` booleans (None: all False), or a clear error naming it."""
    if log_scale is None:
        return np.zeros(d, bool)
    arr = np.asarray(log_scale)
    if arr.dtype.kind not in "bi":
        raise TypeError(f"log_scale must hold True or False per axis, got dtype {arr.dtype}")
    if arr.shape != (d,):
        raise ValueError(f"log_scale must have shape ({d},), got {arr.shape}")
    return arr.astype(bool)


def _objective_scores(objective, pts) -> np.ndarray:
    """``objective(pts)`` checked: one finite score per point, ``(n,)``."""
    scores = np.asarray(objective(pts))
    if scores.shape != (len(pts),):
        raise ValueError(f"objective must return one score per point, shape ({len(pts)},), "
                         f"got shape {scores.shape}")
    return as_float_array("objective's scores", scores)

def as_box(low, high) -> tuple[np.ndarray, np.ndarray]:
    """Validate a search box: ``low`` and ``high`` of shape ``(d,)`` with ``low < high``."""
    low = np.atleast_1d(as_float_array("low", low)).astype(np.float64)
    high = np.atleast_1d(as_float_array("high", high)).astype(np.float64)
    if low.ndim != 1 or high.shape != low.shape:
        raise ValueError(f"low and high must have the same shape (d,), got {low.shape} and "
                         f"{high.shape}")
    if np.any(low >= high):
        i = int(np.argmax(low >= high))
        raise ValueError(f"low must be < high in every dimension, got low[{i}] = {low[i]:g} "
                         f"and high[{i}] = {high[i]:g}")
    return low, high


def grid_points(n_per_axis: int, low, high) -> np.ndarray:
    """A full grid with ``n_per_axis`` values per axis at the centres of equal cells.

    Returns ``(n_per_axis ** d, d)``: with 9 trials in 2-D, a 3x3 grid tries 3 values per axis.
    """
    n_per_axis = as_int("n_per_axis", n_per_axis, low=1)
    low, high = as_box(low, high)
    axes = [lo + (np.arange(n_per_axis) + 0.5) / n_per_axis * (hi - lo)
            for lo, hi in zip(low, high)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([g.ravel() for g in mesh], axis=1)


def random_search_points(n_trials: int, low, high, *, rng: np.random.Generator) -> np.ndarray:
    """``n_trials`` points drawn uniformly in the box: shape ``(n_trials, d)``.

    Reference solution of exercise 1.1.
    """
    n_trials = as_int("n_trials", n_trials, low=0)
    low, high = as_box(low, high)
    rng = as_rng(rng)
    return low + (high - low) * rng.random((n_trials, low.size))


def chance_at_least_one(fraction: float, n_trials: int) -> float:
    """Chance that at least one of ``n_trials`` independent uniform trials lands in a region
    holding ``fraction`` of the box: ``1 - (1 - fraction) ** n_trials``.

    Reference solution of exercise 1.2.
    """
    fraction = as_real("fraction", fraction, low=0, high=1)
    n_trials = as_int("n_trials", n_trials, low=0)
    return 1.0 - (1.0 - fraction) ** n_trials


def trials_needed(fraction: float, chance: float) -> int:
    """Smallest ``n`` with ``chance_at_least_one(fraction, n) >= chance``."""
    fraction = as_real("fraction", fraction, low=0, high=1, low_inclusive=False)
    chance = as_real("chance", chance, low=0, high=1, high_inclusive=False)
    if fraction == 1:
        return 1 if chance > 0 else 0
    return max(0, math.ceil(math.log1p(-chance) / math.log1p(-fraction) - 1e-12))


def shrink_box(points, scores, low, high, *, n_best: int, log_scale=None,
               pad: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Coarse to fine: the smaller box around the ``n_best`` highest-scoring trials.

    ``points`` is ``(n_trials, d)``, ``scores`` is ``(n_trials,)`` (higher is better),
    ``low`` and ``high`` are ``(d,)``, ``log_scale`` is ``(d,)`` booleans (None: all False).
    On each axis, working with ``log10(x)`` where ``log_scale`` is set and ``x`` elsewhere:
    the new box spans the best trials' smallest to largest coordinate, widened on each side
    by ``pad`` times the old box's width, then clipped to the old box. Returns
    ``(new_low, new_high)`` in the original units. Reference solution of exercise 1.3.
    """
    low, high = as_box(low, high)
    d = low.size
    points = as_float_array("points", points, ndim=2)
    if points.shape[1] != d:
        raise ValueError(f"points must have shape (n_trials, {d}), got {points.shape}")
    scores = as_float_array("scores", scores, ndim=1)
    if scores.shape[0] != points.shape[0]:
        raise ValueError(f"scores must have shape ({points.shape[0]},), got {scores.shape}")
    n_best = as_int("n_best", n_best, low=1, high=points.shape[0])
    pad = as_real("pad", pad, low=0)
    log_scale = _check_log_scale(log_scale, d)
    if np.any(log_scale & (low <= 0)):
        raise ValueError("low must be > 0 on every log-scaled axis")

    def to_u(x):
        return np.where(log_scale, np.log10(np.where(log_scale, x, 1.0)), x)

    best = points[np.argsort(-scores, kind="stable")[:n_best]]
    u_low, u_high, u_best = to_u(low), to_u(high), to_u(best)
    width = u_high - u_low
    new_low = np.maximum(u_best.min(axis=0) - pad * width, u_low)
    new_high = np.minimum(u_best.max(axis=0) + pad * width, u_high)

    def from_u(u):
        return np.where(log_scale, 10.0 ** u, u)

    return from_u(new_low), from_u(new_high)


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


def top_fraction_threshold(objective, fraction: float, low, high, *,
                           n_reference: int = 200_000, rng: np.random.Generator) -> float:
    """Score above which lies the best ``fraction`` of the box (a Monte-Carlo quantile)."""
    _check_callable("objective", objective, "a function of points (n, d) returning (n,)")
    fraction = as_real("fraction", fraction, low=0, high=1, low_inclusive=False,
                       high_inclusive=False)
    n_reference = as_int("n_reference", n_reference, low=1)
    ref = _objective_scores(objective, random_search_points(n_reference, low, high, rng=rng))
    return float(np.quantile(ref, 1 - fraction))


def hit_rate(objective, threshold: float, n_trials: int, n_repeats: int, low, high, *,
             rng: np.random.Generator) -> tuple[float, float]:
    """Monte-Carlo chance that a random search of ``n_trials`` finds a score above
    ``threshold``: ``(estimate, standard_error)`` over ``n_repeats`` searches."""
    _check_callable("objective", objective, "a function of points (n, d) returning (n,)")
    threshold = as_real("threshold", threshold)
    n_trials = as_int("n_trials", n_trials, low=1)
    n_repeats = as_int("n_repeats", n_repeats, low=2)
    pts = random_search_points(n_trials * n_repeats, low, high, rng=rng)
    hits = (_objective_scores(objective, pts) > threshold).reshape(n_repeats, n_trials).any(axis=1)
    p = float(hits.mean())
    return p, math.sqrt(max(p * (1 - p), 1e-12) / n_repeats)


def coarse_to_fine(objective, low, high, *, n_rounds: int, n_per_round: int, n_best: int,
                   log_scale=None, pad: float = 0.1, rng: np.random.Generator) -> dict:
    """Random search in rounds, each in the box ``shrink_box`` draws around the last best.

    ``objective`` maps ``(n, d)`` points to ``(n,)`` scores. Returns ``{"points": (N, d),
    "scores": (N,), "boxes": [(low, high), ...], "best_point": (d,), "best_score": float}``
    with ``N = n_rounds * n_per_round``. ``n_rounds = 1`` is plain random search.
    """
    _check_callable("objective", objective, "a function of points (n, d) returning (n,)")
    n_rounds = as_int("n_rounds", n_rounds, low=1)
    n_per_round = as_int("n_per_round", n_per_round, low=1)
    n_best = as_int("n_best", n_best, low=1)
    pad = as_real("pad", pad, low=0)
    low, high = as_box(low, high)
    log_scale = _check_log_scale(log_scale, low.size)
    rng = as_rng(rng)
    boxes, all_pts, all_scores = [], [], []
    for _ in range(n_rounds):
        boxes.append((low, high))
        u_low = np.where(log_scale, np.log10(np.where(log_scale, low, 1.0)), low)
        u_high = np.where(log_scale, np.log10(np.where(log_scale, high, 1.0)), high)
        u = random_search_points(n_per_round, u_low, u_high, rng=rng)
        pts = np.where(log_scale, 10.0 ** u, u)
        all_pts.append(pts)
        all_scores.append(_objective_scores(objective, pts).astype(float))
        seen_pts, seen_scores = np.concatenate(all_pts), np.concatenate(all_scores)
        k = min(n_best, seen_pts.shape[0])
        low, high = shrink_box(seen_pts, seen_scores, low, high, n_best=k,
                               log_scale=log_scale, pad=pad)
        # keep a box of positive width even when the best trials coincide on an axis
        tiny = np.maximum(np.abs(high), 1.0) * 1e-9
        high = np.where(high - low > tiny, high, low + tiny)
    points, scores = np.concatenate(all_pts), np.concatenate(all_scores)
    i = int(np.argmax(scores))
    return {"points": points, "scores": scores, "boxes": boxes,
            "best_point": points[i], "best_score": float(scores[i])}


# ---------------------------------------------------------- parallel random search

# Each distribution says the scale its hyperparameter is searched on and draws through the
# samplers of lessonlib.scales (notebook 02), so a search space reads like
# {"learning_rate": LogUniform(1e-4, 1), "beta": EmaBeta(0.9, 0.999),
#  "hidden_units": IntUniform(50, 100)}.

@dataclass(frozen=True)
class LogUniform:
    """A hyperparameter sampled as ``10 ** r``, ``r`` uniform on ``[log10 low, log10 high]``."""

    low: float
    high: float
    scale: ClassVar[str] = "log-uniform"

    def __post_init__(self):
        scales.check_range(self.low, self.high, "log-uniform")

    def sample(self, size: int, *, rng) -> np.ndarray:
        return scales.sample_log_uniform(self.low, self.high, size, rng=rng)


@dataclass(frozen=True)
class Uniform:
    """A hyperparameter sampled uniformly on ``[low, high]``."""

    low: float
    high: float
    scale: ClassVar[str] = "uniform"

    def __post_init__(self):
        scales.check_range(self.low, self.high, "uniform")

    def sample(self, size: int, *, rng) -> np.ndarray:
        return scales.sample_uniform(self.low, self.high, size, rng=rng)


@dataclass(frozen=True)
class EmaBeta:
    """An EMA weight such as momentum's ``beta``: ``beta = 1 - 10 ** r``, ``r`` uniform on
    ``[log10(1 - high), log10(1 - low)]`` (log-uniform on the ``1 - beta`` scale)."""

    low: float
    high: float
    scale: ClassVar[str] = "ema"

    def __post_init__(self):
        scales.check_range(self.low, self.high, "ema")

    def sample(self, size: int, *, rng) -> np.ndarray:
        return scales.sample_ema_beta(self.low, self.high, size, rng=rng)


@dataclass(frozen=True)
class IntUniform:
    """An integer hyperparameter sampled uniformly from ``low, low + 1, ..., high``."""

    low: int
    high: int
    scale: ClassVar[str] = "int-uniform"

    def __post_init__(self):
        scales.check_int_range(self.low, self.high)

    def sample(self, size: int, *, rng) -> np.ndarray:
        return scales.sample_int_uniform(self.low, self.high, size, rng=rng)


@dataclass(frozen=True)
class IntLogUniform:
    """An integer hyperparameter in ``low..high`` (``low >= 1``) spread evenly on a log scale
    (see ``scales.sample_int_log_uniform``)."""

    low: int
    high: int
    scale: ClassVar[str] = "int-log-uniform"

    def __post_init__(self):
        scales.check_int_range(self.low, self.high, positive=True)

    def sample(self, size: int, *, rng) -> np.ndarray:
        return scales.sample_int_log_uniform(self.low, self.high, size, rng=rng)


# How each distribution maps its values to the axis on which it samples uniformly, and back.
_AXES = {
    Uniform: (lambda x: x, lambda u: u),
    IntUniform: (lambda x: x, lambda u: u),
    LogUniform: (np.log10, lambda u: 10.0 ** u),
    IntLogUniform: (np.log10, lambda u: 10.0 ** u),
    EmaBeta: (lambda b: np.log10(1.0 - b), lambda u: 1.0 - 10.0 ** u),
}


def refine_space(space: dict, results: list[dict], *, n_best: int, pad: float = 0.1) -> dict:
    """Coarse to fine on a search space: each range shrunk around the ``n_best`` best trials.

    ``results`` is what ``random_search`` returned (``{"params", "score"}`` per trial). Each
    hyperparameter is shrunk with ``shrink_box`` on the axis its distribution samples
    uniformly: ``log10(x)`` for ``LogUniform``, ``log10(1 - beta)`` for ``EmaBeta``, ``x``
    for ``Uniform``; integer ranges are rounded outwards. Returns a new space of the same
    distributions.
    """
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict of name -> distribution, got {space!r}")
    if not isinstance(results, list) or not results:
        raise ValueError("results must be the non-empty list random_search returned")
    names = list(space)
    for name in names:
        if type(space[name]) not in _AXES:
            raise TypeError(f"space[{name!r}] must be one of "
                            f"{', '.join(c.__name__ for c in _AXES)}, got {space[name]!r}")
    try:
        values = np.array([[r["params"][k] for k in names] for r in results], dtype=float)
        scores = np.array([r["score"] for r in results], dtype=float)
    except (KeyError, TypeError) as err:
        raise ValueError(f"results must hold params for {names} and a score ({err})") from err
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(scores))):
        raise ValueError("results must hold finite params and scores, got NaN or infinity")
    n_best = as_int("n_best", n_best, low=1)
    to_u = [_AXES[type(space[k])][0] for k in names]
    u_pts = np.column_stack([f(values[:, j]) for j, f in enumerate(to_u)])
    u_ends = np.array([sorted((f(space[k].low), f(space[k].high)))
                       for f, k in zip(to_u, names)])
    new_low, new_high = shrink_box(u_pts, scores, u_ends[:, 0], u_ends[:, 1],
                                   n_best=min(n_best, len(results)), pad=pad)
    refined = {}
    for j, k in enumerate(names):
        cls, back = type(space[k]), _AXES[type(space[k])][1]
        lo, hi = sorted((float(back(new_low[j])), float(back(new_high[j]))))
        if cls in (IntUniform, IntLogUniform):
            lo, hi = int(np.floor(lo + 1e-9)), int(np.ceil(hi - 1e-9))
            lo, hi = max(lo, space[k].low), min(max(hi, lo), space[k].high)
        elif not hi > lo:                       # the best trials coincide on this axis
            lo, hi = space[k].low, space[k].high
        refined[k] = cls(lo, hi)
    return refined


def sample_space(space: dict, n_trials: int, *, rng: np.random.Generator) -> list[dict]:
    """``n_trials`` settings drawn from ``space`` (name -> ``Uniform``/``LogUniform``/
    ``EmaBeta``/``IntUniform``/...)."""
    if not isinstance(space, dict) or not space:
        raise TypeError(f"space must be a non-empty dict of name -> distribution, got {space!r}")
    n_trials = as_int("n_trials", n_trials, low=1)
    rng = as_rng(rng)
    columns = {}
    for name, dist in space.items():
        if not hasattr(dist, "sample"):
            raise TypeError(f"space[{name!r}] must have a sample(size, *, rng) method, "
                            f"got {dist!r}")
        columns[name] = dist.sample(n_trials, rng=rng)
    return [{name: col[i].item() for name, col in columns.items()} for i in range(n_trials)]


def _collect(results, bar) -> list:
    out = []
    for r in results:
        out.append(r)
        bar.update()
    return out


def _run_trial(job):
    trial_fn, params, seed = job
    return trial_fn(params, rng=np.random.default_rng(seed))


def random_search(trial_fn, space: dict, n_trials: int, *, rng: np.random.Generator,
                  n_jobs: int = 1, executor: Executor | None = None) -> list[dict]:
    """Random search: draw ``n_trials`` settings from ``space`` and score each in parallel.

    ``trial_fn(params, *, rng) -> float`` trains one model and returns its score (higher is
    better); it must be importable (defined in a module) to run in a process pool. Each
    trial gets its own seed spawned from ``rng`` before any trial runs, so the results are
    the same for any ``n_jobs`` and any ``executor`` (a ``concurrent.futures.Executor``,
    e.g. Dask's ``client.get_executor()``). ``n_jobs=-1`` uses every core. Returns one
    ``{"params": dict, "score": float, "seed": SeedSequence}`` per trial, in draw order.
    In JupyterLab a progress bar counts the finished trials (not in headless runs).
    """
    _check_callable("trial_fn", trial_fn, "a function (params, *, rng) -> score")
    rng = as_rng(rng)
    n_jobs = as_int("n_jobs", n_jobs, low=-1)
    if n_jobs == 0:
        raise ValueError("n_jobs must be >= 1 or -1 (every core), got 0")
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError("executor must be a concurrent.futures.Executor, "
                        f"got {type(executor).__name__}")
    settings = sample_space(space, n_trials, rng=rng)
    seeds = np.random.SeedSequence(int(rng.integers(2**63))).spawn(n_trials)
    jobs = [(trial_fn, params, seed) for params, seed in zip(settings, seeds)]
    with ProgressBar(n_trials, "trials") as bar:
        if executor is not None:
            scores = _collect(executor.map(_run_trial, jobs), bar)
        elif n_jobs == 1:
            scores = _collect(map(_run_trial, jobs), bar)
        else:
            workers = (os.cpu_count() or 1) if n_jobs == -1 else n_jobs
            with ProcessPoolExecutor(max_workers=min(workers, n_trials)) as pool:
                scores = _collect(pool.map(_run_trial, jobs), bar)
    return [{"params": p, "score": float(s), "seed": seed}
            for p, s, seed in zip(settings, scores, seeds)]


# ------------------------------------------------------ real trials on the digits

def digits_trial(params: dict, *, rng: np.random.Generator) -> float:
    """Train a one-hidden-layer ReLU network on the digits; return validation accuracy.

    ``params`` holds ``learning_rate`` and optionally ``hidden_units`` (default 32),
    ``epochs`` (default 10), ``batch_size`` (default 64) and ``beta`` (momentum, 0.9).
    """
    from .nn import Network, Optimizer, train_epochs
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
    d = _digits()
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
    from .nn import Network, Optimizer, train_epochs
    learning_rate = as_real("learning_rate", learning_rate, low=0, low_inclusive=False)
    budget_epochs = as_int("budget_epochs", budget_epochs, low=1)
    hidden_units = as_int("hidden_units", hidden_units, low=1)
    up = as_real("up", up, low=0, low_inclusive=False)
    down = as_real("down", down, low=0, low_inclusive=False)
    rng = as_rng(rng)
    d = _digits()
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

def search_coverage(n_trials: int, *, rng: np.random.Generator) -> dict:
    """Grid and random designs of (about) ``n_trials`` trials on the unit square.

    The grid is the largest ``k x k`` with ``k**2 <= n_trials``; the random design has
    exactly ``n_trials`` points. Returns ``{"grid": (k*k, 2), "random": (n_trials, 2),
    "grid_distinct": k, "random_distinct": int}``, the ``*_distinct`` entries counting the
    distinct values tried on the important axis (axis 0). The logic of notebook 01's widget.
    """
    n_trials = as_int("n_trials", n_trials, low=1)
    k = math.isqrt(n_trials)
    grid = grid_points(k, [0, 0], [1, 1])
    rand = random_search_points(n_trials, [0, 0], [1, 1], rng=rng)
    return {"grid": grid, "random": rand,
            "grid_distinct": int(np.unique(grid[:, 0]).size),
            "random_distinct": int(np.unique(rand[:, 0]).size)}


def plot_search_coverage(coverage: dict, objective=one_axis_objective, axes=None):
    """Two panels: the grid and the random trials over the objective's heat map, with the
    trials projected onto the important axis as ticks. Returns the pair of Axes."""
    import matplotlib.pyplot as plt
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


def coverage_widget(*, seed: int = 0, max_trials: int = 100):
    """A trial-budget slider that redraws ``plot_search_coverage`` (notebook 01)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    seed = as_int("seed", seed, low=0)
    max_trials = as_int("max_trials", max_trials, low=1)
    slider = widgets.IntSlider(value=min(9, max_trials), min=1, max=max_trials,
                               description="trials")
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
            plot_search_coverage(search_coverage(slider.value,
                                                 rng=np.random.default_rng(seed)), axes=axes)
            plt.show()

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, out])


def plot_search_results(results: list[dict], key: str = "learning_rate", ax=None):
    """Score of each trial against ``log10`` of one hyperparameter, best trial marked."""
    import matplotlib.pyplot as plt
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
