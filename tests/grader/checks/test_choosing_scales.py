"""The checks of notebook 02 accept the reference and unusual correct samplers and reject a
catalogue of wrong ones."""

import math

import numpy as np
import pytest

from lessonlib.grader.checks import choosing_scales as checks
from lessonlib.grader.framework import evaluate
from lessonlib.lessons.choosing_scales import sample_ema_beta_slip
from lessonlib.search import scales
from tests.grader.common import Keyed, reference_copy

# lessonlib's answer as a learner would write it (the original is off limits in a check)
_sample_log_uniform = reference_copy(scales.sample_log_uniform)


def _stub(low, high, size=None, *, rng):
    raise NotImplementedError("Exercise: not yet")


# ---------------------------------------------------------------- 2.1

def slu_natural_log(low, high, size=None, *, rng):
    return np.exp(rng.uniform(np.log(low), np.log(high), size))


def slu_power_of_ratio(low, high, size=None, *, rng):
    """high * (low / high) ** u with u uniform on [0, 1): log-uniform, mapped differently."""
    return high * (low / high) ** rng.random(size)


def slu_inverse_cdf_loop(low, high, size=None, *, rng):
    """One draw at a time from the inverse CDF, float32 on the way."""
    n = 1 if size is None else int(np.prod(size))
    u = np.array([rng.random() for _ in range(n)], dtype=np.float32).astype(float)
    x = low * np.exp(u * math.log(high / low))
    return float(x[0]) if size is None else x.reshape(size)


# name: (wrong sampler, words of the reported hint, points out of 2). The scale is
# the notebook's point: the share per decade weighs most.
SLU_WRONG = {
    "uniform on the linear scale": (lambda low, high, size=None, *, rng:
                                    rng.uniform(low, high, size), "raw (linear) scale", 0.5),
    "10 ** uniform(low, high)": (lambda low, high, size=None, *, rng:
                                 10 ** rng.uniform(low, high, size), "from 10**low to 10**high",
                                 0.38),
    "exponent with the wrong sign": (lambda low, high, size=None, *, rng:
                                     10 ** rng.uniform(-np.log10(high), -np.log10(low), size),
                                     "wrong sign", 0.38),
    "natural log with base 10": (lambda low, high, size=None, *, rng:
                                 10 ** rng.uniform(np.log(low), np.log(high), size),
                                 "undone in another base", 0.38),
    "base 10 log with exp": (lambda low, high, size=None, *, rng:
                             np.exp(rng.uniform(np.log10(low), np.log10(high), size)),
                             "undone in another base", 0.5),
    "fixed exponent range [-4, 0]": (lambda low, high, size=None, *, rng:
                                     10 ** rng.uniform(-4, 0, size), "must follow low and high",
                                     1.5),
    "ignores rng": (lambda low, high, size=None, *, rng:
                    10 ** np.random.uniform(np.log10(low), np.log10(high), size),
                    "did not draw from the rng", 1.75),
    "own generator": (lambda low, high, size=None, *, rng: slu_natural_log(
        low, high, size, rng=np.random.default_rng(0)), "did not draw from the rng", 1.75),
    "rounded exponent": (lambda low, high, size=None, *, rng:
                         10 ** np.round(rng.uniform(np.log10(low), np.log10(high), size), 1),
                         "", 0.5),
    "ignores size=None": (lambda low, high, size=None, *, rng:
                          10 ** rng.uniform(np.log10(low), np.log10(high), size or 1),
                          "single number", 1.88),
}


@pytest.mark.parametrize("fn", [_sample_log_uniform, slu_natural_log,
                                slu_power_of_ratio, slu_inverse_cdf_loop])
def test_log_uniform_accepts_correct(fn):
    r = checks.check_sample_log_uniform.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(SLU_WRONG))
def test_log_uniform_rejects_wrong_with_hint_and_points(name):
    fn, hint, points = SLU_WRONG[name]
    r = checks.check_sample_log_uniform.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


def test_log_uniform_linear_scale_line():
    r = checks.check_sample_log_uniform.evaluate(SLU_WRONG["uniform on the linear scale"][0])
    assert " ".join(r.line.split()) == (
        "✗ Exercise 2.1 sample_log_uniform: for low=0.0001, high=1 the four decades [1e-4, "
        "1e-3), ..., [0.1, 1] hold fractions [0.00105, 0.00895, 0.0922, 0.898] of 20000 draws, "
        "expected about 0.25 each. Hint: that is uniform sampling on the raw (linear) scale, "
        "which gives the top decade about 90% of the draws; which quantity moves by the same "
        "amount across every decade? Draw that one uniformly. (3/5 checks passed, 0.5/2 points)")


def test_log_uniform_stub_is_not_attempted():
    r = checks.check_sample_log_uniform.evaluate(_stub)
    assert r.status == "not attempted" and r.points == 0
    assert r.line == "○ Exercise 2.1 sample_log_uniform: not attempted yet (0/2 points)"


