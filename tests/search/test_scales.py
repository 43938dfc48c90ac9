"""lessonlib.search.scales: the samplers on each scale, and the share of samples per decade."""

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


# ------------------------------------------------------------------- decades

def test_log_uniform_puts_a_quarter_in_each_decade():
    x = scales.sample_log_uniform(1e-4, 1.0, N, rng=rng())
    assert x.min() >= 1e-4 and x.max() <= 1
    _, frac = scales.decade_fractions(x, 1e-4, 1.0)
    assert np.allclose(frac, 0.25, atol=0.015)
    # uniform sampling of the same range puts about 90 % in the top decade
    _, flat = scales.decade_fractions(scales.sample_uniform(1e-4, 1.0, N, rng=rng()), 1e-4, 1)
    assert abs(flat[-1] - 0.9) < 0.01


def test_ema_beta_is_log_uniform_in_one_minus_beta():
    beta = scales.sample_ema_beta(0.9, 0.999, N, rng=rng())
    assert beta.min() >= 0.9 and beta.max() <= 0.999
    assert abs(np.mean(beta > 0.99) - 0.5) < 0.015
    _, frac = scales.decade_fractions(1 - beta, 0.001, 0.1)
    assert np.allclose(frac, 0.5, atol=0.015)
    # uniform sampling of beta puts only about 9 % above 0.99
    flat = scales.sample_uniform(0.9, 0.999, N, rng=rng())
    assert abs(np.mean(flat > 0.99) - 0.009 / 0.099) < 0.01


def test_ema_beta_accepts_low_zero():
    beta = scales.sample_ema_beta(0.0, 0.99, N, rng=rng())
    assert beta.min() >= 0 and beta.max() <= 0.99
    _, frac = scales.decade_fractions(1 - beta, 0.01, 1.0)
    assert np.allclose(frac, 0.5, atol=0.015)


def test_decade_edges():
    assert np.allclose(scales.decade_edges(1e-4, 1), [1e-4, 1e-3, 1e-2, 1e-1, 1])
    assert np.allclose(scales.decade_edges(0.5, 20), [0.5, 1, 10, 20])
    assert np.allclose(scales.decade_edges(2, 3), [2, 3])


def test_decade_fractions_count_exactly():
    edges, frac = scales.decade_fractions([0.002, 0.02, 0.03, 0.5, 5.0], 1e-3, 1)
    assert np.allclose(edges, [1e-3, 1e-2, 1e-1, 1])
    assert np.allclose(frac, [0.2, 0.4, 0.2])          # 5.0 lies outside the range
