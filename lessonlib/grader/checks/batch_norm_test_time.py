"""Checks for notebook 04, batch norm at test time (exercises 4.1 to 4.4, questions 4.1
to 4.3).

``update_running_stats`` is run for hundreds of steps, its output fed back in as the next
running statistics, and compared with the closed form of the exponentially weighted average
``decay**t * start + (1 - decay) * sum_k decay**(t - k) * stat_k``; it must leave its inputs
alone (a changed running statistic is reported as "updated in place"). ``fold_batchnorm`` (a
derivation) is tested on its property: ``W_folded @ A + b_folded`` must equal
evaluation-mode batch norm of ``W @ A + b`` on batches ``A`` that hold the zero vector, for
a small layer shown in full, random layers, a tiny running variance and float32; its hints
name each classic mistake, whose arrays the instructor side computes
(``fold_batchnorm_slips``).
``layernorm_forward`` is compared with the reference on examples of different scales and
alone; ``layernorm_backward`` (a derivation) with the reference's gradients on a small case
shown in full, random cases, float32, and an example of 40,000 units that finite
differences of the forward pass cannot finish in time; its hints name each classic mistake,
whose arrays the instructor side computes (``layernorm_backward_slips``).
"""

from __future__ import annotations

import numpy as np

from ..exercises import EXERCISES
from ..framework import (
    CheckFailure,
    case_rng,
    derived_in_time,
    fmt_array,
    make_check,
    make_question,
    require,
    require_array,
    shown,
    weighted,
)
from ..mistakes import named


def _col(rng, n, loc=0.0, scale=1.0):
    return loc + scale * rng.standard_normal((n, 1))


def _var(rng, n, low=0.2, high=4.0):
    return rng.uniform(low, high, (n, 1))


def _fmt(a) -> str:
    """A column ``(n, 1)`` prints as its n values; anything else as ``fmt_array`` does."""
    a = np.asarray(a)
    return fmt_array(a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a)


def _diff(got, want) -> str:
    return f"largest difference {float(np.max(np.abs(got - want))):.2g}"


def _close(a, b, rtol=1e-9, atol=1e-12):
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)


# ------------------------------------------------------- 4.1 update_running_stats

_URS_NAMES = ("running_mean", "running_var", "mu", "var")


def _urs_call(ck, rm, rv, mu, var, decay):
    try:
        out = ck.call(rm, rv, mu, var, decay)
    except CheckFailure as f:
        for i, name in enumerate(_URS_NAMES):
            if f.message.startswith(f"changed its argument #{i + 1} in place"):
                raise CheckFailure(
                    f"changed {name} (argument #{i + 1}) in place",
                    "return new arrays instead of changing running_mean or running_var in "
                    "place: the caller decides what to store") from None
        raise
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            f"returned {type(out).__name__}, expected a pair (running_mean, running_var)",
            "return running_mean, running_var")
    return (require_array(out[0], "running_mean", rm.shape),
            require_array(out[1], "running_var", rv.shape))


def _urs_hint(got, rm, rv, mu, var, d):
    """The classic mistake that explains ``got`` (the new running_mean, running_var)."""
    variants = [
        ((1 - d) * rm + d * mu, (1 - d) * rv + d * var,
         "your update gives the newest batch the weight decay and shrinks the older ones by "
         "1 - decay: compare with the weights above, where the newest batch (k = 0) weighs "
         "1 - decay"),
        (d * rm + mu, d * rv + var,
         "your update gives the newest batch the weight 1, so the weights add up to more "
         "than 1: what weight does the sum above give the batch k = 0?"),
        (mu, var, "that keeps the newest batch alone (weight 1) and forgets the older ones, "
                  "which the sum above still weighs"),
        (rm, rv, "the running statistics never move: the newest batch must get a weight"),
        (d * rm + (1 - d) * var, d * rv + (1 - d) * mu,
         "the running mean averages the batch means mu, the running variance the batch "
         "variances var"),
        (d * rm + (1 - d) * mu, rv, "update running_var too, with var"),
        (d * rm + (1 - d) * mu, var, "running_var keeps only the newest var: it averages the "
                                     "batch variances with the same weights as the mean"),
        (d * rm + (1 - d) * mu, d * rv + (1 - d) * mu ** 2,
         "running_var averages the batch variances var"),
        (0.9 * rm + 0.1 * mu, 0.9 * rv + 0.1 * var, "use the decay you are given, not 0.9"),
        ((d * rm + (1 - d) * mu) / (1 - d), (d * rv + (1 - d) * var) / (1 - d),
         "the sum above leaves the weight decay**t on the start value: batch norm's running "
         "statistics are not bias-corrected (no division by 1 - decay**t)"),
    ]
    for want_m, want_v, hint in variants:
        if _close(got[0], want_m, 1e-7, 1e-10) and _close(got[1], want_v, 1e-7, 1e-10):
            return hint
    if _close(got[0], (1 - d) * rm + d * mu, 1e-7, 1e-10) or \
            _close(got[1], (1 - d) * rv + d * var, 1e-7, 1e-10):
        return ("your update gives the newest batch the weight decay: in the sum above the "
                "newest batch (k = 0) weighs 1 - decay")
    return ("work out the weights your update gives after one and two steps and compare them "
            "with the sum above, for the mean and the variance")


