"""lessonlib.network: the network, training, evaluation mode, population statistics."""

import numpy as np
import pytest

from lessonlib.core.data import load_digits, make_blobs, shared_digits
from lessonlib.core.gradcheck import numerical_gradient, relative_error
from lessonlib.network import (
    Network,
    evaluate,
    fold_network,
    population_statistics,
    train_epochs,
)
from lessonlib.optim import Optimizer


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
        hist = train_epochs(net, Optimizer("gd", 1e300), X, y, epochs=5, batch_size=10,
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


def _trained_bn_net(seed=0, dims=(2, 8, 6, 3), epochs=4, **kw):
    X, y = make_blobs(40, 3, rng=np.random.default_rng(seed))
    net = Network(list(dims), activation="tanh", batch_norm=True,
                  rng=np.random.default_rng(seed + 1), **kw)
    train_epochs(net, Optimizer("adam", 0.02), X, y, epochs=epochs, batch_size=16,
                 rng=np.random.default_rng(seed + 2))
    return net, X, y


def _state(net):
    return {k: (m.copy(), v.copy(), net.bn_layers[k].n_updates)
            for k, (m, v) in net.running_statistics().items()}


def _same_state(a, b):
    return a.keys() == b.keys() and all(
        np.array_equal(a[k][0], b[k][0]) and np.array_equal(a[k][1], b[k][1])
        and a[k][2] == b[k][2] for k in a)


def test_bn_layers_share_gamma_beta_and_start_at_0_and_1():
    net = Network([5, 4, 6, 3], batch_norm=True, bn_decay=0.8, rng=np.random.default_rng(0))
    assert sorted(net.bn_layers) == [1, 2] and net.training
    assert net.bn_layers[1].gamma is net.params["gamma1"]
    assert net.bn_layers[2].decay == 0.8 and net.bn_layers[2].eps == net.eps
    mean, var = net.running_statistics()[2]
    assert np.all(mean == 0) and np.all(var == 1) and mean.shape == (6, 1)
    assert not net.has_running_stats
    assert Network([5, 3], rng=np.random.default_rng(0)).bn_layers == {}


def test_train_eval_switch_and_mode_context():
    net = Network([5, 4, 3], batch_norm=True, rng=np.random.default_rng(0))
    assert net.eval() is net and not net.training and not net.bn_layers[1].training
    assert net.train() is net and net.training and net.bn_layers[1].training
    with net.mode(training=False):
        assert not net.training
    assert net.training
    with pytest.raises(RuntimeError), net.mode(training=False):
        raise RuntimeError("restored even so")
    assert net.training
    with pytest.raises(TypeError, match="mode must be True or False"):
        net.train("eval")
    with pytest.raises(TypeError, match="training must be True, False or None"):
        net.forward(np.ones((5, 3)), training="no")


def test_only_a_training_step_updates_the_running_statistics():
    X, y = _batch(4, m=10)
    net = Network([5, 4, 6, 3], batch_norm=True, rng=np.random.default_rng(0))
    start = _state(net)
    net.forward(X)
    net.cost(X, y)
    net.predict(X)
    net.hidden_input(X, 2)
    net.gradients(X, y, training=False)
    assert _same_state(_state(net), start)
    net.gradients(X, y)                                   # training mode: one update
    Z1 = net.params["W1"] @ X
    assert net.bn_layers[1].n_updates == 1
    assert np.allclose(net.bn_layers[1].running_mean, 0.1 * Z1.mean(axis=1, keepdims=True))
    assert np.allclose(net.bn_layers[1].running_var,
                       0.9 + 0.1 * Z1.var(axis=1, ddof=1, keepdims=True))


def test_evaluation_mode_changes_nothing_and_takes_a_batch_of_one():
    net, X, y = _trained_bn_net()
    before = _state(net)
    params = {k: v.copy() for k, v in net.params.items()}
    net.eval()
    logits = net.forward(X)[0]
    alone = np.column_stack([net.forward(X[:, [i]])[0] for i in range(X.shape[1])])
    assert np.allclose(alone, logits, rtol=1e-12, atol=1e-12)
    assert net.predict(X[:, [0]]).shape == (1,)
    net.gradients(X, y)                                   # eval mode: no update either
    assert _same_state(_state(net), before)
    assert all(np.array_equal(params[k], net.params[k]) for k in params)
    net.train()
    with pytest.raises(ValueError, match="at least 2 examples"):
        net.forward(X[:, [0]])


def test_training_mode_output_depends_on_the_batch_evaluation_mode_does_not():
    net, X, _ = _trained_bn_net()
    a = net.forward(X[:, :10], training=True)[0][:, 0]
    b = net.forward(X[:, [0, *range(50, 59)]], training=True)[0][:, 0]
    assert not np.allclose(a, b)
    a = net.forward(X[:, :10], training=False)[0][:, 0]
    b = net.forward(X[:, [0, *range(50, 59)]], training=False)[0][:, 0]
    assert np.allclose(a, b, rtol=1e-12, atol=1e-12)


def test_predict_uses_running_statistics_once_they_exist():
    X, y = make_blobs(30, 3, rng=np.random.default_rng(0))
    net = Network([2, 6, 3], activation="tanh", batch_norm=True, rng=np.random.default_rng(1))
    for p in net.params.values():
        p += 0.3 * np.random.default_rng(2).standard_normal(p.shape)
    batch = net.forward(X, training=True)[0].argmax(axis=0)
    assert np.array_equal(net.predict(X), batch)          # untrained: the batch's statistics
    with pytest.raises(ValueError, match="at least 2 examples"):
        net.predict(X[:, :1])
    train_epochs(net, Optimizer("adam", 0.01), X, y, epochs=2, batch_size=30,
                 rng=np.random.default_rng(3))
    assert net.training and net.has_running_stats
    running = net.forward(X, training=False)[0]
    assert np.allclose(net.predict_proba(X), np.exp(running) / np.exp(running).sum(axis=0))
    assert np.array_equal(net.predict(X), running.argmax(axis=0))
    assert np.array_equal(net.predict(X, training=True),
                          net.forward(X, training=True)[0].argmax(axis=0))
    assert net.accuracy(X, y) == np.mean(running.argmax(axis=0) == y)
    assert net.predict(X[:, :1]).shape == (1,)


def test_train_epochs_validation_set_may_hold_one_example():
    X, y = make_blobs(10, 3, rng=np.random.default_rng(0))
    net = Network([2, 5, 3], batch_norm=True, rng=np.random.default_rng(0))
    hist = train_epochs(net, Optimizer("gd", 0.1), X, y, epochs=1, batch_size=10,
                        rng=np.random.default_rng(0), X_val=X[:, :1], y_val=y[:1])
    assert len(hist["val_acc"]) == 1


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_gradient_check_in_evaluation_mode(activation):
    X, y = _batch(5, m=7)
    net = _jiggled(Network([5, 4, 6, 3], activation=activation, batch_norm=True,
                           rng=np.random.default_rng(0)))
    for k, norm in net.bn_layers.items():
        rng = np.random.default_rng(k)
        norm.running_mean = rng.standard_normal(norm.running_mean.shape)
        norm.running_var = rng.uniform(0.5, 2.0, norm.running_var.shape)
    net.eval()
    cost, grads = net.gradients(X, y)
    for name, p in net.params.items():
        num = numerical_gradient(lambda _: net.cost(X, y), p)
        assert relative_error(grads["d" + name], num) < 1e-7, name


def test_population_statistics_one_batch_is_the_training_set():
    net, X, _ = _trained_bn_net(dims=(2, 8, 3))
    stats = population_statistics(net, X)
    Z1 = net.params["W1"] @ X
    mean, var = stats[1]
    assert np.allclose(mean, Z1.mean(axis=1, keepdims=True), rtol=1e-12)
    assert np.allclose(var, Z1.var(axis=1, ddof=1, keepdims=True), rtol=1e-12)   # m/(m-1)


def test_population_statistics_averages_the_batches_with_the_correction():
    net, X, _ = _trained_bn_net(dims=(2, 8, 6, 3))        # m = 120
    before = _state(net)
    stats = population_statistics(net, X, batch_size=25)  # 4 batches of 25, 20 left out
    mus, variances = {1: [], 2: []}, {1: [], 2: []}
    for k in range(4):
        Xb = X[:, 25 * k:25 * (k + 1)]
        Z1 = net.params["W1"] @ Xb
        mus[1].append(Z1.mean(axis=1, keepdims=True))
        variances[1].append(Z1.var(axis=1, keepdims=True))
        Z2 = net.params["W2"] @ np.tanh(net.hidden_input(Xb, 1, training=True))
        mus[2].append(Z2.mean(axis=1, keepdims=True))
        variances[2].append(Z2.var(axis=1, keepdims=True))
    for layer in (1, 2):
        assert np.allclose(stats[layer][0], np.mean(mus[layer], axis=0), rtol=1e-12)
        assert np.allclose(stats[layer][1], 25 / 24 * np.mean(variances[layer], axis=0),
                           rtol=1e-12)
    assert _same_state(_state(net), before)


def test_population_statistics_installed_as_running_statistics():
    net, X, y = _trained_bn_net(epochs=8)
    stats = population_statistics(net, X, batch_size=16)
    net.set_running_statistics(stats)
    got = net.running_statistics()
    assert all(np.array_equal(got[k][i], stats[k][i]) for k in stats for i in (0, 1))
    assert net.accuracy(X, y) > 0.9


def test_population_statistics_and_set_bad_input():
    net, X, _ = _trained_bn_net()
    with pytest.raises(ValueError, match="net has no batch-norm layer"):
        population_statistics(Network([2, 3], rng=np.random.default_rng(0)), X)
    with pytest.raises(TypeError, match="net must be a lessonlib.network.Network"):
        population_statistics("net", X)
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        population_statistics(net, X, batch_size=1)
    with pytest.raises(ValueError, match=r"X must have shape \(2, m\)"):
        population_statistics(net, X.T)
    stats = population_statistics(net, X)
    with pytest.raises(ValueError, match="stats must map every batch-normalized layer"):
        net.set_running_statistics({1: stats[1]})
    with pytest.raises(ValueError, match=r"stats\[2\] mean must have shape \(6, 1\)"):
        net.set_running_statistics({1: stats[1], 2: (np.zeros(6), stats[2][1])})
    with pytest.raises(ValueError, match=r"stats\[1\] var must be >= 0"):
        net.set_running_statistics({1: (stats[1][0], -stats[1][1]), 2: stats[2]})
    with pytest.raises(TypeError, match=r"stats\[1\] must be a pair"):
        net.set_running_statistics({1: stats[1][0], 2: stats[2]})
    with pytest.raises(ValueError, match="decay must be < 1"):
        Network([2, 3, 2], batch_norm=True, bn_decay=1.0, rng=np.random.default_rng(0))


@pytest.mark.parametrize("bn_bias", [False, True])
def test_fold_network_gives_identical_outputs(bn_bias):
    net, X, y = _trained_bn_net(bn_bias=bn_bias)
    params = {k: v.copy() for k, v in net.params.items()}
    folded = fold_network(net)
    assert not folded.batch_norm and folded.bn_layers == {}
    assert sorted(folded.params) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert np.allclose(folded.forward(X)[0], net.forward(X, training=False)[0],
                       rtol=1e-12, atol=1e-12)
    assert np.array_equal(folded.predict(X[:, :1]), net.predict(X[:, :1], training=False))
    assert folded.accuracy(X, y) == net.accuracy(X, y, training=False)
    assert net.batch_norm and all(np.array_equal(params[k], net.params[k]) for k in params)
    with pytest.raises(TypeError, match="net must be a lessonlib.network.Network"):
        fold_network(None)


def test_fold_network_runs_the_fold_it_is_given():
    """Notebook 04 passes the learner's fold_batchnorm: it gets every batch-normalized
    layer, a zero bias where the layer has none, and copies it may change freely."""
    net, X, _ = _trained_bn_net(bn_bias=False)
    calls = []

    def mine(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        calls.append(b.shape)
        s = gamma / np.sqrt(running_var + eps)
        W *= s                                       # in place, on its own copy
        return W, s * (b - running_mean) + beta
    before = {k: v.copy() for k, v in net.params.items()}
    folded = fold_network(net, fold=mine)
    assert calls == [(net.layer_dims[1], 1), (net.layer_dims[2], 1)]
    assert np.allclose(folded.forward(X)[0], net.forward(X, training=False)[0],
                       rtol=1e-12, atol=1e-12)
    assert all(np.array_equal(before[k], net.params[k]) for k in before)
    with pytest.raises(TypeError, match="fold must be None or a function"):
        fold_network(net, fold="scale rows")
    with pytest.raises(ValueError, match="the folded b1"):
        fold_network(net, fold=lambda W, b, *rest: (W, np.zeros(3)))


def test_training_keeps_freed_memory_for_reuse(monkeypatch):
    """Training, not importing, tunes the allocator (see lessonlib.core.memory)."""
    import lessonlib.network
    calls = []
    monkeypatch.setattr(lessonlib.network, "tune_allocator", lambda: calls.append(1))
    X, y = make_blobs(10, 3, rng=np.random.default_rng(0))
    net = Network([2, 4, 3], rng=np.random.default_rng(0))
    train_epochs(net, Optimizer("gd", 0.1), X, y, epochs=1, batch_size=10,
                 rng=np.random.default_rng(0))
    assert calls == [1]


def test_a_network_trains_the_same_with_lessonlibs_functions_given():
    """Given as the learner's (bn_functions), batch norm's forward pass and its gradients by
    automatic differentiation train exactly as the network's own."""
    from lessonlib.layers.batchnorm import batchnorm_backward_by_autodiff, batchnorm_forward
    X, y = make_blobs(20, 3, rng=np.random.default_rng(0))
    nets = []
    for functions in (None, (batchnorm_forward, batchnorm_backward_by_autodiff)):
        net = Network([2, 6, 3], batch_norm=True, bn_functions=functions,
                      rng=np.random.default_rng(1))
        train_epochs(net, Optimizer("adam", 0.05), X, y, epochs=3, batch_size=10,
                     rng=np.random.default_rng(2))
        nets.append(net)
    assert all(np.array_equal(nets[0].params[k], nets[1].params[k]) for k in nets[0].params)
    stats = [population_statistics(n, X, batch_size=10) for n in nets]
    assert np.array_equal(stats[0][1][1], stats[1][1][1])
    with pytest.raises(ValueError, match="bn_functions"):
        Network([2, 3], bn_functions=(batchnorm_forward, batchnorm_backward_by_autodiff),
                rng=np.random.default_rng(0))


def test_the_gradients_flow_through_the_given_backward_pass():
    """With bn_functions the layer's gradients are the given backward's: one that returns
    zeros leaves gamma and beta where they start and W1 too (nothing flows below it), while
    the output layer still learns; the forward pass given is the one that runs."""
    from lessonlib.layers.batchnorm import batchnorm_forward
    X, y = make_blobs(20, 3, rng=np.random.default_rng(0))
    seen = []

    def zeros(dZ_tilde, cache):
        seen.append((dZ_tilde.shape, len(cache)))
        return np.zeros_like(dZ_tilde), np.zeros_like(cache[4]), np.zeros_like(cache[4])

    net = Network([2, 6, 3], batch_norm=True, bn_functions=(batchnorm_forward, zeros),
                  rng=np.random.default_rng(1))
    start = {k: v.copy() for k, v in net.params.items()}
    train_epochs(net, Optimizer("gd", 0.5), X, y, epochs=2, batch_size=10,
                 rng=np.random.default_rng(2))
    assert seen == [((6, 10), 6)] * 12                     # 6 steps an epoch, 2 epochs
    for name in ("W1", "gamma1", "beta1"):
        assert np.array_equal(net.params[name], start[name]), name
    assert not np.array_equal(net.params["W2"], start["W2"])
    assert net.bn_layers[1].n_updates == 12                  # the running statistics move


@pytest.mark.parametrize("layer_norm", [False, True])
def test_gradients_in_evaluation_mode_treat_the_statistics_as_constants(layer_norm):
    X, y = _batch(4, m=12)
    kw = {"layer_norm": True} if layer_norm else {"batch_norm": True}
    net = _jiggled(Network([5, 4, 3], activation="tanh", rng=np.random.default_rng(0), **kw))
    train_epochs(net, Optimizer("gd", 0.1), X, y, epochs=1, batch_size=6,
                 rng=np.random.default_rng(1))
    before = net.running_statistics()
    cost, grads = net.gradients(X, y, training=False)
    assert cost == pytest.approx(net.cost(X, y, training=False))
    for name, p in net.params.items():
        num = numerical_gradient(lambda _: net.cost(X, y, training=False), p)
        assert relative_error(grads["d" + name], num) < 1e-7, name
    after = net.running_statistics()
    assert all(np.array_equal(before[k][i], after[k][i]) for k in before for i in (0, 1))


def test_a_training_step_moves_the_running_statistics_once():
    X, y = _batch(5, m=10)
    net = Network([5, 4, 3], batch_norm=True, bn_decay=0.5, rng=np.random.default_rng(0))
    _, caches = net.forward(X, training=True)
    mu, var = caches[0][2][2], caches[0][2][3]
    net.gradients(X, y)
    layer = net.bn_layers[1]
    assert layer.n_updates == 1
    assert np.allclose(layer.running_mean, 0.5 * mu, rtol=0, atol=1e-15)
    assert np.allclose(layer.running_var, 0.5 + 0.5 * var * 10 / 9, rtol=0, atol=1e-15)
    assert isinstance(layer.running_mean, np.ndarray) and isinstance(layer.batch_var,
                                                                        np.ndarray)


def test_a_diverged_network_has_no_gradient():
    X, y = _batch(6)
    net = Network([5, 4, 3], rng=np.random.default_rng(0))
    net.params["W1"][0, 0] = np.inf
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="not finite"):
        net.gradients(X, y)


def test_a_layer_norm_network_trains_on_batches_of_one_and_keeps_b():
    X, y = make_blobs(10, 3, rng=np.random.default_rng(0))
    net = Network([2, 6, 3], layer_norm=True, rng=np.random.default_rng(1))
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2"]
    before = net.cost(X, y)
    train_epochs(net, Optimizer("adam", 0.05), X, y, epochs=5, batch_size=1,
                 rng=np.random.default_rng(2))
    assert net.cost(X, y) < before
    one = net.predict(X[:, :1], training=True)          # one example, even in training mode
    assert one.shape == (1,) and one[0] == net.predict(X)[0]
    num = numerical_gradient(lambda w: net.cost(X, y), net.params["gamma1"])
    assert relative_error(net.gradients(X, y)[1]["dgamma1"], num) < 1e-7
    with pytest.raises(ValueError, match="exclude each other"):
        Network([2, 3], batch_norm=True, layer_norm=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot be folded"):
        fold_network(net)


# ------------------------------------------------------------------ the test-time rule

def _trained(rng):
    d = shared_digits()
    net = Network([64, 16, 16, 10], batch_norm=True, rng=rng)
    train_epochs(net, Optimizer("adam", 0.01), d.train.X, d.train.y, epochs=2, batch_size=64,
                 rng=rng)
    return net, d


def test_evaluate_in_evaluation_mode_restores_the_mode_and_changes_nothing():
    net, d = _trained(np.random.default_rng(2))
    stats = net.running_statistics()
    X, y = d.test.X, d.test.y
    with net.mode(training=False):
        want = float(np.mean(net.predict(X) == y))
    for training in (True, False):
        net.train(training)
        assert evaluate(net, X, y) == want
        assert net.training is training
    for k, (mu, var) in net.running_statistics().items():
        assert np.array_equal(mu, stats[k][0]) and np.array_equal(var, stats[k][1])
    perm = np.random.default_rng(0).permutation(y.size)
    assert evaluate(net, X[:, perm], y[perm]) == want
    assert evaluate(net, X[:, :1], y[:1]) in (0.0, 1.0)
    two = np.flatnonzero(y < 2)
    assert evaluate(net, X[:, two], y[two]) != float(
        np.mean(net.predict(X[:, two], training=True) == y[two]))
