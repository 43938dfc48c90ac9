from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from lessonlib import tuning


def test_grid_points_tries_k_values_per_axis():
    g = tuning.grid_points(3, [0, 0], [1, 1])
    assert g.shape == (9, 2)
    assert np.allclose(np.unique(g[:, 0]), [1 / 6, 1 / 2, 5 / 6])


def test_random_search_points_bounds_and_seed():
    p = tuning.random_search_points(1000, [0, 10], [1, 20], rng=np.random.default_rng(0))
    assert p.shape == (1000, 2)
    assert p[:, 0].min() >= 0 and p[:, 0].max() <= 1 and p[:, 1].min() >= 10
    q = tuning.random_search_points(1000, [0, 10], [1, 20], rng=np.random.default_rng(0))
    assert np.array_equal(p, q)


@pytest.mark.parametrize("f, n, want", [(0.05, 9, 0.36975), (0.05, 60, 0.95393),
                                        (0.0, 4, 0.0), (1.0, 1, 1.0), (0.3, 0, 0.0)])
def test_chance_at_least_one(f, n, want):
    assert tuning.chance_at_least_one(f, n) == pytest.approx(want, abs=1e-5)


def test_trials_needed_is_the_smallest_n():
    n = tuning.trials_needed(0.05, 0.95)
    assert n == 59
    assert tuning.chance_at_least_one(0.05, n) >= 0.95 > tuning.chance_at_least_one(0.05, n - 1)


def test_shrink_box_linear_by_hand():
    low, high = tuning.shrink_box([[0.1, 0.5], [0.4, 0.6], [0.9, 0.1], [0.35, 0.55]],
                                  [1, 3, 0, 2], [0, 0], [1, 1], n_best=2)
    assert np.allclose(low, [0.25, 0.45]) and np.allclose(high, [0.5, 0.7])


def test_shrink_box_log_axis_by_hand():
    low, high = tuning.shrink_box([[1e-3, 10], [1e-2, 20], [1e-1, 30], [1, 40]],
                                  [0.2, 0.9, 0.8, 0.1], [1e-4, 1], [1, 100], n_best=2,
                                  log_scale=[True, False])
    # best learning rates 1e-2 and 1e-1 span log10 in [-2, -1]; pad 0.1 * 4 decades
    assert np.allclose(low, [10 ** -2.4, 20 - 9.9]) and np.allclose(high, [10 ** -0.6, 39.9])


def test_shrink_box_clips_to_the_old_box():
    low, high = tuning.shrink_box([[0.02, 0.97]], [1.0], [0, 0], [1, 1], n_best=1)
    assert np.allclose(low, [0.0, 0.87]) and np.allclose(high, [0.12, 1.0])


def test_monte_carlo_hit_rate_agrees_with_formula():
    rng = np.random.default_rng(0)
    thr = tuning.top_fraction_threshold(tuning.one_axis_objective, 0.05, [0, 0], [1, 1],
                                        rng=rng)
    for n in (9, 20, 60):
        est, se = tuning.hit_rate(tuning.one_axis_objective, thr, n, 4000, [0, 0], [1, 1],
                                  rng=rng)
        assert abs(est - tuning.chance_at_least_one(0.05, n)) < 4 * se + 0.005


def test_coarse_to_fine_beats_one_round_on_average():
    rng = np.random.default_rng(1)
    one = [tuning.coarse_to_fine(tuning.bowl_objective, [0, 0], [1, 1], n_rounds=1,
                                 n_per_round=60, n_best=5, rng=rng)["best_score"]
           for _ in range(200)]
    three = [tuning.coarse_to_fine(tuning.bowl_objective, [0, 0], [1, 1], n_rounds=3,
                                   n_per_round=20, n_best=5, rng=rng)["best_score"]
             for _ in range(200)]
    assert np.mean(three) > np.mean(one)


