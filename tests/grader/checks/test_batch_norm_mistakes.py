"""lessonlib.grader.checks.batch_norm_mistakes: each classic mistake of notebook 03, made by
an implementation of test_batch_norm's catalogues, gets its own hint; a right answer gets the
default."""

import numpy as np
import pytest
from lessonlib_instructor import answers

from lessonlib.grader import oracle
from lessonlib.grader.checks import batch_norm_mistakes as mistakes
from tests.grader.checks.test_batch_norm import WRONG_FORWARD, _bwd, _fwd, _lbf, _rgb

RNG = np.random.default_rng(3)
Z = RNG.uniform(0.5, 3.0, (4, 1)) * RNG.standard_normal((4, 9)) + RNG.normal(0, 4, (4, 1))
GAMMA, BETA, EPS = RNG.uniform(0.5, 2.0, (4, 1)), RNG.normal(0, 2, (4, 1)), 0.5


@pytest.mark.parametrize("name, words", [
    ("wrong axis", "axis=1"), ("whole array", "whole array"),
    ("unbiased variance", "biased variance"), ("eps outside the sqrt", "inside the square"),
    ("eps hard-coded", "not a fixed 1e-5"), ("eps ignored", "add eps"),
    ("gamma and beta swapped", "gamma scales"), ("returns Z_hat", "not Z_hat")])
def test_forward_hint(name, words):
    got = WRONG_FORWARD[name](Z, GAMMA, BETA, EPS)[0]
    assert words in mistakes.forward_hint(got, Z, GAMMA, BETA, EPS, "default")
    right = _fwd()(Z, GAMMA, BETA, EPS)[0]
    assert mistakes.forward_hint(right, Z, GAMMA, BETA, EPS, "default") == "default"


@pytest.mark.parametrize("kind, words", [
    ("no mean path", "path through the batch mean"),
    ("no variance path", "path through the batch variance"),
    ("no batch paths", "the paths through the mean and the variance"),
    ("no gamma", "product with gamma"), ("eps outside", "eps inside the square root"),
    ("times m", "m times too large"), ("unbiased", "biased variance")])
def test_backward_hint(kind, words):
    """Each catalogued dZ is told its own mistake, from the instructor side's slips; a right
    one gets the default; no hint writes the formula."""
    G = RNG.standard_normal(Z.shape)
    _, cache = _fwd()(Z, GAMMA, BETA, EPS)
    slips = answers.batchnorm_backward_slips(G, cache)
    hint = mistakes.backward_hint(_bwd(kind)(G, cache)[0], slips, "default")
    assert words in hint
    for formula in ("mean(dZ_hat", "Z_hat * mean", "dZ_hat = ", "= dZ_tilde"):
        assert formula not in hint
    right = _bwd("correct")(G, cache)[0]
    assert mistakes.backward_hint(right, slips, "default") == "default"


@pytest.mark.parametrize("kind, words", [
    ("std only", "without eps"), ("unbiased", "biased variance"),
    ("variance", "it is a standard deviation"), ("swapped", "gamma and beta are swapped"),
    ("eps outside", "inside the square root"), ("inverse", "undo the normalization")])
def test_recover_hint(kind, words):
    assert words in mistakes.recover_hint(*_rgb(kind)(Z, EPS), Z, EPS)


@pytest.mark.parametrize("kind, words", [
    ("no activation", "apply the activation to Z_tilde"),
    ("activation first", "batch norm comes before the activation"),
    ("correct", "Z = W @ A_prev, then your batch norm")])
def test_layer_slips_come_from_the_reference(kind, words):
    A_prev, W = RNG.standard_normal((5, 8)), RNG.standard_normal((4, 5))
    slips = mistakes.layer_slips(oracle.reference_namespace(), A_prev, W, GAMMA, BETA,
                                 "sigmoid")
    got = _lbf(kind)(A_prev, W, GAMMA, BETA, "sigmoid")[0]
    assert words in mistakes.layer_hint(got, slips)
