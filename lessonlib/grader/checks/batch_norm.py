"""Checks for notebook 03, batch normalization (exercises 3.1 to 3.6, questions 3.1 to 3.3).

The cache is part of the exercises' contract: ``batchnorm_forward`` returns
``cache = (Z, Z_hat, mu, var, gamma, eps)`` (``mu`` and ``var`` of shape ``(n, 1)``, ``var``
the biased variance) and both backward passes (``batchnorm_backward_graph``, node by node,
and ``batchnorm_backward``, simplified; one set of sub-checks grades both) receive exactly
that tuple. The backward check builds its caches with the reference forward, so it grades
one function; it compares the learner's ``dZ`` with the centred-difference numerical
gradient (relative error below 1e-7, float64), and ``dgamma``, ``dbeta`` with their sums.
Each sub-check looks at one output only, so a slip in a secondary one (a cache, dgamma,
dbeta) costs only its own sub-checks; their weights, beside each check, follow the notebook.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ...core.gradcheck import batchnorm_gradcheck, numerical_gradient, relative_error
from ...layers.activations import activate
from ...layers.autodiff import vjp
from ..exercises import EXERCISES
from ..framework import (
    Checker,
    CheckFailure,
    NotAttempted,
    case_rng,
    derived_in_time,
    fmt_array,
    make_check,
    make_question,
    require,
    require_array,
    weighted,
)
from .batch_norm_mistakes import (
    AXIS_HINT,
    backward_hint,
    forward_hint,
    layer_hint,
    layer_slips,
    recover_hint,
)


def _batch(seed, n, m, *, spread=True):
    """A batch ``Z`` ``(n, m)`` whose units have different means and scales."""
    rng = case_rng(seed)
    scale = rng.uniform(0.5, 3.0, (n, 1)) if spread else np.ones((n, 1))
    return scale * rng.standard_normal((n, m)) + rng.normal(0, 4, (n, 1))


def _unit_params(seed, n):
    rng = case_rng(seed)
    return rng.uniform(0.5, 2.5, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1)), \
        rng.normal(0, 2, (n, 1))


# ------------------------------------------------------- 3.1 batchnorm_forward


def _fwd_call(ck, Z, gamma, beta, eps=None, *, pair=False):
    """``(Z_tilde, cache)``; unless ``pair``, a bare array is ``Z_tilde`` with no cache (a
    missing cache costs the two sub-checks of the cache only)."""
    out = ck.call(*((Z, gamma, beta) if eps is None else (Z, gamma, beta, eps)))
    if isinstance(out, np.ndarray) and not pair:
        out = (out, None)
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            f"returned {type(out).__name__}, expected a pair (Z_tilde, cache)",
            "return Z_tilde, cache")
    return require_array(out[0], "Z_tilde", Z.shape), out[1]


def _require_cache(cache, n: int = 6, form: str = "(Z, Z_hat, mu, var, gamma, eps)"):
    require(isinstance(cache, (tuple, list)) and len(cache) == n,
            f"returned a cache of type {type(cache).__name__}"
            + (f" and length {len(cache)}" if isinstance(cache, (tuple, list)) else "")
            + f", expected the {n}-tuple {form}", f"return the cache {form}")


def _fwd_shape(ck):
    """The form alone: the pair, the 6-tuple, mu and var as (n, 1) columns."""
    _, cache = _fwd_call(ck, _batch(0, 3, 5), np.ones((3, 1)), np.zeros((3, 1)), pair=True)
    _require_cache(cache)
    for name, value in zip(("mu", "var"), cache[2:4]):
        require(np.shape(value) == (3, 1),
                f"the cache's {name} has shape {np.shape(value)}, expected (3, 1)",
                "keep mu and var as (n, 1) columns (keepdims=True)")


def _fwd_mean_var(ck):
    n, m, eps = 3, 50, 1e-5
    Z = _batch(1, n, m)
    got, _ = _fwd_call(ck, Z, np.ones((n, 1)), np.zeros((n, 1)), eps)
    means, variances = got.mean(axis=1), got.var(axis=1)
    want_var = Z.var(axis=1) / (Z.var(axis=1) + eps)
    hint = forward_hint(got, Z, np.ones((n, 1)), np.zeros((n, 1)), eps, "subtract each "
                         "unit's mean over the examples and divide by sqrt(var + eps)")
    require(np.allclose(means, 0, atol=1e-9), f"with gamma = 1, beta = 0 the per-unit means "
            f"over the examples are {fmt_array(means, 3)}, expected 0", hint)
    require(np.allclose(variances, want_var, rtol=1e-7),
            f"with gamma = 1, beta = 0 and eps = 1e-5 the per-unit variances are "
            f"[{', '.join(f'{v:.7f}' for v in variances)}], expected var / (var + eps) = "
            f"[{', '.join(f'{v:.7f}' for v in want_var)}]", hint)


def _fwd_gamma_beta(ck):
    n, m, eps = 4, 30, 1e-5
    Z = _batch(2, n, m)
    gamma, beta = _unit_params(3, n)
    want, _ = ck.ref.batchnorm_forward(Z, gamma, beta, eps)
    got, _ = _fwd_call(ck, Z, gamma, beta, eps)
    hint = forward_hint(got, Z, gamma, beta, eps,
                         "each unit's output should have mean beta and standard deviation "
                         "|gamma|: Z_tilde = gamma * Z_hat + beta")
    require(np.allclose(got.mean(axis=1), beta[:, 0], atol=1e-8),
            f"with beta = {fmt_array(beta[:, 0], 3)} the per-unit means are "
            f"{fmt_array(got.mean(axis=1), 3)}", hint)
    require(np.allclose(got, want, rtol=1e-9, atol=1e-10),
            f"with gamma = {fmt_array(gamma[:, 0], 3)} the per-unit standard deviations are "
            f"{fmt_array(got.std(axis=1), 3)}, expected {fmt_array(want.std(axis=1), 3)}",
            hint)


def _require_forward(ck, Z, gamma, beta, eps, case: str, default_hint: str, tol=None):
    """The learner's ``Z_tilde`` equals the reference's (in float64) on this case, or a
    failure naming the case (``"... expected <want>"``) and the mistake it matches."""
    want, _ = ck.ref.batchnorm_forward(*(np.asarray(a, float) for a in (Z, gamma, beta)), eps)
    got, _ = _fwd_call(ck, Z, gamma, beta, eps)
    require(np.allclose(got, want, rtol=tol or 1e-9, atol=tol or 1e-10),
            f"{case} {fmt_array(want)}, got {fmt_array(got)}",
            forward_hint(got, Z, gamma, beta, eps, default_hint))


def _fwd_eps(ck):
    n, m, eps = 3, 12, 0.5
    Z = 0.4 * _batch(4, n, m, spread=False)
    gamma, beta = _unit_params(5, n)
    _require_forward(ck, Z, gamma, beta, eps,
                     "with eps = 0.5 and per-unit variances near 0.16 expected Z_tilde",
                     "Z_hat = (Z - mu) / sqrt(var + eps) with the eps argument")


def _fwd_random(ck):
    rng = case_rng(6)
    shapes = [(1, 2), (2, 2), (5, 3), (1, 40), (6, 17), (10, 64), (3, 200)]
    for k, (n, m) in enumerate(shapes):
        Z = _batch(10 + k, n, m)
        gamma, beta = _unit_params(20 + k, n)
        eps = float(10 ** rng.uniform(-8, -1))
        _require_forward(ck, Z, gamma, beta, eps,
                         f"on a random batch of shape ({n}, {m}) with eps = {eps:.3g} expected",
                         "follow the four equations step by step on this case")


def _fwd_constant_unit(ck):
    Z = _batch(7, 3, 6)
    Z[1] = 2.5                                       # a unit that is the same for every example
    _require_forward(ck, Z, *_unit_params(8, 3), 1e-5, "with a unit whose value is the same "
                     "for every example (its output is beta) expected",
                     "eps inside the square root keeps the division finite when var = 0")


def _fwd_float32(ck):
    Z = _batch(9, 4, 32).astype(np.float32)
    gamma, beta = (p.astype(np.float32) for p in _unit_params(10, 4))
    _require_forward(ck, Z, gamma, beta, 1e-5, "with float32 input expected",
                     "the same formula works for float32 arrays; do not round or cast to int",
                     tol=1e-4)


def _fwd_cache(ck):
    n, m, eps = 3, 10, 1e-3
    Z = _batch(11, n, m)
    gamma, beta = _unit_params(12, n)
    _, want = ck.ref.batchnorm_forward(Z, gamma, beta, eps)
    _, cache = _fwd_call(ck, Z, gamma, beta, eps, pair=True)
    _require_cache(cache)
    for name, got_v, want_v in zip(("Z", "Z_hat", "mu", "var", "gamma"), cache, want):
        arr = require_array(got_v, f"cache's {name}")
        arr = arr.reshape(want_v.shape) if arr.size == want_v.size else arr  # _fwd_shape's
        require(arr.shape == want_v.shape and np.allclose(arr, want_v, rtol=1e-9, atol=1e-12),
                f"the cache's {name} is {fmt_array(arr)}, expected {fmt_array(want_v)}",
                "the cache holds (Z, Z_hat, mu, var, gamma, eps) in this order, var the "
                "biased variance")
    try:
        eps_ok = float(cache[5]) == eps
    except (TypeError, ValueError):
        eps_ok = False
    require(eps_ok, f"the cache's last entry is {fmt_array(cache[5])}, expected eps = "
            f"{eps:g}", "put the eps you were given last in the cache")


# Weights (of 15): section 1 stresses normalizing each unit over axis 1 with the biased
# variance and eps inside the square root; the cache is a secondary output.
check_batchnorm_forward = make_check(EXERCISES["3.1"], [
    weighted(1)(_fwd_shape),          # the form: a pair, a 6-tuple, (n, 1) statistics
    weighted(4)(_fwd_mean_var),       # per unit over axis 1, biased variance: the heart
    weighted(2)(_fwd_gamma_beta),     # gamma scales, beta shifts
    weighted(2)(_fwd_eps),            # eps inside the square root, the eps given
    weighted(2)(_fwd_random),         # every shape and eps
    weighted(1)(_fwd_constant_unit),  # var = 0 stays finite
    weighted(1)(_fwd_float32),
    weighted(2)(_fwd_cache)])         # what the backward reads: the order, the biased var

# ------------------------------------------------------- 3.2 recover_gamma_beta


def _rgb_call(ck, Z, eps):
    out = ck.call(Z, eps)
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            f"returned {type(out).__name__}, expected a pair (gamma, beta)",
            "return gamma, beta")
    n = Z.shape[0]
    for name, value in zip(("gamma", "beta"), out):
        shape = np.shape(value)
        require(shape != (n,), f"returned {name} of shape ({n},), expected ({n}, 1)",
                "keep one column per unit: keepdims=True")
        require(shape != (1, Z.shape[1]),
                f"returned {name} of shape {shape}, expected ({n}, 1)", AXIS_HINT)
    return require_array(out[0], "gamma", (n, 1)), require_array(out[1], "beta", (n, 1))


def _rgb_roundtrip(ck, Z, eps, what, tol=1e-9):
    """Batch norm with the learner's gamma and beta, gamma * Z_hat + beta with the
    reference's Z_hat (n, m), gives the float64 ``Z`` back."""
    Z64 = np.asarray(Z, dtype=float)
    n = Z64.shape[0]
    Z_hat = ck.ref.batchnorm_forward(Z64, np.ones((n, 1)), np.zeros((n, 1)), eps)[1][1]
    gamma, beta = _rgb_call(ck, Z, eps)
    back = gamma * Z_hat + beta
    err = float(np.max(np.abs(back - Z64)))
    require(np.allclose(back, Z64, rtol=tol, atol=tol),
            f"{what}: batch norm with your gamma and beta changes Z by up to {err:.2g}, "
            "expected Z back exactly", recover_hint(gamma, beta, Z64, eps))