def test_coarse_to_fine_log_axis_stays_in_box():
    res = tuning.coarse_to_fine(lambda p: -np.abs(np.log10(p[:, 0]) + 2), [1e-5], [1.0],
                                n_rounds=3, n_per_round=10, n_best=3, log_scale=[True],
                                rng=np.random.default_rng(2))
    assert res["points"].min() >= 1e-5 and res["points"].max() <= 1.0
    assert len(res["boxes"]) == 3 and res["boxes"][-1][1][0] < 1.0


def _square(params, *, rng):
    return -(params["x"] - 0.3) ** 2 + 1e-3 * rng.random()


def test_random_search_same_results_for_any_n_jobs_and_executor():
    space = {"x": tuning.Uniform(0, 1), "n": tuning.IntUniform(1, 4)}
    runs = [tuning.random_search(_square, space, 12, rng=np.random.default_rng(5), n_jobs=j)
            for j in (1, 2)]
    with ThreadPoolExecutor(3) as ex:
        runs.append(tuning.random_search(_square, space, 12, rng=np.random.default_rng(5),
                                         executor=ex))
    scores = [[r["score"] for r in run] for run in runs]
    assert scores[0] == scores[1] == scores[2]
    assert [r["params"] for r in runs[0]] == [r["params"] for r in runs[1]]
    assert all(1 <= r["params"]["n"] <= 4 for r in runs[0])


def test_sample_space_log_uniform_spreads_over_decades():
    s = tuning.sample_space({"lr": tuning.LogUniform(1e-4, 1)}, 4000,
                            rng=np.random.default_rng(0))
    lr = np.array([p["lr"] for p in s])
    per_decade = np.histogram(np.log10(lr), bins=4, range=(-4, 0))[0] / lr.size
    assert np.all(np.abs(per_decade - 0.25) < 0.03)


def test_digits_trial_learns_and_is_seeded():
    a = tuning.digits_trial({"learning_rate": 0.5, "epochs": 3}, rng=np.random.default_rng(0))
    b = tuning.digits_trial({"learning_rate": 0.5, "epochs": 3}, rng=np.random.default_rng(0))
    assert a == b and a > 0.8


def test_babysit_changes_the_learning_rate_by_the_rule():
    h = tuning.babysit(0.01, 6, rng=np.random.default_rng(0))
    rates = np.array(h["learning_rate"])
    acc = np.array(h["val_acc"])
    assert rates.size == 6
    want = np.where(np.diff(acc[:-1], prepend=-1) > 0, 1.5,
                    np.where(np.diff(acc[:-1], prepend=-1) < 0, 0.5, 1.0))
    assert np.allclose(rates[1:] / rates[:-1], want)
    assert h["best_val_acc"] == max(h["val_acc"])


def test_search_coverage_counts_distinct_values():
    c = tuning.search_coverage(10, rng=np.random.default_rng(0))
    assert c["grid"].shape == (9, 2) and c["grid_distinct"] == 3
    assert c["random"].shape == (10, 2) and c["random_distinct"] == 10


def test_plots_and_widget_build():
    import matplotlib.pyplot as plt
    axes = tuning.plot_search_coverage(tuning.search_coverage(9, rng=np.random.default_rng(0)))
    assert len(axes) == 2 and "3 values" in axes[0].get_title()
    results = [{"params": {"learning_rate": lr}, "score": s}
               for lr, s in [(1e-3, 0.2), (1e-1, 0.9), (1.0, 0.7)]]
    ax = tuning.plot_search_results(results)
    assert "0.1" in ax.get_legend().get_texts()[1].get_text()
    plt.close("all")
    box = tuning.coverage_widget(seed=0)
    slider = box.children[0]
    slider.value = 25
    assert slider.value == 25


