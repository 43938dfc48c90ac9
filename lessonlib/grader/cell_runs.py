"""What the learner's latest run of each exercise cell did, so a check never grades a stale
definition silently.

A cell with a syntax error never runs, and a cell that raises may stop before its ``def``:
either way the function in memory is the previous one (or none), and a check under it
would grade that and say nothing. In a kernel, ``watch`` follows every cell run: when a cell
that defines an exercise's function fails, ``failed_run(name)`` says how, until a later run
of a cell defining it succeeds. The check prints it above its line. A check cell whose
function is not defined at all, because the cell that defines it failed, says so instead of
showing a ``NameError`` traceback. Outside IPython (the tests, the grader) nothing is
watched.
"""

from __future__ import annotations

import re
import sys

from .exercises import EXERCISES

_FUNCTIONS = {e.function for e in EXERCISES.values()}
_DEF = re.compile(r"^[ \t]*def[ \t]+([A-Za-z_]\w*)[ \t]*\(", re.M)
_FAILED: dict[str, str] = {}        # function name -> "SyntaxError: invalid syntax (line 3)"
_WATCHING: dict = {}


def defined_in(source: str) -> set[str]:
    """The exercise functions a cell's ``source`` defines (or tries to)."""
    return {name for name in _DEF.findall(source) if name in _FUNCTIONS}


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError) and error.lineno:
        text = f"{type(error).__name__}: {error.msg} (line {error.lineno})"
    return " ".join(text.split())[:160]


def record(source: str, error: BaseException | None) -> None:
    """Note one run of a cell: ``error`` is what it raised, or ``None``."""
    for name in defined_in(source):
        if error is None:
            _FAILED.pop(name, None)
        else:
            _FAILED[name] = _describe(error)


def failed_run(name: str) -> str | None:
    """How the latest run of the cell defining ``name`` failed, or ``None``."""
    return _FAILED.get(name)


def stale_note(name: str, defined: bool) -> str | None:
    """The line a check prints above its own when ``name``'s cell failed last time."""
    error = failed_run(name)
    if error is None:
        return None
    what = ("this check ran the previous definition, still in memory" if defined else
            f"{name} is not defined")
    return (f"⚠ The last run of the cell defining {name} failed ({error}): {what}. Fix the "
            "cell and run it again.")


def _after_cell(result) -> None:
    error = result.error_before_exec or result.error_in_exec
    record(getattr(result.info, "raw_cell", "") or "", error)


def _undefined_name(shell, etype, value, tb, tb_offset=None):
    """A ``NameError`` whose name is an exercise function with a failed cell: say why."""
    name = getattr(value, "name", None)
    note = stale_note(name, defined=False) if name in _FUNCTIONS else None
    if note is None:
        return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    print(note)
    return None


def watch() -> bool:
    """Follow the cell runs of the IPython kernel this runs in (once); ``False`` outside
    IPython."""
    if _WATCHING:
        return True
    if "IPython" not in sys.modules:         # not in a kernel: nothing to follow
        return False
    from IPython import get_ipython
    shell = get_ipython()
    if shell is None or not hasattr(shell, "events"):
        return False
    shell.events.register("post_run_cell", _after_cell)
    shell.set_custom_exc((NameError,), _undefined_name)
    _WATCHING["shell"] = shell
    return True
