"""lessonlib_instructor.answers.tuning_process: notebook 01's answers, by hand."""

import numpy as np
import pytest
from lessonlib_instructor import answers

from lessonlib.lessons import tuning_process


@pytest.mark.parametrize("f, n, want", [(0.05, 9, 0.36975), (0.05, 60, 0.95393),
                                        (0.0, 4, 0.0), (1.0, 1, 1.0), (0.3, 0, 0.0)])
def test_chance_at_least_one(f, n, want):
    assert answers.chance_at_least_one(f, n) == pytest.approx(want, abs=1e-5)


def test_about_sixty_trials_give_a_95_percent_chance():
    n = tuning_process.trials_for(answers.chance_at_least_one, 0.05, 0.95)
    assert n == 59
    assert answers.chance_at_least_one(0.05, n) >= 0.95 > answers.chance_at_least_one(0.05, n - 1)


def test_shrink_box_linear_by_hand():
    low, high = answers.shrink_box([[0.1, 0.5], [0.4, 0.6], [0.9, 0.1], [0.35, 0.55]],
                                  [1, 3, 0, 2], [0, 0], [1, 1], n_best=2)
    assert np.allclose(low, [0.25, 0.45]) and np.allclose(high, [0.5, 0.7])


def test_shrink_box_log_axis_by_hand():
    low, high = answers.shrink_box([[1e-3, 10], [1e-2, 20], [1e-1, 30], [1, 40]],
                                  [0.2, 0.9, 0.8, 0.1], [1e-4, 1], [1, 100], n_best=2,
                                  log_scale=[True, False])
    # best learning rates 1e-2 and 1e-1 span log10 in [-2, -1]; pad 0.1 * 4 decades
    assert np.allclose(low, [10 ** -2.4, 20 - 9.9]) and np.allclose(high, [10 ** -0.6, 39.9])


def test_shrink_box_clips_to_the_old_box():
    low, high = answers.shrink_box([[0.02, 0.97]], [1.0], [0, 0], [1, 1], n_best=1)
    assert np.allclose(low, [0.0, 0.87]) and np.allclose(high, [0.12, 1.0])
