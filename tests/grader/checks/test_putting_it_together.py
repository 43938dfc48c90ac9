"""Every check of notebook 06 accepts the reference and unusual correct solutions and rejects
a catalogue of wrong ones."""

import math
import re

import numpy as np
import pytest
from lessonlib_instructor import answers

from lessonlib.grader.checks import putting_it_together as checks
from lessonlib.network import evaluate, fold_network
from lessonlib.search import spaces
from tests.grader.common import Keyed, reference_copy


def _stub(*args, **kwargs):
    raise NotImplementedError


# ---------------------------------------------------------------- 6.1


REFERENCE_SPACE = answers.make_search_space()


def _space(**changes):
    space = {**REFERENCE_SPACE, **changes}
    return lambda: {k: v for k, v in space.items() if v is not None}


def space_float_bounds():
    return {**REFERENCE_SPACE, "hidden_units": spaces.IntLogUniform(16.0, 128.0)}


def space_low_above_high():
    return {**REFERENCE_SPACE, "learning_rate": spaces.LogUniform(1e-1, 1e-4)}


def space_narrow_but_fine():
    return {"n_hidden_layers": spaces.IntUniform(2, 3),
            "batch_size": spaces.IntLogUniform(32, 128),
            "hidden_units": spaces.IntLogUniform(32, 256),
            "learning_rate": spaces.LogUniform(1e-3, 1e-1)}


def space_wide():
    return {"learning_rate": spaces.LogUniform(1e-6, 10.0),
            "hidden_units": spaces.IntLogUniform(8, 512),
            "batch_size": spaces.IntLogUniform(8, 512),
            "n_hidden_layers": spaces.IntUniform(1, 6)}


def _renamed(old, new):
    return lambda: {(new if k == old else k): v for k, v in REFERENCE_SPACE.items()}


SPACE_WRONG = {
    # the learning rate
    "uniform learning rate": _space(learning_rate=spaces.Uniform(1e-4, 1e-1)),
    "learning rate as an EMA weight": _space(learning_rate=spaces.EmaBeta(1e-4, 1e-1)),
    "learning rate one decade": _space(learning_rate=spaces.LogUniform(1e-3, 1e-2 * 0.9)),
    "learning rate misses 0.01": _space(learning_rate=spaces.LogUniform(1e-6, 1e-3)),
    "learning rate up to 100": _space(learning_rate=spaces.LogUniform(1e-3, 100.0)),
    "low >= high": space_low_above_high,
    # the hidden units
    "float hidden units": _space(hidden_units=spaces.Uniform(16, 128)),
    "log-uniform float hidden units": _space(hidden_units=spaces.LogUniform(16, 128)),
    "hidden units on a linear scale": _space(hidden_units=spaces.IntUniform(16, 128)),
    "hidden units as floats in IntLogUniform": space_float_bounds,
    "hidden units up to 4096": _space(hidden_units=spaces.IntLogUniform(16, 4096)),
    "hidden units from 2": _space(hidden_units=spaces.IntLogUniform(2, 64)),
    "hidden units one doubling": _space(hidden_units=spaces.IntLogUniform(64, 100)),
    # the mini-batch size
    "float mini-batch size": _space(batch_size=spaces.LogUniform(16, 256)),
    "mini-batch size on a linear scale": _space(batch_size=spaces.IntUniform(16, 256)),
    "mini-batch size from 1": _space(batch_size=spaces.IntLogUniform(1, 256)),
    "mini-batch size up to 1024": _space(batch_size=spaces.IntLogUniform(32, 1024)),
    "mini-batch size one doubling": _space(batch_size=spaces.IntLogUniform(32, 64)),
    # the number of layers
    "layers on a log scale": _space(n_hidden_layers=spaces.IntLogUniform(1, 4)),
    "float layers": _space(n_hidden_layers=spaces.Uniform(1, 4)),
    "a single depth": _space(n_hidden_layers=spaces.IntUniform(3, 3)),
    "up to 10 layers": _space(n_hidden_layers=spaces.IntUniform(1, 10)),
    "zero layers": _space(n_hidden_layers=spaces.IntUniform(0, 3)),
    # the names: what 01 says to leave at its default, what is missing, what is misspelt
    "tunes Adam's beta1 too": _space(beta1=spaces.EmaBeta(0.8, 0.999)),
    "tunes batch norm's decay too": _space(bn_decay=spaces.EmaBeta(0.8, 0.999)),
    "tunes epsilon too": _space(epsilon=spaces.LogUniform(1e-10, 1e-6)),
    "the old space of beta1 and bn_decay": lambda: {
        "learning_rate": spaces.LogUniform(1e-4, 1e-1), "beta1": spaces.EmaBeta(0.8, 0.999),
        "hidden_units": spaces.IntLogUniform(16, 128), "bn_decay": spaces.EmaBeta(0.8, 0.999)},
    "missing the mini-batch size": _space(batch_size=None),
    "layers instead of n_hidden_layers": _renamed("n_hidden_layers", "layers"),
    "extra epochs": _space(epochs=spaces.IntUniform(5, 20)),
    "a list": lambda: list(REFERENCE_SPACE.values()),
    "None": lambda: None,
}


