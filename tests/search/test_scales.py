"""lessonlib.search.scales: the samplers on each scale."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib.search import scales  # noqa: E402

N = 40_000


def rng(seed=0):
    return np.random.default_rng(seed)


def test_uniform_is_flat_on_the_linear_scale():
    x = scales.sample_uniform(2.0, 6.0, N, rng=rng())
    assert x.min() >= 2 and x.max() <= 6
    assert np.allclose(np.histogram(x, 4, (2, 6))[0] / N, 0.25, atol=0.015)


def test_log_uniform_on_an_odd_range_is_uniform_in_log10():
    low, high = 0.003, 40.0
    x = scales.sample_log_uniform(low, high, N, rng=rng(1))
    u = (np.log10(x) - math.log10(low)) / (math.log10(high) - math.log10(low))
    assert u.min() >= 0 and u.max() <= 1
    assert np.allclose(np.histogram(u, 5, (0, 1))[0] / N, 0.2, atol=0.015)


def test_int_uniform_is_inclusive_and_flat():
    k = scales.sample_int_uniform(2, 4, N, rng=rng())
    assert k.dtype.kind == "i"
    assert set(np.unique(k)) == {2, 3, 4}
    assert np.allclose(np.bincount(k)[2:] / N, 1 / 3, atol=0.015)
    assert scales.sample_int_uniform(5, 5, 3, rng=rng()).tolist() == [5, 5, 5]


def test_int_log_uniform_spreads_counts_over_decades():
    k = scales.sample_int_log_uniform(8, 1023, N, rng=rng())
    assert k.dtype.kind == "i" and k.min() >= 8 and k.max() <= 1023
    # 8..15, 16..31, ..., 512..1023: seven doublings, about 1/7 each
    octaves = np.histogram(k, bins=[8, 16, 32, 64, 128, 256, 512, 1024])[0] / N
    assert np.allclose(octaves, 1 / 7, atol=0.015)
    small = scales.sample_int_log_uniform(1, 3, N, rng=rng())
    expected = np.log(1 + 1 / np.arange(1, 4)) / np.log(4)
    assert np.allclose(np.bincount(small)[1:] / N, expected, atol=0.015)


SAMPLERS = [(scales.sample_uniform, -1.0, 2.0), (scales.sample_log_uniform, 1e-3, 10.0),
            (scales.sample_ema_beta, 0.5, 0.999), (scales.sample_int_uniform, 1, 9),
            (scales.sample_int_log_uniform, 1, 900)]


@pytest.mark.parametrize("sampler, low, high", SAMPLERS)
def test_shapes(sampler, low, high):
    one = sampler(low, high, rng=rng())
    assert np.ndim(one) == 0 and isinstance(one, (float, int))
    assert np.shape(sampler(low, high, 5, rng=rng())) == (5,)
    assert np.shape(sampler(low, high, (2, 3), rng=rng())) == (2, 3)
    assert np.shape(sampler(low, high, 0, rng=rng())) == (0,)


@pytest.mark.parametrize("sampler, low, high", SAMPLERS)
def test_seeds_and_the_rng_argument(sampler, low, high):
    g = rng(7)
    before = g.bit_generator.state
    a = sampler(low, high, 50, rng=g)
    assert g.bit_generator.state != before
    assert np.array_equal(a, sampler(low, high, 50, rng=rng(7)))
    assert not np.array_equal(a, sampler(low, high, 50, rng=rng(8)))


def test_samplers_never_touch_global_state():
    np.random.seed(3)
    state = np.random.get_state()[1].copy()
    for sampler, low, high in SAMPLERS:
        sampler(low, high, 10, rng=rng())
    assert np.array_equal(np.random.get_state()[1], state)
