"""Checks for notebook 01, the tuning process (exercises 1.1 to 1.3, questions 1.1 to 1.3).

Why these weights (``framework.weighted``; the points follow what the notebook stresses):

- 1.1 ``random_search_points``, a design task (the notebook states what random search
  needs of its trials, not how to draw them): random trials try a new value of every
  hyperparameter in every trial, where a grid repeats a few (section 2's whole argument):
  distinct values weigh 8 of 17, so a grid keeps 0.82/2. Staying in the box, the uniform
  spread, independent axes and the ``rng`` rule weigh 2 each; the shape 1 (a transposed
  array fails everything else).
- 1.2 ``chance_at_least_one``: the formula on the notebook's cases and on random ones weighs
  2 each; "is a probability" only 1, as the capped sum ``min(1, n p)`` passes it.
- 1.3 ``shrink_box``: the log axis is what section 3 stresses (3 of 7), the best trials with
  their padding 2, the clipping and the random cases 1 each.
"""

from __future__ import annotations

import numpy as np

from ..exercises import EXERCISES
from ..framework import (
    case_rng,
    fmt_array,
    make_check,
    make_question,
    require,
    require_array,
    shown,
    weighted,
)
from ..mistakes import named

# ------------------------------------------------------- 1.1 random_search_points


def _points(ck, n, low, high, seed=0):
    out = ck.call(n, np.array(low, float), np.array(high, float),
                  rng=case_rng(seed))
    arr = require_array(out, "points")
    require(arr.shape == (n, len(low)), f"returned points of shape {arr.shape} for {n} "
            f"trials of {len(low)} hyperparameters, expected {(n, len(low))}",
            "one trial per row: shape (n_trials, d)")
    return arr


@weighted(1)  # a slip: a transposed array fails every other sub-check too
def _rsp_shape(ck):
    out = ck.call(5, np.array([0.0, 10.0, -3.0]), np.array([1.0, 100.0, 3.0]),
                  rng=case_rng(0))
    arr = require_array(out, "points")
    require(arr.shape != (3, 5), "returned shape (3, 5) for 5 trials of 3 hyperparameters, "
            "expected (5, 3)", "one trial per row: shape (n_trials, d)")
    require(arr.shape == (5, 3), f"returned shape {arr.shape} for 5 trials of 3 "
            "hyperparameters, expected (5, 3)", "one trial per row: shape (n_trials, d)")


@weighted(2)
def _rsp_bounds(ck):
    low, high = [0.5, 10.0], [0.75, 100.0]
    pts = _points(ck, 2000, low, high)
    for j in range(2):
        lo, hi = pts[:, j].min(), pts[:, j].max()
        require(lo >= low[j] and hi <= high[j],
                f"on axis {j} with box [{low[j]:g}, {high[j]:g}] the draws span "
                f"[{lo:.4g}, {hi:.4g}]",
                "each axis has its own range, from its low to its high: the draws must fill "
                "that range and stay inside it")


@weighted(2)
def _rsp_uniform(ck):
    low, high = np.array([-1.0, 10.0]), np.array([1.0, 20.0])
    pts = _points(ck, 20000, low, high, seed=1)
    for j in range(2):
        u = (pts[:, j] - low[j]) / (high[j] - low[j])
        quarters = np.histogram(u, bins=4, range=(0, 1))[0] / len(u)
        require(np.all(np.abs(quarters - 0.25) < 0.02),
                f"on axis {j} the four quarters of the range hold fractions "
                f"{fmt_array(quarters, 3)} of 20000 draws, expected about 0.25 each",
                "draw uniformly on the linear scale of the box")


@weighted(8)  # the notebook's point: random trials, not a grid
def _rsp_distinct(ck):
    pts = _points(ck, 16, [0.0, 0.0], [1.0, 1.0], seed=2)
    counts = [np.unique(pts[:, j]).size for j in range(2)]
    require(min(counts) == 16, f"16 trials tried only {counts[0]} and {counts[1]} distinct "
            "values on the two axes",
            "random search draws a new value of every hyperparameter for every trial; a grid "
            "repeats them")


@weighted(2)
def _rsp_independent(ck):
    pts = _points(ck, 20000, [0.0, 0.0], [1.0, 1.0], seed=3)
    corr = float(np.corrcoef(pts[:, 0], pts[:, 1])[0, 1])
    require(abs(corr) < 0.05, f"the two axes are correlated (correlation {corr:.3f})",
            "draw an independent number for each hyperparameter: shape (n_trials, d)")


@weighted(2)
def _rsp_rng(ck):
    args = (200, np.array([0.0]), np.array([1.0]))
    rng = case_rng(42)
    before = rng.bit_generator.state
    a = require_array(ck.call(*args, rng=rng), "points")
    require(rng.bit_generator.state != before, "did not draw from the rng it was given",
            "use rng.random or rng.uniform, not np.random")
    b = require_array(ck.call(*args, rng=case_rng(42)), "points")
    c = require_array(ck.call(*args, rng=case_rng(43)), "points")
    require(np.array_equal(a, b), "the same seed gave different draws",
            "draw only from the rng argument")
    require(not np.array_equal(a, c), "different seeds gave the same draws",
            "draw from the rng argument")


