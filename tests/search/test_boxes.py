"""lessonlib.search.boxes: grid and random designs, the chance of a hit, coarse to fine."""

import numpy as np
import pytest

from lessonlib.search import boxes


def test_grid_points_tries_k_values_per_axis():
    g = boxes.grid_points(3, [0, 0], [1, 1])
    assert g.shape == (9, 2)
    assert np.allclose(np.unique(g[:, 0]), [1 / 6, 1 / 2, 5 / 6])


def test_random_search_points_bounds_and_seed():
    p = boxes.random_search_points(1000, [0, 10], [1, 20], rng=np.random.default_rng(0))
    assert p.shape == (1000, 2)
    assert p[:, 0].min() >= 0 and p[:, 0].max() <= 1 and p[:, 1].min() >= 10
    q = boxes.random_search_points(1000, [0, 10], [1, 20], rng=np.random.default_rng(0))
    assert np.array_equal(p, q)


@pytest.mark.parametrize("f, n, want", [(0.05, 9, 0.36975), (0.05, 60, 0.95393),
                                        (0.0, 4, 0.0), (1.0, 1, 1.0), (0.3, 0, 0.0)])
def test_chance_at_least_one(f, n, want):
    assert boxes.chance_at_least_one(f, n) == pytest.approx(want, abs=1e-5)


def test_trials_needed_is_the_smallest_n():
    n = boxes.trials_needed(0.05, 0.95)
    assert n == 59
    assert boxes.chance_at_least_one(0.05, n) >= 0.95 > boxes.chance_at_least_one(0.05, n - 1)


def test_shrink_box_linear_by_hand():
    low, high = boxes.shrink_box([[0.1, 0.5], [0.4, 0.6], [0.9, 0.1], [0.35, 0.55]],
                                  [1, 3, 0, 2], [0, 0], [1, 1], n_best=2)
    assert np.allclose(low, [0.25, 0.45]) and np.allclose(high, [0.5, 0.7])


def test_shrink_box_log_axis_by_hand():
    low, high = boxes.shrink_box([[1e-3, 10], [1e-2, 20], [1e-1, 30], [1, 40]],
                                  [0.2, 0.9, 0.8, 0.1], [1e-4, 1], [1, 100], n_best=2,
                                  log_scale=[True, False])
    # best learning rates 1e-2 and 1e-1 span log10 in [-2, -1]; pad 0.1 * 4 decades
    assert np.allclose(low, [10 ** -2.4, 20 - 9.9]) and np.allclose(high, [10 ** -0.6, 39.9])


def test_shrink_box_clips_to_the_old_box():
    low, high = boxes.shrink_box([[0.02, 0.97]], [1.0], [0, 0], [1, 1], n_best=1)
    assert np.allclose(low, [0.0, 0.87]) and np.allclose(high, [0.12, 1.0])


def test_coarse_to_fine_log_axis_stays_in_box():
    res = boxes.coarse_to_fine(lambda p: -np.abs(np.log10(p[:, 0]) + 2), [1e-5], [1.0],
                                n_rounds=3, n_per_round=10, n_best=3, log_scale=[True],
                                rng=np.random.default_rng(2))
    assert res["points"].min() >= 1e-5 and res["points"].max() <= 1.0
    assert len(res["boxes"]) == 3 and res["boxes"][-1][1][0] < 1.0