def _urs_compare(got, case, rm, rv, mu, var, d, rtol=1e-9):
    want = (d * rm + (1 - d) * mu, d * rv + (1 - d) * var)
    for name, g, w in zip(("running_mean", "running_var"), got, want):
        require(_close(g, w, rtol, 1e-12),
                f"{case}: expected {name} {_fmt(w)}, got {_fmt(g)} ({_diff(g, w)})",
                _urs_hint(got, rm, rv, mu, var, d))


def _urs_shape(ck):
    rng = case_rng(40)
    _urs_call(ck, _col(rng, 3), _var(rng, 3), _col(rng, 3), _var(rng, 3), 0.9)


_URS_FIXED = dict(rm=np.array([[0.0], [2.0], [-1.0]]), rv=np.array([[1.0], [4.0], [0.5]]),
                  mu=np.array([[1.0], [0.0], [3.0]]), var=np.array([[2.0], [1.0], [0.25]]))


def _urs_fixed():
    """The case the notebook shows, or in grading a fresh one of the same kind."""
    def fresh(rng):
        return dict(rm=np.round(rng.normal(0, 2, (3, 1)), 1),
                    rv=np.round(rng.uniform(0.25, 4, (3, 1)), 2),
                    mu=np.round(rng.normal(0, 2, (3, 1)), 1),
                    var=np.round(rng.uniform(0.25, 4, (3, 1)), 2))
    return shown(43, _URS_FIXED, fresh)


def _urs_one_step(ck):
    c = _urs_fixed()
    got = _urs_call(ck, c["rm"], c["rv"], c["mu"], c["var"], 0.9)
    _urs_compare(got, f"one step with decay = 0.9 from running_mean {_fmt(c['rm'])}, "
                 f"running_var {_fmt(c['rv'])} and a batch with mu {_fmt(c['mu'])}, var "
                 f"{_fmt(c['var'])}", c["rm"], c["rv"], c["mu"], c["var"], 0.9)


def _urs_decays(ck):
    c = _urs_fixed()
    for d in (0.0, 0.5, 0.99):
        got = _urs_call(ck, c["rm"], c["rv"], c["mu"], c["var"], d)
        what = {0.0: "decay = 0 (keep only the new batch)", 0.5: "decay = 0.5",
                0.99: "decay = 0.99 (barely move)"}[d]
        _urs_compare(got, f"one step with {what}", c["rm"], c["rv"], c["mu"], c["var"], d)


def _urs_closed_form(start, stats, d):
    """All of ``v_1..v_T`` of the average from ``start`` ``(n, 1)`` over ``stats`` ``(T, n, 1)``."""
    T = stats.shape[0]
    t = np.arange(1, T + 1)
    weights = np.tril(d ** np.subtract.outer(t, t).clip(min=0)) * (1 - d)    # (T, T)
    return (d ** t)[:, None, None] * start + np.einsum("ts,snk->tnk", weights, stats)


def _urs_recurrence(ck):
    """300 steps with the output fed back in: must follow the closed form at every step."""
    rng = case_rng(41)
    n, T, d = 4, 300, 0.95
    drift = np.linspace(0, 1, T)[:, None, None]
    mus = 3.0 * drift + rng.normal(2.0, 0.5, (T, n, 1))
    variances = rng.uniform(0.5, 3.0, (T, n, 1)) + drift
    want_m = _urs_closed_form(np.zeros((n, 1)), mus, d)
    want_v = _urs_closed_form(np.ones((n, 1)), variances, d)
    rm, rv = np.zeros((n, 1)), np.ones((n, 1))
    for t in range(T):
        prev = (rm, rv)
        rm, rv = _urs_call(ck, rm, rv, mus[t], variances[t], d)
        for name, g, w in (("running_mean", rm, want_m[t]), ("running_var", rv, want_v[t])):
            require(_close(g, w, 1e-9, 1e-12),
                    f"starting from running_mean = 0 and running_var = 1, decay = {d:g}, after "
                    f"{t + 1} step{'s' if t else ''} expected {name} {_fmt(w)}, got "
                    f"{_fmt(g)} ({_diff(g, w)})",
                    _urs_hint((rm, rv), *prev, mus[t], variances[t], d))


