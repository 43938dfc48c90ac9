"""Notebook 02, choosing the right scale: log-uniform learning rates, the ``1 - beta`` scale
of EMA weights.

The logic of the notebook's widget (``scale_summary``, which counts the samples per decade
with ``search.scales.decade_fractions``), its plots
(``plot_*``), the lecture notes' slip ``beta = 10**r + 1`` kept to show what it does, and
the learning-rate experiment on the digits (``learning_rate_curve``,
``compare_search_scales``). The samplers themselves are in ``lessonlib.search.scales``.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..core.bars import progress_bar
from ..core.data import shared_digits
from ..core.stand_ins import gives_away
from ..core.validate import as_callable, as_float_array, as_int, as_real, as_rng
from ..network import Network, train_epochs
from ..optim import OPTIMIZERS, Optimizer
from ..search.scales import SAMPLERS, SCALES, as_range, as_size, decade_fractions

# ------------------------------------------------------------------ the slip

def sample_ema_beta_slip(low, high, size=None, *, rng: np.random.Generator):
    """WRONG on purpose: the lecture notes' slip ``beta = 10**r + 1`` (every draw is > 1).

    Kept only so that notebook 02 can show what the slip does and that the check of
    exercise 2.2 catches it. Use ``sample_ema_beta``.
    """
    low, high = as_range(low, high, "ema")
    size, rng = as_size(size), as_rng(rng)
    return 10.0 ** rng.uniform(math.log10(1.0 - high), math.log10(1.0 - low), size) + 1.0


@gives_away("2.1", "2.2")
def show_recipes(*choices) -> None:
    """Print the lecture's sampling recipe of each exercise (2.1, 2.2) whose check passes.

    ``choices`` are what ``session.choose("2.1", ...)`` and ``session.choose("2.2", ...)``
    returned, in that order (anything with ``yours``, true once the learner's function
    passes): a recipe shows only after the learner has found it, and until then a line says
    so. The formulas are the lecture's, which lessonlib's samplers also carry; the grading
    sandbox has this body removed, like theirs.
    """
    recipes = {
        "2.1": ("the lecture's learning rate: r uniform on [log10(low), log10(high)], "
                "alpha = 10**r"),
        "2.2": ("the lecture's EMA weight: 1 - beta = 10**r with r uniform on "
                "[log10(1 - high), log10(1 - low)], so beta = 1 - 10**r; some notes write the "
                "last step as beta = 10**r + 1, which is always above 1"),
    }
    if len(choices) != len(recipes):
        raise ValueError(f"choices must be one per exercise ({', '.join(recipes)}), got "
                         f"{len(choices)}")
    for (exercise, recipe), choice in zip(recipes.items(), choices):
        if not hasattr(choice, "yours"):
            raise TypeError(f"choices must be what session.choose returned, got "
                            f"{type(choice).__name__}")
        print(recipe if choice.yours else
              f"(the lecture's recipe of exercise {exercise} shows here once your function "
              "passes its check)")


# ------------------------------------------------------------- widget's logic

def averaging_window(beta) -> np.ndarray | float:
    """The number of values an EMA with weight ``beta`` roughly averages: ``1 / (1 - beta)``."""
    if np.ndim(beta) == 0:
        return 1.0 / (1.0 - as_real("beta", beta, low=0, high=1, high_inclusive=False))
    beta = as_float_array("beta", beta)
    if np.any((beta < 0) | (beta >= 1)):
        raise ValueError("beta must lie in [0, 1)")
    return 1.0 / (1.0 - beta)


def log_uniform_fractions(edges) -> np.ndarray:
    """The share of each interval between ``edges`` (``(k + 1,)``, positive, increasing) that
    a log-uniform sampler gives: its width in ``log10``, over the total. Shape ``(k,)``."""
    edges = as_float_array("edges", edges, ndim=1)
    if edges.size < 2 or np.any(edges <= 0) or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be at least 2 positive, increasing numbers")
    widths = np.diff(np.log10(edges))
    return widths / widths.sum()


def _samplers(samplers) -> dict:
    """lessonlib's sampler of each scale, with the learner's ``samplers`` (a dict ``{scale:
    function}``, e.g. ``{"log-uniform": sample_log_uniform}``) in their place."""
    if samplers is None:
        return dict(SAMPLERS)
    if not isinstance(samplers, dict) or not set(samplers) <= set(SAMPLERS):
        raise ValueError(f"samplers must be a dict with keys among {SCALES}, got {samplers!r}")
    for scale, fn in samplers.items():
        as_callable(f"samplers[{scale!r}]", fn, "a function (low, high, size=None, *, rng)")
    return {**SAMPLERS, **samplers}


def scale_summary(low, high, scale: str, n_samples: int = 10_000, *, samplers=None,
                  rng: np.random.Generator) -> dict:
    """What notebook 02's widget shows for a range and a scale.

    ``scale`` is ``"uniform"``, ``"log-uniform"`` or ``"ema"`` (beta on the ``1 - beta``
    scale). Draws ``n_samples`` values and returns ``{"scale", "low", "high", "samples":
    (m,), "values": (m,), "value_label": str, "value_range": (lo, hi), "edges": (k + 1,) or
    None, "fractions": (k,) or None, "log_uniform": (k,) or None}``. ``values`` are the
    samples, or ``1 - beta`` on the EMA scale; the decades are those of ``values`` (None
    when the range of ``values`` includes 0 or less, which has no log axis). ``samplers``
    puts the learner's samplers in place of lessonlib's (``{"log-uniform": fn}``, ...).
    """
    if scale not in SAMPLERS:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    n_samples = as_int("n_samples", n_samples, low=1)
    as_range(low, high, scale)
    samples = np.asarray(_samplers(samplers)[scale](low, high, n_samples, rng=rng), float)
    low, high = float(low), float(high)
    if scale == "ema":
        values, label, v_range = 1.0 - samples, "1 - beta", (1.0 - high, 1.0 - low)
    else:
        values, label, v_range = samples, "value", (low, high)
    edges = fractions = expected = None
    if v_range[0] > 0:
        edges, fractions = decade_fractions(values, *v_range)
        expected = log_uniform_fractions(edges)
    return {"scale": scale, "low": low, "high": high, "samples": samples, "values": values,
            "value_label": label, "value_range": v_range, "edges": edges,
            "fractions": fractions, "log_uniform": expected}


def format_decades(edges, fractions) -> list[str]:
    """One line per decade, ``"[0.0001, 0.001)   25.1 %"``, for printing."""
    edges = as_float_array("edges", edges, ndim=1)
    fractions = as_float_array("fractions", fractions, ndim=1, allow_empty=True)
    if fractions.size != edges.size - 1:
        raise ValueError(f"fractions must have one entry per decade, {edges.size - 1} for "
                         f"{edges.size} edges, got {fractions.size}")
    return [f"[{a:.4g}, {b:.4g}){'':3}{100 * f:5.1f} %"
            for a, b, f in zip(edges[:-1], edges[1:], fractions, strict=True)]


# ------------------------------------------------------------------------ plots

def plot_samples(samples, *, log: bool = False, bins: int = 40, label: str | None = None,
                 color=None, ax=None):
    """Histogram of ``samples`` (any shape, positive when ``log``), as fractions per bin.

    On a log axis the bins are equal in ``log10``, so a log-uniform sample looks flat.
    Returns the Axes.
    """
    x = as_float_array("samples", samples).ravel()
    bins = as_int("bins", bins, low=1)
    if log and np.any(x <= 0):
        raise ValueError("samples must be > 0 for a log axis")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    if log:
        edges = np.geomspace(x.min(), x.max(), bins + 1)
        ax.set_xscale("log")
    else:
        edges = np.linspace(x.min(), x.max(), bins + 1)
    ax.hist(x, bins=edges, weights=np.full(x.size, 1.0 / x.size), color=color, alpha=0.6,
            label=label)
    ax.set_ylabel("fraction of samples per bin")
    return ax


def plot_scale_summary(summary: dict, axes=None):
    """Two panels for a ``scale_summary``: its values on a linear axis and on a log axis
    (with the decades marked and their fractions written on top). Returns the pair of Axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    label, v = summary["value_label"], summary["values"]
    for ax in axes:
        ax.clear()
    plot_samples(v, ax=axes[0], color="tab:blue")
    axes[0].set_xlabel(label + " (linear axis)")
    if summary["edges"] is None:
        axes[1].text(0.5, 0.5, "no log axis: the range includes 0", ha="center",
                     va="center", transform=axes[1].transAxes)
        axes[1].set_axis_off()
    else:
        plot_samples(v, log=True, ax=axes[1], color="tab:orange")
        axes[1].set_xlabel(label + " (log axis)")
        edges, fractions = summary["edges"], summary["fractions"]
        top = axes[1].get_ylim()[1]
        for e in edges:
            axes[1].axvline(e, color="grey", lw=0.8, ls=":")
        for a, b, f in zip(edges[:-1], edges[1:], fractions, strict=True):
            axes[1].text(math.sqrt(a * b), top * 0.95, f"{100 * f:.0f}%", ha="center",
                         va="top", fontsize=9)
    axes[0].set_title(f"{summary['scale']} on [{summary['low']:.4g}, {summary['high']:.4g}]")
    return axes


