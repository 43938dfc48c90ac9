"""lessonlib.search.boxes: grid and random designs, the chance of a hit, coarse to fine."""

import numpy as np
import pytest
from lessonlib_instructor import answers

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


def test_keep_box_is_plain_random_search():
    res = boxes.coarse_to_fine(lambda p: -np.abs(p[:, 0] - 0.3), [0.0], [1.0],
                                shrink=boxes.keep_box, n_rounds=3, n_per_round=5, n_best=2,
                                rng=np.random.default_rng(1))
    assert all(np.array_equal(lo, [0.0]) and np.array_equal(hi, [1.0])
               for lo, hi in res["boxes"])


def test_coarse_to_fine_calls_shrink_with_every_trial_so_far():
    calls = []

    def shrink(points, scores, low, high, *, n_best, log_scale, pad):
        calls.append((len(points), n_best, pad))
        return low, (low + high) / 2

    res = boxes.coarse_to_fine(lambda p: -p[:, 0], [0.0], [1.0], shrink=shrink, n_rounds=3,
                                n_per_round=4, n_best=2, pad=0.2, rng=np.random.default_rng(0))
    assert calls == [(4, 2, 0.2), (8, 2, 0.2), (12, 2, 0.2)]
    assert np.allclose([hi[0] for _, hi in res["boxes"]], [1.0, 0.5, 0.25])


def test_coarse_to_fine_refuses_a_box_outside_the_old_one():
    with pytest.raises(ValueError, match="shrink must return a box inside"):
        boxes.coarse_to_fine(lambda p: -p[:, 0], [0.0], [1.0], n_rounds=2, n_per_round=3,
                             n_best=1, shrink=lambda p, s, lo, hi, **kw: (lo - 1, hi),
                             rng=np.random.default_rng(0))


def test_coarse_to_fine_log_axis_stays_in_box():
    res = boxes.coarse_to_fine(lambda p: -np.abs(np.log10(p[:, 0]) + 2), [1e-5], [1.0],
                                shrink=answers.shrink_box, n_rounds=3, n_per_round=10,
                                n_best=3, log_scale=[True],
                                rng=np.random.default_rng(2))
    assert res["points"].min() >= 1e-5 and res["points"].max() <= 1.0
    assert len(res["boxes"]) == 3 and res["boxes"][-1][1][0] < 1.0