def _urs_constant_stats(ck):
    """A constant batch statistic c: after t steps the average is c + decay**t (start - c)."""
    n, d, T = 2, 0.8, 60
    c_mu, c_var = shown(44, (np.array([[5.0], [-2.0]]), np.array([[0.3], [9.0]])),
                        lambda rng: (np.round(rng.normal(0, 4, (2, 1)), 1),
                                     np.round(rng.uniform(0.2, 9, (2, 1)), 1)))
    rm, rv = np.zeros((n, 1)), np.ones((n, 1))
    for _ in range(T):
        rm, rv = _urs_call(ck, rm, rv, c_mu, c_var, d)
    want_m, want_v = c_mu + d ** T * (0 - c_mu), c_var + d ** T * (1 - c_var)
    require(_close(rm, want_m) and _close(rv, want_v),
            f"after {T} batches with the same mu {fmt_array(c_mu[:, 0])} and var "
            f"{fmt_array(c_var[:, 0])} (decay {d:g}) expected running_mean "
            f"{fmt_array(want_m[:, 0])} and running_var {fmt_array(want_v[:, 0])}, got "
            f"{fmt_array(rm[:, 0])} and {fmt_array(rv[:, 0])}",
            "the average must converge to a constant batch statistic")


def _urs_float32(ck):
    rng = case_rng(42)
    args = [_col(rng, 5), _var(rng, 5), _col(rng, 5, 1.0), _var(rng, 5)]
    want = ck.ref.update_running_stats(*args, 0.9)
    got = _urs_call(ck, *(a.astype(np.float32) for a in args), 0.9)
    ok = all(np.allclose(g, w, rtol=1e-5, atol=1e-6) for g, w in zip(got, want))
    require(ok, f"with float32 input expected running_mean {_fmt(want[0])}, got "
            f"{_fmt(got[0])}", "the same formula works for float32 arrays")


# Weights (of 11): section 2 stresses decay as the weight on the old value and the average
# itself, step after step (no bias correction); running_mean and running_var are both the
# answer, so neither is a secondary output.
check_update_running_stats = make_check(EXERCISES["4.1"], [
    weighted(1)(_urs_shape),            # the pair's form
    weighted(3)(_urs_one_step),         # one step gives the newest batch its weight
    weighted(2)(_urs_decays),           # the decay given, 0 and 0.99 included
    weighted(3)(_urs_recurrence),       # 300 steps fed back: the closed form, uncorrected
    weighted(1)(_urs_constant_stats),   # converges to a constant statistic
    weighted(1)(_urs_float32)])

# ------------------------------------------------------- 4.2 fold_batchnorm
# A derivation: the learner finds W_folded and b_folded from the property that one linear
# layer computes what the linear layer and evaluation-mode batch norm compute together. The
# check tests that property on batches A (the zero vector among them); the arrays of the
# classic mistakes come from the instructor side (``fold_batchnorm_slips``, asked before the
# learner's function runs), the hints are here, and none states the folding's formula.

_FOLD_NAMES = ("W", "b", "gamma", "beta", "running_mean", "running_var")

_FOLD_HINTS = {
    "columns": "your W_folded scales the columns of W, one factor per input; the factor "
               "belongs to a unit, and unit j's z is made from row j of W: which index of W "
               "picks the unit?",
    "W_unchanged": "your W_folded is W unchanged: batch norm multiplies all of unit j's z by "
                   "the same factor, the part that comes from A as well as the bias",
    "no_gamma": "your factor leaves out gamma: after normalizing, batch norm multiplies by "
                "gamma, and that multiplies the whole of each unit's z",
    "eps_outside": "your factor puts eps outside the square root; evaluation-mode batch norm "
                   "adds eps to the running variance before the root, and the factor must "
                   "be that same number (a tiny running variance shows the difference)",
    "no_sqrt": "your factor divides by the running variance itself; batch norm divides by a "
               "standard deviation: what turns running_var into one?",
    "std_in_root": "your factor takes the square root of a standard deviation; running_var "
                   "holds a variance, and batch norm's root is taken of the variance itself",
    "no_b": "your b_folded leaves out b: the linear layer's bias is part of z, so it goes "
            "through everything batch norm does to z; try A = 0, where z is b alone",
    "b_unscaled": "your b_folded adds b without the factor: b is part of z, and batch norm "
                  "scales all of z, b included",
    "beta_scaled": "your b_folded multiplies beta by the factor; batch norm adds beta after it "
                   "has scaled: which of the constants of the bias pass through the scaling?",
    "mean_unscaled": "your b_folded subtracts the running mean without the factor; batch norm "
                     "centres z before it divides, so the running mean is scaled too",
    "no_mean": "your b_folded leaves out the running mean: evaluation-mode batch norm centres "
               "each unit's z on it before scaling",
    "mean_added": "your b_folded adds the running mean; batch norm centres z by taking the "
                  "running mean away",
}
# each hint names its catalogued mistake (``grader.mistakes``): fold-<name>
_FOLD_HINTS = {name: named("fold-" + name.replace("_", "-"), hint)
               for name, hint in _FOLD_HINTS.items()}
_FOLD_DEFAULT = ("with fixed statistics, evaluation-mode batch norm maps each unit's z to a "
                 "factor times z plus a constant: find that factor and that constant for unit "
                 "j, then ask what they do to row j of W and to b_j (try A = 0 first)")
_FOLD_BROADCAST = ("a shape did not broadcast: W is (n, n_prev) and each of the n units has "
                   "one factor, an (n, 1) column; which axis of W has one entry per unit?")


