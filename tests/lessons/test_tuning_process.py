"""lessonlib.lessons.tuning_process: notebook 01's objectives, trials, pictures and widget."""

import matplotlib

matplotlib.use("Agg")


import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from lessonlib_instructor import answers  # noqa: E402

from lessonlib.lessons import tuning_process as lesson  # noqa: E402
from lessonlib.search import boxes  # noqa: E402


def test_monte_carlo_hit_rate_agrees_with_formula():
    rng = np.random.default_rng(0)
    thr = boxes.top_fraction_threshold(lesson.one_axis_objective, 0.05, [0, 0], [1, 1],
                                        rng=rng)
    for n in (9, 20, 60):
        est, se = boxes.hit_rate(lesson.one_axis_objective, thr, n, 4000, [0, 0], [1, 1],
                                  rng=rng)
        assert abs(est - answers.chance_at_least_one(0.05, n)) < 4 * se + 0.005


def test_coarse_to_fine_beats_one_round_on_average():
    rng = np.random.default_rng(1)
    one = [boxes.coarse_to_fine(lesson.bowl_objective, [0, 0], [1, 1],
                                 shrink=answers.shrink_box, n_rounds=1,
                                 n_per_round=60, n_best=5, rng=rng)["best_score"]
           for _ in range(200)]
    three = [boxes.coarse_to_fine(lesson.bowl_objective, [0, 0], [1, 1],
                                   shrink=answers.shrink_box, n_rounds=3,
                                   n_per_round=20, n_best=5, rng=rng)["best_score"]
             for _ in range(200)]
    assert np.mean(three) > np.mean(one)


def test_no_chance_formula_leaves_the_column_empty_and_trials_for_counts():
    assert np.isnan(lesson.no_chance_formula(0.05, 9))
    assert lesson.trials_for(lesson.no_chance_formula, 0.05, 0.95) is None
    assert lesson.trials_for(lambda f, n: min(1.0, n * f), 0.05, 0.95) == 19


def test_digits_trial_learns_and_is_seeded():
    a = lesson.digits_trial({"learning_rate": 0.5, "epochs": 3}, rng=np.random.default_rng(0))
    b = lesson.digits_trial({"learning_rate": 0.5, "epochs": 3}, rng=np.random.default_rng(0))
    assert a == b and a > 0.8


def test_babysit_changes_the_learning_rate_by_the_rule():
    h = lesson.babysit(0.01, 6, rng=np.random.default_rng(0))
    rates = np.array(h["learning_rate"])
    acc = np.array(h["val_acc"])
    assert rates.size == 6
    want = np.where(np.diff(acc[:-1], prepend=-1) > 0, 1.5,
                    np.where(np.diff(acc[:-1], prepend=-1) < 0, 0.5, 1.0))
    assert np.allclose(rates[1:] / rates[:-1], want)
    assert h["best_val_acc"] == max(h["val_acc"])


def test_search_coverage_counts_distinct_values():
    c = lesson.search_coverage(10, rng=np.random.default_rng(0))
    assert c["grid"].shape == (9, 2) and c["grid_distinct"] == 3
    assert c["random"].shape == (10, 2) and c["random_distinct"] == 10


def test_plots_and_widget_build():
    axes = lesson.plot_search_coverage(lesson.search_coverage(9, rng=np.random.default_rng(0)))
    assert len(axes) == 2 and "3 values" in axes[0].get_title()
    results = [{"params": {"learning_rate": lr}, "score": s}
               for lr, s in [(1e-3, 0.2), (1e-1, 0.9), (1.0, 0.7)]]
    ax = lesson.plot_search_results(results)
    assert "0.1" in ax.get_legend().get_texts()[1].get_text()
    plt.close("all")
    box = lesson.coverage_widget(seed=0)
    slider = box.children[0]
    slider.value = 25
    assert slider.value == 25


def test_plot_coarse_to_fine_shows_every_box_inside_the_axes():
    from matplotlib.patches import Rectangle
    search = boxes.coarse_to_fine(lesson.bowl_objective, [0, 0], [1, 1],
                                   shrink=answers.shrink_box, n_rounds=3,
                                   n_per_round=20, n_best=5, rng=np.random.default_rng(2))
    ax = lesson.plot_coarse_to_fine(search, optimum=(0.71, 0.28))
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rects) == 3
    first = rects[0]
    assert (first.get_x(), first.get_y(), first.get_width(), first.get_height()) == (0, 0, 1, 1)
    assert first.get_linestyle() == "--"
    # the whole box is the first round's: the axes leave a margin so it is not the frame
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < 0 and x1 > 1 and y0 < 0 and y1 > 1
    for r, (lo, hi) in zip(rects, search["boxes"]):
        assert np.allclose([r.get_x(), r.get_y()], lo)
        assert np.allclose([r.get_width(), r.get_height()], hi - lo)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["round 1: 20 trials and their box", "round 2: 20 trials and their box",
                      "round 3: 20 trials and their box", "true best"]
    plt.close("all")


def _corner_sampler(calls):
    """A learner's sampler that records its calls and puts every trial in the box's lower
    quarter on axis 0: whoever runs it, the results show it."""
    def sampler(n_trials, low, high, *, rng):
        calls.append(n_trials)
        u = rng.random((n_trials, len(low)))
        u[:, 0] *= 0.25
        return low + (high - low) * u
    return sampler


def test_the_experiments_run_the_sampler_they_are_given():
    calls = []
    sampler = _corner_sampler(calls)
    c = lesson.search_coverage(9, sampler=sampler, rng=np.random.default_rng(0))
    assert calls == [9] and c["random"][:, 0].max() <= 0.25
    search = boxes.coarse_to_fine(lesson.bowl_objective, [0, 0], [1, 1], shrink=boxes.keep_box,
                                  n_rounds=2, n_per_round=5, n_best=2, sampler=sampler,
                                  rng=np.random.default_rng(0))
    assert calls[1:] == [5, 5] and search["points"][:, 0].max() <= 0.25
    # the band [0.6, 0.7) of one_axis_objective's peak is never reached
    thr = boxes.top_fraction_threshold(lesson.one_axis_objective, 0.05, [0, 0], [1, 1],
                                        rng=np.random.default_rng(0))
    est, _ = boxes.hit_rate(lesson.one_axis_objective, thr, 9, 100, [0, 0], [1, 1],
                            sampler=sampler, rng=np.random.default_rng(0))
    assert est == 0 and calls[-1] == 900
    bands = lesson.band_hit_rates(4, 16, n_searches=2000, sampler=sampler,
                                  rng=np.random.default_rng(0))
    assert abs(bands["random"] - (1 - 0.8 ** 16) * 0.3) < 0.05   # only bands 0 to 2 are hit


def test_band_hit_rates_grid_exact_and_random_by_the_complement_rule():
    bands = lesson.band_hit_rates(4, 16, n_searches=20_000, rng=np.random.default_rng(1))
    assert bands["grid"] == 0.4
    assert abs(bands["random"] - (1 - 0.9 ** 16)) < 4 * bands["random_se"]
    assert lesson.band_hit_rates(10, 1, n_searches=10, rng=np.random.default_rng(1))["grid"] == 1
