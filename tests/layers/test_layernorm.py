"""lessonlib.layers.layernorm: each example normalized over its units."""

import numpy as np
import pytest

from lessonlib.core.gradcheck import numerical_gradient, relative_error
from lessonlib.layers import batchnorm
from lessonlib.layers.layernorm import LayerNorm, layernorm_backward_by_autodiff, layernorm_forward


def test_each_example_has_mean_beta_and_is_independent_of_the_others():
    rng = np.random.default_rng(0)
    Z = rng.normal(3, 2, (6, 5))
    out, (_, Z_hat, mu, var, _, _) = layernorm_forward(Z, np.ones((6, 1)), np.zeros((6, 1)))
    assert np.allclose(out.mean(axis=0), 0) and mu.shape == var.shape == (1, 5)
    alone, _ = layernorm_forward(Z[:, 2:3], np.ones((6, 1)), np.zeros((6, 1)))
    assert np.allclose(alone[:, 0], out[:, 2])
    # layer norm of Z is batch norm of Z transposed
    assert np.allclose(out, batchnorm.batchnorm_forward(Z.T, np.ones((5, 1)),
                                                        np.zeros((5, 1)))[0].T)


def test_backward_matches_the_numerical_gradient():
    rng = np.random.default_rng(1)
    Z, gamma, beta = rng.normal(0, 2, (5, 4)), rng.uniform(0.5, 2, (5, 1)), rng.normal(0, 1, (5, 1))
    G = rng.standard_normal((5, 4))
    _, cache = layernorm_forward(Z, gamma, beta)
    dZ, dgamma, dbeta = layernorm_backward_by_autodiff(G, cache)

    def cost(z=Z, g=gamma, b=beta):
        return float(np.sum(G * layernorm_forward(z, g, b)[0]))

    assert relative_error(dZ, numerical_gradient(lambda x: cost(z=x), Z.copy())) < 1e-8
    assert relative_error(dgamma, numerical_gradient(lambda x: cost(g=x), gamma.copy())) < 1e-8
    assert np.allclose(dbeta, G.sum(axis=1, keepdims=True))


def test_the_layer_is_the_same_in_both_modes_and_takes_a_forward_function():
    Z = np.random.default_rng(2).standard_normal((3, 4))
    layer = LayerNorm(3)
    a, _ = layer.forward(Z)
    b, _ = layer.train(False).forward(Z)
    assert np.array_equal(a, b)
    calls = []
    mine = LayerNorm(3, forward_fn=lambda *args: calls.append(1) or layernorm_forward(*args))
    assert np.array_equal(mine.forward(Z)[0], a) and calls == [1]
    with pytest.raises(TypeError, match="forward_fn"):
        LayerNorm(3, forward_fn=3)
