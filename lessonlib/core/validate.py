"""Argument checks shared by every lessonlib module (the core floor).

Each helper raises ``TypeError`` or ``ValueError`` naming the argument, what was expected
and what came, so that a learner never meets a silent NaN or a numpy traceback instead.
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"


def traced_value(value):
    """The array inside ``value`` while autograd traces it (lessonlib differentiating its own
    forward passes, ``lessonlib.layers.autodiff``), else ``None``. Takes any value; never
    imports autograd: without autograd loaded nothing is traced."""
    tracer = sys.modules.get("autograd.tracer")
    if tracer is not None and isinstance(value, tracer.Box):
        return tracer.getval(value)
    return None


def as_float_array(name: str, value, *, ndim: int | None = None, finite: bool = True,
                   allow_empty: bool = False) -> np.ndarray:
    """Return ``value`` as a float ndarray (float32 kept, anything else float64), validated.

    A value autograd traces is checked by the array inside it and returned as it is, so
    that automatic differentiation can run through lessonlib's checked functions.
    """
    traced = traced_value(value)
    if traced is not None:
        as_float_array(name, traced, ndim=ndim, finite=finite, allow_empty=allow_empty)
        return value
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {_describe(value)}")
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be an array of numbers, got {_describe(value)}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    return arr


def as_real(name: str, value, *, low: float | None = None, high: float | None = None,
            low_inclusive: bool = True, high_inclusive: bool = True) -> float:
    """Return ``value`` as a finite float, optionally inside ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    if low is not None and (x < low or (x == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low:g}, got {x:g}")
    if high is not None and (x > high or (x == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high:g}, got {x:g}")
    return x


def as_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as a Python int, optionally inside ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    n = int(value)
    if low is not None and n < low:
        raise ValueError(f"{name} must be >= {low}, got {n}")
    if high is not None and n > high:
        raise ValueError(f"{name} must be <= {high}, got {n}")
    return n


def as_rng(rng) -> np.random.Generator:
    """Check that ``rng`` is a ``numpy.random.Generator`` (lessonlib never seeds global state)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)), "
                        f"got {_describe(rng)}")
    return rng


def as_labels(name: str, value, n_classes: int | None = None) -> np.ndarray:
    """Return integer class labels of shape ``(m,)`` as int64, each in ``[0, n_classes)``."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (m,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) \
                and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.min() < 0 or (n_classes is not None and arr.max() >= n_classes):
        bound = f"[0, {n_classes})" if n_classes is not None else ">= 0"
        raise ValueError(f"{name} must hold labels in {bound}, "
                         f"got values from {arr.min()} to {arr.max()}")
    return arr


def as_column(name: str, value, n: int | None = None) -> np.ndarray:
    """An ``(n, 1)`` float array (one value per unit), or a clear error naming it."""
    arr = as_float_array(name, value)
    if arr.ndim != 2 or arr.shape[1] != 1 or (n is not None and arr.shape[0] != n):
        want = f"({n}, 1)" if n is not None else "(n, 1)"
        raise ValueError(f"{name} must have shape {want}, one value per unit, got shape "
                         f"{arr.shape}")
    return arr


def as_variance(name: str, value, n: int | None = None) -> np.ndarray:
    """An ``(n, 1)`` column of variances (each >= 0), or a clear error naming it."""
    arr = as_column(name, value, n)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (a variance), got a smallest value of "
                         f"{float(arr.min()):g}")
    return arr


def as_decay(value, name: str = "decay") -> float:
    """The weight of an exponentially weighted average on the old value: ``0 <= decay < 1``."""
    return as_real(name, value, low=0, high=1, high_inclusive=False)


def as_sizes(name: str, value) -> tuple[int, ...]:
    """A non-empty sequence of sizes (hidden-layer widths, say), each an int >= 1."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of sizes, got "
                        f"{type(value).__name__} {value!r}")
    sizes = tuple(as_int(f"{name}[{i}]", h, low=1) for i, h in enumerate(value))
    if not sizes:
        raise ValueError(f"{name} must list at least one size, got none")
    return sizes


def as_callable(name: str, fn, what: str):
    """``fn`` itself when it is callable; else a ``TypeError`` saying it must be ``what``."""
    if not callable(fn):
        raise TypeError(f"{name} must be {what}, got {type(fn).__name__} {fn!r}")
    return fn
