"""lessonlib.lessons.choosing_scales: notebook 02's widget logic, plots and experiment."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib.lessons import choosing_scales as lesson  # noqa: E402
from lessonlib.search import scales  # noqa: E402


def rng(seed=0):
    return np.random.default_rng(seed)


def test_the_lecture_slip_gives_weights_above_one():
    beta = lesson.sample_ema_beta_slip(0.9, 0.999, 1000, rng=rng())
    assert beta.min() > 1 and beta.max() <= 1.1


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
    (lambda: lesson.scale_summary(1e-3, 1, "linear", rng=rng()), ValueError, "scale"),
    (lambda: lesson.scale_summary(0, 1, "log-uniform", rng=rng()), ValueError, "low"),
    (lambda: lesson.averaging_window(1.0), ValueError, "beta"),
    (lambda: lesson.smooth_scores([1, 2, 3], 2), ValueError, "window"),
    (lambda: lesson.compare_search_scales([1e-3, 1e-2], [0.5, 0.6], 1e-4, 1e-2, budgets=[2],
                                          rng=rng()), ValueError, "learning_rates"),
    (lambda: lesson.compare_search_scales([1e-3, 1e-2], [0.5], 1e-3, 1e-2, budgets=[2],
                                          rng=rng()), ValueError, "scores"),
    (lambda: lesson.learning_rate_curve([0.1, -1], rng=rng()), ValueError, "learning_rates"),
]


@pytest.mark.parametrize("call, exc, words", BAD)
def test_bad_input_is_named(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_log_uniform_fractions():
    assert np.allclose(lesson.log_uniform_fractions([1e-4, 1e-3, 1e-2, 1e-1, 1]), 0.25)
    assert np.allclose(lesson.log_uniform_fractions([0.5, 1, 10]),
                       [math.log10(2) / math.log10(20), 1 / math.log10(20)])


@pytest.mark.parametrize("scale, low, high, label", [
    ("uniform", 1e-4, 1.0, "value"), ("log-uniform", 1e-4, 1.0, "value"),
    ("ema", 0.9, 0.999, "1 - beta")])
def test_scale_summary(scale, low, high, label):
    s = lesson.scale_summary(low, high, scale, 20_000, rng=rng())
    assert s["samples"].shape == (20_000,) and s["value_label"] == label
    assert s["fractions"].shape == (s["edges"].size - 1,)
    assert np.isclose(s["fractions"].sum(), 1.0)
    if scale == "uniform":
        assert s["fractions"][-1] > 0.85
    else:
        assert np.allclose(s["fractions"], s["log_uniform"], atol=0.02)


def test_scale_summary_without_a_log_axis():
    s = lesson.scale_summary(-1, 1, "uniform", 100, rng=rng())
    assert s["edges"] is None and s["fractions"] is None


def test_summary_is_reproducible():
    a = lesson.scale_summary(1e-3, 1, "log-uniform", 100, rng=rng(5))
    b = lesson.scale_summary(1e-3, 1, "log-uniform", 100, rng=rng(5))
    assert np.array_equal(a["samples"], b["samples"])


def test_averaging_window():
    assert np.isclose(lesson.averaging_window(0.9), 10)
    assert np.allclose(lesson.averaging_window(np.array([0.999, 0.9995])), [1000, 2000])


def test_format_decades():
    lines = lesson.format_decades([1e-4, 1e-3, 1e-2], [0.25, 0.75])
    assert lines == ["[0.0001, 0.001)    25.0 %", "[0.001, 0.01)    75.0 %"]


def test_plots_return_axes():
    s = lesson.scale_summary(0.9, 0.999, "ema", 500, rng=rng())
    axes = lesson.plot_scale_summary(s)
    assert len(axes) == 2 and axes[1].get_xscale() == "log"
    ax = lesson.plot_samples(s["samples"], ax=plt.subplots()[1])
    assert ax.get_xscale() == "linear"
    no_log = lesson.plot_scale_summary(lesson.scale_summary(-1, 1, "uniform", 50, rng=rng()))
    assert len(no_log) == 2
    lrs = np.geomspace(1e-3, 1, 7)
    ax = lesson.plot_learning_rate_curve(lrs, np.linspace(0.1, 0.9, 7))
    assert ax.get_xscale() == "log"
    comp = lesson.compare_search_scales(lrs, np.linspace(0.1, 0.9, 7), 1e-3, 1, budgets=[1, 2],
                                        n_searches=20, rng=rng())
    assert lesson.plot_search_success(comp).get_ylabel().startswith("searches")
    plt.close("all")


def test_widget_builds_and_redraws():
    w = lesson.scale_widget(n_samples=200)
    controls, count, out = w.children
    scale, low, high = controls.children
    count.value = 400
    scale.value = "ema"            # low = 1e-4, high = 1 is not a valid EMA range
    high.value = 0.999
    low.value = 0.9
    assert count.value == 400 and scale.value == "ema"
    plt.close("all")


def test_compare_search_scales_on_a_known_curve():
    # a curve peaked at 1e-3 on [1e-4, 1]: uniform sampling almost never gets near it
    lrs = np.geomspace(1e-4, 1, 41)
    scores = np.exp(-0.5 * ((np.log10(lrs) + 3) / 0.3) ** 2)
    c = lesson.compare_search_scales(lrs, scores, 1e-4, 1, budgets=[1, 10], n_searches=4000,
                                     factor=3, rng=rng())
    assert np.isclose(c["best_learning_rate"], 1e-3)
    # one trial succeeds with the chance the window [1e-3/3, 3e-3] has under each scale
    assert abs(c["log-uniform"][0] - 2 * math.log10(3) / 4) < 0.03
    assert abs(c["uniform"][0] - (3e-3 - 1e-3 / 3) / (1 - 1e-4)) < 0.01
    assert c["log-uniform"][1] > 0.9 and c["uniform"][1] < 0.05
    assert np.all(c["log-uniform_score"] > c["uniform_score"])


def test_smooth_scores_keeps_a_constant_and_flattens_noise():
    assert np.allclose(lesson.smooth_scores(np.full(9, 0.7)), 0.7)
    assert np.allclose(lesson.smooth_scores([0, 0, 5, 0, 0], 5), [1, 1, 1, 1, 1])


def test_learning_rate_curve_is_reproducible_and_peaks_in_the_middle():
    lrs = np.array([1e-4, 3e-2, 3.0])
    a = lesson.learning_rate_curve(lrs, epochs=2, n_repeats=1, rng=rng(1))
    b = lesson.learning_rate_curve(lrs, epochs=2, n_repeats=1, rng=rng(1))
    assert np.array_equal(a, b) and a.shape == (3,)
    assert a[1] > 0.8 and a[1] > a[0] and a[1] > a[2]


def test_the_experiments_run_the_samplers_they_are_given(capsys):
    def top_decade_only(low, high, size=None, *, rng):
        """A learner's log-uniform sampler stuck in the top decade: its results show it."""
        return 10 ** rng.uniform(math.log10(high) - 1, math.log10(high), size)
    s = lesson.scale_summary(1e-4, 1, "log-uniform", 1000,
                             samplers={"log-uniform": top_decade_only}, rng=rng())
    assert np.allclose(s["fractions"], [0, 0, 0, 1])
    lrs = np.geomspace(1e-4, 1, 41)
    scores = np.exp(-0.5 * ((np.log10(lrs) + 3) / 0.3) ** 2)      # best rate 1e-3
    c = lesson.compare_search_scales(lrs, scores, 1e-4, 1, budgets=[10], n_searches=200,
                                     samplers={"log-uniform": top_decade_only}, rng=rng())
    assert c["log-uniform"][0] == 0
    lesson.scale_widget(n_samples=200, samplers={"log-uniform": top_decade_only})
    assert "[0.1, 1)   100.0 %" in capsys.readouterr().out     # outside a kernel it prints
    plt.close("all")


def test_show_recipes_only_after_the_exercise_passes(capsys):
    from lessonlib.grader.session import Choice
    mine, stand_in = Choice(len, "your f", True), Choice(len, "lessonlib's f", False)
    lesson.show_recipes(stand_in, stand_in)
    out = capsys.readouterr().out
    assert "10**r" not in out and out.count("once your function passes its check") == 2
    lesson.show_recipes(mine, stand_in)
    out = capsys.readouterr().out
    assert "alpha = 10**r" in out and "1 - 10**r" not in out
    lesson.show_recipes(stand_in, mine)
    assert "beta = 1 - 10**r" in capsys.readouterr().out
