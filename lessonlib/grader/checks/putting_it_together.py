"""Checks for notebook 06, putting it together (exercises 6.1 and 6.2, questions 6.1 and 6.2).

``make_search_space`` is read, not run: each hyperparameter must use the distribution of its
scale (notebook 02) with a range that is valid and sensible for the capstone's network, and
the space must draw settings that the capstone's trial accepts (``search.settings``).
It tunes what notebook 01 ranks as worth tuning (the learning rate, the hidden units, the
mini-batch size, the number of layers) and leaves Adam's betas and batch norm's decay at
their defaults.
``evaluate`` runs on small batch-norm networks trained on the digits, in training and in
evaluation mode, on batches whose own statistics are far from the running ones (images of
two digits only), on single images, and on the same images in another order and other batch
sizes. It is called on a copy of the network, and that copy is inspected afterwards: its
mode must be the one it had, and its running statistics and parameters must not have moved.

Why these weights (``framework.weighted``):

- 6.1 ``make_search_space``: the learning rate on a log scale is what notebooks 01, 02 and
  this one stress most (tier 1, question 6.1, "a uniform draw would put 90 % of the trials
  in the top decade"): 10 of 25, so a uniform learning rate keeps 1.2/2. The names weigh 3
  (the trial reads them; what notebook 01 leaves at its default stays out), the learning
  rate's range 3, the scales of the hidden units and of the mini-batch size 2 each (tier
  2), and the ranges of those two, the layers' scale and range, and the drawn settings 1
  each.
- 6.2 ``evaluate``: evaluation mode is the exercise. 40 images of two digits, whose batch
  statistics are far from the running ones, tell the modes apart best (3 of 16); a single
  image, and the order and batch sizes that must not matter, 2 each; restoring each mode 2
  each; the loaded network, where ``net.accuracy`` without evaluation mode slips, 2. The
  validation images, the ten images and the unchanged statistics weigh 1 each (a training
  step also fails four of the accuracy sub-checks). Training mode keeps 0.12/2.
"""

from __future__ import annotations

import copy
import math
import numbers
from functools import lru_cache

import numpy as np

from ...core.data import shared_digits
from ...network import Network, train_epochs
from ...optim import Optimizer
from ...search import settings, spaces
from ...search.settings import SEARCHED
from ..exercises import EXERCISES
from ..framework import (
    Checker,
    CheckFailure,
    case_rng,
    fmt_array,
    make_check,
    make_question,
    require,
    shown,
    weighted,
)
from ..mistakes import named

# ------------------------------------------------------------ 6.1 make_search_space

_RANGE_HINT = ("lessonlib's distributions check their range when they are built: low < high, "
               "whole numbers for integer ranges")
_LEFT_AT_DEFAULT = {
    "beta1": "Adam's beta1 works at its default 0.9 (notebook 01): spend the trials on what "
             "matters more",
    "adam_beta1": "Adam's beta1 works at its default 0.9 (notebook 01): spend the trials on "
                  "what matters more",
    "beta2": "Adam's beta2 and epsilon are left at their defaults (notebook 01)",
    "epsilon": "Adam's beta2 and epsilon are left at their defaults (notebook 01)",
    "bn_decay": "batch norm's decay is not a lecture hyperparameter: it stays at 0.9, whose "
                "running averages warm up within the shortest training",
    "epochs": "the number of epochs stays fixed, so that every trial costs about the same",
}


def _space(ck) -> dict:
    try:
        out = ck.call()
    except CheckFailure as f:
        if f.message.startswith(("raised ValueError", "raised TypeError")):
            raise CheckFailure(f.message, _RANGE_HINT) from None
        raise
    require(out is not None, "returned None instead of the search space",
            "end the function with return {name: distribution, ...}")
    require(isinstance(out, dict), f"returned {type(out).__name__}, expected a dict "
            "name -> distribution", "return {'learning_rate': LogUniform(...), ...}")
    return out


def _get(ck, name: str):
    space = _space(ck)
    require(name in space, f"the space has no {name!r} (it has {sorted(map(str, space))})",
            f"name the hyperparameters exactly {', '.join(SEARCHED)}: the trial reads "
            "these names")
    return space[name]


@weighted(3)
def _sp_names(ck):
    space = _space(ck)
    missing = [k for k in SEARCHED if k not in space]
    extra = [k for k in space if k not in SEARCHED]
    hint = next((_LEFT_AT_DEFAULT[k] for k in extra if k in _LEFT_AT_DEFAULT),
                f"capstone_trial reads these {len(SEARCHED)} names; everything else stays at "
                "its default")
    require(not missing and not extra,
            f"the space must hold exactly {', '.join(SEARCHED)}; missing {missing}, "
            f"unexpected {extra}", hint)


