"""lessonlib.capstone: the trial, the coarse-to-fine search, the reference exercises, plots."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from lessonlib import capstone, tuning
from lessonlib.nn import Network, Optimizer, train_epochs

GOOD = {"learning_rate": 0.01, "beta1": 0.9, "hidden_units": 32, "bn_decay": 0.9}


def test_trial_learns_and_is_determined_by_its_rng():
    a = capstone.capstone_trial(GOOD, rng=np.random.default_rng(3))
    b = capstone.capstone_trial(GOOD, rng=np.random.default_rng(3))
    c = capstone.capstone_trial({**GOOD, "epochs": 2}, rng=np.random.default_rng(4))
    assert a == b
    assert a > 0.9
    assert 0.1 < c < a + 0.05


def test_network_is_deeper_with_batch_norm_and_softmax_output():
    net = capstone.build_network({**GOOD, "hidden_units": 20, "bn_decay": 0.95},
                                 rng=np.random.default_rng(0))
    assert net.layer_dims == [64, 20, 20, 20, 10]
    assert sorted(net.bn_layers) == [1, 2, 3]
    assert all(n.decay == 0.95 for n in net.bn_layers.values())


def test_train_model_leaves_eval_mode_and_reaches_target():
    net, hist = capstone.train_model(GOOD, rng=np.random.default_rng(1))
    assert not net.training and len(hist["val_acc"]) == capstone.FIXED["epochs"]
    d = capstone._digits()
    assert capstone.evaluate(net, d.test.X, d.test.y) >= 0.97


def test_search_driver_small_run_refines_and_is_the_same_for_any_executor():
    space = capstone.make_search_space()
    kw = dict(n_rounds=2, n_per_round=3, n_best=2,
              trial_fn=capstone.capstone_trial)
    serial = capstone.coarse_to_fine_search(space, rng=np.random.default_rng(5), **kw)
    with ThreadPoolExecutor(2) as pool:
        threads = capstone.coarse_to_fine_search(space, rng=np.random.default_rng(5),
                                                 executor=pool, **kw)
    assert [r["score"] for r in serial["results"]] == [r["score"] for r in threads["results"]]
    assert [r["round"] for r in serial["results"]] == [1, 1, 1, 2, 2, 2]
    assert len(serial["spaces"]) == 2 and serial["spaces"][0] is space
    for k, dist in serial["spaces"][1].items():
        assert type(dist) is type(space[k])
        assert space[k].low <= dist.low < dist.high <= space[k].high or \
            (dist.low == dist.high and k == "hidden_units")
    for trial in serial["rounds"][1]:
        for k, dist in serial["spaces"][1].items():
            assert dist.low <= trial["params"][k] <= dist.high
    assert serial["best"]["score"] == max(r["score"] for r in serial["results"])


def _scaled_trial(params, *, rng):
    return -abs(np.log10(params["learning_rate"]) + 2) + 0 * rng.random()


def test_search_with_a_toy_trial_zooms_in_on_the_best_rate():
    out = capstone.coarse_to_fine_search(capstone.make_search_space(), n_rounds=3,
                                         n_per_round=10, n_best=3, trial_fn=_scaled_trial,
                                         rng=np.random.default_rng(0))
    widths = [np.log10(s["learning_rate"].high / s["learning_rate"].low)
              for s in out["spaces"]]
    assert widths[0] > widths[1] > widths[2]
    assert abs(np.log10(out["best"]["params"]["learning_rate"]) + 2) < 0.3


def test_reference_search_space():
    space = capstone.make_search_space()
    assert set(space) == set(capstone.SEARCHED)
    assert isinstance(space["learning_rate"], tuning.LogUniform)
    assert isinstance(space["beta1"], tuning.EmaBeta)
    assert isinstance(space["bn_decay"], tuning.EmaBeta)
    assert isinstance(space["hidden_units"], (tuning.IntUniform, tuning.IntLogUniform))
    for params in tuning.sample_space(space, 50, rng=np.random.default_rng(0)):
        capstone.check_params(params)


def _trained(rng):
    d = capstone._digits()
    net = Network([64, 16, 16, 10], batch_norm=True, rng=rng)
    train_epochs(net, Optimizer("adam", 0.01), d.train.X, d.train.y, epochs=2, batch_size=64,
                 rng=rng)
    return net, d


def test_reference_evaluate_eval_mode_restores_and_changes_nothing():
    net, d = _trained(np.random.default_rng(2))
    stats = net.running_statistics()
    X, y = d.test.X, d.test.y
    with net.mode(training=False):
        want = float(np.mean(net.predict(X) == y))
    for training in (True, False):
        net.train(training)
        assert capstone.evaluate(net, X, y) == want
        assert net.training is training
    for k, (mu, var) in net.running_statistics().items():
        assert np.array_equal(mu, stats[k][0]) and np.array_equal(var, stats[k][1])
    perm = np.random.default_rng(0).permutation(y.size)
    assert capstone.evaluate(net, X[:, perm], y[perm]) == want
    assert capstone.evaluate(net, X[:, :1], y[:1]) in (0.0, 1.0)
    two = np.flatnonzero(y < 2)
    assert capstone.evaluate(net, X[:, two], y[two]) != float(
        np.mean(net.predict(X[:, two], training=True) == y[two]))


@pytest.mark.parametrize("call, exc, word", [
    (lambda: capstone.evaluate("net", np.zeros((64, 2)), [0, 1]), TypeError, "net"),
    (lambda: capstone.evaluate(Network([64, 10], rng=np.random.default_rng(0)),
                               np.zeros((63, 2)), [0, 1]), ValueError, "X"),
    (lambda: capstone.evaluate(Network([64, 10], rng=np.random.default_rng(0)),
                               np.zeros((64, 2)), [0, 1, 2]), ValueError, "y"),
    (lambda: capstone.evaluate(Network([64, 10], rng=np.random.default_rng(0)),
                               np.zeros((64, 2)), [0, 10]), ValueError, "y"),
    (lambda: capstone.capstone_trial([0.01], rng=np.random.default_rng(0)), TypeError,
     "params"),
    (lambda: capstone.capstone_trial({"learning_rate": 0.01}, rng=np.random.default_rng(0)),
     ValueError, "params"),
    (lambda: capstone.capstone_trial({**GOOD, "momentum": 0.9}, rng=np.random.default_rng(0)),
     ValueError, "momentum"),
    (lambda: capstone.capstone_trial({**GOOD, "beta1": 1.0}, rng=np.random.default_rng(0)),
     ValueError, "beta1"),
    (lambda: capstone.capstone_trial({**GOOD, "hidden_units": 12.5},
                                     rng=np.random.default_rng(0)), TypeError, "hidden_units"),
    (lambda: capstone.capstone_trial({**GOOD, "learning_rate": -1},
                                     rng=np.random.default_rng(0)), ValueError, "learning_rate"),
    (lambda: capstone.capstone_trial(GOOD, rng=0), TypeError, "rng"),
    (lambda: capstone.coarse_to_fine_search({}, n_rounds=1, n_per_round=1, n_best=1,
                                            rng=np.random.default_rng(0)), TypeError, "space"),
    (lambda: capstone.coarse_to_fine_search(capstone.make_search_space(), n_rounds=0,
                                            n_per_round=1, n_best=1,
                                            rng=np.random.default_rng(0)), ValueError,
     "n_rounds"),
    (lambda: capstone.coarse_to_fine_search(capstone.make_search_space(), n_rounds=1,
                                            n_per_round=1, n_best=1, trial_fn=3,
                                            rng=np.random.default_rng(0)), TypeError,
     "trial_fn"),
    (lambda: capstone.best_trial([]), ValueError, "results"),
    (lambda: capstone.plot_search({}, "learning_rate"), TypeError, "search"),
])
def test_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_format_helpers():
    assert capstone.format_params(GOOD) == ("learning rate 0.01, beta1 0.9, 32 hidden units, "
                                            "bn decay 0.9")
    lines = capstone.format_space(capstone.make_search_space())
    assert lines[0].startswith("learning_rate") and "LogUniform" in lines[0]


def test_plots_build():
    import matplotlib.pyplot as plt
    search = capstone.coarse_to_fine_search(capstone.make_search_space(), n_rounds=2,
                                            n_per_round=4, n_best=2, trial_fn=_scaled_trial,
                                            rng=np.random.default_rng(1))
    ax = capstone.plot_search(search, "learning_rate")
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "validation accuracy"
    ax = capstone.plot_search(search, "beta1")
    assert ax.get_xscale() == "log" and ax.get_xlabel().startswith("1 - beta1")
    axes = capstone.plot_search_overview(search)
    assert len(axes) == 4
    with pytest.raises(ValueError, match="key"):
        capstone.plot_search(search, "epochs")
    _, hist = capstone.train_model({**GOOD, "epochs": 2}, rng=np.random.default_rng(0))
    ax = capstone.plot_training(hist)
    assert len(ax.lines) == 2
    plt.close("all")