def _rgb_random(ck):
    rng = case_rng(33)
    for k, (n, m) in enumerate([(1, 2), (2, 3), (6, 40), (3, 128)]):
        eps = float(10 ** rng.uniform(-8, -1))
        _rgb_roundtrip(ck, _batch(34 + k, n, m), eps,
                       f"a random batch of shape ({n}, {m}), eps = {eps:.3g}")


# Weights (of 8): gamma = sqrt(var + eps) with the biased variance, not the standard
# deviation: eps must show. gamma and beta are the answer, so their (n, 1) shape counts in
# every sub-check (a flat one does not give Z back).
check_recover_gamma_beta = make_check(EXERCISES["3.2"], [
    weighted(1)(lambda ck: _rgb_call(ck, _batch(30, 3, 7), 1e-5)),      # the pair's form
    weighted(2)(lambda ck: _rgb_roundtrip(ck, _batch(31, 4, 25), 1e-5,
                                          "a batch of shape (4, 25), eps = 1e-5")),
    weighted(2)(lambda ck: _rgb_roundtrip(ck, 0.3 * _batch(32, 3, 9, spread=False), 0.5,
                                          "a batch with small variances and eps = 0.5")),
    weighted(2)(_rgb_random),
    weighted(1)(lambda ck: _rgb_roundtrip(ck, _batch(40, 3, 20).astype(np.float32), 1e-5,
                                          "with float32 input", tol=1e-4))])

