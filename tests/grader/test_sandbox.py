"""lessonlib.grader.sandbox: a submission's code sees no network, no solved notebook, no
other submission, and writes only into its scratch folder; grade refuses without it."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from lessonlib.grader import cgroups, grade, sandbox
from lessonlib.grader.kernel import KernelSession
from lessonlib.grader.notebook_files import NotebookError

from .common import LEARNER, NO_SANDBOX, ROOT, SANDBOXED, SOLVED

needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason=f"no sandbox here: {NO_SANDBOX}")


def _run(tmp_path, code):
    return _run_with(tmp_path, code, sandbox.Limits())


def _run_with(tmp_path, code, limits):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = sandbox.run_sandboxed([sys.executable, "-c", textwrap.dedent(code)], scratch,
                                 env=dict(os.environ), timeout=120, limits=limits)
    return proc, scratch


@needs_sandbox
def test_the_sandbox_runs_numpy_and_lessonlib_and_writes_its_scratch_folder(tmp_path):
    proc, scratch = _run(tmp_path, """
        import numpy as np
        from lessonlib.core.data import load_digits
        print(load_digits().train.X.shape[0], float(np.ones(3).sum()))
        open("result.txt", "w").write("ok")
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["64", "3.0"]
    assert (scratch / "result.txt").read_text() == "ok"


@needs_sandbox
@pytest.mark.parametrize("what, code", [
    ("the solved notebooks", "open({solved!r}).read()"),
    ("the question keys", "import lessonlib_instructor.questions"),
    ("the derived answers", "from lessonlib_instructor.answers import softmax_backward"),
    ("the question keys' file", "open({keys!r}).read()"),
    ("a package of the grader's, not the runtime's", "import pytest"),
    ("PyTorch, which computes softmax and its gradients", "import torch"),
    ("automatic differentiation", "import autograd"),
    ("the tests", "import os; os.listdir({tests!r})"),
    ("another submission", "open({other!r}).read()"),
    ("writing into lessonlib", "open({package!r} + '/forged.py', 'w')"),
    ("the network", "import socket; socket.create_connection(('151.101.0.223', 443), 3)"),
    ("a name lookup", "import socket; socket.getaddrinfo('pypi.org', 443)"),
])
def test_an_attack_from_inside_fails(tmp_path, what, code):
    other = tmp_path / "other-learner.ipynb"
    other.write_text("{}")
    code = code.format(solved=str(ROOT / "instructor" / "solutions" / LEARNER.name),
                       tests=str(ROOT / "tests"), other=str(other),
                       package=str(ROOT / "lessonlib"),
                       keys=str(ROOT / "instructor" / "lessonlib_instructor" / "questions.py"))
    proc, _ = _run(tmp_path, code)
    assert proc.returncode != 0, f"{what} was reachable"
    assert "Traceback" in proc.stderr
    assert not (ROOT / "lessonlib" / "forged.py").exists()


def test_the_runtime_is_the_kernels_and_the_notebooks_requirements_and_no_more():
    names = set(sandbox.runtime_distributions())
    assert {"numpy", "matplotlib", "ipywidgets", "ipykernel", "traitlets", "pyzmq"} <= names
    assert not names & {"pytest", "nbval", "nbclient", "torch", "autograd", "dask",
                        "lessonlib-instructor", "import-linter", "jupyterlab"}


@needs_sandbox
def test_writes_outside_the_scratch_folder_never_reach_the_machine(tmp_path):
    targets = [tmp_path / "outside.txt", ROOT / "forged.txt", ROOT / "data" / "forged.txt"]
    code = "\n".join(f"""
        try:
            open({str(t)!r}, "w").write("forged")
        except OSError:
            pass""" for t in targets)
    proc, _ = _run(tmp_path, code)
    assert proc.returncode == 0, proc.stderr
    assert not any(t.exists() for t in targets)


@needs_sandbox
def test_memory_is_limited(tmp_path):
    proc, _ = _run(tmp_path, "x = bytearray(8 * 1024 ** 3)")
    assert proc.returncode != 0 and "MemoryError" in proc.stderr


def test_grade_refuses_without_a_sandbox_unless_told(monkeypatch):
    monkeypatch.setitem(sandbox._STATUS, "status", "bubblewrap (bwrap) is not installed")
    graded = grade.prepare(LEARNER)
    with pytest.raises(NotebookError, match="not graded, no sandbox: bubblewrap .* "
                                            "pass --no-sandbox"):
        grade.execute(graded)


as_root = pytest.mark.skipif(not sandbox.as_root(),
                             reason="a uid per submission needs the grader to run as root")