def plot_learning_rate_curve(learning_rates, scores, ax=None):
    """Validation accuracy ``scores`` (``(k,)``) against ``learning_rates`` (``(k,)``) on a
    log axis, the best marked. Returns the Axes."""
    lr = as_float_array("learning_rates", learning_rates, ndim=1)
    s = as_float_array("scores", scores, ndim=1)
    if s.shape != lr.shape:
        raise ValueError(f"scores must have shape {lr.shape} like learning_rates, got "
                         f"{s.shape}")
    if np.any(lr <= 0):
        raise ValueError("learning_rates must all be > 0 (a log axis)")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogx(lr, s, marker=".", color="tab:blue")
    i = int(np.argmax(s))
    ax.semilogx(lr[i], s[i], "*", ms=14, color="crimson",
                label=f"best: learning rate {lr[i]:.3g}, accuracy {s[i]:.3f}")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation accuracy")
    ax.legend(loc="lower left")
    return ax


def plot_search_success(comparison: dict, ax=None):
    """Chance of success against the trial budget for each scale of a
    ``compare_search_scales`` result. Returns the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    b = comparison["budgets"]
    for scale, color in (("log-uniform", "tab:orange"), ("uniform", "tab:blue")):
        ax.plot(b, comparison[scale], marker=".", color=color, label=f"{scale} sampling")
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trials per search")
    ax.set_ylabel(f"searches within x{comparison['factor']:g} of the best rate")
    ax.legend(loc="lower right")
    return ax


def scale_widget(*, seed: int = 0, n_samples: int = 1000, max_samples: int = 20_000,
                 samplers=None):
    """Pick a scale, a range and a number of samples; see the histograms and the fraction of
    samples per decade (notebook 02). ``samplers`` as in ``scale_summary``.

    A thin wrapper: ``scale_summary`` computes everything, ``plot_scale_summary`` draws it.
    A range the scale cannot take prints the sampler's error message instead.
    """

    seed = as_int("seed", seed, low=0)
    n_samples = as_int("n_samples", n_samples, low=1)
    max_samples = as_int("max_samples", max_samples, low=max(n_samples, 10))
    samplers = _samplers(samplers)
    scale = widgets.Dropdown(options=[("uniform", "uniform"), ("log-uniform", "log-uniform"),
                                      ("EMA weight (1 - beta scale)", "ema")],
                             value="log-uniform", description="scale")
    low = widgets.FloatText(value=1e-4, description="low")
    high = widgets.FloatText(value=1.0, description="high")
    count = widgets.IntSlider(value=n_samples, min=10, max=max_samples, step=10,
                              description="samples")
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            try:
                summary = scale_summary(low.value, high.value, scale.value, count.value,
                                        samplers=samplers, rng=np.random.default_rng(seed))
            except (TypeError, ValueError) as err:
                print(f"cannot sample this range: {err}")
                return
            _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
            plot_scale_summary(summary, axes=axes)
            plt.show()
            if summary["edges"] is not None:
                print(f"share of {summary['value_label']} per decade, {count.value} samples "
                      "(a log-uniform sampler would give):")
                for line, e in zip(format_decades(summary["edges"], summary["fractions"]),
                                   summary["log_uniform"], strict=True):
                    print(f"  {line}   ({100 * e:5.1f} %)")

    for w in (scale, low, high, count):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([scale, low, high]), count, out])


# ------------------------------------------------- the learning-rate experiment

def learning_rate_curve(learning_rates, *, epochs: int = 5, hidden_units: int = 32,
                        optimizer: str = "adam", batch_size: int = 64, n_repeats: int = 3,
                        rng: np.random.Generator) -> np.ndarray:
    """Validation accuracy of a one-hidden-layer network on the digits at each learning rate.

    ``learning_rates`` is ``(k,)``; returns ``(k,)``, each the mean over ``n_repeats``
    trainings of ``epochs`` epochs. Every learning rate reuses the same ``n_repeats`` seeds
    (drawn from ``rng``), so the curve compares learning rates, not initializations. A fine
    grid of these lets notebook 02 run thousands of simulated searches in a second.
    """

    lrs = as_float_array("learning_rates", learning_rates, ndim=1)
    if np.any(lrs <= 0):
        raise ValueError("learning_rates must all be > 0")
    epochs = as_int("epochs", epochs, low=1)
    hidden_units = as_int("hidden_units", hidden_units, low=1)
    n_repeats = as_int("n_repeats", n_repeats, low=1)
    batch_size = as_int("batch_size", batch_size, low=1)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    rng = as_rng(rng)
    seeds = rng.integers(2**63, size=n_repeats)
    d = shared_digits()
    scores = np.zeros(lrs.size)
    for i, lr in enumerate(progress_bar(lrs, desc="rates")):
        for seed in seeds:
            trial_rng = np.random.default_rng(seed)
            net = Network([64, hidden_units, 10], rng=trial_rng)
            hist = train_epochs(net, Optimizer(optimizer, float(lr)), d.train.X,
                                d.train.y, epochs=epochs, batch_size=batch_size,
                                rng=trial_rng, X_val=d.val.X, y_val=d.val.y)
            scores[i] += (hist["val_acc"][-1] if hist["val_acc"] else 0.0) / n_repeats
    return scores


def smooth_scores(scores, window: int = 5) -> np.ndarray:
    """Running mean of ``scores`` (``(k,)``) over ``window`` neighbours (odd), edges repeated.

    Used to find the best learning rate of a noisy but flat-topped curve. Returns ``(k,)``.
    """
    scores = as_float_array("scores", scores, ndim=1)
    window = as_int("window", window, low=1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    padded = np.pad(scores, window // 2, mode="edge")
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def compare_search_scales(learning_rates, scores, low, high, *, budgets,
                          n_searches: int = 2000, factor: float = 3.0, smooth: int = 5,
                          samplers=None, rng: np.random.Generator) -> dict:
    """Random searches for the learning rate, sampled uniformly and log-uniformly.

    ``learning_rates`` (``(k,)``, increasing, covering ``[low, high]``) and ``scores``
    (``(k,)``) describe the score curve, smoothed by ``smooth_scores(scores, smooth)`` so
    that noise on a flat top does not decide the winner; a trial at any rate reads its
    score off the smoothed curve (linear interpolation in ``log10`` of the rate), and the
    *best rate* is the curve's top. For each budget ``b`` in ``budgets`` and each scale,
    ``n_searches`` searches of ``b`` trials each keep their highest-scoring trial; a search
    *succeeds* when that trial's rate is within a factor ``factor`` of the best rate.
    Returns ``{"budgets": (B,), "uniform": (B,), "log-uniform": (B,)`` (success fractions),
    ``"uniform_score": (B,), "log-uniform_score": (B,)`` (mean score of the kept trial),
    ``"best_learning_rate", "factor", "n_searches"}``. ``samplers`` puts the learner's
    samplers in place of lessonlib's, as in ``scale_summary``.
    """
    lrs = as_float_array("learning_rates", learning_rates, ndim=1)
    scores = as_float_array("scores", scores, ndim=1)
    if scores.shape != lrs.shape:
        raise ValueError(f"scores must have shape {lrs.shape} like learning_rates, "
                         f"got {scores.shape}")
    if np.any(lrs <= 0) or np.any(np.diff(lrs) <= 0):
        raise ValueError("learning_rates must be > 0 and increasing")
    low, high = as_range(low, high, "log-uniform")
    if low < lrs[0] * (1 - 1e-9) or high > lrs[-1] * (1 + 1e-9):
        raise ValueError(f"learning_rates must cover [low, high] = [{low:g}, {high:g}], "
                         f"they span [{lrs[0]:g}, {lrs[-1]:g}]")
    budgets = np.array([as_int("budgets", b, low=1) for b in np.atleast_1d(budgets)])
    n_searches = as_int("n_searches", n_searches, low=1)
    factor = as_real("factor", factor, low=1)
    smooth = as_int("smooth", smooth, low=1)
    if smooth % 2 == 0:
        raise ValueError(f"smooth must be odd (a window of neighbours), got {smooth}")
    rng = as_rng(rng)
    samplers = _samplers(samplers)
    log_lrs = np.log10(lrs)
    curve = smooth_scores(scores, smooth)
    best = float(lrs[int(np.argmax(curve))])
    out = {"budgets": budgets, "best_learning_rate": best, "factor": factor,
           "n_searches": n_searches}
    for scale in ("uniform", "log-uniform"):
        hits, kept = [], []
        for b in budgets:
            trials = np.asarray(samplers[scale](low, high, (n_searches, int(b)), rng=rng),
                                float)
            found = np.interp(np.log10(trials), log_lrs, curve)
            pick = np.argmax(found, axis=1)
            rows = np.arange(n_searches)
            hits.append(np.mean(np.abs(np.log10(trials[rows, pick] / best))
                                <= math.log10(factor) + 1e-12))
            kept.append(found[rows, pick].mean())
        out[scale], out[scale + "_score"] = np.array(hits), np.array(kept)
    return out
