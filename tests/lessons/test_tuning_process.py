"""lessonlib.lessons.tuning_process: notebook 01's objectives, trials, pictures and widget."""

import matplotlib

matplotlib.use("Agg")


import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lessonlib.lessons import tuning_process as lesson  # noqa: E402
from lessonlib.search import boxes  # noqa: E402


def test_monte_carlo_hit_rate_agrees_with_formula():
    rng = np.random.default_rng(0)
    thr = boxes.top_fraction_threshold(lesson.one_axis_objective, 0.05, [0, 0], [1, 1],
                                        rng=rng)
    for n in (9, 20, 60):
        est, se = boxes.hit_rate(lesson.one_axis_objective, thr, n, 4000, [0, 0], [1, 1],
                                  rng=rng)
        assert abs(est - boxes.chance_at_least_one(0.05, n)) < 4 * se + 0.005


def test_coarse_to_fine_beats_one_round_on_average():
    rng = np.random.default_rng(1)
    one = [boxes.coarse_to_fine(lesson.bowl_objective, [0, 0], [1, 1], n_rounds=1,
                                 n_per_round=60, n_best=5, rng=rng)["best_score"]
           for _ in range(200)]
    three = [boxes.coarse_to_fine(lesson.bowl_objective, [0, 0], [1, 1], n_rounds=3,
                                   n_per_round=20, n_best=5, rng=rng)["best_score"]
             for _ in range(200)]
    assert np.mean(three) > np.mean(one)


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