check_random_search_points = make_check(
    EXERCISES["1.1"],
    [_rsp_shape, _rsp_bounds, _rsp_uniform, _rsp_distinct, _rsp_independent, _rsp_rng])

# -------------------------------------------------------- 1.2 chance_at_least_one

_CHANCE_CASES = [(0.05, 1), (0.05, 9), (0.05, 20), (0.05, 60), (0.0, 5), (1.0, 3),
                 (0.5, 0), (0.2, 2)]


def _chance_hint(f, n, got, want):
    """The hint for ``got`` against the reference's chance ``want`` on ``(f, n)``."""
    if np.isclose(got, n * f):
        return named("chance-added",
                     "adding the chances counts overlapping hits twice; use the chance of no hit")
    if np.isclose(got, 1 - want):
        return named("chance-of-no-hit",
                     "that is the chance that no trial lands in the region; take 1 minus it")
    if np.isclose(got, f ** n):
        return named("chance-all-hit", "that is the chance that every trial lands in the region")
    return ("work with the opposite event, that every one of the n independent trials "
            "misses the region")


def _chance_value(ck, f, n):
    got = ck.call(f, n)
    try:
        return float(got)
    except (TypeError, ValueError):
        require(False, f"returned {type(got).__name__} for fraction={f:g}, n_trials={n}, "
                "expected a number")


def _fresh_chances(rng):
    """Cases like the shown ones: a fraction near each shown one (0 and 1 kept), n near."""
    return [(f if f in (0.0, 1.0) else float(np.clip(f * rng.uniform(0.7, 1.3), 0.01, 0.99)),
             n if n == 0 else int(n + rng.integers(1, 4))) for f, n in _CHANCE_CASES]


@weighted(2)
def _chance_fixed(ck):
    for f, n in shown(12, _CHANCE_CASES, _fresh_chances):
        want = ck.ref.chance_at_least_one(f, n)
        got = _chance_value(ck, f, n)
        require(np.isclose(got, want, rtol=1e-9, atol=1e-12),
                f"for fraction={f:g}, n_trials={n} expected {want:.6f}, got {got:.6g}",
                _chance_hint(f, n, got, want))


@weighted(2)
def _chance_random(ck):
    rng = case_rng(11)
    for f, n in zip(rng.uniform(0, 1, 30), rng.integers(1, 200, 30)):
        want = ck.ref.chance_at_least_one(f, int(n))
        got = _chance_value(ck, float(f), int(n))
        require(np.isclose(got, want, rtol=1e-9, atol=1e-12),
                f"for fraction={f:.4f}, n_trials={n} expected {want:.6f}, got {got:.6g}",
                _chance_hint(f, n, got, want))


@weighted(1)  # min(1, n p) passes it
def _chance_is_probability(ck):
    f, n = shown(13, (0.05, 100), lambda rng: (float(rng.uniform(0.03, 0.2)),
                                                 int(rng.integers(60, 200))))
    want = ck.ref.chance_at_least_one(f, n)
    got = _chance_value(ck, f, n)
    require(0.0 <= got <= 1.0, f"for fraction={f:g}, n_trials={n} returned {got:.4g}, "
            "which is not a probability", _chance_hint(f, n, got, want))


check_chance_at_least_one = make_check(
    EXERCISES["1.2"],
    [_chance_fixed, _chance_random, _chance_is_probability])

# ------------------------------------------------------------------ 1.3 shrink_box


def _box(ck, points, scores, low, high, n_best, log_scale, pad=0.1):
    out = ck.call(np.asarray(points, float), np.asarray(scores, float),
                  np.asarray(low, float), np.asarray(high, float), n_best=n_best,
                  log_scale=None if log_scale is None else np.asarray(log_scale, bool),
                  pad=pad)
    require(isinstance(out, tuple) and len(out) == 2,
            f"returned {type(out).__name__}, expected a pair (new_low, new_high)",
            "return new_low, new_high")
    d = len(low)
    return (require_array(out[0], "new_low", (d,)), require_array(out[1], "new_high", (d,)))


_WORST_HINT = "higher scores are better: keep the n_best largest"


def _shrink_case(ck, case, hint, *, points, scores, low, high, n_best, log_scale, pad=0.1):
    """Compare the learner's box with the reference's on one case; keeping the n_best
    lowest scores instead of the highest gets its own hint on every case."""
    args = dict(n_best=n_best, log_scale=log_scale, pad=pad)
    want = ck.ref.shrink_box(points, scores, low, high, **args)
    worst = ck.ref.shrink_box(points, -np.asarray(scores, float), low, high, **args)
    got = _box(ck, points, scores, low, high, n_best, log_scale, pad)
    if all(np.allclose(g, w, rtol=1e-9, atol=1e-12) for g, w in zip(got, want)):
        return
    if all(np.allclose(g, w) for g, w in zip(got, worst)):
        hint = _WORST_HINT
    require(False, f"{case}: expected low {fmt_array(want[0])} high {fmt_array(want[1])}, "
            f"got low {fmt_array(got[0])} high {fmt_array(got[1])}", hint)