# ------------------------------------ 3.3 batchnorm_backward_graph, 3.4 batchnorm_backward
# Two ways to the same gradients (node by node on the graph, then the simplified formula):
# the same sub-checks grade both.

_GRAD_TOL = 1e-7


def _bwd_case(ref, seed, n, m, eps=1e-5, dtype=np.float64):
    """``Z, gamma, beta``, an upstream gradient ``G`` (n, m) and the reference's cache."""
    rng = case_rng(seed)
    Z = _batch(seed, n, m).astype(dtype)
    gamma, beta = (p.astype(dtype) for p in _unit_params(seed + 1, n))
    # an upstream gradient with a per-unit offset, so every path of the graph matters
    G = (rng.standard_normal((n, m)) + rng.normal(0, 2, (n, 1))).astype(dtype)
    _, cache = ref.batchnorm_forward(Z, gamma, beta, eps)
    return Z, gamma, beta, G, tuple(cache)


def _bwd_call(ck, G, cache, *names, flat_ok=True):
    """The learner's gradients ``names`` (of dZ, dgamma, dbeta), each checked alone so that a
    slip in one costs only the sub-checks of that one. A flat ``(n,)`` dgamma or dbeta is
    read as a column unless not ``flat_ok`` (the form's sub-check alone charges it)."""
    out = ck.call(G, cache)
    require(isinstance(out, (tuple, list)) and len(out) == 3,
            f"returned {type(out).__name__}, expected a triple (dZ, dgamma, dbeta)",
            "return dZ, dgamma, dbeta")
    n, m = G.shape
    got = []
    for name in names:
        if name == "dZ":
            got.append(require_array(out[0], "dZ", (n, m)))
            continue
        value = out[1] if name == "dgamma" else out[2]
        shape = np.shape(value)
        require(shape != (n, m), f"returned {name} of shape ({n}, {m}), expected ({n}, 1)",
                f"gamma and beta are shared by the m examples: sum {name} over them "
                "(axis=1, keepdims=True)")
        require(flat_ok or shape != (n,), f"returned {name} of shape ({n},), expected ({n}, 1)",
                "keep one column per unit: keepdims=True")
        require(shape != (1, m), f"returned {name} of shape {shape}, expected ({n}, 1)",
                "sum over the examples (axis=1), not over the units")
        got.append(require_array(np.reshape(value, (n, 1)) if shape == (n,) else value, name,
                                 (n, 1)))
    return got[0] if len(got) == 1 else got


