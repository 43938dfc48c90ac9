"""lessonlib.lessons.putting_it_together: notebook 06's network, trials, search and plots."""

import matplotlib

matplotlib.use("Agg")

from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib.core.data import shared_digits
from lessonlib.lessons import putting_it_together as lesson  # noqa: E402
from lessonlib.network import Network, train_epochs  # noqa: E402
from lessonlib.optim import Optimizer  # noqa: E402
from lessonlib.search import spaces  # noqa: E402

GOOD = {"learning_rate": 0.01, "beta1": 0.9, "hidden_units": 32, "bn_decay": 0.9}


def test_trial_learns_and_is_determined_by_its_rng():
    a = lesson.capstone_trial(GOOD, rng=np.random.default_rng(3))
    b = lesson.capstone_trial(GOOD, rng=np.random.default_rng(3))
    c = lesson.capstone_trial({**GOOD, "epochs": 2}, rng=np.random.default_rng(4))
    assert a == b
    assert a > 0.9
    assert 0.1 < c < a + 0.05


def test_network_is_deeper_with_batch_norm_and_softmax_output():
    net = lesson.build_network({**GOOD, "hidden_units": 20, "bn_decay": 0.95},
                                 rng=np.random.default_rng(0))
    assert net.layer_dims == [64, 20, 20, 20, 10]
    assert sorted(net.bn_layers) == [1, 2, 3]
    assert all(n.decay == 0.95 for n in net.bn_layers.values())


def test_train_model_leaves_eval_mode_and_reaches_target():
    net, hist = lesson.train_model(GOOD, rng=np.random.default_rng(1))
    assert not net.training and len(hist["val_acc"]) == lesson.FIXED["epochs"]
    d = shared_digits()
    assert lesson.evaluate(net, d.test.X, d.test.y) >= 0.97


