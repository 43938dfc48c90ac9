"""lessonlib.layers.linear_bn: the layer Z = W A_prev, batch norm, activation."""

import numpy as np
import pytest
from lessonlib_instructor.answers import linear_bn_backward

from lessonlib.core.gradcheck import numerical_gradient, relative_error
from lessonlib.layers import batchnorm
from lessonlib.layers.linear_bn import linear_bn_forward


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_backward_matches_the_numerical_gradient(activation):
    rng = np.random.default_rng(3)
    args = {"A_prev": rng.standard_normal((5, 7)), "W": rng.standard_normal((3, 5)),
            "gamma": rng.uniform(0.5, 2, (3, 1)), "beta": rng.standard_normal((3, 1))}
    A, cache = linear_bn_forward(**args, activation=activation)
    G = rng.standard_normal(A.shape)
    grads = linear_bn_backward(G, cache)
    for (name, value), got in zip(args.items(), grads):
        num = numerical_gradient(
            lambda x, name=name: float(np.sum(G * linear_bn_forward(
                **{**args, name: x}, activation=activation)[0])), value.copy())
        assert got.shape == value.shape and relative_error(got, num) < 1e-8, name


def test_forward_is_batch_norm_of_the_product_then_the_activation():
    rng = np.random.default_rng(4)
    A_prev, W = rng.standard_normal((4, 6)), rng.standard_normal((2, 4))
    gamma, beta = np.ones((2, 1)), np.zeros((2, 1))
    A, (a, w, bn_cache, Z_tilde, act) = linear_bn_forward(A_prev, W, gamma, beta)
    want, _ = batchnorm.batchnorm_forward(W @ A_prev, gamma, beta)
    assert np.array_equal(Z_tilde, want) and np.array_equal(A, np.maximum(want, 0))
    assert a is A_prev and w is W and act == "relu" and len(bn_cache) == 6


def test_a_bias_before_batch_norm_would_change_nothing():
    """Why the layer has no b: adding any constant to Z leaves the output unchanged."""
    rng = np.random.default_rng(5)
    A_prev, W = rng.standard_normal((4, 6)), rng.standard_normal((3, 4))
    gamma, beta = rng.uniform(0.5, 2, (3, 1)), rng.standard_normal((3, 1))
    out = batchnorm.batchnorm_forward(W @ A_prev, gamma, beta)[0]
    shifted = batchnorm.batchnorm_forward(W @ A_prev + rng.normal(0, 5, (3, 1)), gamma, beta)[0]
    assert np.allclose(out, shifted)
