"""Search in a box: grid and random designs, the chance of a hit, coarse to fine.

A search box is a pair ``low, high`` of shape ``(d,)`` (one entry per hyperparameter) and
a set of trials is an array ``points`` of shape ``(n_trials, d)``, one trial per row (a
trial is a record, not a data example, so rows are used here). Scores are higher-is-better
and have shape ``(n_trials,)``; an ``objective`` maps points ``(n, d)`` to scores ``(n,)``.
Introduced in notebook 01.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.stand_ins import stand_in
from ..core.validate import as_callable, as_float_array, as_int, as_real, as_rng

# ---------------------------------------------------------------------------- boxes

def checked_log_scale(log_scale, d: int) -> np.ndarray:
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


def checked_box(box, low, high) -> tuple[np.ndarray, np.ndarray]:
    """What a ``shrink`` function returned, checked: a pair ``(new_low, new_high)`` of
    ``(d,)`` arrays inside the old box ``low, high`` with ``new_low <= new_high``."""
    if not (isinstance(box, tuple | list) and len(box) == 2):
        raise TypeError(f"shrink must return a pair (new_low, new_high), got "
                        f"{type(box).__name__}")
    new_low, new_high = (as_float_array(name, v, ndim=1) for name, v in
                         zip(("shrink's new_low", "shrink's new_high"), box))
    if new_low.shape != low.shape or new_high.shape != low.shape:
        raise ValueError(f"shrink must return two arrays of shape {low.shape}, got "
                         f"{new_low.shape} and {new_high.shape}")
    slack = 1e-9 * np.maximum(np.abs(high - low), 1e-300)
    if np.any(new_low > new_high) or np.any(new_low < low - slack) \
            or np.any(new_high > high + slack):
        raise ValueError("shrink must return a box inside the old one with new_low <= "
                         f"new_high, got low {new_low} and high {new_high} for the box "
                         f"{low} to {high}")
    return np.clip(new_low, low, high), np.clip(new_high, low, high)


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


@stand_in("1.1")
def random_search_points(n_trials: int, low, high, *, rng: np.random.Generator) -> np.ndarray:
    """``n_trials`` points drawn uniformly in the box: shape ``(n_trials, d)``.

    The lecture's random search: stand-in for exercise 1.1.
    """
    n_trials = as_int("n_trials", n_trials, low=0)
    low, high = as_box(low, high)
    rng = as_rng(rng)
    return low + (high - low) * rng.random((n_trials, low.size))


@stand_in("1.3", whose="no zoom: every round searches the whole box")
def keep_box(points, scores, low, high, *, n_best: int, log_scale=None,
             pad: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in for exercise 1.3 until the learner's ``shrink_box`` passes: the old box
    ``(low, high)``, each ``(d,)``, whatever the trials scored, so ``coarse_to_fine`` with
    it is plain random search (the exercise's answer is not in lessonlib). Takes the
    arguments of ``shrink_box``: ``points`` ``(n_trials, d)``, ``scores`` ``(n_trials,)``."""
    low, high = as_box(low, high)
    return low.copy(), high.copy()


def top_fraction_threshold(objective, fraction: float, low, high, *,
                           n_reference: int = 200_000, rng: np.random.Generator) -> float:
    """Score above which lies the best ``fraction`` of the box (a Monte-Carlo quantile)."""
    as_callable("objective", objective, "a function of points (n, d) returning (n,)")
    fraction = as_real("fraction", fraction, low=0, high=1, low_inclusive=False,
                       high_inclusive=False)
    n_reference = as_int("n_reference", n_reference, low=1)
    ref = _objective_scores(objective, random_search_points(n_reference, low, high, rng=rng))
    return float(np.quantile(ref, 1 - fraction))


def _points_of(sampler, n_trials, low, high, rng) -> np.ndarray:
    """``sampler(n_trials, low, high, rng=rng)`` (exercise 1.1's signature), checked: an
    array ``(n_trials, d)`` of finite points inside the box."""
    pts = as_float_array("sampler's points", sampler(n_trials, low, high, rng=rng), ndim=2)
    if pts.shape != (n_trials, low.size):
        raise ValueError(f"sampler must return points of shape ({n_trials}, {low.size}), got "
                         f"{pts.shape}")
    return pts


