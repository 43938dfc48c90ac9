"""Softmax and the cross-entropy cost, in course shapes.

Logits ``Z`` and probabilities ``Y_hat`` are ``(C, m)``, one example per column; one-hot
labels ``Y`` are ``(C, m)``; integer labels ``y`` are ``(m,)``. ``softmax``, ``one_hot``
and ``cross_entropy_cost`` are the lecture's formulas for notebook 05's exercises, which the
experiments run as labelled stand-ins until the learner's pass; ``cross_entropy_of_softmax``
chains the last two as the lecture writes them and stands in for the cost from the logits
(the derived answers, the Jacobian, the gradient and the exact cost from the logits, are on
the instructor side only). The derivatives lessonlib uses come from automatic
differentiation (``autodiff``) of the forward passes ``softmax`` and
``cross_entropy_of_softmax``: ``softmax_jacobian_by_autodiff``,
``softmax_backward_by_autodiff`` and ``softmax_cross_entropy_by_autodiff`` stand in for the
exercises until the learner's pass, and the network trains with the last.
"""

from __future__ import annotations

import numpy as np

from ..core.gradcheck import numerical_gradient
from ..core.stand_ins import stand_in
from ..core.validate import as_float_array, as_int, as_labels
from .autodiff import array_namespace, as_number, jacobian, value, vjp

_SUM_TOL = 1e-4          # how far a column of probabilities may sum from 1
_RANGE_TOL = 1e-6        # rounding slack allowed outside [0, 1] for a probability


# ------------------------------------------------------------------ validation

def _logits(Z, name: str = "Z") -> np.ndarray:
    """Finite logits of shape ``(C, m)`` (float32 kept, anything else float64)."""
    return as_float_array(name, Z, ndim=2)


def _probabilities(name: str, P, *, what: str, sums_out: list | None = None) -> np.ndarray:
    """A ``(C, m)`` array of probabilities in [0, 1] whose columns sum to 1.

    Two passes: the smallest value, and the column sums in float64 (a NaN or an infinity
    anywhere makes its column's sum non-finite; values at least 0 summing to 1 are at most
    1). The sums are appended to ``sums_out`` when given.
    """
    P = as_float_array(name, P, ndim=2, finite=False)
    sums = P.sum(axis=0, dtype=np.float64)
    if not np.all(np.isfinite(sums)):
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    low = float(P.min())
    if low < -_RANGE_TOL:
        raise ValueError(f"{name} must hold probabilities in [0, 1] ({what}), got a value "
                         f"of {low:.6g}")
    worst = int(np.argmax(np.abs(sums - 1)))
    if abs(sums[worst] - 1) > _SUM_TOL:
        raise ValueError(f"each column of {name} must sum to 1 ({what}), got column {worst} "
                         f"summing to {sums[worst]:.6g}")
    if sums_out is not None:
        sums_out.append(sums)
    return P


def checked_pair(Y_hat, Y) -> tuple[np.ndarray, np.ndarray]:
    Y_hat = _probabilities("Y_hat", Y_hat, what="a softmax output")
    Y = _probabilities("Y", Y, what="one-hot labels, one column per example")
    if Y_hat.shape != Y.shape:
        raise ValueError(f"Y_hat and Y must have the same shape (C, m), got Y_hat of shape "
                         f"{Y_hat.shape} and Y of shape {Y.shape}")
    return Y_hat, Y


# ------------------------------------------------------------------ the exercises

