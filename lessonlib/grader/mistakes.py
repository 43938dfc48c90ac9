"""The catalogue of the classic mistakes the checks recognise, each by a stable id.

A check's hint-choosing function already compares a failing output with what each classic
mistake of its exercise returns, to pick the hint; ``named(mistake_id, hint)`` is that hint
carrying the mistake's id, so that ``framework.CheckFailure`` records which mistake the
submission made and ``grade`` can count them over a cohort (``cohort.mistake_rows``). The
ids are stable: results files and gradebooks of earlier runs keep their meaning. This
module imports nothing heavy: ``grade`` reads the descriptions.
"""

from __future__ import annotations

CATALOGUE: dict[str, str] = {
    # 1.2 chance_at_least_one
    "chance-added": "added the chances of the n trials (n * f) instead of using the chance "
                    "of no hit",
    "chance-of-no-hit": "returned the chance that no trial hits, (1 - f)**n, not 1 minus it",
    "chance-all-hit": "returned the chance that every trial hits, f**n",
    # 3.1 batchnorm_forward (and the forward passes that reuse it)
    "bn-wrong-axis": "normalised over the units (axis 0) instead of each unit over the "
                     "examples (axis 1)",
    "bn-unbiased-variance": "used the unbiased variance (divide by m - 1) instead of the "
                            "biased one",
    "bn-eps-outside-sqrt": "added eps outside the square root: sqrt(var) + eps",
    "bn-fixed-eps": "used a fixed eps of 1e-5 instead of the eps given",
    "bn-no-eps": "left eps out of the normalisation",
    "bn-gamma-beta-swapped": "swapped gamma and beta",
    "bn-returns-z-hat": "returned Z_hat without the scale gamma and the shift beta",
    "bn-whole-array": "normalised the whole array at once instead of each unit",
    # 3.2 recover_gamma_beta
    "recover-no-eps": "gamma is the standard deviation without eps",
    "recover-unbiased": "gamma uses the unbiased variance (divide by m - 1)",
    "recover-variance": "gamma is the variance, not the standard deviation",
    "recover-swapped": "gamma and beta are swapped",
    "recover-eps-outside": "gamma puts eps outside the square root",
    # 3.x batch norm backward
    "bn-dz-no-mean-path": "dZ misses the path through the batch mean",
    "bn-dz-no-variance-path": "dZ misses the path through the batch variance",
    "bn-dz-no-batch-paths": "dZ misses the paths through both the mean and the variance",
    "bn-dz-no-gamma": "dZ is not multiplied by gamma",
    "bn-dz-eps-outside-sqrt": "the backward pass puts eps outside the square root",
    "bn-dz-m-times": "dZ is m times too large (sums where means belong)",
    "bn-dz-unbiased-variance": "the backward pass uses the unbiased variance",
    "bn-dz-variance-sign": "the path through the variance has the wrong sign",
    "bn-dz-sqrt-derivative": "dvar misses the square root's derivative, 1 / (2 s)",
    # the batch-norm layer
    "layer-no-activation": "the layer returns Z_tilde without the activation",
    "layer-activation-first": "the layer applies the activation before batch norm",
    "layer-no-batch-norm": "the layer applies the activation to Z without batch norm",
    # 4.2 fold_batchnorm
    "fold-columns": "scaled the columns of W by the units' factors instead of the rows",
    "fold-W-unchanged": "left W as it was and folded only the bias",
    "fold-no-gamma": "left gamma out of the factor",
    "fold-eps-outside": "put eps outside the square root in the factor",
    "fold-no-sqrt": "divided by the variance where the standard deviation belongs",
    "fold-std-in-root": "put the standard deviation under the root where the variance "
                        "belongs",
    "fold-no-b": "left the layer's b out of the folded bias",
    "fold-b-unscaled": "added b to the folded bias without the factor",
    "fold-beta-scaled": "multiplied beta by the factor, as if it were added before scaling",
    "fold-mean-unscaled": "subtracted the running mean without the factor",
    "fold-no-mean": "left the running mean out of the folded bias",
    "fold-mean-added": "added the running mean instead of subtracting it",
    # 4.4 layernorm_backward
    "ln-dz-batch-axis": "took the paths through mu and var over the examples (batch norm's "
                        "axis) instead of the units",
    "ln-dz-gamma-outside": "applied gamma after the paths instead of before them",
    "ln-dz-no-var-path": "dZ misses the path through the example's variance",
    "ln-dz-no-mean-path": "dZ misses the path through the example's mean",
    "ln-dz-elementwise": "treated the normalization as elementwise (no path through mu or "
                         "var)",
    "ln-dz-no-gamma": "left gamma out of dZ",
    "ln-dz-eps-outside": "put eps outside the square root",
    "ln-dz-over-m": "divided the paths' means by m (examples) instead of n (units)",
    # 5.1 softmax
    "softmax-overflow": "exponentiated without subtracting each column's maximum, so exp "
                        "overflowed",
    "softmax-wrong-axis": "normalised over axis 1 (the examples) instead of axis 0 (the "
                          "classes)",
    "softmax-whole-sum": "divided by the sum of the whole array instead of each column's",
    # 5.3 cross_entropy_cost
    "cost-summed": "summed the examples' losses instead of averaging them",
    "cost-wrong-axis": "averaged over the classes (axis 0) instead of the examples",
    "cost-mean-over-classes": "averaged over every entry, classes included (C times too "
                              "small)",
    "cost-negative": "left out the minus sign: the cost came out negative",
    "cost-log-base": "used a log in another base than e",
    "cost-other-classes": "took the log of other classes' probabilities, not only the true "
                          "class's",
    # 5.4 softmax_jacobian
    "jacobian-diagonal-only": "the Jacobian's off-diagonal entries left at 0",
    "jacobian-sign": "the Jacobian with its sign flipped",
    "jacobian-logits": "the Jacobian computed from the logits instead of the probabilities",
    # 5.5 softmax_backward
    "dz-times-m": "dZ is not divided by m: the gradient of a sum, not of the mean",
    "dz-sign": "dZ has the wrong sign",
    "dz-over-C": "dZ divided by the number of classes C instead of the examples m",
    # 6.1 make_search_space
    "lr-uniform-scale": "drew the learning rate on a uniform scale instead of a log scale",
    "lr-ema-scale": "drew the learning rate from EmaBeta, the scale of an average's weight",
    "units-uniform-scale": "drew the hidden units uniformly instead of on a log scale",
    "batch-uniform-scale": "drew the mini-batch size uniformly instead of on a log scale",
    "count-not-whole": "drew a count (units, batch size, layers) from a distribution of "
                       "real numbers",
    "layers-log-scale": "drew the number of layers on a log scale in a narrow range",
}


class Hint(str):
    """A hint that names the catalogued mistake it answers (``mistake``, an id of
    ``CATALOGUE``); everywhere else it is the plain text of the hint."""

    mistake: str = ""


def named(mistake_id: str, text: str) -> Hint:
    """The hint ``text`` of the catalogued mistake ``mistake_id``."""
    if mistake_id not in CATALOGUE:
        raise KeyError(f"{mistake_id!r} is not a catalogued mistake")
    hint = Hint(text)
    hint.mistake = mistake_id
    return hint


def describe(mistake_id: str) -> str:
    """The description of ``mistake_id`` ("" for none or an id this version does not
    know)."""
    return CATALOGUE.get(mistake_id or "", "")
