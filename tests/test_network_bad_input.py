"""Bad input in lessonlib.network and lessonlib.optim: every public callable answers it
with a named error.

The table's rules and the shared inputs are in ``tests/bad_input.py``.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lessonlib import network, optim  # noqa: E402
from tests.bad_input import (  # noqa: E402
    INF,
    NAN,
    OBJECTS,
    STRINGS,
    X46,
    R,
    assert_covered,
    assert_finite,
    assert_named_error,
    bad,
    bn_net,
    net,
    ok,
    stats,
    trained_on_constant_input,
    with_nan,
    y4,
    y6,
)

MODULES = (network, optim,)

BAD = [
    bad("network.Network", "layer_dims a string", lambda: network.Network("64,10", rng=R()),
        TypeError, "layer_dims"),
    bad("network.Network", "layer_dims an int", lambda: network.Network(64, rng=R()), TypeError,
        "layer_dims"),
    bad("network.Network", "one layer size", lambda: network.Network([4], rng=R()), ValueError,
        "layer_dims"),
    bad("network.Network", "a layer of 0 units", lambda: network.Network([4, 0, 3], rng=R()),
        ValueError, "layer_dims"),
    bad("network.Network", "a fractional size", lambda: network.Network([4.5, 3], rng=R()), TypeError,
        "layer_dims"),
    bad("network.Network", "unknown activation", lambda: net(activation="softplus"), ValueError,
        "activation"),
    bad("network.Network", "batch_norm a string", lambda: net(batch_norm="yes"), TypeError,
        "batch_norm"),
    bad("network.Network", "bn_bias without batch_norm", lambda: net(bn_bias=True), ValueError,
        "bn_bias"),
    bad("network.Network", "eps=0", lambda: net(batch_norm=True, eps=0), ValueError, "eps"),
    bad("network.Network", "bn_decay=1", lambda: net(batch_norm=True, bn_decay=1), ValueError,
        "bn_decay"),
    bad("network.Network", "rng None", lambda: network.Network([4, 3], rng=None), TypeError, "rng"),
    bad("network.Network", "rng an int", lambda: network.Network([4, 3], rng=42), TypeError, "rng"),
    bad("network.Network.forward", "X with the wrong rows", lambda: net().forward(X46[:3]),
        ValueError, "X"),
    bad("network.Network.forward", "X nan", lambda: net().forward(with_nan(X46)), ValueError, "X"),
    bad("network.Network.forward", "X inf", lambda: net().forward(with_nan(X46, INF)), ValueError,
        "X"),
    bad("network.Network.forward", "X strings", lambda: net().forward(STRINGS), TypeError, "X"),
    bad("network.Network.forward", "X complex", lambda: net().forward(X46 + 1j), TypeError, "X"),
    bad("network.Network.forward", "X objects", lambda: net().forward(OBJECTS), TypeError, "X"),
    bad("network.Network.forward", "X empty", lambda: net().forward(np.zeros((4, 0))), ValueError,
        "X"),
    bad("network.Network.forward", "X 1-D", lambda: net().forward(X46[:, 0]), ValueError, "X"),
    bad("network.Network.forward", "a batch of one in training mode",
        lambda: bn_net().forward(X46[:, :1]), ValueError, "X"),
    bad("network.Network.forward", "training a string",
        lambda: net().forward(X46, training="yes"), TypeError, "training"),
    bad("network.Network.backward", "dZL with the wrong shape",
        lambda: net().backward(np.ones((3, 2)), net().forward(X46)[1]), ValueError, "dZL"),
    bad("network.Network.backward", "caches not from forward",
        lambda: net().backward(np.ones((3, 6)), None), TypeError, "caches"),
    bad("network.Network.cost", "y too short", lambda: net().cost(X46, y4), ValueError, "y"),
    bad("network.Network.cost", "label out of range", lambda: net().cost(X46, y6 + 1),
        ValueError, "y"),
    bad("network.Network.gradients", "fractional labels",
        lambda: net().gradients(X46, y6 + 0.5), TypeError, "y"),
    bad("network.Network.gradients", "a batch of one in training mode",
        lambda: bn_net().gradients(X46[:, :1], y6[:1]), ValueError, "X"),
    bad("network.Network.hidden_input", "layer=0", lambda: net().hidden_input(X46, 0),
        ValueError, "layer"),
    bad("network.Network.hidden_input", "the output layer", lambda: net().hidden_input(X46, 2),
        ValueError, "layer"),
    bad("network.Network.hidden_input", "no hidden layer",
        lambda: network.Network([4, 3], rng=R()).hidden_input(X46, 1), ValueError, "layer"),
    bad("network.Network.predict", "X with the wrong rows", lambda: net().predict(X46[:2]),
        ValueError, "X"),
    bad("network.Network.predict_proba", "X inf",
        lambda: net().predict_proba(with_nan(X46, -INF)), ValueError, "X"),
    bad("network.Network.accuracy", "y too short", lambda: net().accuracy(X46, y4), ValueError,
        "y"),
    bad("network.Network.train", "mode a string", lambda: net().train("eval"), TypeError, "mode"),
    bad("network.Network.mode", "training a string",
        lambda: bn_net().mode(training="no").__enter__(), TypeError, "training"),
    bad("network.Network.set_running_statistics", "a layer missing",
        lambda: bn_net().set_running_statistics({}), ValueError, "stats"),
    bad("network.Network.set_running_statistics", "not a pair",
        lambda: bn_net().set_running_statistics({1: np.zeros((5, 1))}), TypeError, "stats"),
    bad("network.Network.set_running_statistics", "a negative variance",
        lambda: bn_net().set_running_statistics(stats(var=-1.0)), ValueError, "stats"),
    bad("optim.Optimizer", "unknown kind", lambda: optim.Optimizer("sgd"), ValueError, "kind"),
    bad("optim.Optimizer", "learning_rate=0", lambda: optim.Optimizer("gd", 0), ValueError,
        "learning_rate"),
    bad("optim.Optimizer", "learning_rate nan", lambda: optim.Optimizer("gd", NAN), ValueError,
        "learning_rate"),
    bad("optim.Optimizer", "learning_rate a string", lambda: optim.Optimizer("gd", "0.1"),
        TypeError, "learning_rate"),
    bad("optim.Optimizer", "beta1=1", lambda: optim.Optimizer("adam", beta1=1), ValueError,
        "beta1"),
    bad("optim.Optimizer", "beta2<0", lambda: optim.Optimizer("adam", beta2=-0.1), ValueError,
        "beta2"),
    bad("optim.Optimizer", "epsilon=0", lambda: optim.Optimizer("adam", epsilon=0), ValueError,
        "epsilon"),
    bad("optim.Optimizer.step", "a gradient missing",
        lambda: optim.Optimizer("gd").step(net().params, {}), ValueError, "grads"),
    bad("optim.Optimizer.step", "params not a dict",
        lambda: optim.Optimizer("gd").step([np.ones(2)], {}), TypeError, "params"),
    bad("network.train_epochs", "net not a Network",
        lambda: network.train_epochs(None, optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=R()), TypeError, "net"),
    bad("network.train_epochs", "optimizer a string",
        lambda: network.train_epochs(net(), "adam", X46, y6, epochs=1, batch_size=2, rng=R()),
        TypeError, "optimizer"),
    bad("network.train_epochs", "X with the wrong rows",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46[:3], y6, epochs=1, batch_size=2,
                                rng=R()), ValueError, "X"),
    bad("network.train_epochs", "X nan",
        lambda: network.train_epochs(net(), optim.Optimizer(), with_nan(X46), y6, epochs=1,
                                batch_size=2, rng=R()), ValueError, "X"),
    bad("network.train_epochs", "y too short",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y4, epochs=1, batch_size=2,
                                rng=R()), ValueError, "y"),
    bad("network.train_epochs", "epochs=-1",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=-1, batch_size=2,
                                rng=R()), ValueError, "epochs"),
    bad("network.train_epochs", "epochs a float",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1.5, batch_size=2,
                                rng=R()), TypeError, "epochs"),
    bad("network.train_epochs", "batch_size=0",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=0,
                                rng=R()), ValueError, "batch_size"),
    bad("network.train_epochs", "batches of one with batch norm",
        lambda: network.train_epochs(bn_net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=1,
                                rng=R()), ValueError, "batch_size"),
    bad("network.train_epochs", "a training set of one with batch norm",
        lambda: network.train_epochs(bn_net(), optim.Optimizer(), X46[:, :1], y6[:1], epochs=1,
                                batch_size=2, rng=R()), ValueError, "X"),
    bad("network.train_epochs", "rng None",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=None), TypeError, "rng"),
    bad("network.train_epochs", "on_step not callable",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=R(), on_step=5), TypeError, "on_step"),
    bad("network.train_epochs", "X_val with the wrong rows",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=R(), X_val=X46[:3], y_val=y6), ValueError, "X_val"),
    bad("network.train_epochs", "y_val not matching X_val",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=R(), X_val=X46, y_val=y4), ValueError, "y_val"),
    bad("network.train_epochs", "y_val without X_val",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=R(), y_val=y6), ValueError, "y_val"),
    bad("network.train_epochs", "history a list",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=R(), history=[]), TypeError, "history"),
    bad("network.train_epochs", "history without its lists",
        lambda: network.train_epochs(net(), optim.Optimizer(), X46, y6, epochs=1, batch_size=2,
                                rng=R(), history={}), ValueError, "history"),
    bad("network.population_statistics", "net not a Network",
        lambda: network.population_statistics("net", X46), TypeError, "net"),
    bad("network.population_statistics", "net without batch norm",
        lambda: network.population_statistics(net(), X46), ValueError, "net"),
    bad("network.population_statistics", "batch_size=1",
        lambda: network.population_statistics(bn_net(), X46, batch_size=1), ValueError,
        "batch_size"),
    bad("network.population_statistics", "batch_size above m",
        lambda: network.population_statistics(bn_net(), X46, batch_size=7), ValueError,
        "batch_size"),
    bad("network.population_statistics", "X of one example",
        lambda: network.population_statistics(bn_net(), X46[:, :1]), ValueError, "X"),
    bad("network.fold_network", "net not a Network", lambda: network.fold_network({}), TypeError,
        "net"),


    bad("network.Network", "ln_forward without layer norm",
        lambda: network.Network([4, 3], ln_forward=len, rng=R()), ValueError, "ln_forward"),
    bad("network.Network", "layer_norm a string",
        lambda: network.Network([4, 3], layer_norm="yes", rng=R()), TypeError, "layer_norm"),
]

# Public callables that get no row, and why. Keep this short: exempt only what has no
# argument to get wrong or only draws what a tested function returned.
EXEMPT = {

    "network.Parameters": "a mapping the network builds; an unknown key raises KeyError, as a "
                          "dict does",
}

EXTREME = [
    ok("network.Network.gradients", "constant input: every unit of zero variance",
       lambda: bn_net().gradients(np.ones((4, 6)), y6)),
    ok("network.Network.gradients", "two examples", lambda: bn_net().gradients(X46[:, :2], y6[:2])),
    ok("network.Network.cost", "logits of about 1e4",
       lambda: network.Network([4, 3], rng=R()).cost(1e4 * X46, y6)),
    ok("network.Network.predict_proba", "one example in evaluation mode",
       lambda: bn_net().eval().predict_proba(X46[:, :1])),
    ok("network.train_epochs", "constant input with batch norm",
       lambda: trained_on_constant_input().running_statistics()),
    ok("network.population_statistics", "constant input",
       lambda: network.population_statistics(bn_net(), np.ones((4, 6)), batch_size=2)),
    ok("network.fold_network", "after training on constant input",
       lambda: network.fold_network(trained_on_constant_input()).predict_proba(X46)),
]


def test_every_public_callable_is_covered():
    assert_covered(MODULES, BAD, EXEMPT)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("call, exc, word", BAD)
def test_bad_input_gets_a_named_error(call, exc, word):
    assert_named_error(call, exc, word)


@pytest.mark.parametrize("call, check", EXTREME)
def test_extreme_but_valid_input_stays_finite(call, check):
    assert_finite(call, check)