def _bwd_dbeta(ck):
    _, _, _, G, cache = _bwd_case(ck.ref, 51, 4, 9)
    want = ck.ref.batchnorm_backward(G, cache)[2]
    dbeta = _bwd_call(ck, G, cache, "dbeta")
    require(np.allclose(dbeta, want, rtol=1e-9, atol=1e-12),
            f"dbeta is {fmt_array(dbeta)}, expected {fmt_array(want)}",
            "beta is added to every example, so every example sends it a share of the "
            "gradient: how do those shares combine?"
            if not np.allclose(dbeta * G.shape[1], want) else
            "the shares of the m examples add up, they are not averaged: the cost's mean "
            "is already inside dZ_tilde")


def _bwd_dgamma(ck):
    _, _, _, G, cache = _bwd_case(ck.ref, 52, 4, 9)
    want = ck.ref.batchnorm_backward(G, cache)[1]
    dgamma = _bwd_call(ck, G, cache, "dgamma")
    require(np.allclose(dgamma, want, rtol=1e-9, atol=1e-12),
            f"dgamma is {fmt_array(dgamma)}, expected {fmt_array(want)}",
            "gamma multiplies each example's normalized value: what does each example send "
            "back to gamma, and how do the examples' shares combine?")


# The large cases: batch norm of 6 units over m = 8,000 and then 40,000 examples. A derived
# backward pass is a few passes over the arrays (a millisecond); finite differences of the
# forward pass need two forward passes per example at the very least (per entry of Z when
# done plainly), and a unit's full (m, m) Jacobian m * m entries: their time grows like m
# squared. The medium case goes first with a short budget, so that such a function stops
# there instead of filling the memory on the large one.
_LARGE = ((6, 8_000, 0.25), (6, 40_000, 2.0))     # n, m, seconds allowed in a check cell


def _large_case(seed, n, m):
    """``G`` and the cache of a large case, by lessonlib's forward pass (the lecture's;
    nothing derived, and nothing of this size goes into the check data)."""
    from ...layers.batchnorm import batchnorm_forward
    Z = _batch(seed, n, m)
    gamma, beta = _unit_params(seed + 1, n)
    rng = case_rng(seed + 2)
    G = rng.standard_normal((n, m)) + rng.normal(0, 2, (n, 1))
    return G, tuple(batchnorm_forward(Z, gamma, beta, 1e-5)[1])


def _large_summary(ref, seed, n, m):
    """What the check compares on a large case (a derived answer, ``ck.ref.derived``):
    dZ at 60 entries and the norm of each unit's row, small enough for the check data."""
    G, cache = _large_case(seed, n, m)
    dZ = ref.batchnorm_backward(G, cache)[0]
    cols = case_rng(seed + 3).integers(0, m, 60)
    return dZ[np.arange(60) % n, cols], np.linalg.norm(dZ, axis=1)


def _bwd_large(ck):
    """Batches of 8,000 and 40,000 examples: derived gradients answer at once, measured
    ones (or a full Jacobian per unit) do not."""
    for k, (n, m, budget) in enumerate(_LARGE):
        seed = 64 + 10 * k
        want_at, want_norms = ck.ref.derived(_large_summary, seed, n, m)
        G, cache = _large_case(seed, n, m)
        why = ("finite differences of the forward pass need two forward passes per entry of "
               f"Z ({2 * n * m:,} here, each over the whole batch), a full Jacobian per unit "
               f"{m * m:,} entries; a derived backward pass a few passes over the arrays: "
               "derive the gradients, then write them without any (m, m) array")
        dZ = derived_in_time(lambda G=G, cache=cache: _bwd_call(ck, G, cache, "dZ"),
                             f"on a ({n}, {m:,}) batch", budget, why)
        cols = case_rng(seed + 3).integers(0, m, 60)
        got_at, got_norms = dZ[np.arange(60) % n, cols], np.linalg.norm(dZ, axis=1)
        require(np.allclose(got_at, want_at, rtol=1e-6, atol=1e-12)
                and np.allclose(got_norms, want_norms, rtol=1e-6),
                f"on a ({n}, {m:,}) batch the rows of dZ have norms {fmt_array(got_norms)}, "
                f"expected {fmt_array(want_norms)}", "if your dZ is right on the small "
                "batches, it depends on the number of examples m in the wrong way: a mean "
                "taken as a sum, or a sum as a mean")


