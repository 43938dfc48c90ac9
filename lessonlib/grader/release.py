"""Learner notebooks from solved ones (``release``), and storing what a solved notebook prints
(``refresh_solved``, for maintainers)."""

from __future__ import annotations

import copy
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .exercises import EXERCISES, not_attempted_line
from .notebook_files import (
    BEGIN,
    END,
    NotebookError,
    cell_info,
    dumps,
    learner_dir,
    notebook_name,
    read_notebook,
    solutions_dir,
    source_hash,
)

BACKUP_SUFFIX = ".bak"
# What ipykernel reports of its language on the workbook's reference Python (the one CI and
# these machines run). JupyterLab writes the kernel's report into a notebook it opens, and a
# notebook whose stored report differs opens marked modified; with this one a learner on
# that Python opens an unmodified notebook (on another Python, JupyterLab records its own
# version and marks the notebook modified: harmless, said in the README).
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3},
                 "file_extension": ".py", "mimetype": "text/x-python", "name": "python",
                 "nbconvert_exporter": "python", "pygments_lexer": "ipython3",
                 "version": "3.11.7"}
CHECK_TAG = "nbval-check-output"   # nbval compares the cell's stored outputs on every run


def _stub(source: str, exercise) -> str:
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise NotebookError(f"exercise {exercise.id}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f'{indent}raise NotImplementedError("{exercise.label}: '
                       f'{exercise.function}")')
        elif stripped == END:
            if not inside:
                raise NotebookError(f"exercise {exercise.id}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"exercise {exercise.id}: {BEGIN} without {END}")
    return "\n".join(out)


def _tag_compared(cell, compared: bool) -> None:
    """Give the cell the tag that has nbval compare its outputs, or take it away."""
    tags = [t for t in cell.metadata.get("tags", []) if t != CHECK_TAG]
    if compared:
        tags.append(CHECK_TAG)
    if tags:
        cell.metadata["tags"] = tags
    else:
        cell.metadata.pop("tags", None)


def make_learner(solved) -> nbformat.NotebookNode:
    """The learner version of a solved notebook: solutions become stubs, the worked
    derivations (cells of role ``worked``: an exercise's answer explained) stay in the solved
    notebook, outputs and the tags that compare them go, and each check cell keeps one
    output, the "not attempted yet" line its check prints for a stub."""
    nb = copy.deepcopy(solved)
    name = notebook_name(nb)
    if not name:
        raise NotebookError("the solved notebook has no metadata lessonlib.notebook")
    nb.cells = [c for c in nb.cells if cell_info(c).get("role") != "worked"]
    for cell in nb.cells:
        info = cell_info(cell)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if info.get("role") != "check":
            _tag_compared(cell, False)
        ex_id = info.get("exercise")
        if (BEGIN in cell.source) != (info.get("role") == "exercise"):
            raise NotebookError(f"{name}: a cell with {BEGIN} must have role 'exercise' "
                                f"and the reverse (cell {cell.get('id')})")
        if ex_id is None:
            continue
        if ex_id not in EXERCISES:
            raise NotebookError(f"{name}: exercise {ex_id} is not in the exercise table "
                                "(lessonlib.grader.exercises)")
        if info.get("role") == "exercise":
            cell.source = _stub(cell.source, EXERCISES[ex_id])
        elif info.get("role") == "check":
            cell.execution_count = 1
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout", text=not_attempted_line(EXERCISES[ex_id]) + "\n")]
    nb.metadata["lessonlib"] = {"notebook": name, "kind": "learner",
                                "release_hash": source_hash(nb)}
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    return nb


@dataclass
class ReleaseResult:
    name: str
    status: str   # "written", "unchanged", "kept (learner edits)", "differs", "overwritten"
    detail: str = ""


def release(*, solutions=None, out=None, force: bool = False, check: bool = False,
            only=None) -> list[ReleaseResult]:
    """Write ``out/NAME.ipynb`` for every ``solutions/NAME.ipynb``.

    A learner notebook whose sources differ from what was released into it (the learner has
    edited it) is never overwritten silently: it is kept and reported, unless ``force``, in
    which case it is first copied to ``NAME.ipynb.bak``. With ``check``, nothing is written
    and the result says which learner notebooks differ from what would be generated.
    ``only`` limits the release to solved notebooks with these names (stems).
    """
    solutions = Path(solutions) if solutions else solutions_dir()
    out = Path(out) if out else learner_dir()
    results = []
    sources = sorted(p for p in solutions.glob("*.ipynb") if only is None or p.stem in only)
    if not sources:
        raise NotebookError(f"no solved notebooks in {solutions}")
    for src in sources:
        text = dumps(make_learner(read_notebook(src)))
        target = out / src.name
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old == text:
            results.append(ReleaseResult(src.stem, "unchanged"))
            continue
        if check:
            results.append(ReleaseResult(src.stem, "differs",
                                         "missing" if old is None else "content differs"))
            continue
        if old is not None:
            try:
                existing = read_notebook(target)
                edited = (source_hash(existing) !=
                          existing.metadata.get("lessonlib", {}).get("release_hash"))
            except NotebookError:
                edited = True
            if edited and not force:
                results.append(ReleaseResult(
                    src.stem, "kept (learner edits)",
                    f"{target} has edits; rerun with --force to replace it (a copy is kept "
                    f"as {target.name}{BACKUP_SUFFIX})"))
                continue
            if edited:
                shutil.copy2(target, target.with_name(target.name + BACKUP_SUFFIX))
                target.write_text(text, encoding="utf-8")
                results.append(ReleaseResult(src.stem, "overwritten",
                                             f"old copy in {target.name}{BACKUP_SUFFIX}"))
                continue
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        results.append(ReleaseResult(src.stem, "written"))
    return results



def refresh_solved(path, *, timeout: int = 300) -> None:
    """Execute a solved notebook (headless) and store what its cells print and draw.

    Each code cell whose outputs are printed text and figures only keeps that text (one
    output) and the tag ``nbval-check-output``, so nbval compares the text on every run of
    the suite (the figures the prose quotes come from these cells; nbval does not compare
    images, and the suite draws off-screen). Every figure a cell draws is stored after its
    text, as a PNG, so that an instructor reading the solved notebook sees each plot. Other
    cells (widgets, results, errors) keep no output."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = read_notebook(path)
    run = copy.deepcopy(nb)
    # the kernel's environment, not this process's: figures as PNGs, no progress bars
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "LESSONLIB_HEADLESS": "1"}
    NotebookClient(run, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    for cell, done in zip(nb.cells, run.cells):
        if cell.cell_type != "code":
            continue
        printed = [o for o in done.outputs if o.get("output_type") == "stream"
                   and o.get("name") == "stdout"]
        figures = [o for o in done.outputs if o.get("output_type") == "display_data"
                   and "image/png" in o.get("data", {})]
        compared = printed and len(printed) + len(figures) == len(done.outputs)
        if cell_info(cell).get("role") == "check" and not (compared and not figures):
            raise NotebookError(f"{path.name}: the check cell {cell.get('id')} printed "
                                f"{[o.get('output_type') for o in done.outputs]}, not its line")
        _tag_compared(cell, compared)
        # one output of all the text: how the kernel split it into messages varies by run
        text = [nbformat.v4.new_output("stream", name="stdout",
                                       text="".join(o.text for o in printed))] if compared else []
        kept = figures if compared or len(figures) == len(done.outputs) else []
        cell.outputs = text + [nbformat.v4.new_output(
            "display_data", data={"image/png": o["data"]["image/png"]},
            metadata=o.get("metadata", {})) for o in kept]
        cell.execution_count = 1 if cell.outputs else None
    path.write_text(dumps(nb), encoding="utf-8")