def test_search_driver_small_run_refines_and_is_the_same_for_any_executor():
    space = lesson.make_search_space()
    kw = dict(n_rounds=2, n_per_round=3, n_best=2,
              trial_fn=lesson.capstone_trial)
    serial = lesson.coarse_to_fine_search(space, rng=np.random.default_rng(5), **kw)
    with ThreadPoolExecutor(2) as pool:
        threads = lesson.coarse_to_fine_search(space, rng=np.random.default_rng(5),
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
    out = lesson.coarse_to_fine_search(lesson.make_search_space(), n_rounds=3,
                                         n_per_round=10, n_best=3, trial_fn=_scaled_trial,
                                         rng=np.random.default_rng(0))
    widths = [np.log10(s["learning_rate"].high / s["learning_rate"].low)
              for s in out["spaces"]]
    assert widths[0] > widths[1] > widths[2]
    assert abs(np.log10(out["best"]["params"]["learning_rate"]) + 2) < 0.3


def test_reference_search_space():
    space = lesson.make_search_space()
    assert set(space) == set(lesson.SEARCHED)
    assert isinstance(space["learning_rate"], spaces.LogUniform)
    assert isinstance(space["beta1"], spaces.EmaBeta)
    assert isinstance(space["bn_decay"], spaces.EmaBeta)
    assert isinstance(space["hidden_units"], (spaces.IntUniform, spaces.IntLogUniform))
    for params in spaces.sample_space(space, 50, rng=np.random.default_rng(0)):
        lesson.check_params(params)


def _trained(rng):
    d = shared_digits()
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
        assert lesson.evaluate(net, X, y) == want
        assert net.training is training
    for k, (mu, var) in net.running_statistics().items():
        assert np.array_equal(mu, stats[k][0]) and np.array_equal(var, stats[k][1])
    perm = np.random.default_rng(0).permutation(y.size)
    assert lesson.evaluate(net, X[:, perm], y[perm]) == want
    assert lesson.evaluate(net, X[:, :1], y[:1]) in (0.0, 1.0)
    two = np.flatnonzero(y < 2)
    assert lesson.evaluate(net, X[:, two], y[two]) != float(
        np.mean(net.predict(X[:, two], training=True) == y[two]))


@pytest.mark.parametrize("call, exc, word", [
    (lambda: lesson.evaluate("net", np.zeros((64, 2)), [0, 1]), TypeError, "net"),
    (lambda: lesson.evaluate(Network([64, 10], rng=np.random.default_rng(0)),
                               np.zeros((63, 2)), [0, 1]), ValueError, "X"),
    (lambda: lesson.evaluate(Network([64, 10], rng=np.random.default_rng(0)),
                               np.zeros((64, 2)), [0, 1, 2]), ValueError, "y"),
    (lambda: lesson.evaluate(Network([64, 10], rng=np.random.default_rng(0)),
                               np.zeros((64, 2)), [0, 10]), ValueError, "y"),
    (lambda: lesson.capstone_trial([0.01], rng=np.random.default_rng(0)), TypeError,
     "params"),
    (lambda: lesson.capstone_trial({"learning_rate": 0.01}, rng=np.random.default_rng(0)),
     ValueError, "params"),
    (lambda: lesson.capstone_trial({**GOOD, "momentum": 0.9}, rng=np.random.default_rng(0)),
     ValueError, "momentum"),
    (lambda: lesson.capstone_trial({**GOOD, "beta1": 1.0}, rng=np.random.default_rng(0)),
     ValueError, "beta1"),
    (lambda: lesson.capstone_trial({**GOOD, "hidden_units": 12.5},
                                     rng=np.random.default_rng(0)), TypeError, "hidden_units"),
    (lambda: lesson.capstone_trial({**GOOD, "learning_rate": -1},
                                     rng=np.random.default_rng(0)), ValueError, "learning_rate"),
    (lambda: lesson.capstone_trial(GOOD, rng=0), TypeError, "rng"),
    (lambda: lesson.coarse_to_fine_search({}, n_rounds=1, n_per_round=1, n_best=1,
                                            rng=np.random.default_rng(0)), TypeError, "space"),
    (lambda: lesson.coarse_to_fine_search(lesson.make_search_space(), n_rounds=0,
                                            n_per_round=1, n_best=1,
                                            rng=np.random.default_rng(0)), ValueError,
     "n_rounds"),
    (lambda: lesson.coarse_to_fine_search(lesson.make_search_space(), n_rounds=1,
                                            n_per_round=1, n_best=1, trial_fn=3,
                                            rng=np.random.default_rng(0)), TypeError,
     "trial_fn"),
    (lambda: lesson.best_trial([]), ValueError, "results"),
    (lambda: lesson.plot_search({}, "learning_rate"), TypeError, "search"),
])
def test_bad_input_is_named(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_format_helpers():
    assert lesson.format_params(GOOD) == ("learning rate 0.01, beta1 0.9, 32 hidden units, "
                                            "bn decay 0.9")
    lines = lesson.format_space(lesson.make_search_space())
    assert lines[0].startswith("learning_rate") and "LogUniform" in lines[0]


def test_plots_build():
    search = lesson.coarse_to_fine_search(lesson.make_search_space(), n_rounds=2,
                                            n_per_round=4, n_best=2, trial_fn=_scaled_trial,
                                            rng=np.random.default_rng(1))
    ax = lesson.plot_search(search, "learning_rate")
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "validation accuracy"
    ax = lesson.plot_search(search, "beta1")
    assert ax.get_xscale() == "log" and ax.get_xlabel().startswith("1 - beta1")
    axes = lesson.plot_search_overview(search)
    assert len(axes) == 4
    with pytest.raises(ValueError, match="key"):
        lesson.plot_search(search, "epochs")
    _, hist = lesson.train_model({**GOOD, "epochs": 2}, rng=np.random.default_rng(0))
    ax = lesson.plot_training(hist)
    assert len(ax.lines) == 2
    plt.close("all")