def _fold_case(seed, n, n_prev, *, eps=1e-5, dtype=np.float64):
    """``(W, b, gamma, beta, running_mean, running_var, eps)``: a layer whose bias and
    running statistics are far from 0 and 1, so that every term of the fold shows."""
    rng = case_rng(seed)
    W = rng.standard_normal((n, n_prev)) / np.sqrt(n_prev)
    b = rng.normal(0, 2, (n, 1))
    gamma = rng.uniform(0.5, 2.5, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
    beta = rng.normal(0, 2, (n, 1))
    running_mean = rng.normal(0, 3, (n, 1))
    running_var = rng.uniform(0.3, 5.0, (n, 1))
    return (*(a.astype(dtype) for a in (W, b, gamma, beta, running_mean, running_var)), eps)


def _fold_inputs(seed, n_prev, m=6):
    """The batch ``A`` ``(n_prev, m + 1)`` the property is tested on: the zero vector, then
    ``m`` random examples."""
    rng = case_rng(seed + 500)
    return np.hstack([np.zeros((n_prev, 1)), rng.normal(0, 2, (n_prev, m))])


def _fold_call(ck, case, pass_eps=True):
    """The learner's ``(W_folded, b_folded)`` as float arrays of the right shapes."""
    W = case[0]
    n, n_prev = W.shape
    try:
        out = ck.call(*(case if pass_eps else case[:6]))
    except CheckFailure as f:
        for i, name in enumerate(_FOLD_NAMES):
            if f.message.startswith(f"changed its argument #{i + 1} in place"):
                raise CheckFailure(f"changed {name} (argument #{i + 1}) in place",
                                   "build new arrays: the network still needs the layer as "
                                   "it is") from None
        if f.message.startswith("raised ValueError") and "broadcast" in f.message:
            raise CheckFailure(f.message, _FOLD_BROADCAST) from None
        raise
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            f"returned {type(out).__name__}, expected a pair (W_folded, b_folded)",
            "return W_folded, b_folded")
    W_f = require_array(out[0], "W_folded")
    require(W_f.shape == (n, n_prev),
            f"returned W_folded of shape {W_f.shape} for W of shape {(n, n_prev)}",
            "W_folded replaces W in the layer, so it keeps W's shape")
    b_f = require_array(np.reshape(out[1], (n, 1)) if np.shape(out[1]) == (n,) else out[1],
                        "b_folded")
    require(b_f.shape == (n, 1), f"returned b_folded of shape {b_f.shape}, expected {(n, 1)}",
            "b_folded is one number per unit, like b")
    return W_f, b_f


def _fold_hint(W_f, b_f, want, slips):
    """The hint of the catalogued mistake that explains ``(W_f, b_f)``: both parts, else
    the part that is wrong while the other is right."""
    def same(a, b):
        b = np.asarray(b)
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-9)
    W_ok, b_ok = same(W_f, want[0]), same(b_f, want[1])
    for name, (W_s, b_s) in slips.items():
        if same(W_f, W_s) and same(b_f, b_s):
            return _FOLD_HINTS[name]
    for name, (W_s, b_s) in slips.items():
        if (not W_ok and same(W_f, W_s) and not same(W_s, want[0])) or \
                (W_ok and not b_ok and same(b_f, b_s) and not same(b_s, want[1])):
            return _FOLD_HINTS[name]
    return _FOLD_DEFAULT


def _fold_property(ck, seed, case, what, *, show=False, pass_eps=True, rtol=1e-8):
    """``W_folded @ A + b_folded`` against evaluation-mode batch norm of ``W @ A + b``."""
    W, b, gamma, beta, rm, rv, eps = case
    wide = [np.asarray(a, dtype=float) for a in case[:6]]
    A = _fold_inputs(seed, W.shape[1])
    want_Z = ck.ref.batchnorm_inference(wide[0] @ A + wide[1], *wide[2:], eps)
    want = ck.ref.fold_batchnorm(*wide, eps)
    slips = ck.ref.fold_batchnorm_slips(*wide, eps)
    W_f, b_f = _fold_call(ck, case, pass_eps)
    got_Z = W_f @ A + b_f
    gap = float(np.max(np.abs(got_Z - want_Z)))
    scale = max(1.0, float(np.max(np.abs(want_Z))))
    shown = (f" (W = {fmt_array(W)}, b = {_fmt(b)}, gamma = {_fmt(gamma)}, beta = {_fmt(beta)}, "
             f"running_mean = {_fmt(rm)}, running_var = {_fmt(rv)}, eps = {eps:g}: expected "
             f"W_folded {fmt_array(want[0])} and b_folded {_fmt(want[1])}, got "
             f"{fmt_array(W_f)} and {_fmt(b_f)})") if show else ""
    require(gap <= rtol * scale,
            f"{what}{shown}: W_folded @ A + b_folded differs from evaluation-mode batch norm of "
            f"W @ A + b by up to {gap:.3g}" + ("" if show else
                                               f" (at A = 0: b_folded {_fmt(b_f)}, batch "
                                               f"norm {_fmt(want_Z[:, :1])})"),
            _fold_hint(W_f, b_f, want, slips))


