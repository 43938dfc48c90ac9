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


def test_the_layer_takes_a_backward_function_for_the_gradients():
    from lessonlib.layers.autodiff import vjp
    rng = np.random.default_rng(3)
    Z, G = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    calls = []

    def mine(dZ_tilde, cache):
        calls.append(np.shape(dZ_tilde))
        return layernorm_backward_by_autodiff(dZ_tilde, cache)

    layer, plain = LayerNorm(4, backward_fn=mine), LayerNorm(4)
    _, back = vjp(lambda z: layer.forward(z)[0], (Z,))
    _, back_plain = vjp(lambda z: plain.forward(z)[0], (Z,))
    assert np.allclose(back(G)[0], back_plain(G)[0]) and calls == [(4, 5)]
    _, cache = layer.forward(Z)
    assert np.allclose(layer.backward(G, cache)[0], plain.backward(G, cache)[0])
    assert len(calls) == 2
    with pytest.raises(TypeError, match="backward_fn"):
        LayerNorm(3, backward_fn="no")


def test_the_backward_stand_ins_are_off_limits_in_exercise_44():
    from lessonlib.core.stand_ins import OffLimits, checking
    _, cache = layernorm_forward(np.ones((3, 2)) * [[1.0], [2.0], [4.0]], np.ones((3, 1)),
                                 np.zeros((3, 1)))
    for fn in (layernorm_backward_by_autodiff, batchnorm.batchnorm_backward_by_autodiff):
        assert "4.4" in fn.exercises
    with checking("4.4"), pytest.raises(OffLimits):
        layernorm_backward_by_autodiff(np.ones((3, 2)), cache)
