"""A hostile cohort (issue 24, item 8): honest, wrong, malformed and hostile submissions of
notebook 01 graded together with ``--jobs 2`` and on a local Dask cluster. The run
completes; each honest submission gets exactly its grade; no hostile one gets more than the
honest part beneath it; the malformed files are errors that name them; the driver's peak
memory stays bounded; and nothing of the run is left running, in a cgroup or on disk."""

import csv
import fcntl
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from lessonlib.grader import cgroups, sandbox

from .common import ROOT, SOLVED, cells_of
from .test_cohort import _odd_metadata
from .test_grade import _with_cells
from .test_sandbox import _FILL, as_root, needs_sandbox

pytestmark = [needs_sandbox, as_root]

# the driver's peak RSS for the whole cohort, Dask's client included, stays under the bound
# test_grade sets for one flooding notebook (measured here: 54 MB with --jobs, 71 on Dask)
DRIVER_BOUND_KIB = 150 * 1024
TIME_LIMIT, TIMEOUT = 30, 20

# ``python -m lessonlib ARGS...``, then its own peak RSS as the last line of stderr
DRIVER = """
import json, resource, runpy, sys
sys.argv = ["lessonlib", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("lessonlib", run_name="__main__", alter_sys=True)
except SystemExit as stop:
    code = stop.code
print(json.dumps({"rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      file=sys.stderr)
sys.exit(code)
"""

HOSTILE = {
    "forks": ("import subprocess\nheld = []\ntry:\n    for _ in range(200):\n"
              "        held.append(subprocess.Popen(['sleep', '600']))\nexcept OSError:\n"
              "    pass\nprint(len(held))"),
    "fills_tmp": _FILL.format(path="/tmp/fill", hold=0),
    "floods": ("import os\nb = b'x' * (1 << 20)\nfor _ in range(192):\n    os.write(1, b)\n"
               "s = 'y' * (1 << 20)\nfor _ in range(64):\n    print(s)"),
    "daemon": ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
               "        time.sleep(600)\n    os._exit(0)\nos.wait()"),
}


def _cohort(root):
    """Returns ``{learner: its exact grade}`` for the honest ones, ``{learner: its honest
    part}`` for the hostile ones and ``{file: what its error must say}``."""
    honest, hostile, bad = {}, {}, {}
    (root / "ada").mkdir(parents=True)
    (root / "ada" / SOLVED.name).write_bytes(SOLVED.read_bytes())
    honest["ada"] = 8.0
    (root / "ben").mkdir()
    _with_cells(root / "ben", [])                 # 1.1 solved, the rest as handed out
    honest["ben"] = 2.0
    nb = nbformat.read(SOLVED, as_version=4)       # solved but for a wrong 1.2 (1 point)
    cells_of(nb, "exercise")["1.2"].source = (
        "def chance_at_least_one(fraction, n_trials):\n    return -1.0\n")
    (root / "cy").mkdir()
    nbformat.write(nb, root / "cy" / SOLVED.name)
    honest["cy"] = 7.0
    for name, source in HOSTILE.items():          # each on ben's honest part
        (root / name).mkdir()
        _with_cells(root / name, [source])
        hostile[name] = 2.0
    (root / "sleeps").mkdir()                     # cells that outlast --time-limit
    _with_cells(root / "sleeps", ["import time\ntime.sleep(1)"] * (TIME_LIMIT + 10))
    hostile["sleeps"] = 2.0
    path = root / "dee" / SOLVED.name
    _odd_metadata(path, notebook="01_tuning_process")
    bad[path] = "lessonlib entry is a string"
    link = root / "eve" / SOLVED.name
    link.parent.mkdir()
    link.symlink_to(SOLVED)
    bad[link] = "is a symbolic link"
    return honest, hostile, bad


def _ours(name):
    """Whether a ``lessonlib-...`` folder or cgroup named ``name`` is a finished process's."""
    tag = cgroups.owner_of(name.removeprefix(sandbox.TEMP_PREFIX))
    return tag is not None and not cgroups.tag_alive(tag)


def _leftovers():
    """Temporary folders and cgroups of processes that have ended."""
    found = {e for e in Path(tempfile.gettempdir()).iterdir()
             if e.name.startswith(sandbox.TEMP_PREFIX) and _ours(e.name)}
    if (layout := cgroups.parents()) is not None:
        found |= {g for base in layout[1] if base.is_dir() for g in base.iterdir()
                  if g.is_dir() and _ours(g.name)}
    return found


def _slot_processes():
    """The processes of a slot's uid whose slot no run holds (a slot held by another run
    on this machine is that run's business; holding the lock meanwhile, no run starts one)."""
    left = {}
    folder = sandbox._slot_folder()
    for number in range(sandbox.SLOTS):
        with open(folder / f"slot-{number}.lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            if pids := sandbox.processes_of(sandbox.SLOT_UID_BASE + number):
                left[number] = pids
    return left


@pytest.mark.parametrize("how", ["jobs", "dask"])
def test_a_hostile_cohort_is_graded_and_leaves_nothing_behind(tmp_path, how):
    root = tmp_path / "submissions"
    honest, hostile, bad = _cohort(root)
    book = tmp_path / "book.csv"
    before = _leftovers()
    args = ["grade", str(root), "--gradebook", str(book), "--time-limit", str(TIME_LIMIT),
            "--timeout", str(TIMEOUT)]

    def drive(*more):
        # started by a shell that forks it: a process started by this one directly would
        # count, in its peak, the image of this process before its exec
        return subprocess.run(["sh", "-c", '"$0" -c "$@"; exit $?', sys.executable, DRIVER,
                               *args, *more], capture_output=True, text=True, timeout=900,
                              cwd=ROOT)
    if how == "jobs":
        run = drive("--jobs", "2")
    else:
        distributed = pytest.importorskip("dask.distributed")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            run = drive("--scheduler", cluster.scheduler_address)
    assert run.returncode == 2, run.stderr[-3000:]          # graded; some files refused
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad), run.stderr[-3000:]
    for path, why in bad.items():
        assert any(str(path) in e and why in e for e in errors), (path, errors)
    with open(book, newline="", encoding="utf-8") as f:
        totals = {row[0]: float(row[-1]) for row in list(csv.reader(f))[2:]}
    assert set(totals) == set(honest) | set(hostile), totals
    assert {k: totals[k] for k in honest} == honest
    assert all(totals[k] <= part for k, part in hostile.items()), totals
    rss = json.loads(run.stderr.strip().splitlines()[-1])["rss_kib"]
    assert rss < DRIVER_BOUND_KIB, rss
    assert not _slot_processes(), "a submission's processes outlived its grading"
    assert not _leftovers() - before, "a temporary folder or cgroup of the run was left"