def _fold_form(ck):
    _fold_call(ck, _fold_case(80, 3, 5), pass_eps=False)


def _fold_small(ck):
    """A case small enough to work by hand, shown in full when it fails."""
    case = (np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[1.0], [-1.0]]),
            np.array([[3.0], [-0.5]]), np.array([[0.5], [1.0]]), np.array([[3.0], [-2.0]]),
            np.array([[4.0], [0.0625]]), 1e-3)
    case = shown(87, case, lambda rng: (   # in grading, small numbers the notebook never showed
        *(np.round(rng.uniform(-3, 3, np.shape(a)), 1) for a in case[:2]),
        np.round(rng.uniform(0.5, 3, (2, 1)), 1) * rng.choice([-1.0, 1.0], (2, 1)),
        np.round(rng.uniform(-2, 2, (2, 1)), 1), np.round(rng.uniform(-3, 3, (2, 1)), 1),
        np.round(rng.uniform(0.05, 4, (2, 1)), 2), 1e-3))
    _fold_property(ck, 81, case, "on a layer of 2 units with 2 inputs", show=True)


def _fold_random(ck):
    rng = case_rng(82)
    for k, (n, n_prev) in enumerate([(1, 1), (4, 3), (3, 7), (6, 6), (16, 10)]):
        eps = float(10 ** rng.uniform(-5, -1))
        _fold_property(ck, 90 + k, _fold_case(90 + k, n, n_prev, eps=eps),
                       f"on a random layer of {n} units with {n_prev} inputs, eps = {eps:.3g}")


def _fold_default_eps(ck):
    _fold_property(ck, 83, _fold_case(83, 4, 5), "with eps left at its default, 1e-5",
                   pass_eps=False)


def _fold_tiny_variance(ck):
    case = list(_fold_case(84, 4, 4, eps=1e-4))
    case[5] = np.array([[1e-9], [2.0], [0.0], [0.5]])
    _fold_property(ck, 84, tuple(case), "on a layer whose unit 0 has running variance 1e-9 "
                   "and unit 2 running variance 0, eps = 1e-4")


def _fold_float32(ck):
    _fold_property(ck, 85, _fold_case(85, 5, 8, dtype=np.float32),
                   "with float32 arrays (W of shape (5, 8))", rtol=1e-5)


# Weights (of 10): section 6's derivation is the property on every layer (the small case
# shown, random shapes and eps, a tiny running variance, where eps decides the factor);
# the pair's form, the default eps and float32 weigh 1 each.
check_fold_batchnorm = make_check(EXERCISES["4.2"], [
    weighted(1)(_fold_form),            # a pair (W_folded (n, n_prev), b_folded (n, 1))
    weighted(3)(_fold_small),           # 2 units, 2 inputs: shown in full when it fails
    weighted(3)(_fold_random),          # random shapes (square and not) and eps
    weighted(1)(_fold_default_eps),
    weighted(1)(_fold_tiny_variance),   # running variances 1e-9 and 0
    weighted(1)(_fold_float32)])


# ------------------------------------------------------------------ 4.3 layernorm_forward

_LN_AXIS_HINT = ("normalize each example (column) over its n units: mean and variance along "
                 "axis=0 with keepdims=True (axis=1 is batch norm)")


def _ln_hint(got, Z, gamma, beta, eps):
    def ln(axis=0, ddof=0, eps_inside=True, g=gamma, b=beta):
        mu = Z.mean(axis=axis, keepdims=True)
        var = Z.var(axis=axis, keepdims=True, ddof=ddof)
        std = np.sqrt(var + eps) if eps_inside else np.sqrt(var) + eps
        with np.errstate(all="ignore"):
            return g * (Z - mu) / std + b

    for want, hint in [(ln(axis=1), _LN_AXIS_HINT),
                       (ln(ddof=1), "use the biased variance: divide by n, not n - 1"),
                       (ln(eps_inside=False), "eps goes inside the square root"),
                       (ln(g=beta, b=gamma), "gamma scales and beta shifts: gamma * Z_hat + beta"),
                       (ln(g=1.0, b=0.0), "return gamma * Z_hat + beta, not Z_hat")]:
        if np.shape(want) == np.shape(got) and np.allclose(got, want, rtol=1e-7, atol=1e-9):
            return hint
    return "Z_hat = (Z - mean over axis 0) / sqrt(biased variance over axis 0 + eps)"


def _ln_case(seed, n, m):
    rng = case_rng(seed)
    Z = rng.uniform(0.5, 3, (1, m)) * rng.standard_normal((n, m)) + rng.normal(0, 4, (1, m))
    return Z, rng.uniform(0.5, 2, (n, 1)), rng.normal(0, 1, (n, 1))


