"""docs/instructor.md, run: every command block the guide marks ``<!-- guide:run -->`` runs,
in order, in a fresh folder, on a synthetic class of three learners collected between the
handout and the grading, and each step leaves what the guide says it leaves."""

from __future__ import annotations

import csv
import html
import re
import subprocess
import sys
import zipfile

import nbformat

from tests.grader.common import ROOT, SANDBOXED, cells_of

GUIDE = ROOT / "docs" / "instructor.md"
BLOCK = re.compile(r"<!-- guide:run -->\n```bash\n(.*?)```", re.S)
SOLVED = ROOT / "instructor" / "solutions" / "01_tuning_process.ipynb"


def _blocks() -> list[str]:
    return BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def _as_run_here(block: str) -> str:
    """The block with this interpreter, and without the sandbox where it cannot run."""
    block = block.replace("python3 -m lessonlib", f"{sys.executable} -m lessonlib")
    if not SANDBOXED:
        block = block.replace(" -m lessonlib grade ", " -m lessonlib grade --no-sandbox ")
    return block


def _collect(handout, submissions):
    """Three learners hand back notebook 01: ada solved it, ben left it as handed out, cy
    added the chances in 1.2 (a catalogued mistake)."""
    learner = handout / "notebooks" / "01_tuning_process.ipynb"
    solved = nbformat.read(SOLVED, as_version=4)
    wrong = nbformat.read(SOLVED, as_version=4)
    cells_of(wrong, "exercise")["1.2"].source = (
        "def chance_at_least_one(fraction, n_trials):\n    return fraction * n_trials\n")
    for name, nb in (("ada", solved), ("ben", nbformat.read(learner, as_version=4)),
                     ("cy", wrong)):
        (submissions / name).mkdir(parents=True)
        nbformat.write(nb, submissions / name / "01_tuning_process.ipynb")


def test_the_guide_marks_each_step_to_run():
    firsts = [b.split()[3] for b in _blocks()]
    assert firsts == ["handout", "grade", "feedback", "feedback", "gradescope"]


def test_the_guides_course_run_end_to_end(tmp_path):
    blocks = _blocks()
    for k, block in enumerate(blocks):
        if " grade " in f" {block} ":
            _collect(tmp_path / "week3-handout", tmp_path / "submissions")
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", _as_run_here(block)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, (k, block, run.stdout[-2000:], run.stderr[-2000:])

    # 1. the handout: the learner side only
    assert (tmp_path / "week3-handout" / "notebooks" / "01_tuning_process.ipynb").is_file()
    assert not list((tmp_path / "week3-handout").rglob("*instructor*"))
    # 3. the grades, the common mistakes and the figure
    book = {row["learner"]: row for row in csv.DictReader(
        (tmp_path / "gradebook.csv").open(encoding="utf-8"))}
    assert float(book["ada"]["total"]) == 8 and float(book["ben"]["total"]) == 0
    assert 0 < float(book["cy"]["total"]) < 8
    mistakes = (tmp_path / "mistakes.csv").read_text(encoding="utf-8")
    assert "chance-added" in mistakes
    assert (tmp_path / "points.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "grades.jsonl").read_text().splitlines()) == 3
    # 4. one report per learner; keys only after the deadline
    reports = sorted(p.relative_to(tmp_path / "feedback").as_posix()
                     for p in (tmp_path / "feedback").rglob("*.html"))
    assert reports == [f"{name}/01_tuning_process.html" for name in ("ada", "ben", "cy")]
    from lessonlib_instructor.questions import KEYS
    why = html.escape(KEYS["Q1.1"].why[:40])
    assert why not in (tmp_path / "feedback" / "cy" / "01_tuning_process.html").read_text()
    assert why in (tmp_path / "feedback-after-deadline" / "cy" /
                   "01_tuning_process.html").read_text()
    # 5. the autograder
    with zipfile.ZipFile(tmp_path / "week3-autograder.zip") as z:
        assert {"setup.sh", "run_autograder"} <= set(z.namelist())