def _numerical_dZ(ref, Z, gamma, beta, G, eps):
    """The centred-difference gradient (n, m) of ``sum(G * Z_tilde)`` with respect to
    ``Z``, through the reference forward pass (a derived answer, ``oracle``)."""
    return numerical_gradient(
        lambda x: float(np.sum(G * ref.batchnorm_forward(x, gamma, beta, eps)[0])), Z.copy())


def _bwd_numerical(ck):
    cases = [(53, 4, 8, 1e-5), (54, 3, 3, 1e-5), (55, 2, 30, 0.5), (56, 1, 5, 1e-3)]
    for seed, n, m, eps in cases:
        Z, gamma, beta, G, cache = _bwd_case(ck.ref, seed, n, m, eps)
        num = ck.ref.derived(_numerical_dZ, Z, gamma, beta, G, eps)
        slips = ck.ref.batchnorm_backward_slips(G, cache)
        dZ = _bwd_call(ck, G, cache, "dZ")
        err = relative_error(dZ, num)
        shown = (f" (Z = {fmt_array(cache[0])}, gamma = {fmt_array(cache[4])}, dZ_tilde = "
                 f"{fmt_array(G)})") if n * m <= 9 else ""
        require(err < _GRAD_TOL,
                f"on a ({n}, {m}) batch with eps = {eps:g}{shown} dZ differs from the "
                f"numerical gradient by a relative error of {err:.1e}, expected below 1e-7",
                backward_hint(dZ, slips, "walk the graph back one node at a time and check "
                              "each local derivative on this small batch; a node used "
                              "several times sums what comes back through each use"))


def _bwd_sums_to_zero(ck):
    _, _, _, G, cache = _bwd_case(ck.ref, 57, 5, 16)
    slips = ck.ref.batchnorm_backward_slips(G, cache)
    dZ = _bwd_call(ck, G, cache, "dZ")
    sums = dZ.sum(axis=1)
    require(np.allclose(sums, 0, atol=1e-9 * max(1.0, float(np.abs(dZ).max()))),
            f"dZ summed over the examples is {fmt_array(sums, 3)} per unit, expected 0 "
            "(adding a constant to a unit's Z changes nothing after batch norm)",
            backward_hint(dZ, slips, "a unit's dZ sums to 0 when the path through the batch "
                          "mean is there and right: follow mu back to every example"))


def _bwd_float32(ck):
    _, _, _, G, cache = _bwd_case(ck.ref, 58, 4, 24, dtype=np.float32)
    c64 = tuple(np.asarray(c, dtype=float) if isinstance(c, np.ndarray) else c
                for c in cache)
    want = ck.ref.batchnorm_backward(G.astype(float), c64)[0]
    dZ = _bwd_call(ck, G, cache, "dZ")
    require(np.allclose(dZ, want, rtol=1e-3, atol=1e-4), f"with float32 input expected dZ "
            f"{fmt_array(want)}, got {fmt_array(dZ)}", "the same formula works for float32")


class _Drawn(Exception):
    """Stops ``batchnorm_gradcheck`` at its backward pass (``_reference_gradcheck``)."""


def _reference_gradcheck(ref, seed):
    """The case ``batchnorm_gradcheck(n=4, m=10, rng=case_rng(seed))`` draws, with the
    reference forward: the upstream gradient ``G`` (4, 10), the cache the backward receives
    and the numerical ``dZ`` (4, 10). Read off the gradcheck, run up to its backward pass."""
    seen = []

    def forward(*args):
        seen.append(args)
        return ref.batchnorm_forward(*args)

    def backward(G, cache):
        seen.append((G, tuple(cache)))
        raise _Drawn

    with contextlib.suppress(_Drawn):
        batchnorm_gradcheck(forward, backward, n=4, m=10, rng=case_rng(seed))
    (Z, gamma, beta, eps), (G, cache) = seen
    return G, cache, ref.derived(_numerical_dZ, Z, gamma, beta, G, eps)


def _bwd_with_own_forward(ck):
    """The learner's forward and backward together against the numerical gradient.

    The learner's ``forward=`` is used when it agrees with the reference on a test batch;
    otherwise (not given, not attempted yet, or wrong, which check 3.1 reports) the
    reference forward stands in, so a forward bug never costs backward points. Only dZ is
    graded here (dgamma and dbeta have their own sub-checks).
    """
    Z, gamma, beta, _, _ = _bwd_case(ck.ref, 59, 3, 6)
    agreed = ck.ref.batchnorm_forward(Z, gamma, beta, 1e-5)[0]
    G, cache, num = _reference_gradcheck(ck.ref, 60)
    own = ck.context.get("forward")
    use_own = False
    if own is not None:
        try:
            out = Checker(own, exercise_id=ck.exercise_id).call(Z, gamma, beta, 1e-5)
            use_own = np.allclose(np.asarray(out[0], float), agreed, atol=1e-9)
        except (NotAttempted, CheckFailure, TypeError, ValueError, IndexError):
            pass
    if use_own:
        zeros = np.zeros((4, 1))
        err = batchnorm_gradcheck(Checker(own, exercise_id=ck.exercise_id).call, lambda G, c: (
            _bwd_call(ck, G, c, "dZ"), zeros, zeros), n=4, m=10, rng=case_rng(60))["dZ"]
    else:
        err = relative_error(_bwd_call(ck, G, cache, "dZ"), num)
    who = "your batchnorm_forward" if use_own else "lessonlib's batchnorm_forward"
    require(err < _GRAD_TOL, f"with {who}, dZ differs from the numerical gradient by a "
            f"relative error of {err:.1e}, expected below 1e-7",
            "read the cache your forward returns in the same order in the backward pass")