_LINEAR_CASE = dict(points=[[0.1, 0.5], [0.4, 0.6], [0.9, 0.1], [0.35, 0.55]],
                    scores=[1.0, 3.0, 0.0, 2.0], low=[0.0, 0.0], high=[1.0, 1.0],
                    n_best=2, log_scale=None)


def _jittered(case, rng, *, log_axes=()):
    """``case`` with each trial moved a little (by a factor on a log axis): the same kind of
    case, answers the notebook never showed."""
    points = np.array(case["points"], dtype=float)
    for j in range(points.shape[1]):
        if j in log_axes:
            points[:, j] *= 10 ** rng.uniform(-0.1, 0.1, len(points))
        else:
            span = case["high"][j] - case["low"][j]
            points[:, j] += rng.uniform(-0.02, 0.02, len(points)) * span
    points = np.clip(points, case["low"], case["high"])
    return {**case, "points": points.tolist()}


@weighted(2)
def _shrink_linear(ck):
    _shrink_case(ck, "4 trials in the unit square, n_best=2",
                 "span the best trials' coordinates, widen by pad * (high - low), clip to "
                 "the box", **shown(14, _LINEAR_CASE, lambda rng: _jittered(_LINEAR_CASE, rng)))


_LOG_CASE = dict(points=[[1e-3, 10.0], [1e-2, 20.0], [1e-1, 30.0], [1.0, 40.0]],
                 scores=[0.2, 0.9, 0.8, 0.1], low=[1e-4, 1.0], high=[1.0, 100.0],
                 n_best=2, log_scale=[True, False])


@weighted(3)  # section 3: shrink in log10 on a log axis
def _shrink_log(ck):
    _shrink_case(ck, "learning rate on a log axis [1e-4, 1], hidden units linear",
                 "on a log-scaled axis take log10 of the coordinates and of the box, pad and "
                 "clip there, and return 10 ** the result",
                 **shown(15, _LOG_CASE, lambda rng: _jittered(_LOG_CASE, rng, log_axes=(0,))))


@weighted(1)
def _shrink_clip(ck):
    case = dict(points=[[0.02, 0.97], [0.5, 0.5]], scores=[1.0, 0.0], low=[0.0, 0.0],
                high=[1.0, 1.0], n_best=1, log_scale=None)
    _shrink_case(ck, "best trial near a corner", "clip the padded box to the old box",
                 **shown(16, case, lambda rng: _jittered(case, rng)))


@weighted(1)
def _shrink_random(ck):
    rng = case_rng(5)
    low, high = np.array([1e-5, 0.0, 0.8]), np.array([1.0, 5.0, 0.999])
    log_scale = np.array([True, False, False])
    for _ in range(10):
        pts = np.column_stack([10 ** rng.uniform(-5, 0, 30), rng.uniform(0, 5, 30),
                               rng.uniform(0.8, 0.999, 30)])
        scores = rng.standard_normal(30)
        n_best = int(rng.integers(1, 10))
        pad = float(rng.uniform(0, 0.3))
        _shrink_case(ck, f"30 random trials in 3-D, n_best={n_best}, pad={pad:.3f}",
                     "follow the docstring step by step on this case", points=pts,
                     scores=scores, low=low, high=high, n_best=n_best, log_scale=log_scale,
                     pad=pad)


check_shrink_box = make_check(
    EXERCISES["1.3"],
    [_shrink_linear, _shrink_log, _shrink_clip, _shrink_random])

# ------------------------------------------------------------------ the questions
# Each confirms only that the answer is well formed; the keys are the instructor side's.

# Q1.1: 60 trials on section 3's bowl, as 1 round or as 3 rounds of 20 zooming on the best
# 5: (a) one round has the lower mean regret, (b) three rounds, by less than a factor 2,
# (c) three rounds, by a factor 2 or more.
check_zoom_pays = make_question(EXERCISES["Q1.1"], choices="abc")

# Q1.2: the babysitter starts at 0.01 and multiplies its rate by 1.5 after each improving
# epoch: how many epochs does it train before its rate first reaches 0.2 (a whole number)?
check_panda_raises = make_question(EXERCISES["Q1.2"])

# Q1.3: the good values of hyperparameter 1 fill one tenth of its range, each tenth alike;
# the chance that a 4 x 4 grid (A) and 16 random trials (B) try at least one good value.
check_band_hit_chances = make_question(EXERCISES["Q1.3"], parts=2)
