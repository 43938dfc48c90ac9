"""Every check of notebook 06 accepts the reference and unusual correct solutions and rejects
a catalogue of wrong ones."""

import numpy as np
import pytest

from lessonlib.grader.checks import putting_it_together as checks
from lessonlib.lessons import putting_it_together as lesson
from lessonlib.network import fold_network
from lessonlib.search import spaces


def _stub(*args, **kwargs):
    raise NotImplementedError


# ---------------------------------------------------------------- 6.1


def _space(**changes):
    space = lesson.make_search_space()
    space.update(changes)
    return lambda: {k: v for k, v in space.items() if v is not None}


def space_narrow_but_fine():
    return {"bn_decay": spaces.EmaBeta(0.9, 0.999), "hidden_units": spaces.IntUniform(32, 256),
            "beta1": spaces.EmaBeta(0.85, 0.995), "learning_rate": spaces.LogUniform(1e-3, 1e-1)}


def space_wide():
    return {"learning_rate": spaces.LogUniform(1e-6, 10.0), "beta1": spaces.EmaBeta(0.8, 0.9999),
            "hidden_units": spaces.IntLogUniform(8, 512),
            "bn_decay": spaces.EmaBeta(0.8, 0.9999)}


SPACE_WRONG = {
    "uniform learning rate": _space(learning_rate=spaces.Uniform(1e-4, 1e-1)),
    "learning rate one decade": _space(learning_rate=spaces.LogUniform(1e-3, 1e-2 * 0.9)),
    "learning rate misses 0.01": _space(learning_rate=spaces.LogUniform(1e-6, 1e-3)),
    "learning rate up to 100": _space(learning_rate=spaces.LogUniform(1e-3, 100.0)),
    "uniform beta1": _space(beta1=spaces.Uniform(0.8, 0.999)),
    "log-uniform beta1": _space(beta1=spaces.LogUniform(0.8, 0.999)),
    "beta1 from 0.5": _space(beta1=spaces.EmaBeta(0.5, 0.99)),
    "beta1 without 0.9": _space(beta1=spaces.EmaBeta(0.95, 0.9995)),
    "beta1 narrow": _space(beta1=spaces.EmaBeta(0.89, 0.91)),
    "beta1 reaches 1": lambda: {**lesson.make_search_space(),
                                "beta1": spaces.EmaBeta(0.9, 1.0)},
    "uniform bn decay": _space(bn_decay=spaces.Uniform(0.8, 0.999)),
    "bn decay above 0.9999": _space(bn_decay=spaces.EmaBeta(0.99, 0.99999)),
    "float hidden units": _space(hidden_units=spaces.Uniform(16, 128)),
    "log-uniform float hidden units": _space(hidden_units=spaces.LogUniform(16, 128)),
    "hidden units as floats in IntUniform": lambda: {**lesson.make_search_space(),
                                                     "hidden_units": spaces.IntUniform(16.0,
                                                                                       128.0)},
    "hidden units up to 4096": _space(hidden_units=spaces.IntLogUniform(16, 4096)),
    "low >= high": lambda: {**lesson.make_search_space(),
                            "learning_rate": spaces.LogUniform(1e-1, 1e-4)},
    "missing bn decay": _space(bn_decay=None),
    "beta instead of beta1": lambda: {("beta" if k == "beta1" else k): v
                                      for k, v in lesson.make_search_space().items()},
    "extra epochs": lambda: {**lesson.make_search_space(), "epochs": spaces.IntUniform(5, 20)},
    "a list": lambda: list(lesson.make_search_space().values()),
    "None": lambda: None,
}


@pytest.mark.parametrize("fn", [lesson.make_search_space, space_narrow_but_fine, space_wide])
def test_make_search_space_accepts_correct(fn):
    r = checks.check_make_search_space.evaluate(fn)
    assert r.passed, r.line


@pytest.mark.parametrize("name", sorted(SPACE_WRONG))
def test_make_search_space_rejects_wrong(name):
    r = checks.check_make_search_space.evaluate(SPACE_WRONG[name])
    assert r.status == "failed" and r.points < 2, r.line