def _ln_call(ck, Z, gamma, beta, eps, case, check_Z_tilde=True):
    want, ref_cache = ck.ref.layernorm_forward(Z, gamma, beta, eps)
    out = ck.call(Z, gamma, beta, eps)
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            f"returned {type(out).__name__}, expected a pair (Z_tilde, cache)",
            "return Z_tilde, cache")
    if check_Z_tilde:
        got = require_array(out[0], "Z_tilde", Z.shape)
        require(np.allclose(got, want, rtol=1e-7, atol=1e-9),
                f"for {case} expected Z_tilde {fmt_array(want)}, got {fmt_array(got)}",
                _ln_hint(got, Z, gamma, beta, eps))
    return out[1], ref_cache


def _ln_fixed(ck):
    Z, gamma, beta = _ln_case(100, 5, 7)
    _ln_call(ck, Z, gamma, beta, 1e-5, "a (5, 7) batch whose examples have different scales")


def _ln_one_example(ck):
    Z, gamma, beta = _ln_case(101, 6, 1)
    _ln_call(ck, Z, gamma, beta, 1e-3, "one example, shape (6, 1)")


def _ln_independent(ck):
    Z, gamma, beta = _ln_case(102, 4, 9)
    together = np.asarray(ck.call(Z, gamma, beta, 1e-5)[0], dtype=float)
    alone = np.asarray(ck.call(Z[:, 3:4], gamma, beta, 1e-5)[0], dtype=float)
    require(alone.shape == (4, 1) and np.allclose(together[:, 3:4], alone, atol=1e-9),
            "an example's output changed with the other examples of its batch",
            _LN_AXIS_HINT)


def _ln_cache(ck):
    Z, gamma, beta = _ln_case(103, 5, 6)
    cache, want = _ln_call(ck, Z, gamma, beta, 1e-5, "a (5, 6) batch", check_Z_tilde=False)
    ok = isinstance(cache, tuple) and len(cache) == 6 and all(
        np.shape(c) == np.shape(w) and np.allclose(c, w, rtol=1e-7, atol=1e-9)
        for c, w in zip(cache, want))
    require(ok, "the cache is not (Z, Z_hat, mu, var, gamma, eps) with mu and var of shape "
            "(1, m)", "the backward pass reads the cache in that order")


def _ln_float32(ck):
    Z, gamma, beta = (a.astype(np.float32) for a in _ln_case(104, 8, 5))
    want = ck.ref.layernorm_forward(Z.astype(float), gamma.astype(float),
                                    beta.astype(float))[0]
    got = np.asarray(ck.call(Z, gamma, beta, 1e-5)[0])
    require(got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-5),
            f"with float32 input expected {fmt_array(want)}, got {fmt_array(got)}",
            "the same formula works for float32 arrays")


# Weights (of 9): section 7's point is normalizing each example over its units (axis 0),
# independent of its batch; the cache is a secondary output.
check_layernorm_forward = make_check(EXERCISES["4.3"], [
    weighted(3)(_ln_fixed),          # axis 0, biased variance, on examples of different scales
    weighted(2)(_ln_one_example),    # a single example
    weighted(2)(_ln_independent),    # an example's output does not change with its batch
    weighted(1)(_ln_cache),          # (1, m) statistics in the cache's order
    weighted(1)(_ln_float32)])


# ------------------------------------------------------------------ 4.4 layernorm_backward
# A derivation: batch norm's graph (exercise 3.3) with mu and var moved to the other axis.
# The arrays of the classic mistakes come from the instructor side
# (``layernorm_backward_slips``, asked before the learner's function runs); the hints are here.

_LNB_HINTS = {
    "batch_axis": "your dZ follows the paths through mu and var over the examples (axis 1), "
                  "as batch norm's does; in layer norm mu and var belong to one example and are "
                  "shared by its n units: work out which values each of them feeds, and so "
                  "over which axis those paths collect",
    "gamma_outside": "you apply gamma after the paths through mu and var, as batch norm's "
                     "short form may; here gamma changes from unit to unit along the axis those "
                     "paths collect over, so it cannot move past them: find where in the graph "
                     "gamma acts",
    "no_var_path": "your dZ leaves out the path through the example's variance: var feeds "
                   "every Z_hat of its example, and a node used several times sums what comes "
                   "back from each use",
    "no_mean_path": "your dZ leaves out the path through the example's mean: mu feeds every "
                    "centred value of its example (and so var too); a node used several times "
                    "sums what comes back from each use",
    "elementwise": "your dZ treats normalization as elementwise; every Z_hat of an example "
                   "depends on all n of its units, through mu and through var: follow both "
                   "paths back",
    "no_gamma": "gamma is missing: Z_tilde = gamma * Z_hat + beta, so what reaches Z_hat has "
                "gone through gamma first",
    "eps_outside": "the forward pass divides by sqrt(var + eps), with eps inside the square "
                   "root; the backward must differentiate that same expression",
    "over_m": "the paths through an example's mu and var average over its n units, not over "
              "the m examples: check which count each mean divides by",
}
_LNB_HINTS = {name: named("ln-dz-" + name.replace("_", "-"), hint)  # ln-dz-<name>
              for name, hint in _LNB_HINTS.items()}