# Weights (of 20): section 3 is about dZ, every path through the graph (the mean's above
# all), derived rather than measured; dgamma and dbeta are one-line sums, a flat (n,) one
# costs the form's 1 only.
_BACKWARD_SUBCHECKS = [
    weighted(1)(lambda ck: _bwd_call(ck, *_bwd_case(ck.ref, 50, 3, 7)[3:], "dZ", "dgamma",
                                     "dbeta", flat_ok=False)),   # the triple, (n, 1) columns
    weighted(2)(_bwd_dbeta),          # dbeta, the secondary output beta's
    weighted(2)(_bwd_dgamma),         # dgamma, the secondary output gamma's
    weighted(8)(_bwd_numerical),      # dZ against the numerical gradient: the heart
    weighted(2)(_bwd_sums_to_zero),   # dZ sums to 0 per unit: the path through the mean
    weighted(1)(_bwd_float32),
    weighted(2)(_bwd_with_own_forward),   # dZ with the learner's own forward and cache
    weighted(2)(_bwd_large)]          # 8,000 and 40,000 examples: derived, not measured (a call
#                                       past the grader's time limit stops later calls)
check_batchnorm_backward_graph = make_check(EXERCISES["3.3"], _BACKWARD_SUBCHECKS)
check_batchnorm_backward = make_check(EXERCISES["3.4"], _BACKWARD_SUBCHECKS)


# --------------------------------------- 3.5 linear_bn_forward, 3.6 linear_bn_backward
# The cache contract: (A_prev, W, bn_cache, Z_tilde, activation), bn_cache as in 3.1.
# The layer uses the learner's batch norm (3.1, 3.4), given to the check as forward= and
# backward=. A layer whose result is right with the learner's own batch norm beneath it
# passes even when that batch norm is wrong (3.1 or 3.4 already costs its points), and the
# line says so; a batch norm not written yet is named instead of "not attempted".

_DEPENDENCIES = {"forward": ("batchnorm_forward", "3.1"),
                 "backward": ("batchnorm_backward", "3.4")}


def _own_batch_norm(ck, key: str, *args):
    """What the learner's batch norm ``ck.context[key]`` returns on ``args``: ``("ok",
    out)``, or ``("absent" | "unwritten" | "broken", None)``."""
    own = ck.context.get(key)
    if own is None:
        return "absent", None
    try:
        return "ok", Checker(own, exercise_id=ck.exercise_id).call(*args)
    except NotAttempted:
        return "unwritten", None
    except CheckFailure:
        return "broken", None


def _call_layer(ck, key: str, dependency_args, *args):
    """The learner's layer on ``args``; when it is a stub because the batch norm beneath it
    is one, say which."""
    name, exercise = _DEPENDENCIES[key]
    try:
        return ck.call(*args)
    except NotAttempted as stub:      # the stub's own words say whose stub it is
        if name in str(stub.__cause__) and \
                _own_batch_norm(ck, key, *dependency_args)[0] == "unwritten":
            raise NotAttempted(f"waits for your {name} (exercise {exercise}), which is not "
                               "written yet") from None
        raise


def _note_dependency(ck, key: str, consistent: bool) -> None:
    name, exercise = _DEPENDENCIES[key]
    ck.note(f"checked with your {name} beneath it, which does not pass exercise {exercise} "
            "yet" if consistent else
            f"your {name} does not pass exercise {exercise} yet: fix it first")


def _as_floats(value):
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _layer_case(seed, n_prev=5, n=4, m=8, activation="relu"):
    rng = case_rng(seed)
    A_prev = rng.standard_normal((n_prev, m)) + rng.normal(0, 1, (n_prev, 1))
    W = rng.standard_normal((n, n_prev)) / np.sqrt(n_prev)
    gamma, beta = _unit_params(seed + 1, n)
    return A_prev, W, gamma, beta, activation


def _own_forward_layer(ck, A_prev, W, gamma, beta, act, eps, want_Z_tilde):
    """``A`` of the layer with the learner's own batch norm forward beneath it, when that
    forward is written and differs from the reference (else ``None``)."""
    status, out = _own_batch_norm(ck, "forward", W @ A_prev, gamma, beta, eps)
    if status != "ok" or not isinstance(out, (tuple, list)) or len(out) != 2:
        return None
    own = _as_floats(out[0])
    if own is None or own.shape != want_Z_tilde.shape or np.allclose(own, want_Z_tilde):
        return None
    return activate(own, act), out[1], own