def test_log_uniform_pass_line():
    assert checks.check_sample_log_uniform.evaluate(_sample_log_uniform).line == \
        "✓ Exercise 2.1 sample_log_uniform: 5/5 checks passed (2/2 points)"


# ---------------------------------------------------------------- 2.2

def seb_log1p(low, high, size=None, *, rng):
    return -np.expm1(rng.uniform(np.log1p(-high), np.log1p(-low), size))


def seb_power_of_ratio(low, high, size=None, *, rng):
    """1 - beta = (1 - low) * ((1 - high) / (1 - low)) ** u: the same law, mapped otherwise."""
    return 1 - (1 - low) * ((1 - high) / (1 - low)) ** rng.random(size)


def seb_float32(low, high, size=None, *, rng):
    """Draws stored as float32: rounding may step a hair past the bounds, which is fine."""
    r = rng.uniform(np.log10(1 - high), np.log10(1 - low), size)
    return np.float32(1 - 10 ** r) if size is None else (1 - 10 ** r).astype(np.float32)


def seb_via_log_uniform(low, high, size=None, *, rng):
    return 1 - _sample_log_uniform(1 - high, 1 - low, size, rng=rng)


def seb_via_window(low, high, size=None, *, rng):
    """The window w = 1/(1 - beta) log-uniform, then beta = 1 - 1/w: the property itself."""
    return 1 - 1 / slu_power_of_ratio(1 / (1 - low), 1 / (1 - high), size, rng=rng)


def _exponent(low, high, size, rng):
    return rng.uniform(np.log10(1 - high), np.log10(1 - low), size)


# name: (wrong sampler, words of the reported hint, points out of 2)
SEB_WRONG = {
    "the lecture's slip 10**r + 1": (lambda low, high, size=None, *, rng:
                                     10 ** _exponent(low, high, size, rng) + 1,
                                     "the lecture notes' slip", 0.38),
    "uniform on the linear scale": (lambda low, high, size=None, *, rng:
                                    rng.uniform(low, high, size), "spreads beta itself", 0.5),
    "log-uniform beta": (lambda low, high, size=None, *, rng:
                         _sample_log_uniform(low, high, size, rng=rng),
                         "spreads beta itself", 0.5),
    "returns the window": (lambda low, high, size=None, *, rng:
                           _sample_log_uniform(1 / (1 - low), 1 / (1 - high), size, rng=rng),
                           "these are averaging windows", 0.38),
    "returns 1 - beta": (lambda low, high, size=None, *, rng:
                         10 ** _exponent(low, high, size, rng), "values of 1 - beta", 0.38),
    "exponent from log10(low), log10(high)": (
        lambda low, high, size=None, *, rng:
        1 - 10 ** rng.uniform(np.log10(low), np.log10(high), size), "values of 1 - beta", 0.38),
    "exponent with the wrong sign": (lambda low, high, size=None, *, rng:
                                     1 - 10 ** (-_exponent(low, high, size, rng)),
                                     "wrong sign", 0.38),
    "fixed exponent range [-3, -1]": (lambda low, high, size=None, *, rng:
                                      1 - 10 ** rng.uniform(-3, -1, size),
                                      "the spread must follow low and high", 1.5),
    "natural log with base 10": (lambda low, high, size=None, *, rng:
                                 1 - 10 ** rng.uniform(np.log(1 - high), np.log(1 - low), size),
                                 "undone in another base", 0.38),
    "ignores rng": (lambda low, high, size=None, *, rng:
                    1 - 10 ** np.random.uniform(np.log10(1 - high), np.log10(1 - low), size),
                    "did not draw from the rng", 1.75),
    "own generator": (lambda low, high, size=None, *, rng: seb_log1p(
        low, high, size, rng=np.random.default_rng(1)), "did not draw from the rng", 1.75),
}


@pytest.mark.parametrize("fn", [reference_copy(scales.sample_ema_beta), seb_log1p,
                                seb_power_of_ratio,
                                seb_via_log_uniform, seb_via_window, seb_float32])
def test_ema_beta_accepts_correct(fn):
    r = checks.check_sample_ema_beta.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(SEB_WRONG))
def test_ema_beta_rejects_wrong_with_hint_and_points(name):
    fn, hint, points = SEB_WRONG[name]
    r = checks.check_sample_ema_beta.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


def test_ema_beta_names_the_lecture_slip_first():
    r = checks.check_sample_ema_beta.evaluate(sample_ema_beta_slip)
    assert r.status == "failed"
    assert r.line.startswith("✗ Exercise 2.2 sample_ema_beta: for low=0.9, high=0.999 all "
                             "10000 draws lie above 1 (largest 1.")
    assert "Hint: an EMA weight must lie below 1" in " ".join(r.line.split())
    assert "10**r" not in r.line and "1 - 10" not in r.line
    assert " ".join(r.line.split()).endswith("(2/5 checks passed, 0.38/2 points)")
    assert r.points == 0.38
    # the decades, which weigh most, report the slip too: shares mean nothing outside the range
    alone = evaluate(checks.EXERCISES["2.2"], [checks._seb_decades], sample_ema_beta_slip)
    assert "all 10000 draws lie above 1" in alone.line and alone.points == 0


