"""Gradient checking: a centred-difference numerical gradient and a relative error.

Both work in float64. The course's recipe: perturb one entry of ``x`` by ``+h`` and ``-h``,
take ``(f(x + h) - f(x - h)) / (2 h)`` (its error shrinks like ``h**2``), and compare the
result with the gradient from backpropagation by the relative error
``||a - b|| / (||a|| + ||b||)``: about 1e-7 or less means the backward pass is right.
Introduced in notebook 03: ``batchnorm_gradcheck`` checks a batch-norm forward/backward pair
that way (the notebook's gradient-check line, and the checks of exercises 3.3 and 3.4).
"""

from __future__ import annotations

import numpy as np

from .validate import as_float_array, as_int, as_real, as_rng


def numerical_gradient(f, x, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of the scalar function ``f`` at ``x``, in float64.

    ``f(x) -> float`` is called twice per entry of ``x`` (any shape), with that entry moved
    by ``+h`` and by ``-h``; entry ``i`` of the result is ``(f(x+) - f(x-)) / (2 h)``.
    When ``x`` is already a float64 array it is perturbed *in place* and every entry is
    restored exactly afterwards, so ``f`` may also read it through a closure (a network's
    parameter array, say); anything else is first copied to a new float64 array.
    Returns an array of the shape of ``x``.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of x returning a number, got "
                        f"{type(f).__name__}")
    h = as_real("h", h, low=0, low_inclusive=False)
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64):
        x = np.array(as_float_array("x", x, allow_empty=True), dtype=np.float64)
    elif not np.all(np.isfinite(x)):
        raise ValueError("x must be finite, got NaN or infinity")
    grad = np.zeros(x.shape)

    def value(which: str) -> float:
        out = f(x)
        try:
            val = float(out)
        except (TypeError, ValueError):
            raise TypeError(f"f must return a number, got {type(out).__name__}") from None
        if not np.isfinite(val):
            raise ValueError(f"f returned {val} at x {which} h; the numerical gradient needs "
                             "finite values")
        return val

    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        try:
            plus = value("+")
            x[i] = old - h
            minus = value("-")
        finally:
            x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """``||a - b|| / (||a|| + ||b||)`` (Euclidean norms over all entries), in float64.

    ``a`` and ``b`` must have the same shape; 0.0 when both are zero. Below about 1e-7 a
    gradient check passes; above 1e-3 there is almost surely a bug.
    """
    a = np.asarray(as_float_array("a", a, allow_empty=True), dtype=np.float64)
    b = np.asarray(as_float_array("b", b, allow_empty=True), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)


def batchnorm_gradcheck(forward, backward, *, n: int = 4, m: int = 8, eps: float = 1e-5,
                        rng: np.random.Generator) -> dict:
    """Check a batch-norm forward/backward pair against the numerical gradient, in float64:
    ``forward(Z, gamma, beta, eps) -> (Z_tilde, cache)`` and ``backward(G, cache) -> (dZ,
    dgamma, dbeta)``.

    Draws a random batch ``Z`` ``(n, m)``, ``gamma``, ``beta`` and upstream gradient ``G``;
    the cost is ``sum(G * forward(Z, gamma, beta, eps)[0])``. Returns
    ``{"dZ": err, "dgamma": err, "dbeta": err, "max": err}``, relative errors of
    ``backward(G, cache)`` against ``numerical_gradient``.
    """
    for name, fn in (("forward", forward), ("backward", backward)):
        if not callable(fn):
            raise TypeError(f"{name} must be a function, got {type(fn).__name__}")
    n = as_int("n", n, low=1)
    m = as_int("m", m, low=2)
    eps = as_real("eps", eps, low=0, low_inclusive=False)
    rng = as_rng(rng)
    Z = 2.0 * rng.standard_normal((n, m)) + rng.normal(0, 3, (n, 1))
    gamma = rng.uniform(0.5, 2.0, (n, 1))
    beta = rng.standard_normal((n, 1))
    G = rng.standard_normal((n, m)) + rng.standard_normal((n, 1))
    _, cache = forward(Z.copy(), gamma.copy(), beta.copy(), eps)
    dZ, dgamma, dbeta = backward(G.copy(), cache)

    def cost(Zx, gx, bx):
        return float(np.sum(G * forward(Zx, gx, bx, eps)[0]))

    num = {"dZ": numerical_gradient(lambda x: cost(x, gamma, beta), Z.copy()),
           "dgamma": numerical_gradient(lambda x: cost(Z, x, beta), gamma.copy()),
           "dbeta": numerical_gradient(lambda x: cost(Z, gamma, x), beta.copy())}
    got = {"dZ": dZ, "dgamma": dgamma, "dbeta": dbeta}
    errors = {}
    for k in num:
        g = np.asarray(got[k], dtype=float)
        if g.shape != num[k].shape:
            raise ValueError(f"backward returned {k} of shape {g.shape}, expected "
                             f"{num[k].shape}")
        errors[k] = relative_error(g, num[k])
    errors["max"] = max(errors.values())
    return errors