def test_make_search_space_stub_and_hints():
    check = checks.check_make_search_space
    assert check.evaluate(_stub).status == "not attempted"
    assert "log-uniformly" in check.evaluate(SPACE_WRONG["uniform learning rate"]).line
    assert "EmaBeta" in check.evaluate(SPACE_WRONG["uniform beta1"]).line
    assert "whole number" in check.evaluate(SPACE_WRONG["float hidden units"]).line
    assert "low < high" in check.evaluate(SPACE_WRONG["low >= high"]).line
    assert "'beta'" in check.evaluate(SPACE_WRONG["beta instead of beta1"]).line


# ---------------------------------------------------------------- 6.2


def ev_training_mode(net, X, y):
    return float(np.mean(net.predict(X, training=True) == y))


def ev_leaves_eval(net, X, y):
    net.eval()
    return net.accuracy(X, y)


def ev_always_back_to_train(net, X, y):
    net.eval()
    acc = net.accuracy(X, y)
    net.train()
    return acc


def ev_count(net, X, y):
    with net.mode(training=False):
        return int(np.sum(net.predict(X) == y))


def ev_wrong_axis(net, X, y):
    with net.mode(training=False):
        return float(np.mean(net.predict_proba(X).argmax(axis=1) == y))


def ev_plain_accuracy(net, X, y):
    return net.accuracy(X, y)


def ev_takes_a_step(net, X, y):
    net.gradients(X, y)
    with net.mode(training=False):
        return net.accuracy(X, y)


def ev_percent(net, X, y):
    return 100 * lesson.evaluate(net, X, y)


def ev_error_rate(net, X, y):
    return 1 - lesson.evaluate(net, X, y)


def ev_correct_array(net, X, y):
    with net.mode(training=False):
        return net.predict(X) == y


EV_WRONG = {
    "training mode (batch statistics)": ev_training_mode,
    "leaves the network in evaluation mode": ev_leaves_eval,
    "always back to training mode": ev_always_back_to_train,
    "count instead of fraction": ev_count,
    "argmax over axis 1": ev_wrong_axis,
    "net.accuracy without evaluation mode": ev_plain_accuracy,
    "updates the running statistics": ev_takes_a_step,
    "percentage": ev_percent,
    "error rate": ev_error_rate,
    "array of hits": ev_correct_array,
}


def ev_folded(net, X, y):
    return float(np.mean(fold_network(net).predict(X) == y))


def ev_manual_restore(net, X, y):
    previous = net.training
    net.eval()
    try:
        logits = net.forward(np.asarray(X, np.float32))[0]
    finally:
        net.train(previous)
    return np.mean(np.argmax(logits, axis=0) == y)


def ev_one_by_one(net, X, y):
    with net.mode(training=False):
        hits = [int(net.predict(X[:, [j]])[0] == y[j]) for j in range(X.shape[1])]
    return sum(hits) / len(hits)


@pytest.mark.parametrize("fn", [lesson.evaluate, ev_folded, ev_manual_restore, ev_one_by_one])
def test_evaluate_accepts_correct(fn):
    r = checks.check_evaluate.evaluate(fn)
    assert r.passed, r.line


@pytest.mark.parametrize("name", sorted(EV_WRONG))
def test_evaluate_rejects_wrong(name):
    r = checks.check_evaluate.evaluate(EV_WRONG[name])
    assert r.status == "failed" and r.points < 2, r.line


def test_evaluate_stub_and_hints():
    check = checks.check_evaluate
    assert check.evaluate(_stub).status == "not attempted"
    assert "evaluation mode" in check.evaluate(ev_training_mode).line
    assert "restore the mode" in check.evaluate(ev_leaves_eval).line
    assert "restore the mode" in check.evaluate(ev_always_back_to_train).line
    assert "divide by m" in check.evaluate(ev_count).line
    assert "axis 0" in check.evaluate(ev_wrong_axis).line
    assert "only reads the running statistics" in check.evaluate(ev_takes_a_step).line


def test_check_networks_tell_the_modes_apart():
    """The cases are built so that batch statistics give a different accuracy."""
    X, y = checks._images("test", digits=[0, 1], n=40, seed=1)
    net = checks._net(True)
    assert lesson.evaluate(net, X, y) != ev_training_mode(net, X, y)
    loaded = checks._loaded_net()
    X, y = checks._images("test", digits=[4, 7], n=30, seed=8)
    assert lesson.evaluate(loaded, X, y) != loaded.accuracy(X, y)
