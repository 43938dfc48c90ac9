"""The key of every concept question, and why it is the answer.

Only the trusted grader reads these (``lessonlib.grader.instructor``): a learner's own check
cell confirms that an answer is well formed and recorded, and whether it is right comes with
the graded feedback. ``answer`` is a letter, a number or a tuple of them, in the form the
question's check asks for (``lessonlib.grader.checks.<lecture>``); a number is right within
``rel_tol``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A question's ``answer``, ``why`` it is right (said to a wrong answer in the graded
    feedback), and the relative tolerance of a numeric answer."""

    answer: str | float | tuple
    why: str
    rel_tol: float = 0.01


KEYS: dict[str, Key] = {
    "Q1.1": Key("c", (
        "the regret of the best of N trials shrinks like the box's area over N, so the third "
        "round's 20 trials, in a box of about 4 % of the square, count like about 500 in the "
        "whole square against one round's 60: the zoomed plan cut the mean regret about 5 "
        "times, far beyond its noise")),
    "Q1.2": Key(8, (
        "the rate after k raises is 0.01 * 1.5**k, which first reaches 0.2 when 1.5**k >= 20, "
        "at k = ln 20 / ln 1.5 = 7.4, rounded up to 8: eight epochs at rates below 0.2"),
        rel_tol=0.0),
    "Q1.3": Key((0.4, 1 - 0.9 ** 16), (
        "the grid's 4 values lie in 4 different tenths, so it hits in 4 cases out of 10; each "
        "random trial misses with chance 0.9, so 16 of them all miss with chance 0.9**16 = "
        "0.185 and at least one hits with 0.815"), rel_tol=0.02),
    "Q2.1": Key(1 - (1 - 0.0009 / 0.9999) ** 30, (
        "[1e-4, 1e-3) is 0.0009 of the range's length, so each uniform trial lands there with "
        "chance 0.0009 and 30 trials all miss with chance 0.9991**30 = 0.973: at least one "
        "lands there in 2.7 % of searches"), rel_tol=0.15),
    "Q2.2": Key((0.009 / 0.099, 0.5), (
        "beta in (0.99, 0.999] is 0.009 of the range's 0.099, about 9 %, for uniform beta; the "
        "windows run from 10 to 1000, two decades, and those above 100 are one of them: half"),
        rel_tol=0.05),
    "Q2.3": Key(1 / math.log10(1 / 0.03), (
        "log-uniform shares go by width on a log axis: [0.1, 1] is 1 decade of the 1.52 "
        "decades of [0.03, 1], 66 %; by length it would be 0.9/0.97, 93 %"), rel_tol=0.02),
    "Q3.1": Key("c", (
        "b adds to every example's z and to the batch mean alike, so subtracting the mean "
        "cancels it: its gradient is 0 up to round-off, and beta does the shifting")),
    "Q3.2": Key(3530, (
        "W1 is 32 x 64 = 2048 numbers, gamma1 and beta1 32 each, W2 32 x 32 = 1024, gamma2 "
        "and beta2 32 each, W3 10 x 32 = 320 and b3 10: 3530. The hidden layers have no b "
        "(question 3.1), batch norm's mu and sigma^2 come from each batch, and Adam's beta_1 "
        "and beta_2 are settings it never updates"), rel_tol=0.0),
    "Q3.3": Key("c", (
        "standardizing 1 - x with its own statistics gives exactly minus the standardized x: "
        "the classifier sees the negative of every image, so what counted for the true class "
        "now counts against it. The mean and variance match, the images do not")),
    "Q3.4": Key((0.5, 0.125), (
        "a mean of m values drawn independently has variance sigma^2 / m, so it scatters by "
        "sigma / sqrt(m): 1 / sqrt(4) = 0.5 and 1 / sqrt(64) = 0.125 of sigma. Sixteen times "
        "the batch only quarters the noise"), rel_tol=0.05),
    "Q4.1": Key("b", (
        "a batch of one has mean z and variance 0, so z_norm = (z - z) / sqrt(0 + eps) = 0 "
        "and the unit outputs gamma * 0 + beta = beta: eps prevents the division by zero, "
        "not the erasure")),
    "Q4.2": Key(1 - 0.9 ** 10, (
        "the batch k updates back weighs 0.1 * 0.9**k, so the 10 latest add up to "
        "1 - 0.9**10; older batches, whose statistics came from older weights, share the "
        "other 0.35 and fade")),
    "Q4.3": Key(2 * (1 - 0.9 ** 5), (
        "after 5 updates from 0 the five batches weigh 0.1 * 0.9**k for k = 0..4, together "
        "1 - 0.9**5 = 0.41, and the start value 0 takes the other 0.59: the running mean is "
        "2 * 0.41 = 0.82, well short of 2"), rel_tol=0.01),
    "Q5.1": Key("c", (
        "divide top and bottom by e^z0: 1 / (1 + e^(z1 - z0)) = sigmoid(z0 - z1). Only the "
        "difference of the logits counts; sigmoid(z1 - z0) is class 1's probability")),
    "Q5.2": Key(math.log(10), (
        "every example gives its true class 1/10, so every loss is -ln(1/10) = ln 10 = 2.303 "
        "whatever the label, and the mean over the examples is the same")),
    "Q5.3": Key("c", (
        "random weights know nothing of the labels, so the true class gets 1/10 on average, "
        "but unevenly, and minus the log is convex: a true class at 0.05 costs ln 2 = 0.69 "
        "more than at 0.1, one at 0.15 saves only ln 1.5 = 0.41, so the losses average above "
        "ln 10 (Jensen's inequality); every one of the notebook's draws of W starts above "
        "it")),
    "Q6.1": Key("b", (
        "the learning rate (notebook 01's tier 1) moves the score the most; Adam's beta1 and "
        "epsilon work at their defaults, and batch norm's decay only has to warm up in "
        "time")),
    "Q6.2": Key("c", (
        "a batch of 0s and 1s only has means and variances far from those of the ten digits "
        "the network trained on: normalized with them, every unit is shifted and rescaled "
        "(its mean over the batch forced to beta), so the features that told 0 from 1 are "
        "largely erased; the running statistics of evaluation mode do not depend on the "
        "batch")),
    "Q6.3": Key(math.sqrt(0.98 * 0.02 / 359), (
        "a test accuracy is a share of m images: its standard error is sqrt(p (1 - p) / m) = "
        "sqrt(0.98 * 0.02 / 359), about 0.0074 or 2.7 images"), rel_tol=0.06),
}
