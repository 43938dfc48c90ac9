"""Samplers on the right scale for each hyperparameter. Introduced in notebook 02.

Sampling at random does not mean sampling uniformly over the range. The samplers here each
take bounds ``low < high``, a ``size`` (``None`` for one number, an int ``n`` for shape
``(n,)``, a tuple for that shape) and a keyword-only ``rng: np.random.Generator``:

- ``sample_uniform``: ``x ~ U[low, high]``, for hyperparameters whose effect is additive;
- ``sample_log_uniform``: ``x = 10**r``, ``r ~ U[log10(low), log10(high)]``, for a learning
  rate (as many samples between 1e-4 and 1e-3 as between 0.1 and 1);
- ``sample_ema_beta``: ``beta = 1 - 10**r``, ``r ~ U[log10(1 - high), log10(1 - low)]``, for
  an exponentially weighted average's weight (log-uniform on the ``1 - beta`` scale);
- ``sample_int_uniform`` and ``sample_int_log_uniform``: counts such as hidden units or
  layers, ``low..high`` inclusive.

``decade_fractions`` measures where samples fall: the share in each decade of a range
(notebook 02's widget, and the checks of exercises 2.1 and 2.2).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..core.stand_ins import gives_away, stand_in
from ..core.validate import as_float_array, as_int, as_real, as_rng

SCALES = ("uniform", "log-uniform", "ema")


# ------------------------------------------------------------------- validation

def as_size(size):
    """``None``, an int ``>= 0`` or a tuple of them, or a clear error naming ``size``."""
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        return as_int("size", size, low=0)
    if isinstance(size, (tuple, list)):
        return tuple(as_int(f"size[{i}]", s, low=0) for i, s in enumerate(size))
    raise TypeError(f"size must be None, an int or a tuple of ints, got "
                    f"{type(size).__name__} {size!r}")


def as_range(low, high, scale: str = "uniform") -> tuple[float, float]:
    """Validate the bounds of a continuous sampler on ``scale``; return them as floats."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    low, high = as_real("low", low), as_real("high", high)
    if scale == "log-uniform" and low <= 0:
        raise ValueError(f"low must be > 0 on a log scale (log10(low) must exist), "
                         f"got {low:g}")
    if scale == "ema":
        if low < 0:
            raise ValueError(f"low must be >= 0 for an EMA weight, got {low:g}")
        if high >= 1:
            raise ValueError(f"high must be < 1 for an EMA weight (1 - beta must be > 0), "
                             f"got {high:g}")
    if not high > low:
        raise ValueError(f"high must be > low, got {high:g} <= {low:g}")
    return low, high


def as_int_range(low, high, *, positive: bool = False) -> tuple[int, int]:
    low, high = as_int("low", low), as_int("high", high)
    if positive and low < 1:
        raise ValueError(f"low must be >= 1 on a log scale, got {low}")
    if high < low:
        raise ValueError(f"high must be >= low, got {high} < {low}")
    return low, high


def _scalar(x, size):
    """A Python number for ``size=None``, else the array."""
    return np.asarray(x).item() if size is None else x


# --------------------------------------------------------------------- samplers

def sample_uniform(low, high, size=None, *, rng: np.random.Generator):
    """Uniform on the linear scale: ``x ~ U[low, high]``.

    Returns a float for ``size=None``, else an array of shape ``size``.
    """
    low, high = as_range(low, high)
    size, rng = as_size(size), as_rng(rng)
    return rng.uniform(low, high, size)


@stand_in("2.1")
def sample_log_uniform(low, high, size=None, *, rng: np.random.Generator):
    """Log-uniform: ``x = 10**r`` with ``r ~ U[log10(low), log10(high)]``, ``0 < low < high``.

    Every decade of the range gets the same share of the samples. Returns a float for
    ``size=None``, else an array of shape ``size``. The lecture's sampler: stand-in for
    exercise 2.1.
    """
    low, high = as_range(low, high, "log-uniform")
    size, rng = as_size(size), as_rng(rng)
    return 10.0 ** rng.uniform(math.log10(low), math.log10(high), size)


