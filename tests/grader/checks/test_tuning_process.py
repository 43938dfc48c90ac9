"""Every check of notebook 01 accepts the reference and unusual correct solutions and rejects
a catalogue of wrong ones."""

import numpy as np
import pytest
from lessonlib_instructor import answers

from lessonlib.grader.checks import tuning_process as checks
from lessonlib.lessons import tuning_process
from lessonlib.search import boxes
from tests.grader.common import Keyed, reference_copy

# lessonlib's answers as a learner would write them (the originals are off limits in a check)
_random_search_points = reference_copy(boxes.random_search_points)
_chance_at_least_one = answers.chance_at_least_one
_shrink_box = answers.shrink_box


def _stub(*args, **kwargs):
    raise NotImplementedError


# ---------------------------------------------------------------- 1.1

def rsp_uniform_call(n, low, high, *, rng):
    return rng.uniform(low, high, size=(n, len(low)))


def rsp_column_by_column(n, low, high, *, rng):
    return np.column_stack([lo + (hi - lo) * rng.random(n) for lo, hi in zip(low, high)])


# name: (wrong implementation, words of the reported hint, points out of 2). The grid is the
# mistake section 2 argues against: its repeated values weigh most.
RSP_WRONG = {
    "grid": (lambda n, low, high, *, rng: boxes.grid_points(
        int(np.ceil(n ** (1 / len(low)))), low, high)[:n], "a grid repeats them", 0.82),
    "global np.random": (lambda n, low, high, *, rng: low + (high - low) * np.random.random(
        (n, len(low))), "not np.random", 1.76),
    "transposed": (lambda n, low, high, *, rng: (low + (high - low) * rng.random(
        (n, len(low)))).T, "one trial per row", 0.24),
    "scaled by high only": (lambda n, low, high, *, rng: low + high * rng.random(
        (n, len(low))), "fill that range and stay inside it", 1.53),
    "log-uniform": (lambda n, low, high, *, rng: 10 ** rng.uniform(
        np.log10(np.maximum(low, 1e-3)), np.log10(high), (n, len(low))), "linear scale",
        1.76),
    "same number on every axis": (lambda n, low, high, *, rng: low + (high - low) * rng.random(
        (n, 1)), "independent number", 1.76),
    "fixed seed inside": (lambda n, low, high, *, rng: rsp_uniform_call(
        n, low, high, rng=np.random.default_rng(0)), "did not draw from the rng", 1.76),
}


@pytest.mark.parametrize("fn", [_random_search_points, rsp_uniform_call,
                                rsp_column_by_column])
def test_random_search_points_accepts_correct(fn):
    r = checks.check_random_search_points.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(RSP_WRONG))
def test_random_search_points_rejects_wrong_with_hint_and_points(name):
    fn, hint, points = RSP_WRONG[name]
    r = checks.check_random_search_points.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


def test_random_search_points_stub_and_grid_line():
    assert checks.check_random_search_points.evaluate(_stub).status == "not attempted"
    r = checks.check_random_search_points.evaluate(RSP_WRONG["grid"][0])
    assert " ".join(r.line.split()) == (
        "✗ Exercise 1.1 random_search_points: 16 trials tried only 4 and 4 distinct values on "
        "the two axes. Hint: random search draws a new value of every hyperparameter for every "
        "trial; a grid repeats them. (4/6 checks passed, 0.82/2 points)")


# ---------------------------------------------------------------- 1.2

def chance_by_complement_product(fraction, n_trials):
    miss = 1.0
    for _ in range(n_trials):
        miss *= 1 - fraction
    return 1 - miss


def chance_via_logs(fraction, n_trials):
    return float(-np.expm1(n_trials * np.log1p(-fraction))) if fraction < 1 else \
        float(n_trials > 0)


