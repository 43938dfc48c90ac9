"""lessonlib.nn: the network with and without batch norm, optimizers and training."""

import numpy as np
import pytest

from lessonlib.data import load_digits, make_blobs
from lessonlib.gradcheck import numerical_gradient, relative_error
from lessonlib.nn import Network, Optimizer, train_epochs


def _batch(seed=0, n_x=5, m=9, C=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_x, m)), rng.integers(0, C, m)


def _jiggled(net, seed=1):
    """Move every parameter away from its initial value (gamma = 1, b = 0 are special)."""
    rng = np.random.default_rng(seed)
    for p in net.params.values():
        p += 0.3 * rng.standard_normal(p.shape)
    return net


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_whole_network_gradient_check(activation, batch_norm):
    X, y = _batch()
    net = _jiggled(Network([5, 4, 6, 3], activation=activation, batch_norm=batch_norm,
                           rng=np.random.default_rng(0)))
    cost, grads = net.gradients(X, y)
    assert cost == pytest.approx(net.cost(X, y))
    assert set(grads) == {"d" + k for k in net.params}
    for name, p in net.params.items():
        num = numerical_gradient(lambda _: net.cost(X, y), p)
        assert relative_error(grads["d" + name], num) < 1e-7, name


def test_batch_norm_layers_have_w_gamma_beta_and_no_bias():
    net = Network([64, 30, 20, 10], batch_norm=True, rng=np.random.default_rng(0))
    assert list(net.params) == ["W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"]
    assert net.params["gamma1"].shape == net.params["beta1"].shape == (30, 1)
    assert np.all(net.params["gamma2"] == 1) and np.all(net.params["beta2"] == 0)


def test_same_weights_with_and_without_batch_norm():
    plain = Network([8, 6, 5, 3], activation="sigmoid", rng=np.random.default_rng(4))
    normed = Network([8, 6, 5, 3], activation="sigmoid", batch_norm=True,
                     rng=np.random.default_rng(4))
    for k in (1, 2, 3):
        assert np.array_equal(plain.params[f"W{k}"], normed.params[f"W{k}"])


def test_bias_before_batch_norm_does_nothing():
    X, y = _batch(2, m=12)
    net = _jiggled(Network([5, 4, 6, 3], batch_norm=True, bn_bias=True,
                           rng=np.random.default_rng(0)))
    _, grads = net.gradients(X, y)
    assert np.abs(grads["db1"]).max() < 1e-14 and np.abs(grads["db2"]).max() < 1e-14
    logits = net.forward(X)[0]
    net.params["b1"] += 5.0
    net.params["b2"] -= 3.0
    assert np.allclose(net.forward(X)[0], logits, atol=1e-12)
    assert np.abs(grads["db3"]).max() > 1e-3          # the output layer's bias matters


def test_hidden_input_is_batch_normalized():
    X, _ = _batch(3, m=40)
    net = Network([5, 4, 6, 3], activation="sigmoid", batch_norm=True,
                  rng=np.random.default_rng(0))
    Zt = net.hidden_input(X, 2)
    assert Zt.shape == (6, 40)
    assert np.allclose(Zt.mean(axis=1), 0, atol=1e-12)
    plain = Network([5, 4, 6, 3], rng=np.random.default_rng(0))
    assert np.allclose(plain.hidden_input(X, 1), plain.params["W1"] @ X)
    with pytest.raises(ValueError, match="layer"):
        net.hidden_input(X, 3)


