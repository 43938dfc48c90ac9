"""The shape of lessonlib: its floors, no cycles, no private names shared, small modules,
no import-time side effects, a trusted grader that loads no lesson and nothing that draws,
and tests that mirror the package."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lessonlib"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_import_contracts_of_pyproject_are_kept():
    """The floors, independent lessons and checks, no drawing in the maths (pyproject.toml)."""
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph("lessonlib")
    edges = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    state, cycle = {}, []

    def visit(m, path):
        state[m] = "open"
        for n in sorted(edges.get(m, ())):
            if state.get(n) == "open":
                cycle.extend(path[path.index(n):] + [n])
                return True
            if n not in state and visit(n, path + [n]):
                return True
        state[m] = "done"
        return False

    for m in sorted(edges):
        if m not in state and visit(m, [m]):
            break
    assert not cycle, " -> ".join(cycle)


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            ours = isinstance(node, ast.ImportFrom) and (
                node.level > 0 or (node.module or "").startswith("lessonlib"))
            if ours:
                offenders += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names
                              if a.name.startswith("_")]
    assert not offenders, offenders


def test_importing_the_command_line_loads_no_numpy():
    """``release`` and ``grade`` start without numpy, the network or the digits."""
    code = ("import sys, lessonlib.cli; "
            "print(sorted(m for m in ('numpy', 'lessonlib.network', 'lessonlib.grader.checks')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# what the trusted grading process must never load (the pyproject contract's modules)
_NOT_IN_TRUSTED_GRADING = ("matplotlib", "ipywidgets", "IPython", "lessonlib.lessons")


def test_the_trusted_grader_and_the_checks_load_no_lesson_and_nothing_that_draws():
    """In a fresh interpreter: import the trusted grader and every checks module, take the
    references and write the sandbox's lessonlib, as grading a notebook does; no lesson,
    matplotlib, ipywidgets or IPython is loaded."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import lessonlib.grader.checks as checks\n"
        "import tempfile\n"
        "from lessonlib.grader import graded_package, oracle, trusted\n"
        "names = [m.name for m in pkgutil.iter_modules(checks.__path__)]\n"
        "for name in names:\n"
        "    importlib.import_module(f'lessonlib.grader.checks.{name}')\n"
        "oracle.reference_namespace()\n"
        "graded_package.write_graded_package(['3.1', '6.2'], tempfile.mkdtemp())\n"
        f"loaded = [m for m in {_NOT_IN_TRUSTED_GRADING!r} if m in sys.modules]\n"
        "print(json.dumps({'checks': sorted(names), 'loaded': loaded}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    result = json.loads(out.stdout)
    assert result["checks"] == sorted(p.stem for p in (PACKAGE / "grader" / "checks").glob("*.py")
                                      if p.stem != "__init__")
    assert result["loaded"] == []


def test_tests_mirror_the_package():
    """Each module ``lessonlib/a/b.py`` has ``tests/a/test_b.py`` (``__init__`` and
    ``__main__`` aside)."""
    missing = []
    for path in _modules():
        if path.name in ("__init__.py", "__main__.py"):
            continue
        rel = path.relative_to(PACKAGE)
        want = ROOT / "tests" / rel.parent / f"test_{rel.name}"
        if not want.is_file():
            missing.append(str(want.relative_to(ROOT)))
    assert not missing, missing