def _kind(dist) -> str:
    return type(dist).__name__


@weighted(10)
def _sp_lr_scale(ck):
    d = _get(ck, "learning_rate")
    hint = {"Uniform": named("lr-uniform-scale", "on a uniform scale from 1e-4 to 1e-1, 90 % "
                             "of the trials land in the top decade: which scale gives every "
                             "decade the same share (notebook 02)?"),
            "EmaBeta": named("lr-ema-scale", "EmaBeta spreads 1 - beta over decades, for the "
                             "weight of an average close to 1; a learning rate is not one")}.get(
        _kind(d), "a learning rate's good values are not known to within a decade: which "
                  "scale gives every decade the same share of the trials (notebook 02)?")
    require(isinstance(d, spaces.LogUniform),
            f"the learning rate is drawn from {_kind(d)}, not on the scale that suits it", hint)


def _bounds(d, name):
    try:
        low, high = float(d.low), float(d.high)
    except (AttributeError, TypeError, ValueError):
        raise CheckFailure(f"{name} has no numeric low and high",
                           "build it with one of lessonlib.search.spaces' distributions") from None
    require(math.isfinite(low) and math.isfinite(high) and low < high,
            f"{name} has the range [{low:g}, {high:g}], expected low < high", _RANGE_HINT)
    return low, high


@weighted(3)
def _sp_lr_range(ck):
    d = _get(ck, "learning_rate")
    low, high = _bounds(d, "learning_rate")
    require(low > 0, f"the learning rate's range starts at {low:g}",
            "a log scale needs low > 0")
    decades = math.log10(high / low)
    require(decades >= 2 - 1e-9,
            f"the learning rate's range [{low:.3g}, {high:.3g}] spans {decades:.2f} decades, "
            "expected at least 2",
            "a first, coarse search should not assume where the good rates are: try e.g. "
            "1e-4 to 1e-1")
    require(low <= 1e-2 <= high,
            f"the learning rate's range [{low:.3g}, {high:.3g}] misses 0.01, where Adam "
            "trains this network well", "cover the usual rates of Adam, around 1e-3 to 1e-2")
    require(low >= 1e-6 and high <= 10,
            f"the learning rate's range [{low:.3g}, {high:.3g}] goes beyond 1e-6 to 10",
            "rates below 1e-6 do not learn in 12 epochs and above 10 Adam diverges: those "
            "trials are wasted")


def _int_scale(ck, name, want, hints):
    d = _get(ck, name)
    default = ("a count is a whole number, and lessonlib.search.spaces draws whole numbers on "
               "two scales: which one suits this count (notebook 02)?")
    require(type(d) is want,
            f"{name} is drawn from {_kind(d)}, not on the scale that suits it",
            hints.get(_kind(d), default))


def _int_range(ck, name, *, lowest, highest, factor, why_lowest, why_highest, example):
    d = _get(ck, name)
    low, high = getattr(d, "low", None), getattr(d, "high", None)
    require(isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral),
            f"{name} has the range [{low}, {high}], expected whole numbers", _RANGE_HINT)
    require(lowest <= low and high <= highest,
            f"{name}'s range [{low}, {high}] goes beyond {lowest} to {highest}",
            f"{why_lowest}, {why_highest}")
    if factor is None:
        require(high > low, f"{name}'s range [{low}, {high}] holds a single value",
                f"a search should try several values, e.g. {example}")
    else:
        require(high >= factor * low,
                f"{name}'s range [{low}, {high}] is narrower than a factor of {factor}",
                f"a coarse search should try small and large values, e.g. {example}")


_WHOLE = ("a number of {what} is a whole number, and over several doublings 16 to 32 matters "
          "as much as 128 to 256: which integer distribution gives each doubling the same "
          "share?")




def _whole(what: str):
    return named("count-not-whole", _WHOLE.format(what=what))


_LAYERS_WHOLE = named("count-not-whole", "a number of layers is a whole number, and in a "
                      "narrow range no depth deserves more trials than another")


@weighted(2)
def _sp_hidden_scale(ck):
    _int_scale(ck, "hidden_units", spaces.IntLogUniform, {
        "IntUniform": named("units-uniform-scale", "over a range of doublings, 16 to 32 units "
                            "changes a layer as much as 64 to 128, but uniform draws give the "
                            "top doubling most of the trials"),
        "Uniform": _whole("units"), "LogUniform": _whole("units")})