@stand_in("5.1")
def softmax(Z) -> np.ndarray:
    """``exp(Z) / sum(exp(Z))`` over the classes axis (0), stable for large logits.

    ``Z`` is ``(C, m)``; returns ``(C, m)`` whose columns sum to 1 (float32 in, float32
    out). Subtracting each column's maximum first leaves the result unchanged (softmax
    does not change when a constant is added to a column) and keeps ``exp`` from
    overflowing: the largest exponent is 0. The lecture's formula: stand-in for exercise
    5.1.
    """
    Z = _logits(Z)
    E = array_namespace(Z).exp(Z - value(Z).max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def hardmax(Z) -> np.ndarray:
    """One-hot ``(C, m)`` array with a 1 at each column's largest logit (first on ties).

    What the prediction ``argmax`` picks; softmax is its smooth ("soft") version.
    """
    Z = _logits(Z)
    out = np.zeros_like(Z)
    out[Z.argmax(axis=0), np.arange(Z.shape[1])] = 1
    return out


@stand_in("5.2")
def one_hot(y, C: int) -> np.ndarray:
    """Labels ``y`` of shape ``(m,)`` with values in ``[0, C)`` as a ``(C, m)`` one-hot array.

    Column ``i`` is all zeros except a 1 in row ``y[i]``. Stand-in for exercise 5.2.
    """
    C = as_int("C", C, low=1)
    y = as_labels("y", y, C)
    Y = np.zeros((C, y.size))
    Y[y, np.arange(y.size)] = 1.0
    return Y


@stand_in("5.3", "5.6")
def cross_entropy_cost(Y_hat, Y) -> float:
    """Mean over the ``m`` examples of ``-sum_c Y[c] * log(Y_hat[c])``.

    ``Y_hat`` holds probabilities ``(C, m)`` whose columns sum to 1; ``Y`` is one-hot
    ``(C, m)``. Terms with ``Y = 0`` contribute 0, so a probability of exactly 0 on a wrong
    class is fine; a probability of 0 on the true class gives a large but finite cost
    (``log`` is taken of ``max(Y_hat, tiny)``, about 708 per such example in float64).
    The lecture's loss: stand-in for exercise 5.3.
    """
    Y_hat, Y = checked_pair(Y_hat, Y)
    tiny = np.finfo(Y_hat.dtype).tiny
    logs = np.log(np.maximum(Y_hat, tiny))
    return float(-np.sum(np.where(Y > 0, Y * logs, 0.0)) / Y.shape[1])


@stand_in("5.4", whose="automatic differentiation of lessonlib's softmax")
def softmax_jacobian_by_autodiff(z) -> np.ndarray:
    """Stand-in for exercise 5.4: the Jacobian ``J[j, c] = d y_hat_j / d z_c`` of one
    example's softmax, computed by automatic differentiation (autograd) of lessonlib's
    ``softmax`` forward pass, not from a formula for it.

    ``z`` is the example's ``C`` logits, shape ``(C,)``; returns ``J`` of shape ``(C, C)``.
    Needs autograd.
    """
    z = as_float_array("z", z, ndim=1)
    return jacobian(lambda logits: softmax(logits[:, None])[:, 0], z)


@stand_in("5.5", whose="automatic differentiation of lessonlib's cross-entropy cost")
def softmax_backward_by_autodiff(Y_hat, Y) -> np.ndarray:
    """Stand-in for exercise 5.5: ``dZ``, the gradient of the mean cross-entropy cost with
    respect to the logits ``Z``, by automatic differentiation (autograd) of lessonlib's
    cost of the logits (``cross_entropy_of_softmax``).

    ``Y_hat = softmax(Z)`` and one-hot ``Y`` are ``(C, m)``; returns ``dZ`` ``(C, m)``. The
    logits are taken as ``log(Y_hat)``: softmax does not change when a constant is added to
    a column, so ``softmax(log(Y_hat)) = Y_hat`` (a probability of 0 is clipped to the
    smallest positive float first). Where a true class's probability is 0 the clipped cost
    is flat, and that column's gradient comes out 0. Needs autograd.
    """
    Y_hat, Y = checked_pair(Y_hat, Y)
    tiny = np.finfo(Y_hat.dtype).tiny
    return softmax_cross_entropy_by_autodiff(np.log(np.maximum(Y_hat, tiny)), Y)[1]


@stand_in("5.5", "5.6", whose="automatic differentiation of lessonlib's cross-entropy cost")
def softmax_cross_entropy_by_autodiff(Z, Y) -> tuple[float, np.ndarray]:
    """``(cost, dZ)`` straight from the logits: the mean cross-entropy cost of ``Z`` and
    one-hot ``Y`` (``(C, m)`` each, as ``cross_entropy_of_softmax``) and its gradient with
    respect to ``Z``, ``(C, m)`` of the dtype of ``Z``, by automatic differentiation
    (autograd) of that cost. What lessonlib's network and notebook 03's layers train with.
    Needs autograd.
    """
    Z = _logits(Z)
    Y = _probabilities("Y", Y, what="one-hot labels, one column per example")
    if Z.shape != Y.shape:
        raise ValueError(f"Z and Y must have the same shape (C, m), got Z of shape {Z.shape} "
                         f"and Y of shape {Y.shape}")
    cost, backward = vjp(lambda logits: cross_entropy_of_softmax(logits, Y), (Z,))
    return float(cost), backward(np.ones_like(cost))[0].astype(Z.dtype, copy=False)


@stand_in("5.3", "5.6",
          whose="the lecture's cost of softmax(Z), a probability that rounds to 0 clipped")
def cross_entropy_of_softmax(Z, Y) -> float:
    """The mean cross-entropy cost of the logits ``Z`` (``(C, m)``) and one-hot ``Y``
    (``(C, m)``), as the lecture writes it: ``cross_entropy_cost(softmax(Z), Y)``, the log
    taken of ``max(softmax(Z), tiny)``. Stand-in for exercise 5.6 until the learner's
    passes, and the cost lessonlib's network trains with: exact while no probability of a
    true class rounds to 0 (trained networks keep far from that); beyond, each such example
    costs about 708 (float64), however far apart its logits are. Traceable by autograd.
    """
    Z = _logits(Z)
    Y = _probabilities("Y", Y, what="one-hot labels, one column per example")
    if Z.shape != Y.shape:
        raise ValueError(f"Z and Y must have the same shape (C, m), got Z of shape {Z.shape} "
                         f"and Y of shape {Y.shape}")
    xp = array_namespace(Z)
    P = softmax(Z)
    logs = xp.log(xp.maximum(P, np.finfo(value(P).dtype).tiny))
    return as_number(xp.where(Y > 0, Y * logs, 0.0).sum() / -Y.shape[1])


def numerical_dZ(Z, Y, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of the mean cross-entropy cost with respect to ``Z``.

    Entry ``(c, i)`` is ``(J(Z + h e_ci) - J(Z - h e_ci)) / (2 h)`` with
    ``J(Z) = cross_entropy_of_softmax(Z, Y)``, in float64; ``Z`` and ``Y`` are
    ``(C, m)``. What exercise 5.4's ``dZ`` is checked against (2 C m cost evaluations, so
    keep ``Z`` small).
    """
    Z = np.array(_logits(Z), dtype=np.float64)
    Y = _probabilities("Y", Y, what="one-hot labels, one column per example")
    if Z.shape != Y.shape:
        raise ValueError(f"Z and Y must have the same shape (C, m), got Z of shape {Z.shape} "
                         f"and Y of shape {Y.shape}")
    return numerical_gradient(lambda z: cross_entropy_of_softmax(z, Y), Z, h=h)
