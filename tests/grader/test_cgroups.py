"""lessonlib.grader.cgroups: a group bounds the memory and the number of all the processes
in it, whatever they fork; removing it kills them; a killed run's groups are removed by
the next one."""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lessonlib.grader import cgroups

pytestmark = pytest.mark.skipif(cgroups.parents() is None,
                                reason="no cgroup with memory and pids is writable here")
MiB = 1024 ** 2


@pytest.fixture
def group():
    made = []

    def make(memory_bytes=256 * MiB, processes=64):
        g = cgroups.Group.create("test", memory_bytes=memory_bytes, processes=processes)
        assert g is not None
        made.append(g)
        return g
    yield make
    for g in made:
        g.remove()


def _gone(pid):
    """Whether ``pid`` has ended (exited, or a zombie waiting for its parent)."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def _python(code):
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_the_memory_of_forked_children_adds_up_to_the_groups_limit(group):
    # four children of 40 MiB each: no process is large, together they pass 96 MiB
    g = group(memory_bytes=96 * MiB)
    proc = subprocess.run(g.enter_command(_python("""
        import os, time

        def child(hold):   # a child that touches 40 MiB, keeps it hold seconds, exits
            pid = os.fork()
            if pid == 0:
                block = bytearray(40 * 1024 ** 2)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                time.sleep(hold)
                os._exit(0)
            return pid
        for _ in range(4):
            os.waitpid(child(0), 0)   # one at a time: each alone fits
        held = [child(5) for _ in range(4)]   # now all at once
        codes = [os.waitpid(p, 0)[1] for p in held]
        print("killed", sum(os.WIFSIGNALED(c) for c in codes))
        """)), capture_output=True, text=True, timeout=120)
    killed = int(proc.stdout.split("killed")[-1]) if "killed" in proc.stdout else None
    # either a child was killed, or the parent itself was (the kernel picks the largest)
    assert proc.returncode != 0 or (killed is not None and killed >= 1), proc.stdout
    assert g.peak_memory() is None or g.peak_memory() <= 96 * MiB


def test_the_groups_process_limit_counts_every_fork(group):
    g = group(processes=30)
    proc = subprocess.run(g.enter_command(_python("""
        import subprocess
        kids = []
        try:
            for _ in range(200):
                kids.append(subprocess.Popen(["sleep", "30"]))
        except OSError:
            pass
        print(len(kids))
        for k in kids:
            k.kill()
        """)), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) < 30


def test_removing_a_group_kills_what_runs_in_it_and_removes_its_folders(group):
    g = group()
    # a daemon that leaves its parent: still in the group
    subprocess.run(g.enter_command(["sh", "-c", "sleep 300 >/dev/null 2>&1 &"]), timeout=30)
    assert g.pids(), "the daemon should still run in the group"
    pids = g.pids()
    g.remove()
    assert not any(f.exists() for f in g.folders)
    time.sleep(0.1)
    assert all(_gone(pid) for pid in pids)


def test_the_groups_of_a_killed_run_are_removed_by_the_next(tmp_path):
    # a run that makes a group, starts a daemon in it and is then killed
    driver = subprocess.Popen(_python("""
        import subprocess, sys, time
        from lessonlib.grader import cgroups
        g = cgroups.Group.create("killed", memory_bytes=256 * 1024 ** 2, processes=16)
        subprocess.run(g.enter_command(["sh", "-c", "sleep 300 >/dev/null 2>&1 &"]))
        print(*g.folders, flush=True)
        time.sleep(300)
        """), stdout=subprocess.PIPE, text=True)
    folders = [Path(f) for f in driver.stdout.readline().split()]
    assert folders and all(f.is_dir() for f in folders)
    daemon = next(iter(cgroups.Group("v1" if len(folders) == 2 else "v2", folders).pids()))
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert all(f.is_dir() for f in folders), "nothing removed them yet"
    removed = cgroups.remove_stale()
    assert folders[0].name in removed
    assert not any(f.exists() for f in folders)
    time.sleep(0.1)
    assert _gone(daemon)


def test_a_live_runs_groups_are_left_alone(group):
    g = group()
    cgroups.remove_stale()
    assert all(f.is_dir() for f in g.folders)