@needs_sandbox
@as_root
def test_processes_are_limited_and_run_as_the_slots_own_user(tmp_path):
    proc, _ = _run(tmp_path, """
        import os, subprocess
        print(os.getuid())
        children = []
        try:
            for _ in range(2000):
                children.append(subprocess.Popen(["sleep", "30"]))
        except OSError:
            print("refused after", len(children))
        for c in children:
            c.kill()
        """)
    uid = int(proc.stdout.splitlines()[0])
    assert sandbox.SLOT_UID_BASE <= uid < sandbox.SLOT_UID_BASE + sandbox.SLOTS
    assert uid != sandbox.NOBODY
    refused = int(proc.stdout.split("refused after")[1])
    assert refused < sandbox.Limits().processes


def _hold_processes(tmp_path):
    """A hostile submission beside the others: it starts sleeping processes until it is
    refused and keeps them. Returns its box, its process and the line it printed."""
    scratch = tmp_path / "hostile"
    scratch.mkdir()
    box = sandbox.Box(scratch).open()
    code = textwrap.dedent("""
        import os, subprocess, time
        children = []
        try:
            for _ in range(2000):
                children.append(subprocess.Popen(["sleep", "300"]))
        except OSError:
            pass
        print(os.getuid(), len(children), flush=True)
        time.sleep(300)
        """)
    proc = subprocess.Popen(box.command([sys.executable, "-c", code]), cwd=scratch,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return box, proc, proc.stdout.readline().split()


@needs_sandbox
@as_root
def test_a_submission_that_holds_hundreds_of_processes_leaves_the_others_their_budget(
        tmp_path):
    box, proc, (uid, held) = _hold_processes(tmp_path)
    try:
        assert int(held) > 150, "the hostile submission should have started a few hundred"
        neighbour, _ = _run(tmp_path, """
            import os, subprocess
            import numpy as np
            children = [subprocess.Popen(["sleep", "30"]) for _ in range(100)]
            for c in children:
                c.kill()
            print(os.getuid(), len(children), float(np.ones(4).sum()))
            """)
        assert neighbour.returncode == 0, neighbour.stderr
        their_uid, started, total = neighbour.stdout.split()
        assert their_uid != uid and (started, total) == ("100", "4.0")
        # and an honest submission graded beside it gets its full grade
        solved = grade.grade_notebook(SOLVED, timeout=60)
        assert solved.score == solved.max_score, grade.format_report(solved)
    finally:
        proc.kill()
        box.close()
    assert not sandbox.processes_of(int(uid)), "closing the box kills what it held"


def _meminfo(field):
    for line in open("/proc/meminfo"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


_FILL = """
    import sys, time
    chunk, written = b"x" * (16 * 1024 ** 2), 0
    try:
        while written < 1024 ** 3:         # files of 128 MiB, each under the file limit
            with open({path!r} + str(written // (128 * 1024 ** 2)), "ab") as f:
                f.write(chunk)
            written += len(chunk)
            print(written, flush=True)
    except OSError as err:
        print("stopped", type(err).__name__, flush=True)
    print("holding", flush=True)
    time.sleep({hold})
    """


@needs_sandbox
def test_writing_a_gigabyte_to_tmp_stops_at_its_size_and_the_host_keeps_its_memory(
        tmp_path):
    limits = sandbox.Limits()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = _meminfo("Shmem")
    with sandbox.Box(scratch) as box:
        proc = subprocess.Popen(
            box.command([sys.executable, "-c", textwrap.dedent(
                _FILL.format(path="/tmp/fill", hold=30))]),
            cwd=scratch, stdout=subprocess.PIPE, text=True)
        lines = []
        while (line := proc.stdout.readline()) and line.strip() != "holding":
            lines.append(line.strip())
        during = _meminfo("Shmem")      # tmpfs pages, while the sandbox holds them
        proc.kill()
        proc.wait()
    written = max([int(x) for x in lines if x.isdigit()] or [0])
    assert lines[-1].startswith("stopped OSError"), lines[-3:]
    assert limits.tmp_bytes - 32 * sandbox.MiB <= written <= limits.tmp_bytes
    assert during - before < limits.tmp_bytes + 128 * sandbox.MiB < sandbox.GiB


@needs_sandbox
@pytest.mark.skipif(sandbox.cgroups.parents() is None, reason="no writable cgroup here")
def test_the_submissions_memory_counts_what_it_writes_to_tmp(tmp_path):
    # a /tmp larger than the memory allowed: the cgroup stops the writer, not the tmpfs
    limits = sandbox.Limits(total_memory_bytes=160 * sandbox.MiB, tmp_bytes=sandbox.GiB)
    proc, _ = _run_with(tmp_path, _FILL.format(path="/tmp/fill", hold=0), limits)
    written = max([int(x) for x in proc.stdout.split() if x.isdigit()] or [0])
    assert "holding" not in proc.stdout, "the writer should have been killed"
    assert written <= 160 * sandbox.MiB


@needs_sandbox
@as_root
def test_the_scratch_folder_is_bounded_too(tmp_path):
    limits = sandbox.Limits(scratch_bytes=64 * sandbox.MiB)
    proc, scratch = _run_with(tmp_path, _FILL.format(path="fill", hold=0), limits)
    assert "stopped OSError" in proc.stdout
    assert sum(f.stat().st_size for f in scratch.glob("fill*")) <= 64 * sandbox.MiB
    assert not sandbox._mounts_below(scratch), "the tmpfs is unmounted with its box"


@needs_sandbox
def test_the_kernel_sees_none_of_the_graders_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_API_TOKEN", "s3cret-token")
    proc, _ = _run(tmp_path, """
        import os
        print(sorted(os.environ))
        print("s3cret" in repr(dict(os.environ)), "s3cret" in open("/proc/self/environ").read())
        """)
    assert proc.returncode == 0, proc.stderr
    names, leaked = proc.stdout.splitlines()
    assert "GRADER_API_TOKEN" not in names and leaked == "False False"
    assert set(eval(names)) <= set(sandbox.KERNEL_ENV) | {
        "HOME", "TMPDIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR",
        "LESSONLIB_DATA_DIR", "PWD", "_", "SHLVL", "LC_CTYPE"}


@needs_sandbox
def test_a_kernel_started_for_grading_does_not_see_them_either(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_API_TOKEN", "s3cret-token")
    with KernelSession(tmp_path, sandboxed=True, env=dict(os.environ)) as k:
        out = k.run("import os\nprint(os.environ.get('GRADER_API_TOKEN'))", 60)
    assert out.stdout.strip() == "None", out


@needs_sandbox
def test_the_sockets_folder_cannot_be_listed_written_or_swapped_from_inside(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with sandbox.Box(scratch) as box:
        assert box.wire_dir.resolve() not in [scratch, *scratch.parents]
        assert scratch not in box.wire_dir.parents
        code = textwrap.dedent(f"""
            import os
            wire = {str(box.wire_dir)!r}
            for attack in (lambda: os.listdir(wire),
                           lambda: open(wire + "/.wire-x", "w"),
                           lambda: os.symlink("/etc/passwd", wire + "/.wire-y"),
                           lambda: os.rename(wire, {str(scratch / "moved")!r}),
                           lambda: os.chmod(wire, 0o777)):
                try:
                    attack()
                    print("allowed")
                except OSError as err:
                    print(type(err).__name__)
            """)
        proc = subprocess.run(box.command([sys.executable, "-c", code]), cwd=scratch,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "allowed" not in proc.stdout and len(proc.stdout.split()) == 5
        assert not list(box.wire_dir.iterdir())


def _descendants(pid):
    """The processes below ``pid``."""
    children: dict = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(open(entry / "stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


@needs_sandbox
def test_a_killed_driver_takes_its_kernel_with_it_and_the_next_run_cleans_up(tmp_path):
    # a submission whose added cell sleeps, graded by a driver that is then killed
    nb = nbformat.read(LEARNER, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    path = tmp_path / LEARNER.name
    nbformat.write(nb, path)
    driver = subprocess.Popen([sys.executable, "-m", "lessonlib", "grade", str(path),
                               "--timeout", "600"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: set = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen |= _descendants(driver.pid)
        if any("ipykernel_launcher" in open(f"/proc/{p}/cmdline").read()
               for p in seen if _running(p)):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the kernel never started")
    time.sleep(2)                           # well into the sleeping cell
    seen |= _descendants(driver.pid)
    tags = {cgroups.process_tag(p) for p in [driver.pid, *seen] if _running(p)}
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    end = time.monotonic() + 15
    while any(_running(p) for p in seen) and time.monotonic() < end:
        time.sleep(0.1)
    assert not [p for p in seen if _running(p)], "something the driver started still runs"
    left = [e for e in Path(tempfile.gettempdir()).iterdir()
            if cgroups.owner_of(e.name.removeprefix("lessonlib-")) in tags]
    assert left, "the killed run should have left its folders (else this shows nothing)"
    removed = sandbox.remove_leftovers()
    assert {e.name for e in left} <= set(removed)
    assert not any(e.exists() for e in left)
    layout = cgroups.parents()
    if layout is not None:
        assert not [g for base in layout[1] if base.is_dir() for g in base.iterdir()
                    if cgroups.owner_of(g.name) in tags]


def test_a_grading_process_whose_driver_died_before_it_started_ends_at_once(tmp_path):
    # the driver named as its parent is gone by the time it asks to die with it
    results = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "lessonlib.grader.trusted",
                           str(tmp_path / "graded.ipynb"), "--scratch", str(tmp_path),
                           "--results", str(results), "--parent", str(os.getpid() + 10 ** 6)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and not proc.stderr and not results.exists()