# name: (wrong implementation, words of the reported hint, points out of 1)
CHANCE_WRONG = {
    "sum of chances": (lambda f, n: n * f, "counts overlapping hits twice", 0),
    "chance of no hit": (lambda f, n: (1 - f) ** n, "take 1 minus it", 0.2),
    "all hit": (lambda f, n: f ** n, "every trial lands", 0.2),
    "capped sum": (lambda f, n: min(1.0, n * f), "counts overlapping hits twice", 0.2),
    "off by one": (lambda f, n: 1 - (1 - f) ** (n + 1), "every one of the n independent trials",
                   0.2),
}


@pytest.mark.parametrize("fn", [_chance_at_least_one, chance_by_complement_product,
                                chance_via_logs])
def test_chance_accepts_correct(fn):
    r = checks.check_chance_at_least_one.evaluate(fn)
    assert r.passed and r.points == 1, r.line


@pytest.mark.parametrize("name", sorted(CHANCE_WRONG))
def test_chance_rejects_wrong_with_hint_and_points(name):
    fn, hint, points = CHANCE_WRONG[name]
    r = checks.check_chance_at_least_one.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


# ---------------------------------------------------------------- 1.3

def shrink_box_loop(points, scores, low, high, *, n_best, log_scale=None, pad=0.1):
    """A per-axis loop with natural logs: unusual but correct."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[:n_best]
    new_low, new_high = [], []
    for j in range(len(low)):
        log = log_scale is not None and log_scale[j]
        t = np.log if log else (lambda v: v)
        inv = np.exp if log else (lambda v: v)
        vals = [t(points[i][j]) for i in order]
        width = t(high[j]) - t(low[j])
        new_low.append(inv(max(min(vals) - pad * width, t(low[j]))))
        new_high.append(inv(min(max(vals) + pad * width, t(high[j]))))
    return np.array(new_low), np.array(new_high)


def _shrink_ignoring_log(points, scores, low, high, *, n_best, log_scale=None, pad=0.1):
    return _shrink_box(points, scores, low, high, n_best=n_best, pad=pad)


def _shrink_worst(points, scores, low, high, *, n_best, log_scale=None, pad=0.1):
    return _shrink_box(points, -np.asarray(scores), low, high, n_best=n_best,
                             log_scale=log_scale, pad=pad)


def _shrink_no_clip(points, scores, low, high, *, n_best, log_scale=None, pad=0.1):
    lo, hi = _shrink_box(points, scores, low, high, n_best=n_best, log_scale=log_scale,
                               pad=0.0)
    u = lambda x: np.where(log_scale, np.log10(x), x) if log_scale is not None else x  # noqa
    v = lambda x: np.where(log_scale, 10 ** x, x) if log_scale is not None else x  # noqa
    w = pad * (u(np.asarray(high)) - u(np.asarray(low)))
    return v(u(lo) - w), v(u(hi) + w)


def _shrink_sorts_in_place(points, scores, low, high, *, n_best, log_scale=None, pad=0.1):
    scores.sort()
    return _shrink_box(points, scores, low, high, n_best=n_best, log_scale=log_scale,
                             pad=pad)


# name: (wrong implementation, words of the reported hint, points out of 2). The log axis,
# which section 3 stresses, weighs most.
SHRINK_WRONG = {
    "ignores log scale": (_shrink_ignoring_log, "log10", 0.86),
    "keeps the worst": (_shrink_worst, "higher scores are better", 0),
    "no clipping": (_shrink_no_clip, "clip the padded box", 1.43),
    "pads by a fixed amount": (lambda p, s, lo, hi, *, n_best, log_scale=None, pad=0.1:
                               _shrink_box(p, s, lo, hi, n_best=n_best,
                                                 log_scale=log_scale, pad=0.1),
                               "step by step", 1.71),
    "mutates scores": (_shrink_sorts_in_place, "in place", 0),
}


@pytest.mark.parametrize("fn", [_shrink_box, shrink_box_loop])
def test_shrink_box_accepts_correct(fn):
    r = checks.check_shrink_box.evaluate(fn)
    assert r.passed and r.points == 2, r.line


@pytest.mark.parametrize("name", sorted(SHRINK_WRONG))
def test_shrink_box_rejects_wrong_with_hint_and_points(name):
    fn, hint, points = SHRINK_WRONG[name]
    r = checks.check_shrink_box.evaluate(fn)
    assert r.status == "failed" and hint in r.line and r.points == points, r.line


def test_shrink_box_stub():
    assert checks.check_shrink_box.evaluate(_stub).status == "not attempted"


# ---------------------------------------------------------------- questions 1.1 to 1.3

def test_hints_of_1_1_never_give_the_formula():
    for name, (fn, _, _) in RSP_WRONG.items():
        line = checks.check_random_search_points.evaluate(fn).line
        assert "(high - low)" not in line and "rng.random(" not in line, name


def test_zoom_pays_right_wrong_and_not_attempted():
    check = Keyed(checks.check_zoom_pays)
    assert check.evaluate(lambda: "c").line == "✓ Question 1.1 zoom_pays: right (1/1 points)"
    assert check.evaluate(lambda: "C").passed
    for wrong in "ab":
        r = check.evaluate(lambda w=wrong: w)
        assert r.status == "failed" and r.points == 0
        assert f"you answered ({wrong}); the answer is (c)" in r.line
    assert check.evaluate(_stub).line == \
        "○ Question 1.1 zoom_pays: not attempted yet (0/1 points)"
    assert check.evaluate(lambda: "d").status == "failed"         # not a choice
    # the learner's own check records a well-formed answer and never says right or wrong
    own = checks.check_zoom_pays.evaluate(lambda: "a")
    assert own.status == "answered" and "right or wrong comes with grading" in own.line


def test_zoom_pays_key_agrees_with_coarse_to_fine():
    rng = np.random.default_rng(3)
    def regret(n_rounds, n_per_round):
        return -np.mean([boxes.coarse_to_fine(
            tuning_process.bowl_objective, [0, 0], [1, 1], shrink=_shrink_box,
            n_rounds=n_rounds, n_per_round=n_per_round, n_best=5, rng=rng)["best_score"]
            for _ in range(150)])
    assert regret(1, 60) > 2 * regret(3, 20)                      # (c): a factor 2 or more


def test_panda_raises_counts_exactly():
    check = Keyed(checks.check_panda_raises)
    assert check.evaluate(lambda: 8).line == "✓ Question 1.2 panda_raises: right (1/1 points)"
    assert check.evaluate(lambda: 8.0).passed
    for wrong in (7, 9, 20, 7.4):            # rounded down, one too many, 0.2 / 0.01, unrounded
        r = check.evaluate(lambda w=wrong: w)
        assert r.status == "failed" and r.points == 0 and "the answer is 8" in r.line
    assert check.evaluate(lambda: (8, 9)).status == "failed"      # one number, not a pair
    rates = [0.01 * 1.5 ** k for k in range(12)]                  # every epoch improving
    assert next(i for i, lr in enumerate(rates) if lr >= 0.2) == 8


def test_band_hit_chances_with_partial_credit():
    check = Keyed(checks.check_band_hit_chances)
    assert check.evaluate(lambda: (0.4, 0.815)).line == \
        "✓ Question 1.3 band_hit_chances: right (1/1 points)"
    assert check.evaluate(lambda: [0.4, 1 - 0.9 ** 16]).passed
    r = check.evaluate(lambda: (0.4, 1.6))          # 16 x 0.1: chances added, not combined
    assert r.points == 0.5 and "the answer is 0.4, 0.8147" in r.line
    assert check.evaluate(lambda: (0.25, 0.815)).points == 0.5    # 4 of 16 values, not bands
    assert check.evaluate(lambda: 0.4).status == "failed"         # one number, not a pair


def test_band_hit_chances_key_agrees_with_the_lesson():
    bands = tuning_process.band_hit_rates(4, 16, n_searches=20_000,
                                          rng=np.random.default_rng(0))
    from lessonlib_instructor.questions import KEYS
    grid, random = KEYS["Q1.3"].answer
    assert bands["grid"] == grid
    assert abs(bands["random"] - random) < 4 * bands["random_se"]
