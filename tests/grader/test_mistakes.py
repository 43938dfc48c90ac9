"""Each catalogued mistake (``grader.mistakes``) is recorded when a wrong implementation of
the catalogues of these tests makes it: the failing result names its stable id, the right
implementations name none, and every id a check can name is in the catalogue."""

import numpy as np
import pytest

from lessonlib.grader import framework, mistakes
from lessonlib.grader.checks import batch_norm_test_time as p4
from lessonlib.grader.checks import putting_it_together as p6
from lessonlib.grader.checks import softmax_regression as p5
from lessonlib.grader.checks import tuning_process as p1
from lessonlib.grader.checks.batch_norm import (
    check_batchnorm_backward,
    check_batchnorm_forward,
    check_recover_gamma_beta,
)
from lessonlib.layers import batchnorm
from lessonlib.search import spaces
from tests.grader.common import reference_copy

from .checks.test_batch_norm import WRONG_FORWARD, _bwd, _graph, _rgb
from .checks.test_batch_norm_test_time import _slip as _fold_slip
from .checks.test_batch_norm_test_time import fold_columns
from .checks.test_putting_it_together import SPACE_WRONG, _space
from .checks.test_softmax_regression import BACKWARD_WRONG, COST_WRONG, JACOBIAN_WRONG


def _lnb_slip(name):
    """Layer norm's backward with the classic mistake ``name`` in dZ (the instructor side's
    array), its dgamma and dbeta right."""
    from lessonlib_instructor import answers

    def wrong(dZ_tilde, cache):
        right = answers.layernorm_backward(dZ_tilde, cache)
        return answers.layernorm_backward_slips(dZ_tilde, cache)[name], right[1], right[2]
    return wrong


FORWARD = {"wrong axis": "bn-wrong-axis", "unbiased variance": "bn-unbiased-variance",
           "eps outside the sqrt": "bn-eps-outside-sqrt", "eps ignored": "bn-no-eps",
           "eps hard-coded": "bn-fixed-eps", "gamma and beta swapped": "bn-gamma-beta-swapped",
           "returns Z_hat": "bn-returns-z-hat", "whole array": "bn-whole-array"}

BACKWARD = {"no mean path": "bn-dz-no-mean-path", "no variance path": "bn-dz-no-variance-path",
            "no batch paths": "bn-dz-no-batch-paths", "no gamma": "bn-dz-no-gamma",
            "eps outside": "bn-dz-eps-outside-sqrt", "times m": "bn-dz-m-times",
            "unbiased": "bn-dz-unbiased-variance"}
GRAPH = {"ds with the wrong sign": "bn-dz-variance-sign",
         "dvar without the square root's 1/(2s)": "bn-dz-sqrt-derivative"}


