"""Checks for notebook 02, choosing the right scale (exercises 2.1 and 2.2, questions 2.1
to 2.3).

Both exercises are design tasks: the notebook states the property (every decade of the range,
or of the averaging window ``1 / (1 - beta)``, gets the same share of the draws) and the
learner finds a sampler that has it. Their hints name the mistake (the raw scale, beta sampled
rather than its window, a logarithm undone in another base, ...) and never the formula.

Both samplers are random, so the checks test distributions, not exact draws: the bounds,
the fraction of draws per decade (of ``x``, or of ``1 - beta``), the shapes ``size`` asks
for, and that the draws come from the ``rng`` argument (same seed, same draws; its state
advances). Any correct implementation passes: natural or base-10 logs, or another map of a
uniform draw such as ``high * (low / high) ** u``.

Why these weights (``framework.weighted``), the same for both samplers: the notebook is about
the scale, so the share per decade (of ``x``, or of ``1 - beta``) weighs 8 of 16 and the
other ranges, where the exponent's bounds come from ``low`` and ``high``, 4. A sampler on the
linear scale keeps 0.5/2; one whose draws leave the range (the lecture's slip
``10**r + 1``, a wrong exponent) fails the bounds, the decades (measured only on draws
inside the range, so the decades report the bounds' message) and the other ranges, and keeps
0.38/2. The ``rng`` rule weighs 2, the bounds 1 (a draw outside also fails the decades), and
the shapes of ``size`` 1, a slip in a secondary output.
"""

from __future__ import annotations

import math

import numpy as np

from ...search.scales import decade_fractions
from ..exercises import EXERCISES
from ..framework import (
    case_rng,
    fmt_array,
    make_check,
    make_question,
    require,
    require_array,
    weighted,
)

_N = 10_000          # draws for the bounds
_N_DIST = 20_000     # draws for a distribution (a fraction's sampling error is <= 0.0035)
_TOL = 0.02          # allowed gap between a fraction and its expected value


def _draws(ck, low, high, n, seed):
    out = ck.call(low, high, n, rng=case_rng(seed))
    return require_array(out, "samples", (n,))


def _shapes(ck, low, high, name):
    one = ck.call(low, high, rng=case_rng(0))
    require(one is not None, f"returned None for {name}({low:g}, {high:g}, rng=rng)",
            "end the function with a return statement")
    require(np.ndim(one) == 0, f"with size=None returned an array of shape "
            f"{np.shape(one)}, expected a single number",
            "size=None asks for one number: numpy's draws take size as it is")
    require_array(one, "a number")
    require_array(ck.call(low, high, 7, rng=case_rng(0)), "samples", (7,))
    require_array(ck.call(low, high, size=(2, 3), rng=case_rng(0)), "samples",
                  (2, 3))


def _uses_rng(ck, low, high):
    rng = case_rng(42)
    before = rng.bit_generator.state
    a = require_array(ck.call(low, high, 200, rng=rng), "samples")
    require(rng.bit_generator.state != before, "did not draw from the rng it was given",
            "draw with rng.uniform or rng.random, never np.random")
    b = require_array(ck.call(low, high, 200, rng=case_rng(42)), "samples")
    c = require_array(ck.call(low, high, 200, rng=case_rng(43)), "samples")
    require(np.array_equal(a, b), "the same seed gave different draws",
            "draw only from the rng argument")
    require(not np.array_equal(a, c), "different seeds gave the same draws",
            "draw from the rng argument, not from a generator of your own")


def _quarters(u):
    return np.histogram(u, bins=4, range=(0, 1))[0] / u.size


def _inside(x, lo, hi, rel=1e-6):
    return bool(np.all(x >= lo - rel * abs(lo) - 1e-15) and np.all(x <= hi + rel * abs(hi)))


def _other_ranges(ck, ranges, fmt: str, exponent, interval: str, what: str,
                  bounds_hint: str, uniform_hint: str) -> None:
    """On each ``(low, high)`` of ``ranges`` the draws stay inside, and their exponent
    ``r`` (``exponent(x, low, high) -> (r, a, b)``) is uniform on ``[a, b]``: a quarter of
    the draws in each quarter of the ``interval``."""
    for k, (low, high) in enumerate(ranges):
        x = _draws(ck, low, high, _N_DIST, 10 + k)
        case = f"for low={low:g}, high={high:g}"
        require(_inside(x, low, high), f"{case} the draws span [{x.min():{fmt}}, "
                f"{x.max():{fmt}}], outside the range", bounds_hint)
        r, a, b = exponent(x, low, high)
        q = _quarters((r - a) / (b - a))
        require(np.all(np.abs(q - 0.25) < _TOL),
                f"{case} the four equal parts of {interval} hold fractions "
                f"{fmt_array(q, 3)} of {what}, expected about 0.25 each", uniform_hint)


