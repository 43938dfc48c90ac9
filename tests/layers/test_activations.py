"""lessonlib.layers.activations: each activation and its derivative."""

import numpy as np
import pytest

from lessonlib.core.gradcheck import numerical_gradient, relative_error
from lessonlib.layers.activations import ACTIVATIONS, activate, sigmoid
from lessonlib.layers.autodiff import vjp


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_derivative_matches_the_numerical_one(kind):
    Z = np.random.default_rng(0).normal(0, 2, (3, 5))
    Z[np.abs(Z) < 1e-3] = 0.5                    # away from ReLU's kink
    A = activate(Z, kind)
    G = np.random.default_rng(1).standard_normal(Z.shape)
    num = numerical_gradient(lambda z: float(np.sum(G * activate(z, kind))), Z.copy())
    _, backward = vjp(lambda z: activate(z, kind), (Z,))     # what the network uses
    assert A.shape == Z.shape
    assert relative_error(backward(G)[0], num) < 1e-8


def test_sigmoid_is_stable_and_symmetric():
    z = np.array([-1e4, -1.0, 0.0, 1.0, 1e4])
    s = sigmoid(z)
    assert np.allclose(s, [0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1)), 1.0])
    assert np.allclose(s + sigmoid(-z), 1)
    assert np.array_equal(activate(z, "sigmoid"), s)


def test_relu_and_tanh_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    assert np.array_equal(activate(z, "relu"), [[0.0, 0.0, 3.0]])
    assert np.allclose(activate(z, "tanh"), np.tanh(z))