@stand_in("2.2")
def sample_ema_beta(low, high, size=None, *, rng: np.random.Generator):
    """An EMA weight: ``beta = 1 - 10**r`` with ``r ~ U[log10(1 - high), log10(1 - low)]``.

    ``0 <= low < high < 1``. ``1 - beta`` is log-uniform, so the samples crowd towards 1,
    where the averaging window ``1 / (1 - beta)`` is most sensitive. Returns a float for
    ``size=None``, else an array of shape ``size``. The lecture's sampler: stand-in for
    exercise 2.2.
    """
    low, high = as_range(low, high, "ema")
    size, rng = as_size(size), as_rng(rng)
    return 1.0 - 10.0 ** rng.uniform(math.log10(1.0 - high), math.log10(1.0 - low), size)


def sample_int_uniform(low, high, size=None, *, rng: np.random.Generator):
    """An integer drawn uniformly from ``low, low + 1, ..., high`` (both included).

    Returns an int for ``size=None``, else an int64 array of shape ``size``.
    """
    low, high = as_int_range(low, high)
    size, rng = as_size(size), as_rng(rng)
    return _scalar(rng.integers(low, high, size, endpoint=True), size)


@gives_away("2.1")
def sample_int_log_uniform(low, high, size=None, *, rng: np.random.Generator):
    """An integer in ``low..high`` (``1 <= low <= high``) spread evenly on a log scale.

    ``k = floor(10**r)`` with ``r ~ U[log10(low), log10(high + 1)]``, so ``k`` has chance
    ``log(1 + 1/k) / log((high + 1) / low)``: as many draws in 8..15 as in 512..1023. For
    counts whose relative change matters (hidden units over a wide range, mini-batch
    sizes). Returns an int for ``size=None``, else an int64 array of shape ``size``.
    """
    low, high = as_int_range(low, high, positive=True)
    size, rng = as_size(size), as_rng(rng)
    r = rng.uniform(math.log10(low), math.log10(high + 1), size)
    k = np.clip(np.floor(10.0 ** np.asarray(r)), low, high).astype(np.int64)
    return _scalar(k, size)


SAMPLERS = {"uniform": sample_uniform, "log-uniform": sample_log_uniform,
            "ema": sample_ema_beta}


# ------------------------------------------------------------------- decades

def decade_edges(low, high) -> np.ndarray:
    """Edges splitting ``[low, high]`` (``0 < low < high``) at the powers of ten inside it.

    Returns ``(k + 1,)`` increasing edges ``[low, 10**a, 10**(a+1), ..., high]``, e.g.
    ``[1e-4, 1e-3, 1e-2, 1e-1, 1]`` for ``[1e-4, 1]`` and ``[0.5, 1, 10, 20]`` for
    ``[0.5, 20]``.
    """
    low, high = as_range(low, high, "log-uniform")
    first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
    inner = [10.0 ** k for k in range(first, last + 1)
             if not math.isclose(10.0 ** k, low, rel_tol=1e-9)
             and not math.isclose(10.0 ** k, high, rel_tol=1e-9) and low < 10.0 ** k < high]
    return np.array([low, *inner, high])


def decade_fractions(samples, low, high) -> tuple[np.ndarray, np.ndarray]:
    """The fraction of ``samples`` (any shape, ``m`` values) in each decade of ``[low, high]``.

    Returns ``(edges, fractions)``: ``edges`` of shape ``(k + 1,)`` from ``decade_edges`` and
    ``fractions`` of shape ``(k,)``. Samples outside ``[low, high]`` count in no decade, so
    the fractions then sum to less than 1. For an EMA weight pass ``1 - beta`` and the range
    ``[1 - high, 1 - low]``.
    """
    samples = as_float_array("samples", samples).ravel()
    edges = decade_edges(low, high)
    counts = np.histogram(samples, bins=edges)[0]
    return edges, counts / samples.size