def test_ema_beta_stub_is_not_attempted():
    r = checks.check_sample_ema_beta.evaluate(_stub)
    assert r.status == "not attempted" and r.points == 0
    assert r.line == "○ Exercise 2.2 sample_ema_beta: not attempted yet (0/2 points)"


def test_checks_are_registered_for_notebook_02():
    from lessonlib.grader.exercises import EXERCISES
    assert EXERCISES["2.1"].notebook == EXERCISES["2.2"].notebook == "02_choosing_scales"
    assert EXERCISES["2.1"].points == EXERCISES["2.2"].points == 2


def test_check_prints_one_line(capsys):
    checks.check_sample_ema_beta(seb_log1p)
    out = capsys.readouterr().out
    assert out == "✓ Exercise 2.2 sample_ema_beta: 5/5 checks passed (2/2 points)\n"


def test_not_a_function():
    r = checks.check_sample_log_uniform.evaluate(0.5)
    assert r.status == "failed"


# ---------------------------------------------------------------- hints teach, never tell

_FORMULA_WORDS = ("10 ** r", "10**r", "log10(low)", "log10(1 - high)", "log10(1 - low)",
                  "1 - 10", "np.log10(", "rng.uniform(")


@pytest.mark.parametrize("name, check, catalogue", [
    *((n, checks.check_sample_log_uniform, SLU_WRONG) for n in sorted(SLU_WRONG)),
    *((n, checks.check_sample_ema_beta, SEB_WRONG) for n in sorted(SEB_WRONG))])
def test_hints_name_the_mistake_not_the_formula(name, check, catalogue):
    line = check.evaluate(catalogue[name][0]).line
    assert not any(w in line for w in _FORMULA_WORDS), line


# ---------------------------------------------------------------- questions 2.1 to 2.3

def _q_stub():
    raise NotImplementedError("Question: not yet")


def test_below_1e3_chance_graded_against_the_complement_rule():
    check = Keyed(checks.check_below_1e3_chance)
    assert check.evaluate(lambda: 0.0267).line == \
        "✓ Question 2.1 below_1e3_chance: right (1/1 points)"
    assert check.evaluate(lambda: 1 - 0.999 ** 30).passed      # 1e-3 for 0.0009: close enough
    for wrong in (0.001, 0.0009, 0.973, 0.25, 1.0):   # one trial, all miss, a decade's share
        r = check.evaluate(lambda w=wrong: w)
        assert r.status == "failed" and r.points == 0 and "the answer is 0.02665" in r.line
    assert check.evaluate(_q_stub).line == \
        "○ Question 2.1 below_1e3_chance: not attempted yet (0/1 points)"
    own = checks.check_below_1e3_chance.evaluate(lambda: 0.5)
    assert own.status == "answered" and "right or wrong comes with grading" in own.line
    x = scales.sample_uniform(1e-4, 1, (20_000, 30), rng=np.random.default_rng(0))
    assert abs(np.mean(np.any(x < 1e-3, axis=1)) - check.key.answer) < 0.005


def test_long_window_shares_with_partial_credit():
    check = Keyed(checks.check_long_window_shares)
    assert check.evaluate(lambda: (0.091, 0.5)).line == \
        "✓ Question 2.2 long_window_shares: right (1/1 points)"
    r = check.evaluate(lambda: (0.091, 0.091))        # the window spread like beta
    assert r.points == 0.5 and "the answer is 0.09091, 0.5" in r.line
    assert check.evaluate(lambda: (0.5, 0.5)).points == 0.5
    assert check.evaluate(lambda: 0.5).status == "failed"          # a pair, not one number
    a, b = check.key.answer                             # what sampling gives
    uniform = scales.sample_uniform(0.9, 0.999, 100_000, rng=np.random.default_rng(0))
    spread = reference_copy(scales.sample_ema_beta)(0.9, 0.999, 100_000,
                                                    rng=np.random.default_rng(0))
    assert abs(np.mean(uniform > 0.99) - a) < 0.005 and abs(np.mean(spread > 0.99) - b) < 0.005


def test_top_decade_share_on_the_refined_range():
    check = Keyed(checks.check_top_decade_share)
    assert check.evaluate(lambda: 0.66).line == \
        "✓ Question 2.3 top_decade_share: right (1/1 points)"
    for wrong in (0.25, 0.928, 0.9, 0.5):   # [1e-4, 1]'s quarter, by length, by decades
        r = check.evaluate(lambda w=wrong: w)
        assert r.status == "failed" and r.points == 0 and "the answer is 0.6567" in r.line
    assert check.evaluate(lambda: "two thirds").status == "failed"
    x = _sample_log_uniform(0.03, 1.0, 200_000, rng=np.random.default_rng(0))
    assert abs(np.mean(x >= 0.1) - check.key.answer) < 0.005
