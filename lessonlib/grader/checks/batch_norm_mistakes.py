"""The classic mistakes of notebook 03's exercises, computed on a check's case so that a
failing check's hint can name the one the learner made (``checks.batch_norm``).

Each ``*_hint`` compares the learner's output with what each mistake returns and gives the
hint of the first it equals (naming its mistake, ``mistakes.named``), or a default;
``layer_slips`` asks the reference (``ref``, ``grader.oracle``) for the slips of the
batch-norm layer, before the learner's function runs, so that the check's reference calls
do not depend on what it returned.
"""

from __future__ import annotations

import numpy as np

from ...layers.activations import activate
from ..mistakes import named

AXIS_HINT = ("normalize each unit (row) over the m examples of the batch: mean and "
             "variance along axis=1 with keepdims=True")


def _forward_variants(Z, gamma, beta, eps):
    """What the classic mistakes of the forward pass return, with a hint for each."""
    def bn(axis=1, ddof=0, eps_inside=True, eps_used=eps, g=gamma, b=beta):
        mu = Z.mean(axis=axis, keepdims=True)
        var = Z.var(axis=axis, keepdims=True, ddof=ddof)
        std = np.sqrt(var + eps_used) if eps_inside else np.sqrt(var) + eps_used
        with np.errstate(all="ignore"):
            return g * (Z - mu) / std + b

    return [
        (bn(axis=0), named("bn-wrong-axis", AXIS_HINT)),
        (bn(ddof=1), named("bn-unbiased-variance", "use the biased variance, the mean of "
                           "(Z - mu)**2 over the m examples (divide by m, not m - 1)")),
        (bn(eps_inside=False), named("bn-eps-outside-sqrt", "eps goes inside the square "
                                     "root: sqrt(var + eps), not sqrt(var) + eps")),
        (bn(eps_used=1e-5), named("bn-fixed-eps", "use the eps you are given, not a fixed 1e-5")),
        (bn(eps_used=0.0), named("bn-no-eps", "add eps to the variance before the square root")),
        (bn(g=beta, b=gamma), named("bn-gamma-beta-swapped",
                                   "gamma scales and beta shifts: gamma * Z_hat + beta")),
        (bn(g=1.0, b=0.0), named("bn-returns-z-hat",
                                 "return Z_tilde = gamma * Z_hat + beta, not Z_hat")),
        (bn(axis=None), named("bn-whole-array",
                               "normalize each unit on its own, not the whole array at once")),
    ]


def _match(got, variants, default, rtol=1e-7):
    """The hint of the first ``(value, hint)`` of ``variants`` that ``got`` equals."""
    for variant, hint in variants:
        if variant.shape == got.shape and np.allclose(got, variant, rtol=rtol, atol=1e-9):
            return hint
    return default


def forward_hint(got, Z, gamma, beta, eps, default):
    """The hint for ``batchnorm_forward``'s ``Z_tilde`` ``got`` (n, m) on this case."""
    return _match(got, _forward_variants(Z, gamma, beta, eps), default)


def _backward_variants(dZt, cache):
    """What the classic mistakes of ``dZ`` return, with a hint for each."""
    _, Z_hat, _, var, gamma, eps = cache
    m = Z_hat.shape[1]
    inv = 1.0 / np.sqrt(var + eps)
    mean_g = dZt.mean(axis=1, keepdims=True)
    mean_gz = (dZt * Z_hat).mean(axis=1, keepdims=True)
    return [
        (gamma * inv * (dZt - Z_hat * mean_gz),
         named("bn-dz-no-mean-path", "dZ is missing the path through the batch mean: "
               "subtract mean(dZ_hat) over the examples")),
        (gamma * inv * (dZt - mean_g),
         named("bn-dz-no-variance-path", "dZ is missing the path through the batch "
               "variance: subtract Z_hat * mean(dZ_hat * Z_hat) over the examples")),
        (gamma * inv * dZt,
         named("bn-dz-no-batch-paths", "every Z_hat depends on the whole batch through mu "
               "and var: dZ needs the paths through the mean and the variance")),
        (inv * (dZt - mean_g - Z_hat * mean_gz),
         named("bn-dz-no-gamma", "multiply by gamma: dZ_hat = dZ_tilde * gamma")),
        (gamma / (np.sqrt(var) + eps) * (dZt - mean_g - Z_hat * mean_gz),
         named("bn-dz-eps-outside-sqrt", "the forward pass divides by sqrt(var + eps), "
               "with eps inside the square root")),
        (gamma * inv * (dZt - mean_g - Z_hat * mean_gz) * m,
         named("bn-dz-m-times", "the means over the examples divide by m; the result is "
               "m times too large")),
        (gamma * inv * (dZt - mean_g - Z_hat * mean_gz * m / (m - 1)),
         named("bn-dz-unbiased-variance", "the forward pass uses the biased variance "
               "(divide by m), so must the backward")),
    ]


def backward_hint(got, dZt, cache, default):
    """The hint for a backward pass's ``dZ`` ``got`` (n, m) on the upstream ``dZt``."""
    return _match(got, _backward_variants(dZt, cache), default, rtol=1e-6)


def recover_hint(gamma, beta, Z, eps):
    """The hint for ``recover_gamma_beta``'s ``gamma``, ``beta`` (n, 1) on ``Z`` (n, m)."""
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    cases = [
        (np.sqrt(var), mu, "that gamma is the standard deviation without eps, not the "
                           "standard deviation batch norm divides by: look again at what the "
                           "forward pass divides by"),
        (np.sqrt(Z.var(axis=1, keepdims=True, ddof=1) + eps), mu,
         "use the biased variance (divide by m), as batch norm does"),
        (var + eps, mu, "that gamma is a variance, but gamma multiplies Z_hat, which was "
                        "divided by a standard deviation: it is a standard deviation"),
        (mu, np.sqrt(var + eps), "gamma and beta are swapped: gamma scales and beta shifts"),
        (np.sqrt(var) + eps, mu, "eps goes inside the square root, as in the forward pass"),
    ]
    for g, b, hint in cases:
        if np.allclose(gamma, g, rtol=1e-7, atol=1e-12) and \
                np.allclose(beta, b, rtol=1e-7, atol=1e-12):
            return hint
    return ("undo the normalization step by step: solve gamma * Z_hat + beta = Z for the "
            "scale and the shift, with Z_hat as the forward pass computes it")


def layer_slips(ref, A_prev, W, gamma, beta, act):
    """What the classic slips of the layer's forward pass return, each with its hint."""
    Z = W @ A_prev
    return [(ref.batchnorm_forward(Z, gamma, beta)[0],
             named("layer-no-activation", "apply the activation to Z_tilde: A = g(Z_tilde)")),
            (ref.batchnorm_forward(activate(Z, act), gamma, beta)[0],
             named("layer-activation-first",
                   "batch norm comes before the activation: A = g(batchnorm(W A_prev))")),
            (activate(Z, act), named("layer-no-batch-norm",
                                     "normalize Z with batch norm before the activation"))]


def layer_hint(got, slips):
    """The hint for a forward pass that matches one of the classic ``slips``."""
    for want, hint in slips:
        if np.shape(want) == np.shape(got) and np.allclose(got, want):
            return hint
    return "Z = W @ A_prev, then your batch norm, then the activation"
