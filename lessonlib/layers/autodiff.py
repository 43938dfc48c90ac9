"""Gradients of lessonlib's forward passes, by automatic differentiation (autograd).

lessonlib writes out no backward pass: every derivative it uses (the network's gradients,
the stand-ins that run until a learner's backward pass passes its check) comes from
autograd tracing a forward pass the lecture states. A forward pass is traceable when it
computes with operators (``+ - * / @``), array methods (``Z.sum(axis=1)``, ``.mean``,
``.max``) and the functions of ``xp = array_namespace(...)`` (``xp.exp``, ``xp.sqrt``, ...),
never in place: called on plain arrays ``xp`` is numpy itself, so the same code serves
evaluation (no autograd needed) and differentiation.

- ``vjp(forward, args)``: the output and a function from ``dout`` to the gradients of
  ``sum(dout * forward(*args))`` with respect to each argument (reverse mode);
- ``jacobian(f, x)``: every partial derivative of ``f`` at ``x``;
- ``with_backward(forward, backward)``: an operation whose gradients come from a given
  backward pass (a learner's) instead of from tracing its forward pass;
- ``array_namespace``, ``value`` and ``as_number``: what a traceable forward pass computes
  with. Its argument checks (``lessonlib.core.validate``) check the arrays autograd traces
  and let them through, so the public, checked forward passes are differentiable as they
  are.

autograd is imported only when a gradient is computed, so ``import lessonlib``, forward
passes and predictions work without it. The stand-ins, with the signatures of the
exercises, sit beside the forward pass they differentiate (``batchnorm``, ``layernorm``,
``linear_bn``, ``softmax``: the functions whose names end in ``_by_autodiff``): the layers
use this module, so it imports none of them.
"""

from __future__ import annotations

import functools

import numpy as np

from ..core.validate import as_float_array, traced_value

INSTALL_HINT = "python3 -m pip install 'autograd>=1.7,<2'"


def _autograd():
    """The autograd package, imported on first use, or an ``ImportError`` saying why it is
    needed and how to install it."""
    try:
        import autograd
        import autograd.extend
    except ImportError as e:
        raise ImportError("computing a gradient needs the autograd package "
                          f"({INSTALL_HINT}): lessonlib gets every derivative by automatic "
                          "differentiation of its forward passes") from e
    return autograd


def _traced(values) -> bool:
    return any(traced_value(v) is not None for v in values)


def array_namespace(*values):
    """The module a forward pass computes ``values`` with: ``autograd.numpy`` while autograd
    traces any of them, else ``numpy``. Takes any values; never imports autograd."""
    if _traced(values):
        import autograd.numpy
        return autograd.numpy
    return np


def value(x):
    """``x`` itself, or the array autograd traces inside it: for a quantity a forward pass
    treats as a constant (the column maximum softmax subtracts) or keeps (batch
    statistics). Takes any value."""
    traced = traced_value(x)
    return x if traced is None else traced


def as_number(x):
    """``float(x)``, or ``x`` itself while autograd traces it (a traced cost must stay
    traced); for a forward pass that returns a number."""
    if traced_value(x) is not None:
        return x
    try:
        return float(x)
    except (TypeError, ValueError):
        raise TypeError(f"x must be a number, got {type(x).__name__} {x!r}") from None


def _callable(name: str, fn, what: str):
    if not callable(fn):
        raise TypeError(f"{name} must be a function ({what}), got {type(fn).__name__}")
    return fn


def vjp(forward, args):
    """``(out, backward)``: ``out = forward(*args)`` and the function ``backward(dout)``.

    ``args`` is a tuple of arrays; ``backward(dout)``, with ``dout`` of the shape of
    ``out``, returns the gradients of ``sum(dout * out)`` with respect to each argument, a
    tuple of arrays shaped like ``args``: the vector-Jacobian product, computed by autograd
    in reverse mode through what ``forward`` computes (see the module's docstring).
    ``backward`` may be called more than once.
    """
    _callable("forward", forward, "of the arrays in args")
    if not isinstance(args, (tuple, list)) or not args:
        raise TypeError(f"args must be a non-empty tuple of arrays, got "
                        f"{type(args).__name__}")
    out, backward_all = _trace(forward, tuple(args))
    shape = np.shape(out)

    def backward(dout):
        if np.shape(dout) != shape:
            raise ValueError(f"dout must have the shape of forward's output, {shape}, got "
                             f"{np.shape(dout)}")
        return backward_all(dout)

    return out, backward


