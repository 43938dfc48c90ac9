"""The lessonlib a sandboxed submission is shown: the learner's, without the stand-ins.

Grading runs no experiment, so the functions that give away an answer of the notebook
being graded (marked ``@stand_in(...)`` or ``@gives_away(...)`` where they are defined,
``core.stand_ins``) have no job in the sandbox. ``write_graded_package`` copies the package
and replaces the body of each such function with a raise: a submission that calls one
gets "lessonlib's own answer is not available while grading". The marks are read from the
source (the decorators' string arguments), so nothing here lists the functions.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

_MARKS = ("stand_in", "gives_away")
_ANY_ARGUMENTS = ast.parse("def f(*args, **kwargs): pass").body[0].args
_STUB = ("raise __import__('lessonlib.core.stand_ins', fromlist=['OffLimits']).OffLimits("
         "{message!r})")


def marked_exercises(node: ast.AST) -> set[str]:
    """The exercise ids a function's ``@stand_in(...)``/``@gives_away(...)`` names."""
    ids: set[str] = set()
    for deco in getattr(node, "decorator_list", []):
        if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") in _MARKS:
            ids.update(a.value for a in deco.args
                       if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return ids


def stub_marked(source: str, exercise_ids: set[str]) -> tuple[str, list[str]]:
    """``source`` with the body of every function marked for one of ``exercise_ids``
    replaced by a raise of ``OffLimits``; also the qualified names stubbed."""
    tree = ast.parse(source)
    stubbed: list[str] = []

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and marked_exercises(node) & exercise_ids:
                name = f"{prefix}{node.name}"
                message = (f"your function called lessonlib's {name}: lessonlib's own answer "
                           "is not available while grading; write it yourself")
                node.body = ast.parse(_STUB.format(message=message)).body
                node.args = _ANY_ARGUMENTS     # whatever the call, the raise
                stubbed.append(name)
    visit(tree.body, "")
    return (ast.unparse(tree) + "\n" if stubbed else source), stubbed


def write_graded_package(exercise_ids, dest) -> Path:
    """A copy of the lessonlib package in ``dest`` in which every function marked for one of
    ``exercise_ids`` raises ``OffLimits``. Returns the package folder."""
    package = Path(__file__).resolve().parents[1]
    target = Path(dest) / "lessonlib"
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    ids = set(exercise_ids)
    for file in target.rglob("*.py"):
        source = file.read_text(encoding="utf-8")
        if "@stand_in(" in source or "@gives_away(" in source:
            new, stubbed = stub_marked(source, ids)
            if stubbed:
                file.write_text(new, encoding="utf-8")
    return target