@pytest.mark.parametrize("kind", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_training_reduces_cost(kind, batch_norm):
    X, y = make_blobs(60, 3, rng=np.random.default_rng(0))
    net = Network([2, 16, 16, 3], activation="tanh", batch_norm=batch_norm,
                  rng=np.random.default_rng(1))
    before = net.cost(X, y)
    hist = train_epochs(net, Optimizer(kind, 0.05 if kind == "adam" else 0.3), X, y,
                        epochs=15, batch_size=30, rng=np.random.default_rng(2))
    assert hist["cost"][-1] < 0.5 * before
    assert hist["train_acc"][-1] > 0.9


def test_batch_norm_trains_digits_fast():
    d = load_digits()
    net = Network([64, 50, 10], activation="sigmoid", batch_norm=True,
                  rng=np.random.default_rng(0))
    hist = train_epochs(net, Optimizer("gd", 1.0), d.train.X, d.train.y, epochs=3,
                        batch_size=60, rng=np.random.default_rng(0), X_val=d.val.X,
                        y_val=d.val.y)
    assert hist["val_acc"][-1] > 0.85


def test_same_rng_same_result():
    X, y = make_blobs(40, 3, rng=np.random.default_rng(0))
    runs = []
    for _ in range(2):
        net = Network([2, 8, 3], batch_norm=True, rng=np.random.default_rng(5))
        h = train_epochs(net, Optimizer("adam", 0.01), X, y, epochs=3, batch_size=16,
                         rng=np.random.default_rng(6))
        runs.append((h["cost"], net.params["W1"].copy()))
    assert runs[0][0] == runs[1][0]
    assert np.array_equal(runs[0][1], runs[1][1])


def test_on_step_callback_counts_and_stops():
    X, y = make_blobs(50, 2, rng=np.random.default_rng(0))
    net = Network([2, 5, 2], rng=np.random.default_rng(0))
    seen = []

    def on_step(step, n, cost):
        assert n is net and np.isfinite(cost)
        seen.append(step)
        return step >= 7

    hist = train_epochs(net, Optimizer("gd", 0.1), X, y, epochs=10, batch_size=20,
                        rng=np.random.default_rng(0), on_step=on_step)
    assert seen == list(range(1, 8)) and hist["stopped"]
    assert len(hist["cost"]) == 2                    # 5 steps per epoch: stopped in the 2nd


def test_single_example_last_batch_is_skipped_with_batch_norm():
    X, y = make_blobs(7, 3, rng=np.random.default_rng(0))     # m = 21 = 2 * 10 + 1
    net = Network([2, 4, 3], batch_norm=True, rng=np.random.default_rng(0))
    steps = []
    train_epochs(net, Optimizer("gd", 0.1), X, y, epochs=1, batch_size=10,
                 rng=np.random.default_rng(0), on_step=lambda s, n, c: steps.append(s))
    assert steps == [1, 2]


def test_diverging_run_stops():
    X, y = make_blobs(40, 3, rng=np.random.default_rng(0))
    net = Network([2, 8, 3], rng=np.random.default_rng(0))
    with np.errstate(all="ignore"):
        hist = train_epochs(net, Optimizer("gd", 1e12), X, y, epochs=5, batch_size=10,
                            rng=np.random.default_rng(0))
    assert hist.get("diverged")


@pytest.mark.parametrize("make, exc, words", [
    (lambda: Network([4], rng=np.random.default_rng(0)), ValueError, "layer_dims"),
    (lambda: Network(5, rng=np.random.default_rng(0)), TypeError, "layer_dims"),
    (lambda: Network([4, 0, 2], rng=np.random.default_rng(0)), ValueError,
     r"layer_dims\[1\]"),
    (lambda: Network([4, 2], activation="softplus", rng=np.random.default_rng(0)),
     ValueError, "activation"),
    (lambda: Network([4, 2], batch_norm="yes", rng=np.random.default_rng(0)), TypeError,
     "batch_norm"),
    (lambda: Network([4, 2], bn_bias=True, rng=np.random.default_rng(0)), ValueError,
     "bn_bias"),
    (lambda: Network([4, 3, 2], batch_norm=True, eps=0, rng=np.random.default_rng(0)),
     ValueError, "eps"),
    (lambda: Network([4, 2], rng=0), TypeError, "rng"),
    (lambda: Optimizer("sgd"), ValueError, "optimizer"),
    (lambda: Optimizer("adam", learning_rate=-1), ValueError, "learning_rate"),
])
def test_bad_construction_is_named(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


def test_bad_data_is_named():
    net = Network([3, 4, 2], batch_norm=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"X must have shape \(3, m\)"):
        net.forward(np.ones((4, 5)))
    with pytest.raises(ValueError, match="at least 2 examples"):
        net.forward(np.ones((3, 1)))
    with pytest.raises(ValueError, match="X must be finite"):
        net.forward(np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="y must"):
        net.gradients(np.ones((3, 4)), np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="y must have shape"):
        net.cost(np.ones((3, 4)), np.array([0, 1]))
    opt = Optimizer()
    X = np.random.default_rng(0).standard_normal((3, 6))
    with pytest.raises(ValueError, match="y must have shape"):
        train_epochs(net, opt, X, np.zeros(5, int), epochs=1, batch_size=2,
                     rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="on_step"):
        train_epochs(net, opt, X, np.zeros(6, int), epochs=1, batch_size=2,
                     rng=np.random.default_rng(0), on_step=3)
    with pytest.raises(ValueError, match="batch_size"):
        train_epochs(net, opt, X, np.zeros(6, int), epochs=1, batch_size=0,
                     rng=np.random.default_rng(0))