def hit_rate(objective, threshold: float, n_trials: int, n_repeats: int, low, high, *,
             sampler=None, rng: np.random.Generator) -> tuple[float, float]:
    """Monte-Carlo chance that a random search of ``n_trials`` finds a score above
    ``threshold``: ``(estimate, standard_error)`` over ``n_repeats`` searches. ``sampler``
    draws the trials, with the signature of exercise 1.1's ``random_search_points`` (the
    learner's, once it passes; default: lessonlib's)."""
    as_callable("objective", objective, "a function of points (n, d) returning (n,)")
    sampler = random_search_points if sampler is None else as_callable(
        "sampler", sampler, "a function (n_trials, low, high, *, rng) -> (n_trials, d)")
    threshold = as_real("threshold", threshold)
    n_trials = as_int("n_trials", n_trials, low=1)
    n_repeats = as_int("n_repeats", n_repeats, low=2)
    low, high = as_box(low, high)
    pts = _points_of(sampler, n_trials * n_repeats, low, high, as_rng(rng))
    hits = (_objective_scores(objective, pts) > threshold).reshape(n_repeats, n_trials).any(axis=1)
    p = float(hits.mean())
    return p, math.sqrt(max(p * (1 - p), 1e-12) / n_repeats)


def coarse_to_fine(objective, low, high, *, shrink, n_rounds: int, n_per_round: int,
                   n_best: int, log_scale=None, pad: float = 0.1, sampler=None,
                   rng: np.random.Generator) -> dict:
    """Random search in rounds, each in the box ``shrink`` draws around the best so far.

    ``objective`` maps ``(n, d)`` points to ``(n,)`` scores; ``shrink`` has the signature of
    exercise 1.3's ``shrink_box`` (the learner's, or the stand-in ``keep_box``) and is
    called with every trial so far, the current box, ``n_best``, ``log_scale`` and ``pad``;
    ``sampler`` draws each round's trials in the box (on log axes, in ``log10`` of the box),
    with the signature of exercise 1.1's ``random_search_points`` (default: lessonlib's).
    Returns ``{"points": (N, d), "scores": (N,), "boxes": [(low, high), ...],
    "best_point": (d,), "best_score": float}`` with ``N = n_rounds * n_per_round``.
    ``n_rounds = 1`` is plain random search.
    """
    as_callable("objective", objective, "a function of points (n, d) returning (n,)")
    as_callable("shrink", shrink, "a function with the arguments of shrink_box")
    sampler = random_search_points if sampler is None else as_callable(
        "sampler", sampler, "a function (n_trials, low, high, *, rng) -> (n_trials, d)")
    n_rounds = as_int("n_rounds", n_rounds, low=1)
    n_per_round = as_int("n_per_round", n_per_round, low=1)
    n_best = as_int("n_best", n_best, low=1)
    pad = as_real("pad", pad, low=0)
    low, high = as_box(low, high)
    log_scale = checked_log_scale(log_scale, low.size)
    rng = as_rng(rng)
    boxes, all_pts, all_scores = [], [], []
    for _ in range(n_rounds):
        boxes.append((low, high))
        u_low = np.where(log_scale, np.log10(np.where(log_scale, low, 1.0)), low)
        u_high = np.where(log_scale, np.log10(np.where(log_scale, high, 1.0)), high)
        u = _points_of(sampler, n_per_round, u_low, u_high, rng)
        pts = np.where(log_scale, 10.0 ** u, u)
        all_pts.append(pts)
        all_scores.append(_objective_scores(objective, pts).astype(float))
        seen_pts, seen_scores = np.concatenate(all_pts), np.concatenate(all_scores)
        k = min(n_best, seen_pts.shape[0])
        low, high = checked_box(shrink(seen_pts, seen_scores, low, high, n_best=k,
                                       log_scale=log_scale, pad=pad), low, high)
        # keep a box of positive width even when the best trials coincide on an axis
        tiny = np.maximum(np.abs(high), 1.0) * 1e-9
        high = np.where(high - low > tiny, high, low + tiny)
    points, scores = np.concatenate(all_pts), np.concatenate(all_scores)
    i = int(np.argmax(scores))
    return {"points": points, "scores": scores, "boxes": boxes,
            "best_point": points[i], "best_score": float(scores[i])}