# The points (out of 2) of each wrong space: the learning rate's scale weighs most (notebooks
# 01, 02 and question 6.1), a range or a secondary scale little.
SPACE_POINTS = {
    "uniform learning rate": 1.2, "learning rate as an EMA weight": 1.2,
    "learning rate one decade": 1.76, "learning rate misses 0.01": 1.76,
    "learning rate up to 100": 1.76, "low >= high": 0,
    "float hidden units": 1.76, "log-uniform float hidden units": 1.76,
    "hidden units on a linear scale": 1.84, "hidden units as floats in IntLogUniform": 0,
    "hidden units up to 4096": 1.92, "hidden units from 2": 1.92,
    "hidden units one doubling": 1.92,
    "float mini-batch size": 1.76, "mini-batch size on a linear scale": 1.84,
    "mini-batch size from 1": 1.84, "mini-batch size up to 1024": 1.92,
    "mini-batch size one doubling": 1.92,
    "layers on a log scale": 1.92, "float layers": 1.84, "a single depth": 1.92,
    "up to 10 layers": 1.92, "zero layers": 1.84,
    "tunes Adam's beta1 too": 1.68, "tunes batch norm's decay too": 1.76,
    "tunes epsilon too": 1.68, "the old space of beta1 and bn_decay": 1.28,
    "missing the mini-batch size": 1.44, "layers instead of n_hidden_layers": 1.52,
    "extra epochs": 1.76, "a list": 0, "None": 0,
}


@pytest.mark.parametrize("fn", [answers.make_search_space, space_narrow_but_fine, space_wide])
def test_make_search_space_accepts_correct(fn):
    r = checks.check_make_search_space.evaluate(fn)
    assert r.passed and r.points == 2, r.line


def test_every_wrong_space_has_its_points():
    assert set(SPACE_POINTS) == set(SPACE_WRONG)


@pytest.mark.parametrize("name", sorted(SPACE_WRONG))
def test_make_search_space_rejects_wrong_with_its_points(name):
    r = checks.check_make_search_space.evaluate(SPACE_WRONG[name])
    assert r.status == "failed" and r.points == SPACE_POINTS[name], r.line


def test_make_search_space_stub_and_hints():
    check = checks.check_make_search_space
    assert check.evaluate(_stub).status == "not attempted"
    line = {name: check.evaluate(fn).line for name, fn in SPACE_WRONG.items()}
    assert "which scale gives every decade the same share" in line["uniform learning rate"]
    assert "the top doubling most of the trials" in line["hidden units on a linear scale"]
    assert "matters by its ratio" in line["mini-batch size on a linear scale"]
    assert "no depth deserves more trials" in line["layers on a log scale"]
    assert "whole number" in line["float hidden units"]
    assert "low < high" in line["low >= high"]
    assert "low < high" in line["hidden units as floats in IntLogUniform"]
    assert "'layers'" in line["layers instead of n_hidden_layers"]
    assert "default 0.9 (notebook 01)" in line["tunes Adam's beta1 too"]
    assert "not a lecture hyperparameter" in line["tunes batch norm's decay too"]
    assert "single value" in line["a single depth"]
    assert "narrower than a factor of 4" in line["mini-batch size one doubling"]