_LNB_DEFAULT = ("walk layer norm's graph node by node as in exercise 3.3, with mu and var now "
                "of shape (1, m): each node's gradient has the shape of the node")
_LNB_LARGE = (40_000, 6)          # n, m of the case finite differences cannot finish
_LNB_BUDGET_S = 20.0              # in a check cell; grading has its per-call limit


def _lnb_case(ref, seed, n, m, eps=1e-5, dtype=np.float64):
    """``(G, cache)``: an upstream gradient with a per-example offset (so the path through
    the mean matters) and the reference forward's cache, in ``dtype``."""
    Z, gamma, beta = (a.astype(dtype) for a in _ln_case(seed, n, m))
    rng = case_rng(seed + 1000)
    G = (rng.standard_normal((n, m)) + rng.normal(0, 2, (1, m))).astype(dtype)
    return G, tuple(ref.layernorm_forward(Z, gamma, beta, eps)[1])


def _lnb_call(ck, G, cache):
    """The learner's ``(dZ, dgamma, dbeta)`` as float arrays of the right shapes."""
    out = ck.call(G, cache)
    require(isinstance(out, (tuple, list)) and len(out) == 3,
            f"returned {type(out).__name__}, expected a triple (dZ, dgamma, dbeta)",
            "return dZ, dgamma, dbeta")
    n, m = G.shape
    dZ = require_array(out[0], "dZ", (n, m))
    grads = []
    for name, value in zip(("dgamma", "dbeta"), out[1:]):
        shape = np.shape(value)
        require(shape != (n, m) or m == 1,
                f"returned {name} of shape ({n}, {m}), expected ({n}, 1)",
                f"gamma and beta are shared by the m examples: broadcasting forward is "
                f"summing backward, so {name} collects from every example")
        require(shape != (1, m) or n == 1,
                f"returned {name} of shape {shape}, expected ({n}, 1)",
                "gamma and beta are one per unit and shared by the examples, as in batch "
                "norm, so their gradients collect over the examples, not the units")
        grads.append(require_array(np.reshape(value, (n, 1)) if shape == (n,) else value,
                                   name, (n, 1)))
    return dZ, grads[0], grads[1]


def _lnb_hint(dZ, slips):
    for name, variant in slips.items():
        variant = np.asarray(variant)
        if variant.shape == dZ.shape and np.allclose(dZ, variant, rtol=1e-6, atol=1e-9):
            return _LNB_HINTS[name]
    return _LNB_DEFAULT


def _lnb_compare_dZ(ck, G, cache, case, *, show=False, rtol=1e-7, atol=1e-9):
    want = ck.ref.layernorm_backward(G, cache)[0]
    slips = ck.ref.layernorm_backward_slips(G, cache)
    dZ = _lnb_call(ck, G, cache)[0]
    shown = (f" (Z = {fmt_array(cache[0])}, gamma = {_fmt(cache[4])}, eps = {cache[5]:g}, "
             f"dZ_tilde = {fmt_array(G)})") if show else ""
    require(np.allclose(dZ, want, rtol=rtol, atol=atol),
            f"{case}{shown}: expected dZ {fmt_array(want)}, got {fmt_array(dZ)} "
            f"({_diff(dZ, want)})", _lnb_hint(dZ, slips))
    return dZ


def _lnb_form(ck):
    G, cache = _lnb_case(ck.ref, 110, 4, 3)
    _lnb_call(ck, G, cache)


def _lnb_params(ck):
    """dgamma and dbeta, each on its own: the same as in batch norm (exercise 3.4)."""
    G, cache = _lnb_case(ck.ref, 111, 5, 7)
    _, want_g, want_b = ck.ref.layernorm_backward(G, cache)
    _, dgamma, dbeta = _lnb_call(ck, G, cache)
    if np.allclose(dgamma, want_b) and np.allclose(dbeta, want_g):
        require(False, f"dgamma is {_fmt(dgamma)} and dbeta {_fmt(dbeta)}: the two are "
                "swapped", "beta is only added to Z_hat and gamma multiplies it, so only one of "
                "the two gradients involves Z_hat")
    for name, got, want in (("dbeta", dbeta, want_b), ("dgamma", dgamma, want_g)):
        require(np.allclose(got, want, rtol=1e-9, atol=1e-12),
                f"{name} is {_fmt(got)}, expected {_fmt(want)}",
                f"{name} is computed as in batch norm (exercise 3.4): the axis of the "
                "statistics changed, not how gamma and beta act")


def _lnb_small(ck):
    """A case small enough to work by hand, shown in full when it fails."""
    G, cache = _lnb_case(ck.ref, 112, 3, 2, eps=1e-3)
    _lnb_compare_dZ(ck, G, cache, "on a (3, 2) case", show=True)


def _lnb_random(ck):
    rng = case_rng(113)
    for k, (n, m) in enumerate([(4, 5), (2, 7), (6, 1), (5, 3), (16, 9)]):
        eps = float(10 ** rng.uniform(-5, -0.3))
        G, cache = _lnb_case(ck.ref, 120 + k, n, m, eps)
        _lnb_compare_dZ(ck, G, cache, f"on a random ({n}, {m}) case with eps = {eps:.3g}")


