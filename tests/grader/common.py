"""What the grader's tests share: the paths of notebook 01, the command line, cells by role."""

import subprocess
import sys
from pathlib import Path

from lessonlib.grader.notebook_files import cell_info

ROOT = Path(__file__).resolve().parents[2]
SOLVED = ROOT / "notebooks" / "solutions" / "01_tuning_process.ipynb"
LEARNER = ROOT / "notebooks" / "01_tuning_process.ipynb"


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "lessonlib", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def cells_of(nb, role):
    return {cell_info(c)["exercise"]: c for c in nb.cells if cell_info(c).get("role") == role}