@weighted(1)
def _sp_hidden_range(ck):
    _int_range(ck, "hidden_units", lowest=8, highest=512, factor=4, example="16 to 128",
               why_lowest="fewer than 8 units cannot tell 10 digits apart well",
               why_highest="more than 512 only slow the trials down")


@weighted(2)
def _sp_batch_scale(ck):
    _int_scale(ck, "batch_size", spaces.IntLogUniform, {
        "IntUniform": named("batch-uniform-scale", "a mini-batch size matters by its ratio "
                            "(16 to 32 like 128 to 256), but uniform draws from 16 to 256 are "
                            "mostly above 128"),
        "Uniform": _whole("examples"), "LogUniform": _whole("examples")})


@weighted(1)
def _sp_batch_range(ck):
    _int_range(ck, "batch_size", lowest=8, highest=512, factor=4, example="16 to 256",
               why_lowest="below 8 examples batch norm's statistics are very noisy and an "
                          "epoch takes over 130 steps",
               why_highest="above 512 an epoch of the 1079 training images is two steps")


@weighted(1)
def _sp_layers_scale(ck):
    _int_scale(ck, "n_hidden_layers", spaces.IntUniform, {
        "IntLogUniform": named("layers-log-scale", "in a narrow range of counts such as 1 to 4 "
                               "layers no depth deserves more trials than another, yet a log "
                               "scale gives 1 layer three times the trials of 4"),
        "Uniform": _LAYERS_WHOLE, "LogUniform": _LAYERS_WHOLE})


@weighted(1)
def _sp_layers_range(ck):
    _int_range(ck, "n_hidden_layers", lowest=1, highest=6, factor=None, example="1 to 4",
               why_lowest="a network needs at least 1 hidden layer",
               why_highest="more than 6 only slow the trials down on 8x8 images")


@weighted(1)
def _sp_draws(ck):
    space = _space(ck)
    try:
        drawn = spaces.sample_space(space, 400, rng=case_rng(61))
    except (TypeError, ValueError) as err:
        raise CheckFailure(f"drawing from the space failed: {err}",
                           "use lessonlib.search.spaces' distributions") from None
    try:
        for s in drawn:
            settings.as_params(s)     # a check_ name here would be taken for a check
    except (TypeError, ValueError) as err:
        raise CheckFailure(f"a drawn setting is not one capstone_trial accepts: {err}",
                           f"name the hyperparameters {', '.join(SEARCHED)} and keep their "
                           "ranges valid") from None


check_make_search_space = make_check(
    EXERCISES["6.1"],
    [_sp_names, _sp_lr_scale, _sp_lr_range, _sp_hidden_scale, _sp_hidden_range,
     _sp_batch_scale, _sp_batch_range, _sp_layers_scale, _sp_layers_range, _sp_draws])

# ------------------------------------------------------------------- the questions

check_tune_first = make_question(EXERCISES["Q6.1"], choices="abcd")

check_two_digit_batch = make_question(EXERCISES["Q6.2"], choices="abc")

check_accuracy_standard_error = make_question(EXERCISES["Q6.3"])

# ------------------------------------------------------------------- 6.2 evaluate


@lru_cache(maxsize=1)
def _trained_net():
    """A small batch-norm network trained for 3 epochs on the digits (about 0.1 s)."""
    d = shared_digits()
    rng = case_rng(6002)
    net = Network([64, 24, 24, 10], batch_norm=True, bn_decay=0.9, rng=rng)
    train_epochs(net, Optimizer("adam", 0.01), d.train.X, d.train.y, epochs=3,
                 batch_size=64, rng=rng)
    return net


def _loaded_net():
    """The trained weights and running statistics loaded into a new network: it has not
    taken a training step, so ``net.accuracy`` in training mode uses batch statistics."""
    trained = _trained_net()
    net = Network(trained.layer_dims, batch_norm=True, rng=case_rng(0))
    for k, v in trained.params.items():
        net.params[k][...] = v
    net.set_running_statistics(trained.running_statistics())
    return net


def _net(kind: str):
    """A new copy of the network ``kind``: the trained one in ``"training"`` or
    ``"evaluation"`` mode, or the ``"loaded"`` one (``_loaded_net``)."""
    if kind == "loaded":
        return _loaded_net()
    return copy.deepcopy(_trained_net()).train(kind == "training")


def _images(split, digits=None, n=None, seed=0, column=None):
    """Images ``X`` (64, m) and labels ``y`` (m,) of ``split``: all, those of ``digits``,
    ``n`` of them drawn with ``case_rng(seed)``, or only the one at ``column``."""
    d = shared_digits()
    part = getattr(d, split)
    idx = np.arange(part.m) if digits is None else np.flatnonzero(np.isin(part.y, digits))
    if n is not None:
        idx = case_rng(seed).permutation(idx)[:n]
    if column is not None:
        idx = idx[[column]]
    return part.X[:, idx], part.y[idx]