# ------------------------------------------------------- 2.1 sample_log_uniform


MIXED_BASES = ("a logarithm is undone in another base (natural log against base 10, or the "
               "reverse): a logarithm and the power that undoes it must share their base")
EVEN_DECADES = ("each decade should get the same share of the draws: which quantity moves by "
                "the same amount across every decade? Draw that one uniformly")


def _log_hint(x, low, high):
    """What probably went wrong when log-uniform draws on [low, high] leave the range."""
    if high < 300 and _inside(x, 10.0 ** low, 10.0 ** high, 1e-6):
        return ("the draws run from 10**low to 10**high: the quantity you draw uniformly must "
                "cover the range whose image is [low, high], not [low, high] itself")
    if _inside(x, 1 / high, 1 / low, 1e-6):
        return ("the draws run from 1/high to 1/low: the quantity you draw uniformly has the "
                "wrong sign")
    if _inside(x, 10.0 ** math.log(low), 10.0 ** math.log(high), 1e-6):
        return MIXED_BASES
    return EVEN_DECADES


@weighted(1)
def _slu_shapes(ck):
    _shapes(ck, 1e-4, 1.0, "sample_log_uniform")


@weighted(1)
def _slu_bounds(ck):
    low, high = 1e-4, 1.0
    x = _draws(ck, low, high, _N, 1)
    require(_inside(x, low, high), f"for low=0.0001, high=1 the {_N} draws span "
            f"[{x.min():.4g}, {x.max():.4g}], outside the range", _log_hint(x, low, high))


@weighted(8)
def _slu_decades(ck):
    _slu_bounds(ck)              # shares per decade mean something only inside the range
    low, high = 1e-4, 1.0
    x = _draws(ck, low, high, _N_DIST, 2)
    _, frac = decade_fractions(x, low, high)
    if frac[-1] > 0.8:
        hint = ("that is uniform sampling on the raw (linear) scale, which gives the top "
                "decade about 90% of the draws; " + EVEN_DECADES[EVEN_DECADES.index("which"):])
    elif x.min() >= math.e ** math.log10(low) * (1 - 1e-6):
        hint = MIXED_BASES
    else:
        hint = EVEN_DECADES
    require(np.all(np.abs(frac - 0.25) < _TOL),
            f"for low=0.0001, high=1 the four decades [1e-4, 1e-3), ..., [0.1, 1] hold "
            f"fractions {fmt_array(frac, 3)} of {_N_DIST} draws, expected about 0.25 each",
            hint)
    n_distinct = np.unique(x).size
    require(n_distinct > 0.9 * x.size, f"{_N_DIST} draws took only {n_distinct} distinct "
            "values", "do not round what you draw: any real number of its range can come")


@weighted(4)
def _slu_other_ranges(ck):
    _other_ranges(ck, [(0.003, 40.0), (2.0, 5000.0), (1e-7, 1e-6)], ".4g",
                  lambda x, low, high: (np.log10(x), math.log10(low), math.log10(high)),
                  "the range on a log axis", "the draws",
                  "the range of what you draw must follow low and high, not fixed numbers",
                  "on this range the draws are not spread evenly on a log axis: the spread "
                  "must follow low and high")


@weighted(2)
def _slu_rng(ck):
    _uses_rng(ck, 1e-4, 1.0)


check_sample_log_uniform = make_check(
    EXERCISES["2.1"],
    [_slu_shapes, _slu_bounds, _slu_decades, _slu_other_ranges, _slu_rng])

# ---------------------------------------------------------- 2.2 sample_ema_beta

SLIP_HINT = ("an EMA weight must lie below 1, or the average no longer averages: the last "
             "step, from the quantity you spread back to beta, is wrong (the lecture notes' "
             "slip)")
BETA_ITSELF = ("that spreads beta itself (evenly, or over beta's own decades), which leaves "
               "the long windows, beta near 1, few draws: it is the window 1/(1 - beta) that "
               "should be spread over its decades")