def _lbf_case(ck, seed, activation, check_A=True, eps=1e-5):
    A_prev, W, gamma, beta, act = _layer_case(seed, activation=activation)
    want, ref_cache = ck.ref.linear_bn_forward(A_prev, W, gamma, beta, act, eps)
    slips = layer_slips(ck.ref, A_prev, W, gamma, beta, act)
    if eps != 1e-5:     # the slip of a layer that does not pass its eps on
        slips.insert(0, (ck.ref.linear_bn_forward(A_prev, W, gamma, beta, act, 1e-5)[0],
                         "your layer ignores its own eps: batch norm beneath it must get it"))
    out = _call_layer(ck, "forward", (W @ A_prev, gamma, beta, eps),
                      A_prev, W, gamma, beta, act, eps)
    require(isinstance(out, (tuple, list)) and len(out) == 2,
            f"returned {type(out).__name__}, expected a pair (A, cache)", "return A, cache")
    got = require_array(out[0], "A", want.shape) if check_A else want
    if check_A and np.allclose(got, want, rtol=1e-9, atol=1e-10):
        return out[1], ref_cache
    own = _own_forward_layer(ck, A_prev, W, gamma, beta, act, eps, ref_cache[3])
    if own is not None:     # the cache the layer builds on the learner's batch norm
        own_cache = (A_prev, W, own[1], own[2], act)
        consistent = not check_A or np.allclose(got, own[0], rtol=1e-9, atol=1e-10)
        _note_dependency(ck, "forward", consistent)
        if consistent:
            return out[1], own_cache
    if not check_A:
        return out[1], ref_cache
    require(False, f"with activation {act!r} and eps={eps:g} expected A {fmt_array(want)}, "
            f"got {fmt_array(got)}", layer_hint(got, slips))


def _same_cache_part(name, got, want) -> bool:
    if name == "activation":
        return bool(got == want)
    if name == "bn_cache":
        return isinstance(got, (tuple, list)) and len(got) == len(want) and all(
            np.shape(g) == np.shape(r) and np.allclose(g, r) for g, r in zip(got, want))
    return np.shape(got) == np.shape(want) and bool(np.allclose(got, want))


def _lbf_cache(ck):
    """The cache alone (A has the other sub-checks)."""
    cache, want = _lbf_case(ck, 72, "relu", check_A=False)
    _require_cache(cache, 5, "(A_prev, W, bn_cache, Z_tilde, activation)")
    names = ("A_prev", "W", "bn_cache", "Z_tilde", "activation")
    for name, got, ref_value in zip(names, cache, want):
        require(_same_cache_part(name, got, ref_value),
                f"the cache's {name} is not what the layer computed",
                "the cache holds the layer's input, its weights, batch norm's own cache, "
                "the normalized Z and the activation, in the docstring's order")


# Weights (of 6): A, batch norm before the activation, with either activation; eps passed
# on to batch norm; the cache is a secondary output.
check_linear_bn_forward = make_check(EXERCISES["3.5"], [
    weighted(2)(lambda ck: _lbf_case(ck, 70, "relu")),
    weighted(2)(lambda ck: _lbf_case(ck, 71, "sigmoid")),
    weighted(1)(lambda ck: _lbf_case(ck, 73, "sigmoid", eps=0.5)),
    weighted(1)(_lbf_cache)])


def _numerical_layer_grads(ref, A_prev, W, gamma, beta, G, act):
    """The centred-difference gradients of ``sum(G * A)`` through the reference layer
    with respect to A_prev, W, gamma and beta, by name (a derived answer, ``oracle``)."""
    args = {"A_prev": A_prev, "W": W, "gamma": gamma, "beta": beta}

    def gradient(name):
        return numerical_gradient(lambda x: float(np.sum(G * ref.linear_bn_forward(
            **{**args, name: x}, activation=act)[0])), args[name].copy())
    return {name: gradient(name) for name in args}


def _own_backward_layer(ck, G, cache, dZ_tilde, want, seed):
    """For the learner's own batch norm backward beneath the layer, when it is written and
    differs from the reference: a function ``agrees(name, got)`` saying whether ``got`` is
    the layer's gradient ``d<name>`` with that batch norm (else ``None``).

    dgamma and dbeta must equal its own; dA_prev and dW are tested by the dot-product
    identity of the linear step Z = W A_prev: for any P, sum(dZ * (W P)) = sum(dA_prev * P)
    and sum(dZ * (P A_prev)) = sum(dW * P)."""
    A_prev, W, bn_cache, Z_tilde, act = cache
    status, out = _own_batch_norm(ck, "backward", dZ_tilde, bn_cache)
    if status != "ok" or not isinstance(out, (tuple, list)) or len(out) != 3:
        return None
    own = [_as_floats(x) for x in out]
    if any(x is None for x in own) or own[0].shape != Z_tilde.shape or all(
            np.shape(o) == np.shape(w) and np.allclose(o, w)
            for o, w in zip(own, want)):
        return None
    dZ, dgamma, dbeta = own
    rng = case_rng(seed)

    def agrees(name, got):
        if name in ("gamma", "beta"):
            mine = dgamma if name == "gamma" else dbeta
            return np.size(got) == np.size(mine) and np.allclose(np.ravel(got), np.ravel(mine))
        shape = A_prev.shape if name == "A_prev" else W.shape
        for _ in range(3):
            P = rng.standard_normal(shape)
            step = W @ P if name == "A_prev" else P @ A_prev
            if not np.isclose(np.sum(dZ * step), np.sum(got * P), rtol=1e-8, atol=1e-10):
                return False
        return True
    return agrees