_AXIS_HINT = ("the logits and probabilities have shape (C, m): the predicted class is the "
              "argmax over axis 0, one per column")
_UPDATE_HINT = ("evaluation only reads the running statistics: no training step "
                "(net.gradients, train_epochs) on the data you evaluate")


def _call(ck, net, X, y):
    """The learner's ``evaluate`` on a copy of ``net``; returns ``(accuracy, the copy)``."""
    def run(net, X, y):
        return ck.fn(net, X, y), net

    try:
        out, after = Checker(run, ck.context, ck.exercise_id).call(net, X, y)
    except CheckFailure as f:
        if "could not be broadcast" in f.message:
            raise CheckFailure(f.message, _AXIS_HINT) from None
        raise
    if isinstance(out, (bool, np.bool_)):
        raise CheckFailure("returned a bool instead of the accuracy",
                           "return the fraction of correct predictions")
    if out is None:
        raise CheckFailure("returned None instead of the accuracy",
                           "end the function with return accuracy")
    arr = np.asarray(out)
    if arr.dtype == object or arr.dtype.kind not in "iuf" or arr.size != 1:
        shape = f" of shape {arr.shape}" if arr.ndim else ""
        raise CheckFailure(f"returned {type(out).__name__}{shape} instead of one number",
                           "return one number: the fraction of the images predicted right")
    return float(arr.ravel()[0]), after


def _reference_accuracy(ref, kind, images):
    """The reference ``evaluate`` of the network ``kind`` (``_net``) on ``_images(**images)``
    (a derived answer, ``oracle``: the networks and images are named, not recorded)."""
    return ref.evaluate(_net(kind), *_images(**images))


def _variants(ck, kind, images):
    """The reference accuracy of the network ``kind`` on ``_images(**images)``, and the
    classic wrong answers with their hints."""
    want = ck.ref.derived(_reference_accuracy, kind, images)
    net, (X, y) = _net(kind), _images(**images)
    m, C = X.shape[1], net.layer_dims[-1]
    out = [(want * m, "that is the number of correct predictions: divide by m to return a "
                      "fraction"),
           (100 * want, "return a fraction between 0 and 1, not a percentage"),
           (1 - want, "that is the error rate: return the fraction of correct predictions")]
    if m >= 2:
        batch = float(np.mean(net.predict(X, training=True) == y))
        out.append((batch, "that is the accuracy with the batch's own statistics (training "
                           "mode): at test time batch norm normalizes with what it kept from "
                           "training (notebook 04)"))
    if m == C:
        for training in ((False, True) if m >= 2 else (False,)):
            logits = net.forward(X, training=training)[0]
            out.append((float(np.mean(logits.argmax(axis=1) == y)),
                        _AXIS_HINT))
    return want, [(v, h) for v, h in out if not math.isclose(v, want, abs_tol=1e-12)]


def _compare(ck, kind, images, case):
    """The learner's accuracy of the network ``kind`` on ``_images(**images)`` against the
    reference's; returns ``(accuracy, the network after the call)``."""
    want, variants = _variants(ck, kind, images)
    net = _net(kind)
    got, after = _call(ck, net, *_images(**images))
    if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12):
        moved = any(a.n_updates != b.n_updates
                    for a, b in zip(after.bn_layers.values(), net.bn_layers.values()))
        close = [h for v, h in variants if math.isclose(got, v, rel_tol=1e-9, abs_tol=1e-12)]
        hint = _UPDATE_HINT if moved else (close[0] if close else (
            "each image's class is its largest logit, computed as at test time; the accuracy "
            "is the share of images whose class is their label"))
        require(False, f"{case}: expected accuracy {want:.4f}, got {fmt_array(got)}", hint)
    return got, after


@weighted(1)
def _ev_validation(ck):
    images = shown(9, {"split": "val"}, lambda rng: {"split": "val", "seed": 9,
                                                      "n": int(rng.integers(200, 300))})
    n = _images(**images)[1].size
    _compare(ck, "training", images, "a trained batch-norm network (in training mode) on "
             f"{'the ' if 'n' not in images else ''}{n} validation images")


@weighted(3)
def _ev_two_digits(ck):
    _compare(ck, "training", {"split": "test", "digits": [0, 1], "n": 40, "seed": 1},
             "40 test images of 0s and 1s only, whose batch statistics "
             "are far from the running ones")


