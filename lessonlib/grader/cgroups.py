"""A control group per submission: the total memory of all its processes (the pages they
write to a tmpfs included) and their number, counted together whatever they fork.

Linux has two layouts. cgroup v1 mounts one hierarchy per controller: a group is a folder
under ``memory/`` (``memory.limit_in_bytes``) and one under ``pids/`` (``pids.max``).
cgroup v2 has one hierarchy: a group is one folder with ``memory.max`` and ``pids.max``.
``Group.create`` uses whichever is writable here (root can write either) and returns
``None`` when neither is: the sandbox then falls back to its other bounds
(``grader.sandbox``, "bounds_report").

A process joins a group by writing its own pid to the group's ``cgroup.procs`` before it
starts the submission's code (``Group.enter_command``), so that everything it forks is in
the group from the start. Each group's folder is named after the process that made it
(``process_tag``), so that a later run removes the groups of a run that was killed
(``remove_stale``).
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "lessonlib"          # the folder that holds our groups, in each hierarchy


# ------------------------------------------------------------------ whose is what

def kill_until_gone(find_pids, timeout: float = 10, each_pass=None) -> None:
    """SIGKILL the processes ``find_pids()`` lists, pass after pass, until it lists none or
    ``timeout`` seconds have gone (a process that forks while it is being killed is found on
    the next pass); ``each_pass(pids)`` runs first on every pass."""
    end = time.monotonic() + timeout
    while (pids := find_pids()) and time.monotonic() < end:
        if each_pass is not None:
            each_pass(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or ``None`` when it has
    ended (a zombie has too). With the pid it names one process, whatever pid is reused
    later."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def process_tag(pid: int | None = None) -> str:
    """``PID.START`` of this process (or ``pid``): what our folders are named after."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{_start_time(pid)}"


def tag_alive(tag: str) -> bool:
    """Whether the process that ``process_tag`` named ``tag`` still runs."""
    pid, _, start = tag.partition(".")
    return pid.isdigit() and _start_time(int(pid)) == start


def owner_of(name: str) -> str | None:
    """The process tag a folder name of ours starts with (``PID.START-...``), or ``None``."""
    tag = name.split("-", 1)[0]
    pid, dot, start = tag.partition(".")
    return tag if dot and pid.isdigit() and start.isdigit() else None


# ------------------------------------------------------------------ the hierarchy here

def _own_path(controller: str) -> str:
    """This process's group in the v1 hierarchy of ``controller`` ("/" when unknown)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    return "/"


def parents() -> tuple[str, list[Path]] | None:
    """``(layout, folders)``: where our groups go, one folder per hierarchy, or ``None``
    when no layout with both a memory and a pids controller is writable here.

    v1: below this process's own groups, so that whatever bounds the grader bounds its
    submissions too. v2: at the top, because a v2 group that holds processes (the
    grader's own) cannot hand controllers to groups below it."""
    v1 = [ROOT / c for c in ("memory", "pids")]
    if all((d / "cgroup.procs").exists() for d in v1):
        folders = [d / _own_path(d.name).lstrip("/") / PARENT for d in v1]
        if all(_writable_parent(f) for f in folders):
            return "v1", folders
    controllers = ROOT / "cgroup.controllers"
    if controllers.exists() and {"memory", "pids"} <= set(controllers.read_text().split()):
        folder = ROOT / PARENT
        if _writable_parent(folder):
            return "v2", [folder]
    return None


def _writable_parent(folder: Path) -> bool:
    base = folder if folder.exists() else folder.parent
    return base.is_dir() and os.access(base, os.W_OK)


def _make_parent(layout: str, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    if layout == "v2":          # let the groups below use memory and pids
        for f in (ROOT / "cgroup.subtree_control", folder / "cgroup.subtree_control"):
            f.write_text("+memory +pids")


# ------------------------------------------------------------------ one group

class Group:
    """One submission's group: ``folders`` (one per hierarchy) of the ``layout``."""

    def __init__(self, layout: str, folders: list[Path]):
        self.layout, self.folders = layout, folders

    @classmethod
    def create(cls, label: str, *, memory_bytes: int, processes: int) -> Group | None:
        """A new group, named after this process and ``label``, whose processes together
        use at most ``memory_bytes`` (tmpfs pages included) and number at most
        ``processes``; ``None`` when no cgroup is writable here."""
        found = parents()
        if found is None:
            return None
        layout, bases = found
        name = f"{process_tag()}-{label}-{secrets.token_hex(3)}"
        group = cls(layout, [base / name for base in bases])
        try:
            for base in bases:
                _make_parent(layout, base)
            for folder in group.folders:
                folder.mkdir()
            group._limit(memory_bytes, processes)
        except OSError:
            group.remove()
            return None
        return group

    def _file(self, name: str) -> Path:
        """The file ``name`` of the group: in v1, in the folder of its controller (the
        folders are memory's, then pids')."""
        if self.layout == "v2":
            return self.folders[0] / name
        return self.folders[{"memory": 0, "pids": 1}[name.split(".", 1)[0]]] / name

    def _limit(self, memory_bytes: int, processes: int) -> None:
        if self.layout == "v1":
            self._file("memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = self._file("memory.memsw.limit_in_bytes")
            if swap.exists():                    # memory plus swap, where swap is counted
                swap.write_text(str(memory_bytes))
        else:
            self._file("memory.max").write_text(str(memory_bytes))
            self._file("memory.swap.max").write_text("0")
        self._file("pids.max").write_text(str(processes))

    def procs_files(self) -> list[Path]:
        return [f / "cgroup.procs" for f in self.folders]

    def enter_command(self, cmd: list[str]) -> list[str]:
        """``cmd`` run by a shell that first moves itself into this group (it must be
        started by root, or by the group's owner)."""
        files = [str(f) for f in self.procs_files()]
        script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; '
                  'shift; n=$((n - 1)); done; exec "$@"')
        return ["sh", "-c", script, "sh", str(len(files)), *files, *cmd]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for f in self.procs_files():
            try:
                found |= {int(p) for p in f.read_text().split()}
            except OSError:
                pass
        return found

    def peak_memory(self) -> int | None:
        """The most memory the group's processes used at once (bytes), where known."""
        name = "memory.max_usage_in_bytes" if self.layout == "v1" else "memory.peak"
        try:
            return int(self._file(name).read_text())
        except (OSError, ValueError):
            return None

    def kill(self, timeout: float = 10) -> None:
        """SIGKILL every process in the group until none is left (a process that forks
        while it is being killed is found on the next pass)."""
        kill_file = self._file("cgroup.kill") if self.layout == "v2" else None

        def kill_all(pids):
            if kill_file is not None and kill_file.exists():
                kill_file.write_text("1")
        kill_until_gone(self.pids, timeout, kill_all)

    def remove(self, timeout: float = 10) -> None:
        """Kill what runs in the group and remove its folders."""
        self.kill(timeout)
        end = time.monotonic() + timeout
        for folder in reversed(self.folders):
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as err:     # EBUSY while the last exits are reaped
                    if err.errno != errno.EBUSY or time.monotonic() > end:
                        raise
                    time.sleep(0.02)


def remove_stale() -> list[str]:
    """Remove the groups whose creating process is gone (a killed run's), killing what
    still runs in them. Returns their names."""
    found = parents()
    if found is None:
        return []
    layout, bases = found
    stale = sorted({d.name for base in bases if base.is_dir() for d in base.iterdir()
                    if d.is_dir() and (tag := owner_of(d.name)) and not tag_alive(tag)})
    for name in stale:
        try:
            Group(layout, [base / name for base in bases]).remove()
        except OSError:
            pass
    return stale