def _ema_hint(beta, low, high):
    """What probably went wrong when EMA-weight draws on [low, high] leave the range."""
    if beta.min() >= (1 / (1 - low)) * (1 - 1e-6) and beta.min() > 1:
        return ("these are averaging windows 1/(1 - beta), not weights beta: turn each draw "
                "back into beta")
    if beta.min() > 1:
        return SLIP_HINT
    if beta.max() < 0:
        return ("the draws lie below 0: the quantity you draw uniformly has the wrong sign")
    if _inside(beta, 1 - high, 1 - low, 1e-6):
        return ("these are values of 1 - beta, not of beta: turn each draw back into beta")
    if _inside(1 - beta, 10.0 ** math.log(1 - high), 10.0 ** math.log(1 - low), 1e-6):
        return MIXED_BASES
    return ("spread the window 1/(1 - beta) over its decades (it runs from 1/(1 - low) to "
            "1/(1 - high)), then turn each draw back into beta")


@weighted(1)
def _seb_shapes(ck):
    _shapes(ck, 0.9, 0.999, "sample_ema_beta")


@weighted(1)
def _seb_bounds(ck):
    low, high = 0.9, 0.999
    beta = _draws(ck, low, high, _N, 1)
    if beta.min() > 1:
        require(False, f"for low=0.9, high=0.999 all {_N} draws lie above 1 "
                f"(largest {beta.max():.5g})", _ema_hint(beta, low, high))
    require(_inside(beta, low, high), f"for low=0.9, high=0.999 the {_N} draws span "
            f"[{beta.min():.6g}, {beta.max():.6g}], outside the range",
            _ema_hint(beta, low, high))


@weighted(8)
def _seb_decades(ck):
    _seb_bounds(ck)              # shares per decade mean something only inside the range
    low, high = 0.9, 0.999
    beta = _draws(ck, low, high, _N_DIST, 2)
    above = float(np.mean(beta > 0.99))
    hint = (BETA_ITSELF if above < 0.2 else
            "each decade of the window 1/(1 - beta) should get the same share of the draws")
    require(abs(above - 0.5) < _TOL, f"for low=0.9, high=0.999 a fraction {above:.3f} of "
            f"{_N_DIST} draws lie above 0.99, expected about 0.5", hint)
    _, frac = decade_fractions(1 - beta, 1 - high, 1 - low)
    require(np.all(np.abs(frac - 0.5) < _TOL),
            f"for low=0.9, high=0.999 the two decades of the window, 10 to 100 and 100 to "
            f"1000, hold fractions {fmt_array(frac[::-1], 3)}, expected about 0.5 each", hint)
    n_distinct = np.unique(beta).size
    require(n_distinct > 0.9 * beta.size, f"{_N_DIST} draws took only {n_distinct} "
            "distinct values", "do not round what you draw: any real number of its range "
            "can come")


@weighted(4)
def _seb_other_ranges(ck):
    _other_ranges(ck, [(0.5, 0.9999), (0.0, 0.99), (0.95, 0.98)], ".6g",
                  lambda beta, low, high: (np.log10(np.maximum(1 - beta, 1e-300)),
                                           math.log10(1 - high), math.log10(1 - low)),
                  "the window's range on a log axis", "the windows 1/(1 - beta)",
                  "the window's range must follow low and high, not fixed numbers",
                  "on this range the windows 1/(1 - beta) are not spread evenly over their "
                  "decades: the spread must follow low and high")


@weighted(2)
def _seb_rng(ck):
    _uses_rng(ck, 0.9, 0.999)


check_sample_ema_beta = make_check(
    EXERCISES["2.2"],
    [_seb_shapes, _seb_bounds, _seb_decades, _seb_other_ranges, _seb_rng])

# ------------------------------------------------------------------ the questions
# Each confirms only that the answer is well formed; the keys are the instructor side's.

# Q2.1: the chance that 30 trials uniform on [1e-4, 1] try at least one rate below 1e-3.
check_below_1e3_chance = make_question(EXERCISES["Q2.1"])

# Q2.2: the shares of draws with a window above 100 (beta > 0.99) on [0.9, 0.999]: beta
# uniform, and beta whose window is spread evenly over its decades.
check_long_window_shares = make_question(EXERCISES["Q2.2"], parts=2)

# Q2.3: the share of log-uniform draws on the refined range [0.03, 1] in [0.1, 1].
check_top_decade_share = make_question(EXERCISES["Q2.3"])