@weighted(1)
def _ev_ten_images(ck):
    _compare(ck, "evaluation", {"split": "test", "digits": [3, 8, 9], "n": 10, "seed": 2},
             "10 test images of 3s, 8s and 9s (a network in "
             "evaluation mode)")


@weighted(2)
def _ev_single_images(ck):
    y = _images("test", n=12, seed=3)[1]
    for j in range(12):
        try:
            _compare(ck, "training", {"split": "test", "n": 12, "seed": 3, "column": j},
                     f"a batch of a single image (image {j + 1} of 12, a {y[j]})")
        except CheckFailure as f:
            if "at least 2 examples" in f.message:
                raise CheckFailure(
                    "on a batch of a single image it raised: the network ran in training "
                    "mode, which needs at least 2 examples",
                    "in evaluation mode each image is normalized with the running "
                    "statistics, so a single image works") from None
            raise


@weighted(2)
def _ev_order_and_batches(ck):
    images = {"split": "test", "n": 150, "seed": 4}
    want, variants = _variants(ck, "training", images)
    X, y = _images(**images)
    perm = case_rng(5).permutation(150)
    whole, _ = _call(ck, _net("training"), X, y)
    shuffled, _ = _call(ck, _net("training"), X[:, perm], y[perm])
    sizes = [1, 7, 42, 100]
    correct, start = 0.0, 0
    for size in sizes:
        part, _ = _call(ck, _net("training"), X[:, start:start + size], y[start:start + size])
        correct += part * size
        start += size
    split = correct / 150
    hint = ("each image's prediction must depend on that image alone: evaluate in "
            "evaluation mode, with the running statistics")
    require(abs(shuffled - whole) <= 1e-12 and abs(split - whole) <= 1e-12,
            f"the same 150 test images gave accuracy {whole:.4f} in one batch, "
            f"{shuffled:.4f} shuffled and {split:.4f} in batches of 1, 7, 42 and 100",
            hint)
    require(math.isclose(whole, want, abs_tol=1e-12),
            f"on 150 test images expected accuracy {want:.4f}, got {fmt_array(whole)}",
            next((h for v, h in variants if math.isclose(whole, v, abs_tol=1e-12)), hint))


def _mode_of(net) -> str:
    modes = {bool(net.training)} | {bool(n.training) for n in net.bn_layers.values()}
    if len(modes) > 1:
        return "a mix of training and evaluation modes"
    return "training mode" if modes.pop() else "evaluation mode"


def _ev_mode(ck, training: bool):
    before = "training mode" if training else "evaluation mode"
    _, after = _compare(ck, "training" if training else "evaluation",
                        {"split": "val", "n": 60, "seed": 6}, f"a network in {before}")
    now = _mode_of(after)
    require(now == before, f"the network was in {before} before the call and in {now} "
            "after it",
            "leave the network in the mode it had before your call, whichever it was: a "
            "network in use may be training (help(net.mode))")


@weighted(2)
def _ev_mode_training(ck):
    _ev_mode(ck, True)


@weighted(2)
def _ev_mode_eval(ck):
    _ev_mode(ck, False)


@weighted(1)
def _ev_unchanged(ck):
    X, y = _images("test", digits=[0, 1], n=40, seed=7)
    net = _net("training")
    stats = net.running_statistics()
    updates = {k: n.n_updates for k, n in net.bn_layers.items()}
    params = {k: v.copy() for k, v in net.params.items()}
    _, after = _call(ck, net, X, y)
    moved = [f"layer {k}" for k, (mu, var) in after.running_statistics().items()
             if not (np.array_equal(mu, stats[k][0]) and np.array_equal(var, stats[k][1]))]
    require(not moved and all(n.n_updates == updates[k] for k, n in after.bn_layers.items()),
            f"evaluating changed the running statistics of {', '.join(moved) or 'a layer'}",
            _UPDATE_HINT)
    changed = [k for k, v in after.params.items() if not np.array_equal(v, params.get(k))]
    require(not changed and set(after.params) == set(params),
            f"evaluating changed the parameters {', '.join(changed) or '(their names)'}",
            "evaluation must not train the network")


@weighted(2)
def _ev_loaded(ck):
    _compare(ck, "loaded", {"split": "test", "digits": [4, 7], "n": 30, "seed": 8},
             "a network whose weights and running statistics were "
             "loaded (no training step yet, in training mode) on 30 images of 4s and 7s")


check_evaluate = make_check(
    EXERCISES["6.2"],
    [_ev_validation, _ev_two_digits, _ev_ten_images, _ev_single_images,
     _ev_order_and_batches, _ev_mode_training, _ev_mode_eval, _ev_unchanged, _ev_loaded])
