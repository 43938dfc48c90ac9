"""lessonlib.search.parallel: random search with parallel trials."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from lessonlib.search import boxes, parallel, spaces


def _square(params, *, rng):
    return -(params["x"] - 0.3) ** 2 + 1e-3 * rng.random()


def test_random_search_same_results_for_any_n_jobs_and_executor():
    space = {"x": spaces.Uniform(0, 1), "n": spaces.IntUniform(1, 4)}
    runs = [parallel.random_search(_square, space, 12, rng=np.random.default_rng(5), n_jobs=j)
            for j in (1, 2)]
    with ThreadPoolExecutor(3) as ex:
        runs.append(parallel.random_search(_square, space, 12, rng=np.random.default_rng(5),
                                         executor=ex))
    scores = [[r["score"] for r in run] for run in runs]
    assert scores[0] == scores[1] == scores[2]
    assert [r["params"] for r in runs[0]] == [r["params"] for r in runs[1]]
    assert all(1 <= r["params"]["n"] <= 4 for r in runs[0])


@pytest.mark.parametrize("call, exc, word", [
    (lambda: boxes.random_search_points(5, [1, 0], [0, 1], rng=np.random.default_rng(0)),
     ValueError, "low"),
    (lambda: boxes.random_search_points(5, [0, 0], [1], rng=np.random.default_rng(0)),
     ValueError, "shape"),
    (lambda: boxes.random_search_points(-1, [0], [1], rng=np.random.default_rng(0)),
     ValueError, "n_trials"),
    (lambda: boxes.random_search_points(5, [0], [1], rng=42), TypeError, "rng"),
    (lambda: boxes.random_search_points(5, [0], [np.inf], rng=np.random.default_rng(0)),
     ValueError, "high"),
    (lambda: boxes.chance_at_least_one(1.5, 3), ValueError, "fraction"),
    (lambda: boxes.chance_at_least_one(0.5, 2.5), TypeError, "n_trials"),
    (lambda: boxes.shrink_box([[1, 2]], [1], [0, 0], [2, 3], n_best=2), ValueError, "n_best"),
    (lambda: boxes.shrink_box([[1, 2]], [1, 2], [0, 0], [2, 3], n_best=1), ValueError,
     "scores"),
    (lambda: boxes.shrink_box([[1, 2]], [1], [0, 0], [2, 3], n_best=1,
                               log_scale=[True, False]), ValueError, "log-scaled"),
    (lambda: spaces.LogUniform(0, 1), ValueError, "low"),
    (lambda: parallel.random_search(_square, {"x": spaces.Uniform(0, 1)}, 2,
                                  rng=np.random.default_rng(0), n_jobs=0), ValueError, "n_jobs"),
    (lambda: parallel.random_search(_square, {"x": spaces.Uniform(0, 1)}, 2,
                                  rng=np.random.default_rng(0), executor="pool"),
     TypeError, "executor"),
    (lambda: spaces.sample_space({}, 2, rng=np.random.default_rng(0)), TypeError, "space"),
])
def test_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