def _trace(forward, args):
    """autograd's reverse mode with one start node per argument.

    ``autograd.make_vjp`` differentiates with respect to one input; several arguments
    would be packed into one tuple and each taken out again by a traced indexing, which
    costs about a fifth of a small network's training step. So this starts a node per
    argument in one trace and runs autograd's backward pass (``core.backward_pass``, the
    same steps) collecting each argument's gradient.
    """
    _autograd()
    from autograd.core import VJPNode, add_outgrads
    from autograd.tracer import new_box, trace_stack
    from autograd.util import toposort

    with trace_stack.new_trace() as trace:
        roots = [VJPNode.new_root() for _ in args]
        end = forward(*[new_box(a, trace, root) for a, root in zip(args, roots)])
    if traced_value(end) is None or end._trace != trace:     # out depends on no argument
        return end, lambda dout: tuple(np.zeros_like(a) for a in args)
    out, end_node = end._value, end._node

    def backward_all(dout):
        outgrads, found = {end_node: (dout, False)}, {}
        for node in toposort(end_node):
            grad = outgrads.pop(node)[0]
            if not node.parents:                             # one of the start nodes
                found[node] = grad
            for parent, ingrad in zip(node.parents, node.vjp(grad)):
                outgrads[parent] = add_outgrads(outgrads.get(parent), ingrad)
        return tuple(_in_dtype_of(found[root], a) if root in found else np.zeros_like(a)
                     for root, a in zip(roots, args))

    return out, backward_all


def _in_dtype_of(grad, arg):
    """``grad`` as an array of ``arg``'s dtype (float32 stays float32, as autograd's
    ``make_vjp`` accumulates it); anything else as it is."""
    dtype = getattr(arg, "dtype", None)
    if isinstance(grad, np.ndarray) and dtype is not None and grad.dtype != dtype:
        return grad.astype(dtype)
    return grad


def jacobian(f, x) -> np.ndarray:
    """Every partial derivative ``J[i..., j...] = d f(x)[i...] / d x[j...]`` of ``f`` at the
    array ``x``, by autograd; shape ``f(x).shape + x.shape``."""
    _callable("f", f, "of the array x")
    x = as_float_array("x", x)
    return _autograd().jacobian(f)(x)


def with_backward(forward, backward):
    """An operation ``op(*args) -> (out, cache)`` that is ``forward(*args)``, except that
    when autograd differentiates through it the gradients with respect to ``args`` come
    from ``backward(dout, cache)`` (one per argument, in order) rather than from tracing
    ``forward``, which then runs on plain arrays. That is how a network trains with a
    learner's backward pass (notebook 03). Untraced, ``op`` calls ``forward`` and nothing
    else, without autograd."""
    _callable("forward", forward, "returning (out, cache)")
    _callable("backward", backward, "of (dout, cache)")

    def op(*args):
        if not _traced(args):
            return forward(*args)
        kept = []
        out = _primitive_with_backward()(*args, forward=forward, backward=backward,
                                         kept=kept)
        return out, kept[0]

    return op


@functools.cache
def _primitive_with_backward():
    """The autograd primitive behind ``with_backward``, built once. It receives the
    unboxed arguments, keeps the cache ``forward`` returned in ``kept``, and its
    vector-Jacobian product calls ``backward`` once per upstream gradient."""
    extend = _autograd().extend

    @extend.primitive
    def call(*args, forward, backward, kept):
        out, cache = forward(*args)
        kept.append(cache)
        return out

    def make_vjp(argnums, out, args, kwargs):
        backward, cache = kwargs["backward"], kwargs["kept"][-1]

        def products(dout):
            grads = backward(dout, cache)
            return tuple(grads[i] for i in argnums)
        return products

    extend.defvjp_argnums(call, make_vjp)
    return call
