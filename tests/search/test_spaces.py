"""lessonlib.search.spaces: distributions, sampling a space, refining it."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from lessonlib_instructor import answers

from lessonlib.search import scales, spaces  # noqa: E402


def rng(seed=0):
    return np.random.default_rng(seed)


def test_tuning_distributions_draw_through_the_samplers():
    for dist, sampler in [(spaces.LogUniform(1e-4, 1), scales.sample_log_uniform),
                          (spaces.Uniform(-2, 3), scales.sample_uniform),
                          (spaces.EmaBeta(0.9, 0.999), scales.sample_ema_beta),
                          (spaces.IntUniform(8, 64), scales.sample_int_uniform),
                          (spaces.IntLogUniform(8, 1024), scales.sample_int_log_uniform)]:
        assert np.array_equal(dist.sample(20, rng=rng(4)),
                              sampler(dist.low, dist.high, 20, rng=rng(4)))


def test_search_space_says_each_scale():
    space = {"learning_rate": spaces.LogUniform(1e-4, 1), "beta": spaces.EmaBeta(0.9, 0.999),
             "hidden_units": spaces.IntUniform(50, 100)}
    assert [d.scale for d in space.values()] == ["log-uniform", "ema", "int-uniform"]
    rows = spaces.sample_space(space, 2000, rng=rng())
    betas = np.array([r["beta"] for r in rows])
    assert betas.min() >= 0.9 and betas.max() <= 0.999 and abs(np.mean(betas > 0.99) - 0.5) < 0.04
    assert all(isinstance(r["hidden_units"], int) for r in rows)


@pytest.mark.parametrize("make, word", [(lambda: spaces.EmaBeta(0.9, 1.0), "high"),
                                        (lambda: spaces.EmaBeta(-0.1, 0.9), "low"),
                                        (lambda: spaces.LogUniform(0, 1), "low"),
                                        (lambda: spaces.Uniform(2, 1), "high"),
                                        (lambda: spaces.IntLogUniform(0, 8), "low")])
def test_tuning_distributions_reject_bad_ranges(make, word):
    with pytest.raises(ValueError, match=word):
        make()


def test_sample_space_log_uniform_spreads_over_decades():
    s = spaces.sample_space({"lr": spaces.LogUniform(1e-4, 1)}, 4000,
                            rng=np.random.default_rng(0))
    lr = np.array([p["lr"] for p in s])
    per_decade = np.histogram(np.log10(lr), bins=4, range=(-4, 0))[0] / lr.size
    assert np.all(np.abs(per_decade - 0.25) < 0.03)


def _results(space, rng, score):
    return [{"params": p, "score": score(p)} for p in spaces.sample_space(space, 200, rng=rng)]


def test_refine_space_shrinks_each_range_on_its_own_scale():
    space = {"lr": spaces.LogUniform(1e-4, 1.0), "beta": spaces.EmaBeta(0.9, 0.999),
             "units": spaces.IntUniform(16, 256), "x": spaces.Uniform(-1.0, 1.0)}

    def score(p):   # best near lr = 1e-2, beta = 0.99, 100 units, x = 0.5
        return -(abs(np.log10(p["lr"]) + 2) + abs(np.log10(1 - p["beta"]) + 2)
                 + abs(p["units"] - 100) / 50 + abs(p["x"] - 0.5))

    new = spaces.refine_space(space, _results(space, np.random.default_rng(0), score),
                              shrink=answers.shrink_box, n_best=10)
    assert [type(d) for d in new.values()] == [type(d) for d in space.values()]
    assert 1e-4 <= new["lr"].low < 1e-2 < new["lr"].high <= 1.0
    assert np.log10(new["lr"].high / new["lr"].low) < 4            # fewer decades than before
    assert 0.9 <= new["beta"].low < 0.99 < new["beta"].high <= 0.999
    assert np.log10((1 - new["beta"].low) / (1 - new["beta"].high)) < 2
    assert isinstance(new["units"].low, int) and 16 <= new["units"].low < 100 < new["units"].high
    assert -1 <= new["x"].low < 0.5 < new["x"].high <= 1 and new["x"].high - new["x"].low < 2


def test_refine_space_bad_input():
    space = {"lr": spaces.LogUniform(1e-4, 1.0)}
    with pytest.raises(ValueError, match="results"):
        spaces.refine_space(space, [], shrink=spaces.zoom_on_best)
    with pytest.raises(ValueError, match="results"):
        spaces.refine_space(space, [{"params": {"other": 1}, "score": 0.5}],
                            shrink=spaces.zoom_on_best)
    with pytest.raises(TypeError, match="space"):
        spaces.refine_space({"lr": object()}, [{"params": {"lr": 1}, "score": 0}],
                            shrink=spaces.zoom_on_best)


def test_zoom_on_best_keeps_a_third_centred_on_the_best_trial():
    low, high = spaces.zoom_on_best([[0.5, 0.1], [0.2, 0.9]], [1.0, 0.0], [0, 0], [1, 1])
    assert np.allclose(low, [0.5 - 1 / 6, 0.0]) and np.allclose(high, [0.5 + 1 / 6, 1 / 3])


def test_refine_space_zooms_on_the_sampled_axis():
    space = {"lr": spaces.LogUniform(1e-4, 1.0), "units": spaces.IntUniform(10, 100)}
    results = [{"params": {"lr": 1e-2, "units": 55}, "score": 1.0},
               {"params": {"lr": 1e-4, "units": 10}, "score": 0.0}]
    new = spaces.refine_space(space, results, shrink=spaces.zoom_on_best)
    # log10(lr) in [-4, 0]: a third is 4/3 decades centred on -2
    assert np.isclose(np.log10(new["lr"].low), -2 - 2 / 3)
    assert np.isclose(np.log10(new["lr"].high), -2 + 2 / 3)
    assert (new["units"].low, new["units"].high) == (40, 70)
