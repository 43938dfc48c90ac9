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
                                    rng.uniform(low, high, size), "linear scale", 0.5),
    "10 ** uniform(low, high)": (lambda low, high, size=None, *, rng:
                                 10 ** rng.uniform(low, high, size), "not over [low, high]", 0.38),
    "exponent with the wrong sign": (lambda low, high, size=None, *, rng:
                                     10 ** rng.uniform(-np.log10(high), -np.log10(low), size),
                                     "wrong sign", 0.38),
    "natural log with base 10": (lambda low, high, size=None, *, rng:
                                 10 ** rng.uniform(np.log(low), np.log(high), size),
                                 "mixed", 0.38),
    "base 10 log with exp": (lambda low, high, size=None, *, rng:
                             np.exp(rng.uniform(np.log10(low), np.log10(high), size)),
                             "mixed", 0.5),
    "fixed exponent range [-4, 0]": (lambda low, high, size=None, *, rng:
                                     10 ** rng.uniform(-4, 0, size), "not fixed numbers", 1.5),
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
        "expected about 0.25 each. Hint: that is uniform sampling on the linear scale, which "
        "puts about 90% of the draws in the top decade; draw the exponent r uniformly instead. "
        "(3/5 checks passed, 0.5/2 points)")


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


def _exponent(low, high, size, rng):
    return rng.uniform(np.log10(1 - high), np.log10(1 - low), size)


# name: (wrong sampler, words of the reported hint, points out of 2)
SEB_WRONG = {
    "the lecture's slip 10**r + 1": (lambda low, high, size=None, *, rng:
                                     10 ** _exponent(low, high, size, rng) + 1,
                                     "you sampled 1 - beta", 0.38),
    "uniform on the linear scale": (lambda low, high, size=None, *, rng:
                                    rng.uniform(low, high, size), "spreads beta evenly", 0.5),
    "log-uniform beta": (lambda low, high, size=None, *, rng:
                         _sample_log_uniform(low, high, size, rng=rng),
                         "spreads beta evenly", 0.5),
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
                                      "must be uniform on [log10(1 - high)", 1.5),
    "natural log with base 10": (lambda low, high, size=None, *, rng:
                                 1 - 10 ** rng.uniform(np.log(1 - high), np.log(1 - low), size),
                                 "mixed", 0.38),
    "ignores rng": (lambda low, high, size=None, *, rng:
                    1 - 10 ** np.random.uniform(np.log10(1 - high), np.log10(1 - low), size),
                    "did not draw from the rng", 1.75),
    "own generator": (lambda low, high, size=None, *, rng: seb_log1p(
        low, high, size, rng=np.random.default_rng(1)), "did not draw from the rng", 1.75),
}


@pytest.mark.parametrize("fn", [reference_copy(scales.sample_ema_beta), seb_log1p,
                                seb_power_of_ratio,
                                seb_via_log_uniform, seb_float32])
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
    assert "Hint: the draws lie above 1: you sampled 1 - beta" in " ".join(r.line.split())
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


# ---------------------------------------------------------------- questions 2.1 and 2.2

def _q_stub():
    raise NotImplementedError("Question: not yet")


def test_which_scale_each_part_is_graded():
    check = Keyed(checks.check_which_scale)
    assert check.evaluate(lambda: ("a", "c", "b", "b")).line == \
        "✓ Question 2.1 which_scale: right (1/1 points)"
    assert check.evaluate(_q_stub).status == "not attempted"
    right = ["a", "c", "b", "b"]
    for i in range(4):
        for wrong in sorted(set("abc") - {right[i]}):
            answer = right.copy()
            answer[i] = wrong
            r = check.evaluate(lambda a=tuple(answer): a)
            assert r.status == "failed" and r.points == 0.75, (i, wrong)
    r = check.evaluate(lambda: ("b", "b", "b", "b"))     # everything on a log scale
    assert r.line == (
        "✗ Question 2.1 which_scale: you answered (b), (b), (b), (b); the answer is (a), (c), "
        "(b), (b). Why: ranges over several decades (lambda, 16 to 1024 units) go on a log "
        "scale; beta2 on log(1 - beta2), as its window 1/(1 - beta2) varies; 2 to 4 layers "
        "are a few equal steps: linear. (2/4 parts right, 0.5/1 points)")
    assert check.evaluate(lambda: ("a", "c", "b")).status == "failed"     # three parts


def test_top_decade_share_matches_log_uniform_draws():
    check = Keyed(checks.check_top_decade_share)
    assert check.evaluate(lambda: 0.25).line == \
        "✓ Question 2.2 top_decade_share: right (1/1 points)"
    assert check.evaluate(lambda: 1 / 4).passed
    x = _sample_log_uniform(1e-4, 1.0, 200_000, rng=np.random.default_rng(0))
    assert abs(np.mean(x >= 0.1) - 0.25) < 0.005       # the answer is what sampling gives
    for wrong in (0.9, 0.1, 0.75, 25, 0.5):            # uniform, a decade's length, ...
        r = check.evaluate(lambda w=wrong: w)
        assert r.status == "failed" and r.points == 0
        assert "the answer is 0.25" in r.line
    assert check.evaluate(lambda: "a quarter").status == "failed"
    assert check.evaluate(_q_stub).line == \
        "○ Question 2.2 top_decade_share: not attempted yet (0/1 points)"
