"""What the grader's tests share: the paths of notebook 01, the command line, cells by role,
the committed check data."""

import copy
import functools
import subprocess
import sys
import types
from pathlib import Path

from lessonlib.grader import oracle
from lessonlib.grader.notebook_files import cell_info
from lessonlib.grader.sandbox import sandbox_status

ROOT = Path(__file__).resolve().parents[2]
SOLVED = ROOT / "instructor" / "solutions" / "01_tuning_process.ipynb"
LEARNER = ROOT / "notebooks" / "01_tuning_process.ipynb"


# Grading runs in bubblewrap where it is installed (.ci/run installs it); elsewhere the
# grader's tests grade without it, and the sandbox's own tests skip, saying why.
NO_SANDBOX = sandbox_status()
SANDBOXED = NO_SANDBOX is None


def run_cli(*args, cwd=ROOT):
    args = [*map(str, args)]
    if args[0] == "grade" and not SANDBOXED and "--no-sandbox" not in args:
        args.append("--no-sandbox")
    return subprocess.run([sys.executable, "-m", "lessonlib", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def cells_of(nb, role):
    return {cell_info(c)["exercise"]: c for c in nb.cells if cell_info(c).get("role") == role}


def reference_copy(fn):
    """A new function object running ``fn``'s code: lessonlib's answer as if a learner had
    written it, so that a test can show the check passes it (the original, a marked
    function, is off limits inside a check: ``core.stand_ins``)."""
    import types
    fn = getattr(fn, "__wrapped__", fn)
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


class Keyed:
    """A question's check as the trusted grader runs it: ``evaluate(fn)`` grades ``fn()``
    against the instructor side's key (a learner's own check only reads the answer's form)."""

    def __init__(self, check):
        from lessonlib_instructor.questions import KEYS
        self.check, self.key, self.exercise = check, KEYS[check.exercise.id], check.exercise

    def evaluate(self, fn):
        return self.check.grade(fn, self.key)


@functools.cache
def _committed_calls(notebook):
    path = oracle.data_path(ROOT / "notebooks", notebook)
    return oracle.loads(path.read_text(encoding="utf-8"), str(path))


def committed_replay(notebook):
    """A ``Replay`` of the check data committed for ``notebook`` (``notebooks/checks/``)."""
    return oracle.Replay(_committed_calls(notebook), f"the committed check data of {notebook}")


def outcome(result):
    """What a learner sees of a check's result: status, points and line."""
    return result.status, result.points, result.line


def twin(fn):
    """``fn`` with its own copy of what its closure holds now, so that a function keeping
    state between calls there starts a second evaluation where ``fn`` starts the first;
    ``fn`` itself when it keeps nothing there that can be copied (a module, say)."""
    if not isinstance(fn, types.FunctionType) or not fn.__closure__:
        return fn
    try:
        cells = tuple(types.CellType(copy.deepcopy(c.cell_contents)) for c in fn.__closure__)
    except (ValueError, TypeError):         # a cell not filled yet, or not copyable
        return fn
    out = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, cells)
    out.__kwdefaults__ = fn.__kwdefaults__
    out.__dict__.update(fn.__dict__)
    return out


def marked_functions() -> dict[str, object]:
    """Every function of lessonlib marked ``@stand_in``/``@gives_away`` (``core.stand_ins``),
    by ``"module:qualname"`` under lessonlib; each has ``.exercises``."""
    import importlib
    import inspect
    import pkgutil

    import lessonlib
    found = {}
    for info in pkgutil.walk_packages(lessonlib.__path__, "lessonlib."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            members = [(name, obj)]
            if inspect.isclass(obj) and obj.__module__ == info.name:
                members += [(f"{name}.{k}", v) for k, v in vars(obj).items()]
            for qualname, fn in members:
                if callable(fn) and hasattr(fn, "exercises") \
                        and getattr(fn, "__module__", "") == info.name:
                    found[f"{info.name.removeprefix('lessonlib.')}:{qualname}"] = fn
    return found