def test_make_search_space_check_line_is_exact():
    check = checks.check_make_search_space
    assert check.evaluate(space_wide).line == (
        "✓ Exercise 6.1 make_search_space: 10/10 checks passed (2/2 points)")
    r = check.evaluate(SPACE_WRONG["mini-batch size on a linear scale"])
    assert " ".join(r.line.split()) == (
        "✗ Exercise 6.1 make_search_space: batch_size is drawn from IntUniform, not on the "
        "scale that suits it. Hint: a mini-batch size matters by its ratio (16 to 32 like 128 "
        "to 256), but uniform draws from 16 to 256 are mostly above 128. "
        "(9/10 checks passed, 1.84/2 points)")
    r = check.evaluate(SPACE_WRONG["uniform learning rate"])
    assert " ".join(r.line.split()) == (
        "✗ Exercise 6.1 make_search_space: the learning rate is drawn from Uniform, not on "
        "the scale that suits it. Hint: on a uniform scale from 1e-4 to 1e-1, 90 % of the "
        "trials land in the top decade: which scale gives every decade the same share "
        "(notebook 02)? (9/10 checks passed, 1.2/2 points)")


# A wrong scale is told what is wrong with it, never which distribution is right.
@pytest.mark.parametrize("name, right", [
    ("uniform learning rate", "LogUniform"), ("learning rate as an EMA weight", "LogUniform"),
    ("float hidden units", "IntLogUniform"), ("log-uniform float hidden units", "IntLogUniform"),
    ("hidden units on a linear scale", "IntLogUniform"),
    ("float mini-batch size", "IntLogUniform"),
    ("mini-batch size on a linear scale", "IntLogUniform"),
    ("layers on a log scale", "IntUniform"), ("float layers", "IntUniform")])
def test_a_wrong_scale_hint_never_names_the_right_distribution(name, right):
    line = checks.check_make_search_space.evaluate(SPACE_WRONG[name]).line
    assert re.search(rf"\b{right}\b", line) is None, line


# ---------------------------------------------------------------- the questions


@pytest.mark.parametrize("answer, passed", [("b", True), ("B", True), ("a", False),
                                            ("c", False), ("d", False)])
def test_tune_first(answer, passed):
    r = Keyed(checks.check_tune_first).evaluate(lambda: answer)
    assert r.passed is passed, r.line


def test_tune_first_lines_are_exact():
    check = Keyed(checks.check_tune_first)
    assert check.evaluate(_stub).status == "not attempted"
    assert check.evaluate(lambda: "b").line == "✓ Question 6.1 tune_first: right (1/1 points)"
    assert check.evaluate(lambda: "d").line == (
        "✗ Question 6.1 tune_first: you answered (d); the answer is (b). Why: the learning "
        "rate (notebook 01's tier 1) moves the score the most; Adam's beta1 and epsilon work "
        "at their defaults, and batch norm's decay only has to warm up in time. "
        "(0/1 points)")
    assert check.evaluate(lambda: "e").status == "failed"


@pytest.mark.parametrize("answer", [0.0074, 0.00739, math.sqrt(0.98 * 0.02 / 359),
                                    math.sqrt(0.98 * 0.02 / 358), 0.007, np.float64(0.0075)])
def test_accuracy_standard_error_accepts(answer):
    r = Keyed(checks.check_accuracy_standard_error).evaluate(lambda: answer)
    assert r.passed, r.line


@pytest.mark.parametrize("answer", [
    0.98 * 0.02 / 359,               # the variance, no square root
    math.sqrt(0.98 * 0.02),          # forgot to divide by m
    1 / 359,                         # one image
    1 / math.sqrt(359),              # sqrt(1/m): p(1 - p) left out
    0.02,                            # the error rate
    0.74,                            # a percentage
    math.sqrt(0.98 / 359),           # p instead of p (1 - p)
    2 * math.sqrt(0.98 * 0.02 / 359),  # two standard errors
])
def test_accuracy_standard_error_rejects(answer):
    r = Keyed(checks.check_accuracy_standard_error).evaluate(lambda: answer)
    assert r.status == "failed" and r.points == 0, r.line


def test_accuracy_standard_error_lines_are_exact():
    check = Keyed(checks.check_accuracy_standard_error)
    assert check.evaluate(_stub).status == "not attempted"
    assert check.evaluate(lambda: 0.0074).line == (
        "✓ Question 6.3 accuracy_standard_error: right (1/1 points)")
    assert check.evaluate(lambda: 1 / 359).line == (
        "✗ Question 6.3 accuracy_standard_error: you answered 0.002786; the answer is "
        "0.007389. Why: a test accuracy is a share of m images: its standard error is "
        "sqrt(p (1 - p) / m) = sqrt(0.98 * 0.02 / 359), about 0.0074 or 2.7 images. "
        "(0/1 points)")
    assert "expected a number" in check.evaluate(lambda: "0.0074?").line


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


def _accuracy(net, X, y):
    with net.mode(training=False):
        return float(np.mean(net.predict(X) == y))


