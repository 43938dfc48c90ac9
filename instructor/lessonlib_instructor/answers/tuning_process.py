"""Notebook 01's answers: exercises 1.2 (``chance_at_least_one``) and 1.3 (``shrink_box``).

A search box is ``low, high`` of shape ``(d,)``, trials are ``points`` ``(n_trials, d)``
with higher-is-better ``scores`` ``(n_trials,)``, as in ``lessonlib.search.boxes``.
"""

from __future__ import annotations

import numpy as np

from lessonlib.core.validate import as_float_array, as_int, as_real
from lessonlib.search.boxes import as_box, checked_log_scale


def chance_at_least_one(fraction: float, n_trials: int) -> float:
    """Chance that at least one of ``n_trials`` independent uniform trials lands in a region
    holding ``fraction`` of the box: ``1 - (1 - fraction) ** n_trials``. Exercise 1.2."""
    fraction = as_real("fraction", fraction, low=0, high=1)
    n_trials = as_int("n_trials", n_trials, low=0)
    return 1.0 - (1.0 - fraction) ** n_trials


def shrink_box(points, scores, low, high, *, n_best: int, log_scale=None,
               pad: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The smaller box around the ``n_best`` highest-scoring trials. Exercise 1.3.

    On each axis, in ``log10(x)`` where ``log_scale`` (``(d,)`` booleans, None: none) is
    set and in ``x`` elsewhere: the best trials' smallest to largest coordinate, widened on
    each side by ``pad`` times the old box's width, clipped to the old box. Returns
    ``(new_low, new_high)``, each ``(d,)``, in the original units.
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
    log_scale = checked_log_scale(log_scale, d)
    if np.any(log_scale & (low <= 0)):
        raise ValueError("low must be > 0 on every log-scaled axis")

    def to_u(x):
        return np.where(log_scale, np.log10(np.where(log_scale, x, 1.0)), x)

    best = points[np.argsort(-scores, kind="stable")[:n_best]]
    u_low, u_high, u_best = to_u(low), to_u(high), to_u(best)
    width = u_high - u_low
    new_low = np.maximum(u_best.min(axis=0) - pad * width, u_low)
    new_high = np.minimum(u_best.max(axis=0) + pad * width, u_high)
    return (np.where(log_scale, 10.0 ** new_low, new_low),
            np.where(log_scale, 10.0 ** new_high, new_high))
