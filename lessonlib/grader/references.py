"""lessonlib's stand-ins for each exercise, off limits while the exercise is checked.

lessonlib holds no derived answer (those are the instructor side's), but it keeps the
forward passes the lecture states and the automatic-differentiation stand-ins the
experiments run until a learner's function passes. A learner's function that returns
``bn.batchnorm_backward_by_autodiff(dZ_tilde, cache)`` would compute the right answer
without any work. While a check calls the learner's function, ``off_limits`` swaps the code
of every lessonlib function that computes that exercise's answer (the stand-in, and the
other public routes to the same numbers: the layer's method, layer norm on the transpose,
...) for a stub that records the call and raises. A function object is shared by every
name it is bound to, so the stub is reached however the learner imported or renamed it;
the check then fails with "your function called lessonlib's ...: write it yourself".
Outside a check's call everything is restored, so experiments use the stand-ins freely.

This protects the check cells in the learner's own kernel against the easy way out. A
determined attack in that kernel (restoring the code, patching this module) is beyond it;
that is what grading in a sandbox is for, where the stand-ins are not there at all.
"""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path

# exercise id -> the functions ("module:qualname" under lessonlib) that compute its answer:
# the labelled stand-ins the experiments run (the derived answers are not in lessonlib)
OFF_LIMITS: dict[str, tuple[str, ...]] = {
    "1.1": ("search.boxes:random_search_points",),
    "1.2": (),                   # its answer is the instructor side's only
    "1.3": ("search.boxes:keep_box",),
    "2.1": ("search.scales:sample_log_uniform", "search.scales:sample_int_log_uniform",
            "search.spaces:Distribution.sample", "search.spaces:sample_space"),
    "2.2": ("search.scales:sample_ema_beta", "search.spaces:Distribution.sample",
            "search.spaces:sample_space"),
    "3.1": ("layers.batchnorm:batchnorm_forward", "layers.batchnorm:BatchNorm.forward",
            "layers.layernorm:layernorm_forward", "layers.layernorm:LayerNorm.forward",
            "layers.linear_bn:linear_bn_forward"),
    "3.2": (),                   # its answer is the instructor side's only
    "3.3": ("layers.batchnorm:BatchNorm.backward", "layers.layernorm:LayerNorm.backward",
            "layers.batchnorm:batchnorm_backward_by_autodiff",
            "layers.layernorm:layernorm_backward_by_autodiff",
            "layers.linear_bn:linear_bn_backward_by_autodiff"),
    "3.4": ("layers.batchnorm:BatchNorm.backward", "layers.layernorm:LayerNorm.backward",
            "layers.batchnorm:batchnorm_backward_by_autodiff",
            "layers.layernorm:layernorm_backward_by_autodiff",
            "layers.linear_bn:linear_bn_backward_by_autodiff"),
    "3.5": ("layers.linear_bn:linear_bn_forward",),
    "3.6": ("layers.linear_bn:linear_bn_backward_by_autodiff",),
    "4.1": ("layers.batchnorm:update_running_stats", "layers.batchnorm:BatchNorm.forward"),
    "4.2": ("layers.batchnorm:batchnorm_inference", "layers.batchnorm:BatchNorm.forward",
            "layers.batchnorm:fold_batchnorm"),
    "4.3": ("layers.layernorm:layernorm_forward", "layers.layernorm:LayerNorm.forward",
            "layers.batchnorm:batchnorm_forward", "layers.batchnorm:BatchNorm.forward"),
    "5.1": ("layers.softmax:softmax",),
    "5.2": ("layers.softmax:one_hot",),
    "5.3": ("layers.softmax:cross_entropy_cost", "layers.softmax:cross_entropy_of_softmax"),
    "5.4": ("layers.softmax:softmax_jacobian_by_autodiff",),
    "5.5": ("layers.softmax:softmax_backward_by_autodiff",
            "layers.softmax:softmax_cross_entropy_by_autodiff"),
    "5.6": ("layers.softmax:cross_entropy_of_softmax", "layers.softmax:cross_entropy_cost",
            "layers.softmax:softmax_cross_entropy_by_autodiff"),
    "6.1": ("search.settings:linear_search_space",),
    "6.2": ("network:evaluate",),
}