def _softmax_axis1(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _softmax_whole(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum()


def _softmax_unshifted(Z):
    E = np.exp(Z)
    return E / E.sum(axis=0, keepdims=True)


SOFTMAX = {"softmax-wrong-axis": _softmax_axis1, "softmax-whole-sum": _softmax_whole,
           "softmax-overflow": _softmax_unshifted}

COST = {"summed, not averaged": "cost-summed",
        "mean over axis 0 (the classes)": "cost-wrong-axis",
        "mean over classes too": "cost-mean-over-classes", "missing minus sign": "cost-negative",
        "natural log replaced by log10": "cost-log-base",
        "log of every entry": "cost-other-classes"}

JACOBIAN = {"diagonal only": "jacobian-diagonal-only", "sign flipped": "jacobian-sign",
            "logits for probabilities": "jacobian-logits"}

DZ = {"missing division by m": "dz-times-m", "sign flipped": "dz-sign",
      "divided by C": "dz-over-C"}

RECOVER = {"std only": "recover-no-eps", "unbiased": "recover-unbiased",
           "variance": "recover-variance", "swapped": "recover-swapped",
           "eps outside": "recover-eps-outside"}

CHANCE = {"chance-added": lambda f, n: n * f,
          "chance-of-no-hit": lambda f, n: (1 - f) ** n,
          "chance-all-hit": lambda f, n: f ** n}

SPACES = {"lr-uniform-scale": SPACE_WRONG["uniform learning rate"],
          "lr-ema-scale": _space(learning_rate=spaces.EmaBeta(0.9, 0.999)),
          "units-uniform-scale": SPACE_WRONG["hidden units on a linear scale"],
          "batch-uniform-scale": SPACE_WRONG["mini-batch size on a linear scale"],
          "count-not-whole": SPACE_WRONG["float hidden units"],
          "layers-log-scale": _space(n_hidden_layers=spaces.IntLogUniform(1, 4))}

CASES = ([pytest.param(check_batchnorm_forward, WRONG_FORWARD[k], v, id=v)
          for k, v in FORWARD.items()]
         + [pytest.param(check_batchnorm_backward, _bwd(k), v, id=v)
            for k, v in BACKWARD.items()]
         + [pytest.param(check_batchnorm_backward, _graph(k), v, id=v) for k, v in GRAPH.items()]
         + [pytest.param(p5.check_softmax, fn, k, id=k) for k, fn in SOFTMAX.items()]
         + [pytest.param(p5.check_cross_entropy_cost, COST_WRONG[k][0], v, id=v)
            for k, v in COST.items()]
         + [pytest.param(p5.check_softmax_jacobian, JACOBIAN_WRONG[k][0], v, id=v)
            for k, v in JACOBIAN.items()]
         + [pytest.param(p5.check_softmax_backward, BACKWARD_WRONG[k][0], v, id=v)
            for k, v in DZ.items()]
         + [pytest.param(check_recover_gamma_beta, _rgb(k), v, id=v) for k, v in RECOVER.items()]
         + [pytest.param(p1.check_chance_at_least_one, fn, k, id=k)
            for k, fn in CHANCE.items()]
         + [pytest.param(p6.check_make_search_space, fn, k, id=k) for k, fn in SPACES.items()]
         + [pytest.param(p4.check_fold_batchnorm, _fold_slip(k), "fold-" + k.replace("_", "-"),
                         id="fold-" + k.replace("_", "-"))
            for k in p4._FOLD_HINTS if k != "columns"]       # columns: raises on non-square W
         + [pytest.param(p4.check_fold_batchnorm, fold_columns, "fold-columns",
                         id="fold-columns")]
         + [pytest.param(p4.check_layernorm_backward, _lnb_slip(k),
                         "ln-dz-" + k.replace("_", "-"), id="ln-dz-" + k.replace("_", "-"))
            for k in p4._LNB_HINTS])


@pytest.mark.parametrize("check, fn, mistake", CASES)
def test_a_catalogued_wrong_implementation_is_recorded_by_its_id(check, fn, mistake):
    result = check.evaluate(fn)
    assert result.status == "failed", result.line
    assert result.mistake == mistake, result.line
    assert mistakes.describe(mistake)


def test_every_id_a_check_names_is_tested():
    tested = {p.values[2] for p in CASES}
    assert tested == set(mistakes.CATALOGUE) - {"layer-no-activation",
                                                "layer-activation-first",
                                                "layer-no-batch-norm"}


@pytest.mark.parametrize("check, fn", [
    (check_batchnorm_forward, reference_copy(batchnorm.batchnorm_forward)),
    (p1.check_chance_at_least_one, lambda f, n: 1 - (1 - f) ** n)])
def test_a_right_implementation_names_no_mistake(check, fn):
    result = check.evaluate(fn)
    assert result.passed and result.mistake == "", result.line


def test_an_uncatalogued_failure_names_none_and_an_unknown_id_is_refused():
    result = check_batchnorm_forward.evaluate(lambda Z, gamma, beta, eps=1e-5: None)
    assert result.status == "failed" and result.mistake == ""
    with pytest.raises(KeyError, match="not a catalogued mistake"):
        mistakes.named("no-such-mistake", "a hint")
    with pytest.raises(KeyError, match="not a catalogued mistake"):
        framework.require(False, "message", mistake="no-such-mistake")
    failure = framework.CheckFailure("m", mistakes.named("bn-no-eps", "h"))
    assert failure.mistake == "bn-no-eps" and failure.hint == "h"
