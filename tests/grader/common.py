"""What the grader's tests share: the paths of notebook 01, the command line, cells by role,
the committed check data."""

import functools
import subprocess
import sys
from pathlib import Path

from lessonlib.grader import oracle
from lessonlib.grader.notebook_files import cell_info
from lessonlib.grader.sandbox import sandbox_status

ROOT = Path(__file__).resolve().parents[2]
SOLVED = ROOT / "notebooks" / "solutions" / "01_tuning_process.ipynb"
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
    written it, so that a test can show the check passes it (the original is off limits
    inside a check, ``grader.references``)."""
    import types
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    return copy


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


def replay_disagreement(check, fn, context, live, evaluate=None):
    """``None`` when ``check`` evaluated on ``fn`` (and ``context``) replaying the committed
    data gives the ``live`` result's outcome; else both outcomes. A function whose own
    results change from one evaluation to the next (it keeps state) cannot be compared, and
    gives ``None`` too. ``evaluate``: the check's ``evaluate`` (default ``check.evaluate``)."""
    evaluate = evaluate or check.evaluate
    replayed = evaluate(fn, ref=committed_replay(check.exercise.notebook), **context)
    if outcome(replayed) == outcome(live) or outcome(evaluate(fn, **context)) != outcome(live):
        return None
    return outcome(live), outcome(replayed)
