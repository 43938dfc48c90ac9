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


# The hint of each classic mistake of dZ (3.3, 3.4), by the name under which the instructor
# side computes what it returns (``batchnorm_backward_slips``, asked before the learner's
# function runs): each names the mistake and the rule to revisit, never the formula.
BACKWARD_HINTS = {
    "no_mean_path": named(
        "bn-dz-no-mean-path", "dZ misses the path through the batch mean: mu depends on every "
        "example, so every z also reaches the cost through it; a node used by many sums their "
        "contributions"),
    "no_variance_path": named(
        "bn-dz-no-variance-path", "dZ misses the path through the batch variance: var depends "
        "on every example too; follow its node back to each z and add what comes through it"),
    "no_batch_paths": named(
        "bn-dz-no-batch-paths", "every Z_hat depends on the whole batch through mu and var: "
        "dZ needs the paths through the mean and the variance, not only the direct one"),
    "no_gamma": named(
        "bn-dz-no-gamma", "the gradient reaching Z_hat has passed through the product with "
        "gamma: which factor does that product contribute?"),
    "eps_outside": named(
        "bn-dz-eps-outside-sqrt", "the forward pass divides by sqrt(var + eps), with eps "
        "inside the square root"),
    "times_m": named(
        "bn-dz-m-times", "your dZ is m times too large: mu and var are means over the m "
        "examples, and each example's share of a mean is 1/m"),
    "unbiased": named(
        "bn-dz-unbiased-variance", "the forward pass uses the biased variance (divide by m), "
        "so must the backward"),
    "variance_sign": named(
        "bn-dz-variance-sign", "the path through the variance has the wrong sign: s grows "
        "with var, and Z_hat shrinks as s grows; check the sign of each derivative on it"),
    "no_half_inv_s": named(
        "bn-dz-sqrt-derivative", "the step from s = sqrt(var + eps) back to var needs the "
        "square root's derivative"),
}


def backward_hint(got, slips, default):
    """The hint for a backward pass's ``dZ`` ``got`` (n, m), given what each classic mistake
    returns on this case (``slips``, by name, from the instructor side)."""
    return _match(got, [(slips[name], hint) for name, hint in BACKWARD_HINTS.items()],
                  default, rtol=1e-6)


def recover_hint(gamma, beta, Z, eps):
    """The hint for ``recover_gamma_beta``'s ``gamma``, ``beta`` (n, 1) on ``Z`` (n, m)."""
    mu, var = Z.mean(axis=1, keepdims=True), Z.var(axis=1, keepdims=True)
    cases = [
        (np.sqrt(var), mu, named("recover-no-eps", "that gamma is the standard deviation "
                                 "without eps, not the standard deviation batch norm divides "
                                 "by: look again at what the forward pass divides by")),
        (np.sqrt(Z.var(axis=1, keepdims=True, ddof=1) + eps), mu,
         named("recover-unbiased", "use the biased variance (divide by m), as batch norm "
               "does")),
        (var + eps, mu, named("recover-variance", "that gamma is a variance, but gamma "
                              "multiplies Z_hat, which was divided by a standard deviation: "
                              "it is a standard deviation")),
        (mu, np.sqrt(var + eps), named("recover-swapped", "gamma and beta are swapped: gamma "
                                       "scales and beta shifts")),
        (np.sqrt(var) + eps, mu, named("recover-eps-outside", "eps goes inside the square "
                                       "root, as in the forward pass")),
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
