"""The samplers of notebook 02: distributions, bounds, seeds, shapes, bad input, widget logic."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib import scales, tuning  # noqa: E402

N = 40_000


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------ samplers

def test_uniform_is_flat_on_the_linear_scale():
    x = scales.sample_uniform(2.0, 6.0, N, rng=rng())
    assert x.min() >= 2 and x.max() <= 6
    assert np.allclose(np.histogram(x, 4, (2, 6))[0] / N, 0.25, atol=0.015)


def test_log_uniform_puts_a_quarter_in_each_decade():
    x = scales.sample_log_uniform(1e-4, 1.0, N, rng=rng())
    assert x.min() >= 1e-4 and x.max() <= 1
    _, frac = scales.decade_fractions(x, 1e-4, 1.0)
    assert np.allclose(frac, 0.25, atol=0.015)
    # uniform sampling of the same range puts about 90 % in the top decade
    _, flat = scales.decade_fractions(scales.sample_uniform(1e-4, 1.0, N, rng=rng()), 1e-4, 1)
    assert abs(flat[-1] - 0.9) < 0.01


def test_log_uniform_on_an_odd_range_is_uniform_in_log10():
    low, high = 0.003, 40.0
    x = scales.sample_log_uniform(low, high, N, rng=rng(1))
    u = (np.log10(x) - math.log10(low)) / (math.log10(high) - math.log10(low))
    assert u.min() >= 0 and u.max() <= 1
    assert np.allclose(np.histogram(u, 5, (0, 1))[0] / N, 0.2, atol=0.015)


def test_ema_beta_is_log_uniform_in_one_minus_beta():
    beta = scales.sample_ema_beta(0.9, 0.999, N, rng=rng())
    assert beta.min() >= 0.9 and beta.max() <= 0.999
    assert abs(np.mean(beta > 0.99) - 0.5) < 0.015
    _, frac = scales.decade_fractions(1 - beta, 0.001, 0.1)
    assert np.allclose(frac, 0.5, atol=0.015)
    # uniform sampling of beta puts only about 9 % above 0.99
    flat = scales.sample_uniform(0.9, 0.999, N, rng=rng())
    assert abs(np.mean(flat > 0.99) - 0.009 / 0.099) < 0.01


def test_ema_beta_accepts_low_zero():
    beta = scales.sample_ema_beta(0.0, 0.99, N, rng=rng())
    assert beta.min() >= 0 and beta.max() <= 0.99
    _, frac = scales.decade_fractions(1 - beta, 0.01, 1.0)
    assert np.allclose(frac, 0.5, atol=0.015)


def test_the_lecture_slip_gives_weights_above_one():
    beta = scales.sample_ema_beta_slip(0.9, 0.999, 1000, rng=rng())
    assert beta.min() > 1 and beta.max() <= 1.1


def test_int_uniform_is_inclusive_and_flat():
    k = scales.sample_int_uniform(2, 4, N, rng=rng())
    assert k.dtype.kind == "i"
    assert set(np.unique(k)) == {2, 3, 4}
    assert np.allclose(np.bincount(k)[2:] / N, 1 / 3, atol=0.015)
    assert scales.sample_int_uniform(5, 5, 3, rng=rng()).tolist() == [5, 5, 5]


def test_int_log_uniform_spreads_counts_over_decades():
    k = scales.sample_int_log_uniform(8, 1023, N, rng=rng())
    assert k.dtype.kind == "i" and k.min() >= 8 and k.max() <= 1023
    # 8..15, 16..31, ..., 512..1023: seven doublings, about 1/7 each
    octaves = np.histogram(k, bins=[8, 16, 32, 64, 128, 256, 512, 1024])[0] / N
    assert np.allclose(octaves, 1 / 7, atol=0.015)
    small = scales.sample_int_log_uniform(1, 3, N, rng=rng())
    expected = np.log(1 + 1 / np.arange(1, 4)) / np.log(4)
    assert np.allclose(np.bincount(small)[1:] / N, expected, atol=0.015)


SAMPLERS = [(scales.sample_uniform, -1.0, 2.0), (scales.sample_log_uniform, 1e-3, 10.0),
            (scales.sample_ema_beta, 0.5, 0.999), (scales.sample_int_uniform, 1, 9),
            (scales.sample_int_log_uniform, 1, 900)]


@pytest.mark.parametrize("sampler, low, high", SAMPLERS)
def test_shapes(sampler, low, high):
    one = sampler(low, high, rng=rng())
    assert np.ndim(one) == 0 and isinstance(one, (float, int))
    assert np.shape(sampler(low, high, 5, rng=rng())) == (5,)
    assert np.shape(sampler(low, high, (2, 3), rng=rng())) == (2, 3)
    assert np.shape(sampler(low, high, 0, rng=rng())) == (0,)


@pytest.mark.parametrize("sampler, low, high", SAMPLERS)
def test_seeds_and_the_rng_argument(sampler, low, high):
    g = rng(7)
    before = g.bit_generator.state
    a = sampler(low, high, 50, rng=g)
    assert g.bit_generator.state != before
    assert np.array_equal(a, sampler(low, high, 50, rng=rng(7)))
    assert not np.array_equal(a, sampler(low, high, 50, rng=rng(8)))


def test_samplers_never_touch_global_state():
    np.random.seed(3)
    state = np.random.get_state()[1].copy()
    for sampler, low, high in SAMPLERS:
        sampler(low, high, 10, rng=rng())
    assert np.array_equal(np.random.get_state()[1], state)


BAD = [
    (lambda: scales.sample_log_uniform(0, 1, rng=rng()), ValueError, "low must be > 0"),
    (lambda: scales.sample_log_uniform(-1e-3, 1, rng=rng()), ValueError, "low"),
    (lambda: scales.sample_ema_beta(0.9, 1.0, rng=rng()), ValueError, "high must be < 1"),
    (lambda: scales.sample_ema_beta(0.9, 1.5, rng=rng()), ValueError, "high"),
    (lambda: scales.sample_ema_beta(-0.1, 0.9, rng=rng()), ValueError, "low must be >= 0"),
    (lambda: scales.sample_uniform(1, 1, rng=rng()), ValueError, "high must be > low"),
    (lambda: scales.sample_log_uniform(1, 1e-3, rng=rng()), ValueError, "high must be > low"),
    (lambda: scales.sample_ema_beta(0.99, 0.9, rng=rng()), ValueError, "high must be > low"),
    (lambda: scales.sample_int_uniform(5, 4, rng=rng()), ValueError, "high must be >= low"),
    (lambda: scales.sample_int_log_uniform(0, 4, rng=rng()), ValueError, "low must be >= 1"),
    (lambda: scales.sample_uniform(0, np.inf, rng=rng()), ValueError, "high must be finite"),
    (lambda: scales.sample_log_uniform(np.nan, 1, rng=rng()), ValueError,
     "low must be finite"),
    (lambda: scales.sample_ema_beta(0.5, np.nan, rng=rng()), ValueError, "high"),
    (lambda: scales.sample_uniform(0, 1, -1, rng=rng()), ValueError, "size"),
    (lambda: scales.sample_log_uniform(1e-3, 1, (2, -3), rng=rng()), ValueError, r"size\[1\]"),
    (lambda: scales.sample_ema_beta(0.9, 0.99, 2.5, rng=rng()), TypeError, "size"),
    (lambda: scales.sample_int_uniform(1, 4, -2, rng=rng()), ValueError, "size"),
    (lambda: scales.sample_uniform(0, 1, rng=None), TypeError, "rng"),
    (lambda: scales.sample_log_uniform(1e-3, 1, rng=0), TypeError, "rng"),
    (lambda: scales.sample_ema_beta(0.9, 0.99, rng=np.random), TypeError, "rng"),
    (lambda: scales.sample_int_uniform(1, 4, rng=np.random.RandomState(0)), TypeError, "rng"),
    (lambda: scales.sample_int_uniform(1.5, 4, rng=rng()), TypeError, "low"),
    (lambda: scales.sample_uniform("0", 1, rng=rng()), TypeError, "low"),
    (lambda: scales.decade_edges(0, 1), ValueError, "low"),
    (lambda: scales.decade_fractions([], 1e-3, 1), ValueError, "samples"),
    (lambda: scales.scale_summary(1e-3, 1, "linear", rng=rng()), ValueError, "scale"),
    (lambda: scales.scale_summary(0, 1, "log-uniform", rng=rng()), ValueError, "low"),
    (lambda: scales.averaging_window(1.0), ValueError, "beta"),
    (lambda: scales.smooth_scores([1, 2, 3], 2), ValueError, "window"),
    (lambda: scales.compare_search_scales([1e-3, 1e-2], [0.5, 0.6], 1e-4, 1e-2, budgets=[2],
                                          rng=rng()), ValueError, "learning_rates"),
    (lambda: scales.compare_search_scales([1e-3, 1e-2], [0.5], 1e-3, 1e-2, budgets=[2],
                                          rng=rng()), ValueError, "scores"),
    (lambda: scales.learning_rate_curve([0.1, -1], rng=rng()), ValueError, "learning_rates"),
]


@pytest.mark.parametrize("call, exc, words", BAD)
def test_bad_input_is_named(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


# ------------------------------------------------------- tuning's distributions

def test_tuning_distributions_draw_through_the_samplers():
    for dist, sampler in [(tuning.LogUniform(1e-4, 1), scales.sample_log_uniform),
                          (tuning.Uniform(-2, 3), scales.sample_uniform),
                          (tuning.EmaBeta(0.9, 0.999), scales.sample_ema_beta),
                          (tuning.IntUniform(8, 64), scales.sample_int_uniform),
                          (tuning.IntLogUniform(8, 1024), scales.sample_int_log_uniform)]:
        assert np.array_equal(dist.sample(20, rng=rng(4)),
                              sampler(dist.low, dist.high, 20, rng=rng(4)))


def test_search_space_says_each_scale():
    space = {"learning_rate": tuning.LogUniform(1e-4, 1), "beta": tuning.EmaBeta(0.9, 0.999),
             "hidden_units": tuning.IntUniform(50, 100)}
    assert [d.scale for d in space.values()] == ["log-uniform", "ema", "int-uniform"]
    rows = tuning.sample_space(space, 2000, rng=rng())
    betas = np.array([r["beta"] for r in rows])
    assert betas.min() >= 0.9 and betas.max() <= 0.999 and abs(np.mean(betas > 0.99) - 0.5) < 0.04
    assert all(isinstance(r["hidden_units"], int) for r in rows)


@pytest.mark.parametrize("make, word", [(lambda: tuning.EmaBeta(0.9, 1.0), "high"),
                                        (lambda: tuning.EmaBeta(-0.1, 0.9), "low"),
                                        (lambda: tuning.LogUniform(0, 1), "low"),
                                        (lambda: tuning.Uniform(2, 1), "high"),
                                        (lambda: tuning.IntLogUniform(0, 8), "low")])
def test_tuning_distributions_reject_bad_ranges(make, word):
    with pytest.raises(ValueError, match=word):
        make()


# ------------------------------------------------------------ widget's logic

def test_decade_edges():
    assert np.allclose(scales.decade_edges(1e-4, 1), [1e-4, 1e-3, 1e-2, 1e-1, 1])
    assert np.allclose(scales.decade_edges(0.5, 20), [0.5, 1, 10, 20])
    assert np.allclose(scales.decade_edges(2, 3), [2, 3])


def test_decade_fractions_count_exactly():
    edges, frac = scales.decade_fractions([0.002, 0.02, 0.03, 0.5, 5.0], 1e-3, 1)
    assert np.allclose(edges, [1e-3, 1e-2, 1e-1, 1])
    assert np.allclose(frac, [0.2, 0.4, 0.2])          # 5.0 lies outside the range


def test_log_uniform_fractions():
    assert np.allclose(scales.log_uniform_fractions([1e-4, 1e-3, 1e-2, 1e-1, 1]), 0.25)
    assert np.allclose(scales.log_uniform_fractions([0.5, 1, 10]),
                       [math.log10(2) / math.log10(20), 1 / math.log10(20)])


@pytest.mark.parametrize("scale, low, high, label", [
    ("uniform", 1e-4, 1.0, "value"), ("log-uniform", 1e-4, 1.0, "value"),
    ("ema", 0.9, 0.999, "1 - beta")])
def test_scale_summary(scale, low, high, label):
    s = scales.scale_summary(low, high, scale, 20_000, rng=rng())
    assert s["samples"].shape == (20_000,) and s["value_label"] == label
    assert s["fractions"].shape == (s["edges"].size - 1,)
    assert np.isclose(s["fractions"].sum(), 1.0)
    if scale == "uniform":
        assert s["fractions"][-1] > 0.85
    else:
        assert np.allclose(s["fractions"], s["log_uniform"], atol=0.02)


def test_scale_summary_without_a_log_axis():
    s = scales.scale_summary(-1, 1, "uniform", 100, rng=rng())
    assert s["edges"] is None and s["fractions"] is None


def test_summary_is_reproducible():
    a = scales.scale_summary(1e-3, 1, "log-uniform", 100, rng=rng(5))
    b = scales.scale_summary(1e-3, 1, "log-uniform", 100, rng=rng(5))
    assert np.array_equal(a["samples"], b["samples"])


def test_averaging_window():
    assert np.isclose(scales.averaging_window(0.9), 10)
    assert np.allclose(scales.averaging_window(np.array([0.999, 0.9995])), [1000, 2000])


def test_format_decades():
    lines = scales.format_decades([1e-4, 1e-3, 1e-2], [0.25, 0.75])
    assert lines == ["[0.0001, 0.001)    25.0 %", "[0.001, 0.01)    75.0 %"]


def test_plots_return_axes():
    s = scales.scale_summary(0.9, 0.999, "ema", 500, rng=rng())
    axes = scales.plot_scale_summary(s)
    assert len(axes) == 2 and axes[1].get_xscale() == "log"
    ax = scales.plot_samples(s["samples"], ax=plt.subplots()[1])
    assert ax.get_xscale() == "linear"
    no_log = scales.plot_scale_summary(scales.scale_summary(-1, 1, "uniform", 50, rng=rng()))
    assert len(no_log) == 2
    lrs = np.geomspace(1e-3, 1, 7)
    ax = scales.plot_learning_rate_curve(lrs, np.linspace(0.1, 0.9, 7))
    assert ax.get_xscale() == "log"
    comp = scales.compare_search_scales(lrs, np.linspace(0.1, 0.9, 7), 1e-3, 1, budgets=[1, 2],
                                        n_searches=20, rng=rng())
    assert scales.plot_search_success(comp).get_ylabel().startswith("searches")
    plt.close("all")


def test_widget_builds_and_redraws():
    w = scales.scale_widget(n_samples=200)
    controls, count, out = w.children
    scale, low, high = controls.children
    count.value = 400
    scale.value = "ema"            # low = 1e-4, high = 1 is not a valid EMA range
    high.value = 0.999
    low.value = 0.9
    assert count.value == 400 and scale.value == "ema"
    plt.close("all")


# -------------------------------------------------------- the experiment

def test_compare_search_scales_on_a_known_curve():
    # a curve peaked at 1e-3 on [1e-4, 1]: uniform sampling almost never gets near it
    lrs = np.geomspace(1e-4, 1, 41)
    scores = np.exp(-0.5 * ((np.log10(lrs) + 3) / 0.3) ** 2)
    c = scales.compare_search_scales(lrs, scores, 1e-4, 1, budgets=[1, 10], n_searches=4000,
                                     factor=3, rng=rng())
    assert np.isclose(c["best_learning_rate"], 1e-3)
    # one trial succeeds with the chance the window [1e-3/3, 3e-3] has under each scale
    assert abs(c["log-uniform"][0] - 2 * math.log10(3) / 4) < 0.03
    assert abs(c["uniform"][0] - (3e-3 - 1e-3 / 3) / (1 - 1e-4)) < 0.01
    assert c["log-uniform"][1] > 0.9 and c["uniform"][1] < 0.05
    assert np.all(c["log-uniform_score"] > c["uniform_score"])


def test_smooth_scores_keeps_a_constant_and_flattens_noise():
    assert np.allclose(scales.smooth_scores(np.full(9, 0.7)), 0.7)
    assert np.allclose(scales.smooth_scores([0, 0, 5, 0, 0], 5), [1, 1, 1, 1, 1])


def test_learning_rate_curve_is_reproducible_and_peaks_in_the_middle():
    lrs = np.array([1e-4, 3e-2, 3.0])
    a = scales.learning_rate_curve(lrs, epochs=2, n_repeats=1, rng=rng(1))
    b = scales.learning_rate_curve(lrs, epochs=2, n_repeats=1, rng=rng(1))
    assert np.array_equal(a, b) and a.shape == (3,)
    assert a[1] > 0.8 and a[1] > a[0] and a[1] > a[2]