def _lbb_case(ck, names):
    """The gradients ``names`` (of A_prev, W, gamma, beta) against numerical ones, with ReLU
    and with sigmoid units; the others are not looked at."""
    for seed, act in ((80, "relu"), (81, "sigmoid")):
        A_prev, W, gamma, beta, _ = _layer_case(seed)
        _, cache = ck.ref.linear_bn_forward(A_prev, W, gamma, beta, act)
        G = case_rng(seed + 2).standard_normal(cache[3].shape)
        # the classic slip: back through batch norm without the activation's derivative
        no_act = ck.ref.linear_bn_backward_slips(G, cache)["no_activation_derivative"]
        numerical = ck.ref.derived(_numerical_layer_grads, A_prev, W, gamma, beta, G, act)
        # what the batch norm beneath gets and, by the reference, gives back
        dZ_tilde = vjp(lambda z, act=act: activate(z, act), (cache[3],))[1](G)[0]
        beneath = ck.ref.batchnorm_backward(dZ_tilde, cache[2])
        out = _call_layer(ck, "backward", (G, cache[2]), G, cache)
        require(isinstance(out, (tuple, list)) and len(out) == 4,
                f"returned {type(out).__name__}, expected (dA_prev, dW, dgamma, dbeta)",
                "return dA_prev, dW, dgamma, dbeta")
        args = {"A_prev": A_prev, "W": W, "gamma": gamma, "beta": beta}
        hints = {"A_prev": "dA_prev comes back through the linear step Z = W A_prev: revisit "
                           "its backward pass (Course 1), which matrix and which transpose",
                 "W": "dW comes back through the linear step Z = W A_prev: revisit its "
                      "backward pass (Course 1), and where the cost's 1/m already is",
                 "gamma": "dgamma comes from your batch norm's backward pass",
                 "beta": "dbeta comes from your batch norm's backward pass"}
        own = None
        for k, ((name, value), got) in enumerate(zip(args.items(), out)):
            if name not in names:
                continue
            got = require_array(got, "d" + name, value.shape)
            err = relative_error(got, numerical[name])
            if err < _GRAD_TOL:
                continue
            own = own or _own_backward_layer(ck, G, cache, dZ_tilde, beneath, seed + 3) \
                or (lambda name, got: None)
            agrees = own(name, got)
            if agrees is not None:
                _note_dependency(ck, "backward", agrees)
                if agrees:
                    continue
            require(False, f"with activation {act!r} d{name} differs from the numerical "
                    f"gradient by a relative error of {err:.1e}, expected below 1e-7",
                    "the layer's output went through the activation: its derivative comes "
                    "first on the way back" if np.allclose(got, no_act[k]) else hints[name])


# Weights (of 4): dA_prev and dW, through the activation, batch norm and the product, weigh
# 3; dgamma and dbeta, batch norm's secondary outputs, 1.
check_linear_bn_backward = make_check(EXERCISES["3.6"], [
    weighted(3)(lambda ck: _lbb_case(ck, ("A_prev", "W"))),
    weighted(1)(lambda ck: _lbb_case(ck, ("gamma", "beta")))])


# ------------------------------------------------------------------ the questions
# Each confirms only that the answer is well formed; the keys are the instructor side's.
# The notebook measures each answer in the cell after its check, once it is answered.

# Q3.1: a layer keeps its b before batch norm and trains by gradient descent: what happens
# to b? (a) it learns each unit's shift, beta fine-tunes; (b) it moves opposite to beta;
# (c) it stays where it started; (d) it drifts further and further.
check_bias_before_batch_norm = make_question(EXERCISES["Q3.1"], choices="abcd")

# Q3.2: Network([64, 32, 32, 10], batch_norm=True) trained by Adam: how many numbers does
# Adam update at each step (a whole number)?
check_adam_update_count = make_question(EXERCISES["Q3.2"])

# Q3.3: inverted digits 1 - x, each pixel re-standardized with their own statistics: the
# classifier's accuracy is (a) about the unchanged one, (b) about the moved digits', (c) at
# or below chance, (d) not computable.
check_covariate_shift = make_question(EXERCISES["Q3.3"], choices="abcd")

# Q3.4: how much a unit's batch mean scatters from batch to batch, in units of the unit's
# standard deviation, for batches of 4 and of 64 examples (two numbers).
check_batch_mean_noise = make_question(EXERCISES["Q3.4"], parts=2)