@pytest.mark.parametrize("call, exc, word", [
    (lambda: tuning.random_search_points(5, [1, 0], [0, 1], rng=np.random.default_rng(0)),
     ValueError, "low"),
    (lambda: tuning.random_search_points(5, [0, 0], [1], rng=np.random.default_rng(0)),
     ValueError, "shape"),
    (lambda: tuning.random_search_points(-1, [0], [1], rng=np.random.default_rng(0)),
     ValueError, "n_trials"),
    (lambda: tuning.random_search_points(5, [0], [1], rng=42), TypeError, "rng"),
    (lambda: tuning.random_search_points(5, [0], [np.inf], rng=np.random.default_rng(0)),
     ValueError, "high"),
    (lambda: tuning.chance_at_least_one(1.5, 3), ValueError, "fraction"),
    (lambda: tuning.chance_at_least_one(0.5, 2.5), TypeError, "n_trials"),
    (lambda: tuning.shrink_box([[1, 2]], [1], [0, 0], [2, 3], n_best=2), ValueError, "n_best"),
    (lambda: tuning.shrink_box([[1, 2]], [1, 2], [0, 0], [2, 3], n_best=1), ValueError,
     "scores"),
    (lambda: tuning.shrink_box([[1, 2]], [1], [0, 0], [2, 3], n_best=1,
                               log_scale=[True, False]), ValueError, "log-scaled"),
    (lambda: tuning.LogUniform(0, 1), ValueError, "low"),
    (lambda: tuning.random_search(_square, {"x": tuning.Uniform(0, 1)}, 2,
                                  rng=np.random.default_rng(0), n_jobs=0), ValueError, "n_jobs"),
    (lambda: tuning.random_search(_square, {"x": tuning.Uniform(0, 1)}, 2,
                                  rng=np.random.default_rng(0), executor="pool"),
     TypeError, "executor"),
    (lambda: tuning.sample_space({}, 2, rng=np.random.default_rng(0)), TypeError, "space"),
])
def test_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def _results(space, rng, score):
    return [{"params": p, "score": score(p)} for p in tuning.sample_space(space, 200, rng=rng)]


def test_refine_space_shrinks_each_range_on_its_own_scale():
    space = {"lr": tuning.LogUniform(1e-4, 1.0), "beta": tuning.EmaBeta(0.9, 0.999),
             "units": tuning.IntUniform(16, 256), "x": tuning.Uniform(-1.0, 1.0)}

    def score(p):   # best near lr = 1e-2, beta = 0.99, 100 units, x = 0.5
        return -(abs(np.log10(p["lr"]) + 2) + abs(np.log10(1 - p["beta"]) + 2)
                 + abs(p["units"] - 100) / 50 + abs(p["x"] - 0.5))

    new = tuning.refine_space(space, _results(space, np.random.default_rng(0), score),
                              n_best=10)
    assert [type(d) for d in new.values()] == [type(d) for d in space.values()]
    assert 1e-4 <= new["lr"].low < 1e-2 < new["lr"].high <= 1.0
    assert np.log10(new["lr"].high / new["lr"].low) < 4            # fewer decades than before
    assert 0.9 <= new["beta"].low < 0.99 < new["beta"].high <= 0.999
    assert np.log10((1 - new["beta"].low) / (1 - new["beta"].high)) < 2
    assert isinstance(new["units"].low, int) and 16 <= new["units"].low < 100 < new["units"].high
    assert -1 <= new["x"].low < 0.5 < new["x"].high <= 1 and new["x"].high - new["x"].low < 2


def test_refine_space_bad_input():
    space = {"lr": tuning.LogUniform(1e-4, 1.0)}
    with pytest.raises(ValueError, match="results"):
        tuning.refine_space(space, [], n_best=3)
    with pytest.raises(ValueError, match="results"):
        tuning.refine_space(space, [{"params": {"other": 1}, "score": 0.5}], n_best=1)
    with pytest.raises(TypeError, match="space"):
        tuning.refine_space({"lr": object()}, [{"params": {"lr": 1}, "score": 0}], n_best=1)
