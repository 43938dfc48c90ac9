"""lessonlib.optim: one step of each optimizer, computed by hand."""

import numpy as np
import pytest

from lessonlib.optim import Optimizer


def _params():
    return {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[0.5]])}


def _grads():
    return {"dW1": np.array([[0.2, -0.4]]), "db1": np.array([[1.0]])}


def test_gradient_descent_step():
    p = _params()
    Optimizer("gd", 0.1).step(p, _grads())
    assert np.allclose(p["W1"], [[0.98, -1.96]]) and np.allclose(p["b1"], [[0.4]])


def test_momentum_keeps_an_exponentially_weighted_average_of_the_gradients():
    p, opt = _params(), Optimizer("momentum", 0.1, beta1=0.5)
    opt.step(p, _grads())                       # v = 0.5 g
    opt.step(p, _grads())                       # v = 0.75 g
    assert np.allclose(opt.state["vb1"], [[0.75]])
    assert np.allclose(p["b1"], 0.5 - 0.1 * (0.5 + 0.75))


def test_adams_first_step_moves_each_parameter_by_about_the_learning_rate():
    p, opt = _params(), Optimizer("adam", 0.01)
    before = {k: v.copy() for k, v in p.items()}
    opt.step(p, _grads())                       # bias-corrected: v_hat = g, s_hat = g**2
    for k in p:
        g = _grads()["d" + k]
        assert np.allclose(p[k], before[k] - 0.01 * np.sign(g), atol=1e-7)
    assert opt.t == 1


def test_learning_rate_may_change_between_steps():
    p, opt = _params(), Optimizer("gd", 0.1)
    opt.learning_rate = 0.2
    opt.step(p, _grads())
    assert np.allclose(p["b1"], [[0.3]])


def test_a_missing_gradient_is_named():
    with pytest.raises(ValueError, match="dW1"):
        Optimizer("gd").step(_params(), {"db1": np.zeros((1, 1))})
    with pytest.raises(TypeError, match="params and grads"):
        Optimizer("gd").step([np.zeros(1)], _grads())
