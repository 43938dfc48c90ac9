"""Search spaces: each hyperparameter with the scale it is sampled on (notebook 02).

A space is a dict ``{name: distribution}``, e.g. ``{"learning_rate": LogUniform(1e-4, 1),
"beta": EmaBeta(0.9, 0.999), "hidden_units": IntUniform(50, 100)}``. Each distribution draws
through the samplers of ``search.scales``. ``sample_space`` draws settings from a space and
``refine_space`` shrinks it around the best trials (coarse to fine) with a given rule: the
learner's ``shrink_box`` (exercise 1.3), or ``zoom_on_best``, the lecture's "zoom in to a
smaller region" around the best trial, which the capstone of notebook 06 uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..core.stand_ins import gives_away
from ..core.validate import as_callable, as_float_array, as_int, as_rng
from . import scales
from .boxes import as_box, checked_box


@dataclass(frozen=True)
class Distribution:
    """A hyperparameter's range ``[low, high]`` and the scale it is sampled on.

    The base of the five distributions below, which differ only in ``scale``: each draws
    through the sampler of ``search.scales`` for its scale (notebook 02), so a search space
    reads like ``{"learning_rate": LogUniform(1e-4, 1), "beta": EmaBeta(0.9, 0.999),
    "hidden_units": IntUniform(50, 100)}``.
    """

    low: float
    high: float
    scale: ClassVar[str] = ""

    def __post_init__(self):
        if self.scale.startswith("int-"):
            scales.as_int_range(self.low, self.high,
                                   positive=self.scale == "int-log-uniform")
        else:
            scales.as_range(self.low, self.high, self.scale)

    @gives_away("2.1", "2.2")
    def sample(self, size: int, *, rng) -> np.ndarray:
        """``size`` draws from the range on the distribution's scale: shape ``(size,)``."""
        return _SAMPLERS[self.scale](self.low, self.high, size, rng=rng)


@dataclass(frozen=True)
class LogUniform(Distribution):
    """A hyperparameter sampled as ``10 ** r``, ``r`` uniform on ``[log10 low, log10 high]``."""

    scale: ClassVar[str] = "log-uniform"


@dataclass(frozen=True)
class Uniform(Distribution):
    """A hyperparameter sampled uniformly on ``[low, high]``."""

    scale: ClassVar[str] = "uniform"


@dataclass(frozen=True)
class EmaBeta(Distribution):
    """An EMA weight such as momentum's ``beta``: ``beta = 1 - 10 ** r``, ``r`` uniform on
    ``[log10(1 - high), log10(1 - low)]`` (log-uniform on the ``1 - beta`` scale)."""

    scale: ClassVar[str] = "ema"


@dataclass(frozen=True)
class IntUniform(Distribution):
    """An integer hyperparameter sampled uniformly from ``low, low + 1, ..., high``."""

    scale: ClassVar[str] = "int-uniform"


@dataclass(frozen=True)
class IntLogUniform(Distribution):
    """An integer hyperparameter in ``low..high`` (``low >= 1``) spread evenly on a log scale
    (see ``scales.sample_int_log_uniform``)."""

    scale: ClassVar[str] = "int-log-uniform"


_SAMPLERS = {"uniform": scales.sample_uniform, "log-uniform": scales.sample_log_uniform,
             "ema": scales.sample_ema_beta, "int-uniform": scales.sample_int_uniform,
             "int-log-uniform": scales.sample_int_log_uniform}


# How each distribution maps its values to the axis on which it samples uniformly, and back.
_AXES = {
    Uniform: (lambda x: x, lambda u: u),
    IntUniform: (lambda x: x, lambda u: u),
    LogUniform: (np.log10, lambda u: 10.0 ** u),
    IntLogUniform: (np.log10, lambda u: 10.0 ** u),
    EmaBeta: (lambda b: np.log10(1.0 - b), lambda u: 1.0 - 10.0 ** u),
}


# the fraction of each range that ``zoom_on_best`` keeps
ZOOM = 1 / 3


def zoom_on_best(points, scores, low, high) -> tuple[np.ndarray, np.ndarray]:
    """The lecture's coarse-to-fine step, in its simplest form: on every axis, a range a
    third (``ZOOM``) as wide as the old one, centred on the best trial and moved inside the
    old box where it would stick out. ``points`` is ``(n_trials, d)``, ``scores``
    ``(n_trials,)`` (higher is better), ``low`` and ``high`` ``(d,)``; returns
    ``(new_low, new_high)``.
    """
    low, high = as_box(low, high)
    points = as_float_array("points", points, ndim=2)
    scores = as_float_array("scores", scores, ndim=1)
    if points.shape[1] != low.size or scores.shape != points.shape[:1]:
        raise ValueError(f"points must be (n_trials, {low.size}) and scores (n_trials,), got "
                         f"{points.shape} and {scores.shape}")
    best = points[int(np.argmax(scores))]
    half = ZOOM * (high - low) / 2
    centre = np.clip(best, low + half, high - half)
    return centre - half, centre + half


def refine_space(space: dict, results: list[dict], *, shrink, **shrink_args) -> dict:
    """Coarse to fine on a search space: each range shrunk around the best trials.

    ``results`` is what ``random_search`` returned (``{"params", "score"}`` per trial).
    ``shrink(points, scores, low, high, **shrink_args)`` draws the new box, on the axes the
    distributions sample uniformly: ``log10(x)`` for ``LogUniform``, ``log10(1 - beta)``
    for ``EmaBeta``, ``x`` for ``Uniform`` (so ``shrink`` sees no log scale), e.g. the
    learner's ``shrink_box`` with ``n_best=5`` or ``zoom_on_best``; integer ranges are
    rounded outwards. Returns a new space of the same distributions.
    """
    as_callable("shrink", shrink, "a function (points, scores, low, high) -> (low, high)")
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
    if "n_best" in shrink_args:
        shrink_args["n_best"] = min(as_int("n_best", shrink_args["n_best"], low=1),
                                    len(results))
    to_u = [_AXES[type(space[k])][0] for k in names]
    u_pts = np.column_stack([f(values[:, j]) for j, f in enumerate(to_u)])
    u_ends = np.array([sorted((f(space[k].low), f(space[k].high)))
                       for f, k in zip(to_u, names)])
    u_low, u_high = u_ends[:, 0], u_ends[:, 1]
    new_low, new_high = checked_box(shrink(u_pts, scores, u_low, u_high, **shrink_args),
                                    u_low, u_high)
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


@gives_away("2.1", "2.2")
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
