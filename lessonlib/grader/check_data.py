"""The check data: the reference answers a notebook's check cells need, written by ``release``.

A check cell in a learner's kernel cannot run lessonlib's references; it replays their
answers for the notebook's fixed cases from ``checks/NOTEBOOK.json`` beside the learner
notebooks (``oracle.Replay``). ``record_notebook`` obtains them: it runs every check of the
solved notebook on the solved notebook's own exercise functions (its set-up and exercise
cells executed in a fresh namespace), in notebook mode (the fixed cases), with an
``oracle.Recorder`` as the reference. ``write_check_data`` writes the files next to the
learner notebooks, or with ``check`` only says which differ. Kept apart from ``release``,
which must not import numpy or the checks.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from pathlib import Path

from . import framework, oracle
from .exercises import EXERCISES, checks_module
from .notebook_files import (
    NotebookError,
    cell_info,
    learner_dir,
    notebook_name,
    read_notebook,
    solutions_dir,
)
from .release import ReleaseResult
from .trusted import check_call


def solved_namespace(nb) -> dict:
    """The namespace of a solved notebook ``nb`` after its set-up and exercise cells (run in
    order, printing swallowed): its exercise functions and what they use."""
    namespace: dict = {"__name__": "__solved__"}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell_info(cell).get("role") in ("setup", "exercise"):
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, f"<{notebook_name(nb)}>", "exec"), namespace)
    return namespace


def solved_checks(nb):
    """``(check, fn, context)`` for each exercise of the solved notebook ``nb`` (concept
    questions aside: they ask no reference), in order: its check, the solved function, and
    the other solved functions its check cell passes (``forward=``)."""
    namespace = solved_namespace(nb)
    module = importlib.import_module(checks_module(notebook_name(nb)))
    for cell in nb.cells:
        exercise = EXERCISES.get(cell_info(cell).get("exercise"))
        if cell_info(cell).get("role") != "check" or exercise is None or exercise.is_question:
            continue
        fn_name, context = check_call(cell.source, exercise.function)
        yield (getattr(module, f"check_{exercise.function}"), namespace[fn_name],
               {k: namespace[v] for k, v in context.items()})


def record_notebook(nb) -> list[dict]:
    """The reference calls of all the checks of the solved notebook ``nb``, run on its
    functions in notebook mode. ``NotebookError`` when a solved function does not pass its
    check (the data would then miss what a passing run asks for)."""
    if not framework.fixed_cases():
        raise NotebookError("check data is recorded on the notebooks' fixed cases, not on "
                            "fresh ones (framework.fresh_cases)")
    recorder = oracle.Recorder(oracle.reference_namespace())
    for check, fn, context in solved_checks(nb):
        result = check.evaluate(fn, ref=recorder, **context)
        if not result.passed:
            raise NotebookError(f"{notebook_name(nb)}: the solved {check.exercise.function} "
                                f"fails its check, so its check data would be incomplete: "
                                f"{result.line}")
    return recorder.calls


def _same_calls(old_text: str, calls: list[dict], source: str) -> bool:
    """Whether the data file ``old_text`` holds the recorded ``calls`` (in any order), floats
    equal within ``oracle.matches``' tolerance: a machine whose last bits differ rewrites
    nothing."""
    try:
        old_calls = oracle.loads(old_text, source)
        replay = oracle.Replay(old_calls, source)
        return len(old_calls) == len(calls) and all(
            oracle.matches(replay.answer(c["name"], oracle.decode(c["args"]),
                                         oracle.decode(c["kwargs"])),
                           oracle.decode(c["result"])) for c in calls)
    except oracle.CheckDataError:
        return False


def write_check_data(*, solutions=None, out=None, check: bool = False,
                     only=None) -> list[ReleaseResult]:
    """Write ``out/checks/NAME.json`` for every ``solutions/NAME.ipynb`` (``only``: these
    stems). A file equal to what would be written (within the tolerance of ``_same_calls``)
    is left as it is; a file without the header of generated data is never overwritten
    (reported "kept (not check data)"). With ``check``, nothing is written and the results
    say which files differ."""
    solutions = Path(solutions) if solutions else solutions_dir()
    out = Path(out) if out else learner_dir()
    sources = sorted(p for p in solutions.glob("*.ipynb") if only is None or p.stem in only)
    if not sources:
        raise NotebookError(f"no solved notebooks in {solutions}")
    results = []
    for src in sources:
        nb = read_notebook(src)
        name, calls = notebook_name(nb), record_notebook(nb)
        target = oracle.data_path(out, name)
        label = f"{target.parent.name}/{target.name}"
        text = oracle.dumps(name, calls)
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old is not None and oracle.GENERATED not in old.partition("\n")[0]:
            results.append(ReleaseResult(label, "kept (not check data)",
                                         f"{target} is not check data written by release; "
                                         "move it away and release again"))
            continue
        if old is not None and (old == text or _same_calls(old, calls, str(target))):
            results.append(ReleaseResult(label, "unchanged"))
            continue
        if check:
            results.append(ReleaseResult(label, "differs",
                                         "missing" if old is None else "content differs"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        results.append(ReleaseResult(label, "written"))
    return results
