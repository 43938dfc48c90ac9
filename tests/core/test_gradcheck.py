"""lessonlib.core.gradcheck: centred differences, the relative error, and the gradient check
of a batch-norm forward/backward pair."""

import numpy as np
import pytest

from lessonlib.core.gradcheck import batchnorm_gradcheck, numerical_gradient, relative_error
from lessonlib.layers.batchnorm import batchnorm_backward_by_autodiff, batchnorm_forward


def test_gradient_of_a_quadratic_is_exact_to_rounding():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = np.array([0.5, -1.5])
    grad = numerical_gradient(lambda v: 0.5 * v @ A @ v, x)
    assert np.allclose(grad, A @ x, rtol=1e-9, atol=1e-9)


def test_centred_error_shrinks_like_h_squared():
    x = np.array([0.7])
    errs = [abs(numerical_gradient(lambda v: np.sin(v[0]), x, h=h)[0] - np.cos(0.7))
            for h in (1e-2, 1e-3)]
    assert 50 < errs[0] / errs[1] < 200          # a factor 100 for a 10x smaller h


def test_any_shape_and_float64_result():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    grad = numerical_gradient(lambda v: float(np.sum(v ** 2)), x)
    assert grad.shape == (2, 3) and grad.dtype == np.float64
    assert np.allclose(grad, 2 * x, atol=1e-6)


def test_float64_array_is_restored_exactly_and_seen_through_a_closure():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4))
    before = W.copy()
    grad = numerical_gradient(lambda _: float(np.sum(W ** 3)), W)
    assert np.array_equal(W, before)
    assert np.allclose(grad, 3 * W ** 2, rtol=1e-7)


def test_non_contiguous_view_is_perturbed_in_place():
    base = np.arange(12.0).reshape(3, 4)
    view = base.T                                  # not C-contiguous
    grad = numerical_gradient(lambda _: float(np.sum(base ** 2)), view)
    assert np.allclose(grad, 2 * view, atol=1e-6)


def test_relative_error():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    a, b = np.array([3.0, 4.0]), np.array([3.0, 4.0 + 1e-6])
    assert relative_error(a, b) == pytest.approx(1e-6 / 10, rel=1e-6)
    assert relative_error([1.0], [-1.0]) == 1.0


def test_batchnorm_gradcheck_passes_a_right_pair_and_is_seeded():
    err = batchnorm_gradcheck(batchnorm_forward, batchnorm_backward_by_autodiff,
                              rng=np.random.default_rng(0))
    assert set(err) == {"dZ", "dgamma", "dbeta", "max"}
    assert err["max"] == max(err["dZ"], err["dgamma"], err["dbeta"]) < 1e-7
    again = batchnorm_gradcheck(batchnorm_forward, batchnorm_backward_by_autodiff,
                                rng=np.random.default_rng(0))
    assert again == err


def test_batchnorm_gradcheck_finds_the_wrong_gradient():
    def doubled_dgamma(G, cache):
        dZ, dgamma, dbeta = batchnorm_backward_by_autodiff(G, cache)
        return dZ, 2 * dgamma, dbeta

    err = batchnorm_gradcheck(batchnorm_forward, doubled_dgamma, rng=np.random.default_rng(0))
    assert err["dgamma"] == pytest.approx(1 / 3) and err["dZ"] < 1e-7 and err["dbeta"] < 1e-7

    def flat_dgamma(G, cache):
        dZ, dgamma, dbeta = batchnorm_backward_by_autodiff(G, cache)
        return dZ, dgamma.ravel(), dbeta

    with pytest.raises(ValueError, match=r"dgamma of shape \(4,\), expected \(4, 1\)"):
        batchnorm_gradcheck(batchnorm_forward, flat_dgamma, rng=np.random.default_rng(0))


@pytest.mark.parametrize("call, exc, word", [
    (lambda: numerical_gradient(3, np.zeros(2)), TypeError, "f"),
    (lambda: numerical_gradient(lambda v: 0.0, np.zeros(2), h=0), ValueError, "h"),
    (lambda: numerical_gradient(lambda v: 0.0, np.array([np.nan])), ValueError, "x"),
    (lambda: numerical_gradient(lambda v: 0.0, "abc"), TypeError, "x"),
    (lambda: numerical_gradient(lambda v: "cost", np.zeros(2)), TypeError, "f"),
    (lambda: numerical_gradient(lambda v: np.inf, np.zeros(2)), ValueError, "f"),
    (lambda: relative_error(np.zeros(2), np.zeros(3)), ValueError, "a and b"),
    (lambda: relative_error(None, np.zeros(3)), TypeError, "a"),
])
def test_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()
