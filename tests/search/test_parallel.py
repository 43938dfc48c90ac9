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


def test_a_dask_clusters_executor_runs_the_notebooks_trials_as_n_jobs_1_does():
    """Notebook 01's digits trials and notebook 06's coarse-to-fine capstone search, on a
    local Dask cluster of worker processes: the results of ``n_jobs=1``, trial for trial."""
    distributed = pytest.importorskip("dask.distributed")
    from lessonlib.lessons import putting_it_together, tuning_process
    space_01 = {"learning_rate": spaces.LogUniform(1e-3, 1.0),
                "hidden_units": spaces.IntLogUniform(8, 64), "epochs": spaces.IntUniform(2, 3)}
    space_06 = {"learning_rate": spaces.LogUniform(1e-3, 1e-1),
                "hidden_units": spaces.IntLogUniform(16, 32),
                "batch_size": spaces.IntLogUniform(64, 128),
                "n_hidden_layers": spaces.IntUniform(1, 2)}

    def both(**kw):
        first = parallel.random_search(tuning_process.digits_trial, space_01, 4,
                                       rng=np.random.default_rng(1), **kw)
        capstone = putting_it_together.coarse_to_fine_search(
            space_06, n_rounds=2, n_per_round=2, rng=np.random.default_rng(6),
            trial_fn=_short_capstone_trial, **kw)
        return ([(r["params"], r["score"]) for r in first],
                [(r["params"], r["score"]) for r in capstone["results"]])

    alone = both(n_jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = both(executor=client.get_executor())
    assert on_dask == alone


def _short_capstone_trial(params, *, rng):
    from lessonlib.lessons import putting_it_together
    return putting_it_together.capstone_trial({**params, "epochs": 2}, rng=rng)