def _lnb_sums_to_zero(ck):
    G, cache = _lnb_case(ck.ref, 114, 6, 8)
    slips = ck.ref.layernorm_backward_slips(G, cache)
    dZ = _lnb_call(ck, G, cache)[0]
    sums = dZ.sum(axis=0)
    require(np.allclose(sums, 0, atol=1e-9 * max(1.0, float(np.abs(dZ).max()))),
            f"dZ summed over each example's units is {fmt_array(sums, 3)}, expected 0 (adding "
            "the same number to every unit of one example changes nothing after layer norm)",
            _lnb_hint(dZ, slips))


def _lnb_float32(ck):
    G, cache = _lnb_case(ck.ref, 115, 5, 6, dtype=np.float32)
    want = ck.ref.layernorm_backward(*_float64(G, cache))[0]
    dZ = _lnb_call(ck, G, cache)[0]
    require(np.allclose(dZ, want, rtol=1e-3, atol=1e-4), f"with float32 input expected dZ "
            f"{fmt_array(want)}, got {fmt_array(dZ)}", "the same formula works for float32")


def _float64(G, cache):
    return G.astype(float), tuple(np.asarray(c, dtype=float) if isinstance(c, np.ndarray)
                                  else c for c in cache)


def _lnb_large_case(seed, n, m):
    """The large case, built here (the forward pass is lessonlib's, no derived answer)."""
    from ...layers.layernorm import layernorm_forward
    rng = case_rng(seed)
    Z = rng.uniform(0.5, 3, (1, m)) * rng.standard_normal((n, m)) + rng.normal(0, 4, (1, m))
    gamma, beta = rng.uniform(0.5, 2, (n, 1)), rng.normal(0, 1, (n, 1))
    G = rng.standard_normal((n, m)) + rng.normal(0, 2, (1, m))
    return G, tuple(layernorm_forward(Z, gamma, beta, 1e-5)[1])


def _lnb_large_summary(ref, seed, n, m):
    """What the check compares on the large case (a derived answer: ``ck.ref.derived``):
    ``dZ`` at 50 fixed entries and the norm of each column of ``dZ``, small enough for the
    check data."""
    G, cache = _lnb_large_case(seed, n, m)
    dZ = ref.layernorm_backward(G, cache)[0]
    rows = case_rng(seed + 1).integers(0, n, 50)
    return dZ[rows, np.arange(50) % m], np.linalg.norm(dZ, axis=0)


def _lnb_large(ck):
    """n = 40,000 units: an analytic pass takes milliseconds; finite differences of the
    forward need two forward passes per entry of Z and cannot finish in the time limit."""
    n, m = _LNB_LARGE
    want_at, want_norms = ck.ref.derived(_lnb_large_summary, 116, n, m)
    G, cache = _lnb_large_case(116, n, m)
    why = ("finite differences of the forward pass need two forward passes per entry of Z "
           f"({2 * n * m:,} here, each over the whole batch), an analytic backward pass one "
           "pass over the arrays: derive the gradients instead of measuring them")
    dZ = derived_in_time(lambda: _lnb_call(ck, G, cache)[0], f"on a ({n:,}, {m}) case",
                         _LNB_BUDGET_S, why)
    rows = case_rng(117).integers(0, n, 50)
    got_at, got_norms = dZ[rows, np.arange(50) % m], np.linalg.norm(dZ, axis=0)
    require(np.allclose(got_at, want_at, rtol=1e-6, atol=1e-12)
            and np.allclose(got_norms, want_norms, rtol=1e-6),
            f"on a ({n:,}, {m}) case the columns of dZ have norms {fmt_array(got_norms)}, "
            f"expected {fmt_array(want_norms)}", _LNB_DEFAULT)


# Weights (of 10): section 7's derivation is dZ, the paths through the example's mean and
# variance on the other axis (the small case shown, random cases, the sums); dgamma and
# dbeta are batch norm's (exercise 3.4) and weigh 1; the large case, last because a call
# past the time limit stops the check's later calls in grading, weighs 2.
check_layernorm_backward = make_check(EXERCISES["4.4"], [
    weighted(1)(_lnb_form),          # a triple of the right shapes
    weighted(1)(_lnb_params),        # dgamma, dbeta: sums over the examples
    weighted(2)(_lnb_small),         # dZ on a (3, 2) case, shown in full when it fails
    weighted(2)(_lnb_random),        # dZ on random shapes, a single example included
    weighted(1)(_lnb_sums_to_zero),  # each example's dZ sums to 0
    weighted(1)(_lnb_float32),
    weighted(2)(_lnb_large)])        # 40,000 units: derived, not measured


# ------------------------------------------------------------------ questions

check_one_example_batch = make_question(EXERCISES["Q4.1"], choices="abcd")

check_running_average_weight = make_question(EXERCISES["Q4.2"])

check_start_up_bias = make_question(EXERCISES["Q4.3"])