def ev_percent(net, X, y):
    return 100 * _accuracy(net, X, y)


def ev_error_rate(net, X, y):
    return 1 - _accuracy(net, X, y)


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


# The points (out of 2) of each wrong evaluate: evaluation mode is the exercise, so the batch's
# statistics keep least; not restoring the mode costs a quarter of a point.
EV_POINTS = {
    "training mode (batch statistics)": 0.12,
    "leaves the network in evaluation mode": 1.75,
    "always back to training mode": 1.75,
    "count instead of fraction": 0.38,
    "argmax over axis 1": 0,
    "net.accuracy without evaluation mode": 1.75,
    "updates the running statistics": 0.88,
    "percentage": 0.12,
    "error rate": 0.12,
    "array of hits": 0,
}


@pytest.mark.parametrize("fn", [reference_copy(evaluate), ev_folded, ev_manual_restore,
                                ev_one_by_one])
def test_evaluate_accepts_correct(fn):
    r = checks.check_evaluate.evaluate(fn)
    assert r.passed and r.points == 2, r.line


def test_every_wrong_evaluate_has_its_points():
    assert set(EV_POINTS) == set(EV_WRONG)


@pytest.mark.parametrize("name", sorted(EV_WRONG))
def test_evaluate_rejects_wrong_with_its_points(name):
    r = checks.check_evaluate.evaluate(EV_WRONG[name])
    assert r.status == "failed" and r.points == EV_POINTS[name], r.line


def test_evaluate_in_training_mode_reports_the_two_digits():
    r = checks.check_evaluate.evaluate(ev_training_mode)
    assert " ".join(r.line.split()).startswith(
        "✗ Exercise 6.2 evaluate: 40 test images of 0s and 1s only, whose batch statistics are "
        "far from the running ones: expected accuracy ")
    assert " ".join(r.line.split()).endswith("(1/9 checks passed, 0.12/2 points)")


def test_evaluate_stub_and_hints():
    check = checks.check_evaluate
    assert check.evaluate(_stub).status == "not attempted"
    assert "batch's own statistics" in check.evaluate(ev_training_mode).line
    assert "the mode it had before your call" in check.evaluate(ev_leaves_eval).line
    assert "the mode it had before your call" in check.evaluate(ev_always_back_to_train).line
    assert "divide by m" in check.evaluate(ev_count).line
    assert "axis 0" in check.evaluate(ev_wrong_axis).line
    assert "only reads the running statistics" in check.evaluate(ev_takes_a_step).line
    assert "not a percentage" in check.evaluate(ev_percent).line
    assert "error rate" in check.evaluate(ev_error_rate).line


def test_evaluate_hints_name_the_idea_never_the_code():
    wrong = (ev_training_mode, ev_leaves_eval, ev_always_back_to_train, ev_count,
             ev_wrong_axis, ev_takes_a_step, ev_percent, ev_error_rate)
    for fn in wrong:
        line = checks.check_evaluate.evaluate(fn).line
        for code in ("net.eval()", "net.mode(training=False)", "net.train(", "np.mean("):
            assert code not in line, (fn.__name__, line)


def test_check_networks_tell_the_modes_apart():
    """The cases are built so that batch statistics give a different accuracy."""
    X, y = checks._images("test", digits=[0, 1], n=40, seed=1)
    net = checks._net(True)
    assert evaluate(net, X, y) != ev_training_mode(net, X, y)
    loaded = checks._loaded_net()
    X, y = checks._images("test", digits=[4, 7], n=30, seed=8)
    assert evaluate(loaded, X, y) != loaded.accuracy(X, y)


@pytest.mark.parametrize("answer, passed", [("c", True), ("(C)", True), ("a", False),
                                            ("b", False)])
def test_two_digit_batch(answer, passed):
    r = Keyed(checks.check_two_digit_batch).evaluate(lambda: answer)
    assert r.passed is passed, r.line


def test_two_digit_batch_in_the_notebook_records_the_answer_and_shows_no_key():
    check = checks.check_two_digit_batch
    assert check.evaluate(_stub).status == "not attempted"
    lines = {check.evaluate(lambda letter=letter: letter).line.replace(f"({letter})", "(?)")
             for letter in "abc"}
    assert lines == {"✎ Question 6.2 two_digit_batch: answered (?); right or wrong comes with "
                     "grading (1 point)"}
    assert check.evaluate(lambda: "d").status == "failed"