class ReferenceCalled(BaseException):
    """Raised by an off-limits function during a check: the learner's function called it.
    A ``BaseException``, so that an ``except Exception`` in the learner's code lets it by."""


_CALLED: list[str] = []


def tripped(name: str) -> ReferenceCalled:
    """Called by the stub: record that lessonlib's ``name`` was called."""
    _CALLED.append(name)
    return ReferenceCalled(f"lessonlib's {name} is off limits while its exercise is checked")


def resolve(path: str):
    """The function a ``"module:qualname"`` entry of ``OFF_LIMITS`` names."""
    module, _, qualname = path.partition(":")
    obj = importlib.import_module(f"lessonlib.{module}")
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _stub_code(name: str, original):
    """A code object with ``original``'s free variables that calls ``tripped(name)``."""
    if original.co_freevars:     # none of the references is a closure today
        raise ValueError(f"{name} is a closure; its code cannot be swapped")
    source = (f"def {original.co_name}(*args, **kwargs):\n"
              f"    raise __import__('lessonlib.grader.references', fromlist=['tripped'])"
              f".tripped({name!r})\n")
    namespace: dict = {}
    exec(compile(source, f"<off limits: lessonlib's {name}>", "exec"), namespace)
    return namespace[original.co_name].__code__


_STUBS: dict[str, tuple] = {}


def _functions(exercise_id: str) -> list[tuple]:
    """``(function, original code, stub code, short name)`` of each off-limits function."""
    out = []
    for path in OFF_LIMITS.get(exercise_id, ()):
        if path not in _STUBS:
            fn = resolve(path)
            name = path.partition(":")[2]
            _STUBS[path] = (fn, fn.__code__, _stub_code(name, fn.__code__), name)
        out.append(_STUBS[path])
    return out


@contextlib.contextmanager
def off_limits(exercise_id: str):
    """While inside, lessonlib's functions that answer ``exercise_id`` raise instead of
    computing. Yields the list that collects the names of those the code inside called."""
    functions = _functions(exercise_id)
    called: list[str] = []
    start = len(_CALLED)
    for fn, _, stub, _ in functions:
        fn.__code__ = stub
    try:
        yield called
    finally:
        for fn, code, _, _ in functions:
            fn.__code__ = code
        called.extend(dict.fromkeys(_CALLED[start:]))
        del _CALLED[start:]


# ------------------------------------------------------------------ grading in a sandbox

class OffLimits(Exception):
    """Raised in grading by lessonlib's answer to an exercise, which is not there."""


_STUB_BODY = ("raise __import__('lessonlib.grader.references', fromlist=['OffLimits'])"
              ".OffLimits({message!r})")


def _stub_functions(source: str, qualnames: set[str], module: str) -> str:
    """``source`` with the bodies of the functions ``qualnames`` replaced by a raise."""
    import ast
    tree = ast.parse(source)

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and f"{prefix}{node.name}" in qualnames:
                name = f"{prefix}{node.name}"
                message = (f"your function called lessonlib's {name}: lessonlib's own answer "
                           "is not available while grading; write it yourself")
                node.body = ast.parse(_STUB_BODY.format(message=message)).body
                qualnames.discard(name)
    visit(tree.body, "")
    if qualnames:
        raise ValueError(f"lessonlib.{module} has no {sorted(qualnames)}")
    return ast.unparse(tree) + "\n"


def write_graded_package(exercise_ids, dest) -> Path:
    """A copy of the lessonlib package in ``dest`` in which every function that answers one
    of ``exercise_ids`` (``OFF_LIMITS``) raises ``OffLimits``: what a sandboxed submission
    is shown as lessonlib. Returns the package folder."""
    import shutil
    package = Path(__file__).resolve().parents[1]
    target = Path(dest) / "lessonlib"
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    by_module: dict[str, set[str]] = {}
    for ex_id in exercise_ids:
        for path in OFF_LIMITS.get(ex_id, ()):
            module, _, qualname = path.partition(":")
            by_module.setdefault(module, set()).add(qualname)
    for module, qualnames in by_module.items():
        file = target.joinpath(*module.split(".")).with_suffix(".py")
        file.write_text(_stub_functions(file.read_text(encoding="utf-8"), set(qualnames),
                                        module), encoding="utf-8")
    return target
