"""Run a submission's notebook in a sandbox: Debian's ``bubblewrap`` (``bwrap``).

What the code inside sees and may do:

- no network (a network namespace of its own, with only loopback, which the kernel and
  nbval need between them);
- a read-only view of what Python needs (the system's ``/usr``, ``/etc``, the interpreter
  and its standard library, the ``lessonlib`` package), and of site-packages only the
  workbook's runtime (``KERNEL_RUNTIME`` and what they require): not the rest of the
  grader's environment (the instructor side, PyTorch, autograd, Dask, pytest), not the
  solved notebooks, not other submissions, not the grader's files;
- an environment of its own: the variables of ``KERNEL_ENV`` and no other of the
  grader's;
- two writable places, the submission's scratch folder and a private ``/tmp``, each a
  tmpfs of bounded size (the scratch folder only when the grader runs as root, which can
  mount it);
- its own process namespace, killed with the process that started it (``bwrap
  --die-with-parent``).

Each submission is a ``Box``, which holds, for as long as the submission runs:

- a slot (``Slot``): a number no concurrent submission on this machine holds, kept by a
  lock file, and with it a uid of its own, ``SLOT_UID_BASE + slot``: as root the code runs
  as that user for real (no user namespace), so the per-user process limit is the
  submission's alone;
- a control group (``grader.cgroups``) where the machine lets the grader write one: the
  memory of all the submission's processes together, the pages they write to its tmpfs
  mounts included, and their number;
- a folder of the grader's for the check channel's sockets (``Box.wire_dir``), which the
  sandbox sees read-only and cannot list.

Without a writable cgroup, the bounds are per process (address space, CPU time, file
size, open files) plus the sizes of the tmpfs mounts and, as root, the per-uid process
limit; ``bounds_report`` says which bounds are in force here. When ``bwrap`` is missing or
cannot start here, ``sandbox_status`` says why; ``grade`` then refuses, unless told
``--no-sandbox``.

What a run that is killed leaves behind (its temporary folders, named
``lessonlib-PID.START-...`` after the process that made them, and its cgroups) the next
one removes (``remove_leftovers``) once that process is gone.
"""

from __future__ import annotations

import ctypes
import fcntl
import importlib.metadata
import os
import re
import resource
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.paths import DATA_DIR_ENV, data_dir
from . import cgroups

MiB = 1024 ** 2
GiB = 1024 ** 3
NOBODY = 65534
# uids 61000 to 61127, one per slot: above systemd-homed's users (60001 to 60513) and below
# systemd's dynamic users (61184 and up), so no other user of a Debian machine has one
SLOT_UID_BASE = 61000
SLOTS = 128


def as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class Limits:
    """A submission's limits: per process, and for the whole submission."""

    memory_bytes: int = 6 * GiB        # address space of each process (numpy needs headroom)
    cpu_seconds: int = 900             # CPU time of each process
    file_bytes: int = 256 * MiB        # largest file it may write
    open_files: int = 1024
    processes: int = 256               # processes and threads of the submission
    total_memory_bytes: int = 2 * GiB  # all its processes and tmpfs pages (with a cgroup)
    tmp_bytes: int = 512 * MiB         # size of its /tmp
    scratch_bytes: int = 512 * MiB     # size of its scratch folder (as root)

    def _limits(self) -> list[tuple[int, str, int]]:
        out = [(resource.RLIMIT_AS, "as", self.memory_bytes),
               (resource.RLIMIT_CPU, "cpu", self.cpu_seconds),
               (resource.RLIMIT_FSIZE, "fsize", self.file_bytes),
               (resource.RLIMIT_NOFILE, "nofile", self.open_files)]
        if as_root():       # the processes of the slot's uid; without root, the grader's own
            out.append((resource.RLIMIT_NPROC, "nproc", self.processes))
        return out

    def prlimit_args(self) -> list[str]:
        """The per-process limits as options of util-linux's ``prlimit`` command."""
        return [f"--{name}={value}" for _, name, value in self._limits()] + ["--"]

    def apply(self) -> None:
        """Set the per-process limits on the current process (between fork and exec)."""
        for which, _, value in self._limits():
            resource.setrlimit(which, (value, value))


# The kernel's environment: these of the grader's variables, if set, and nothing else (a
# token or a password in the grader's environment stays there).
KERNEL_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "TERM",
              "MPLBACKEND", "LESSONLIB_HEADLESS", "PYTHONHASHSEED", "PYTHONIOENCODING",
              "PYTHONUNBUFFERED", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "MKL_NUM_THREADS")


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel send this process SIGTERM when its parent dies (``prctl``'s
    ``PR_SET_PDEATHSIG``; the grading process unwinds on it, stopping its kernel and removing
    its folders). ``parent``: the pid the parent had; if this process has another parent by
    now, the first one died before the signal was asked for, so exit at once."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(1, signal.SIGTERM, 0, 0, 0) != 0:      # 1: PR_SET_PDEATHSIG
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if parent is not None and os.getppid() != parent:
        os._exit(1)


# ------------------------------------------------------------------ leftovers

TEMP_PREFIX = "lessonlib-"


def temp_folder(kind: str) -> tempfile.TemporaryDirectory:
    """A temporary folder named after this process (``lessonlib-PID.START-KIND-...``), so
    that a later run removes it if this one is killed (``remove_leftovers``)."""
    return tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{cgroups.process_tag()}-{kind}-")


def _mounts_below(folder: Path) -> list[Path]:
    """Mount points at or below ``folder``, deepest first."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if point == folder or folder in point.parents:
            found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _unmount(point: Path) -> None:
    subprocess.run(["umount", "--lazy", str(point)], capture_output=True, check=False)


def remove_leftovers() -> list[str]:
    """Remove what killed runs left: temporary folders (with what is mounted in them) and
    cgroups whose process is gone. Returns their names."""
    removed = cgroups.remove_stale()
    tmp = Path(tempfile.gettempdir())
    for entry in tmp.iterdir():
        if not entry.name.startswith(TEMP_PREFIX) or entry.is_symlink():
            continue
        tag = cgroups.owner_of(entry.name[len(TEMP_PREFIX):])
        if tag is None or cgroups.tag_alive(tag):
            continue
        for point in _mounts_below(entry):
            _unmount(point)
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    return removed


_CLEANED: list = []


def remove_leftovers_once() -> None:
    """``remove_leftovers``, the first time it is called in this process."""
    if not _CLEANED:
        _CLEANED.append(remove_leftovers())


# ------------------------------------------------------------------ slots

def _slot_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / f"lessonlib-slots-{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not folder.is_dir() or folder.is_symlink() or info.st_uid != os.geteuid() \
            or info.st_mode & 0o077:
        raise RuntimeError(f"{folder} is not this user's own private folder")
    return folder


def processes_of(uid: int) -> list[int]:
    """The processes whose real uid is ``uid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            line = next((x for x in status.splitlines() if x.startswith("Uid:")), "")
            if line.split()[1:2] == [str(uid)]:
                found.append(int(entry.name))
    return found


def kill_processes_of(uid: int, timeout: float = 10) -> None:
    """SIGKILL every process of ``uid`` until none is left."""
    cgroups.kill_until_gone(lambda: processes_of(uid), timeout)


class Slot:
    """One of ``SLOTS`` numbered places, held by one submission on this machine at a time
    (an exclusive ``flock`` on its lock file, which the kernel releases when the holder
    dies). Its uid is ``SLOT_UID_BASE + number``."""

    def __init__(self, number: int, lock):
        self.number, self._lock = number, lock

    @property
    def uid(self) -> int:
        return SLOT_UID_BASE + self.number

    @classmethod
    def acquire(cls, timeout: float = 3600) -> Slot:
        """The first free slot, waiting up to ``timeout`` seconds for one."""
        folder = _slot_folder()
        end = time.monotonic() + timeout
        while True:
            for number in range(SLOTS):
                lock = open(folder / f"slot-{number}.lock", "a")
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    lock.close()
                    continue
                slot = cls(number, lock)
                if as_root():         # what an earlier holder left running is not ours
                    kill_processes_of(slot.uid)
                return slot
            if time.monotonic() > end:
                raise RuntimeError(f"all {SLOTS} sandbox slots stayed busy")
            time.sleep(0.2)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


# What a submission's kernel imports: lessonlib's notebooks and checks at run time, and the
# kernel. Everything they require comes too; nothing else of site-packages is shown.
KERNEL_RUNTIME = ("numpy", "matplotlib", "ipywidgets", "ipykernel", "tqdm", "threadpoolctl")


def _requirement_names(dist) -> list[str]:
    """The distributions ``dist`` requires here (no extras; markers evaluated)."""
    from packaging.requirements import InvalidRequirement, Requirement
    names = []
    for text in dist.requires or []:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            names.append(req.name)
    return names


def runtime_distributions(names=KERNEL_RUNTIME) -> dict:
    """``{normalized name: Distribution}`` of ``names`` and all they require, installed."""
    found: dict = {}
    todo = list(names)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in found:
            continue
        try:
            found[name] = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue          # an optional requirement that is not installed
        todo += _requirement_names(found[name])
    return found


def runtime_entries(site_dir: Path) -> list[Path]:
    """The files and folders directly in ``site_dir`` that the runtime distributions own."""
    site_dir = Path(site_dir).resolve()
    entries = set()
    for dist in runtime_distributions().values():
        # each top-level name once (a distribution lists thousands of files under a few)
        for top in {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] != ".."}:
            path = Path(dist.locate_file(top)).resolve()
            if path.parent == site_dir and path.exists():
                entries.add(path)
    return sorted(entries)


def _site_dirs() -> list[Path]:
    dirs = {Path(p) for p in site.getsitepackages() + [site.getusersitepackages()]}
    dirs |= {Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    return sorted(d.resolve() for d in dirs if d.exists())


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def package_folder() -> Path:
    """The folder of the ``lessonlib`` package itself."""
    return Path(__file__).resolve().parents[1]


def _readable_roots() -> list[Path]:
    """What Python, numpy and Jupyter need to read (lessonlib is mounted apart)."""
    roots = {Path(p) for p in ("/usr", "/etc", "/opt")}
    roots |= {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    roots.add(Path(sysconfig.get_paths()["stdlib"]))
    roots.add(data_dir().resolve())
    roots.add(Path(sys.executable).resolve().parent)
    return sorted(r for r in roots if r.exists())


def sandbox_command(cmd: list[str], scratch: Path, *, package: Path | None = None,
                    uid: int = NOBODY, env: dict | None = None, wire: Path | None = None,
                    limits: Limits = Limits()) -> list[str]:
    """``cmd`` wrapped in ``bwrap``, with ``scratch`` as the only writable folder (also the
    working directory and ``HOME``) and a private ``/tmp`` of ``limits.tmp_bytes``. Each
    site-packages folder shows only the runtime's entries (``runtime_entries``), and
    ``lessonlib``: ``package`` (default: the real one), read-only, in the first of them, as
    an installed package. As root the code runs as ``uid``. Of ``env`` (default: this
    process's environment) only the variables in ``KERNEL_ENV`` reach it; ``wire``, a
    folder of the grader's, is shown read-only at its own path."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    scratch = Path(scratch).resolve()
    env = os.environ if env is None else env
    if as_root():       # become the slot's user for real, so that its process limit holds
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                      "--unshare-cgroup-try"]
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
               "--no-new-privs", "--", *cmd]
    else:               # an unprivileged user: a user namespace, nobody inside it
        namespaces = ["--unshare-all", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    args = [bwrap, "--die-with-parent", "--new-session", *namespaces,
            "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    for link in ("/bin", "/lib", "/lib64", "/sbin"):        # merged-/usr symlinks
        p = Path(link)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), link]
        elif p.exists():
            args += ["--ro-bind", link, link]
    roots = _readable_roots()
    sites = _site_dirs()
    shown = sites[0] / "lessonlib"
    wire = None if wire is None else Path(wire).resolve()
    # the folders above each mount, traversable by the code (bwrap copies /root's 0700)
    above = {a for r in [*roots, shown, scratch, *filter(None, [wire])] for a in r.parents
             if a not in (Path("/"), Path("/tmp"))}
    for folder in sorted(above, key=lambda a: len(a.parts)):
        args += ["--perms", "0755", "--dir", str(folder)]
    for root in roots:
        args += ["--ro-bind", str(root), str(root)]
    for site_dir in sites:        # over what the roots showed of it: the runtime alone
        args += ["--perms", "0755", "--tmpfs", str(site_dir)]
        for entry in runtime_entries(site_dir):
            args += ["--ro-bind", str(entry), str(entry)]
    args += ["--ro-bind", str(Path(package or package_folder()).resolve()), str(shown)]
    if wire is not None:
        args += ["--ro-bind", str(wire), str(wire)]
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch), "--clearenv"]
    for name in KERNEL_ENV:
        if name in env:
            args += ["--setenv", name, env[name]]
    args += ["--setenv", "HOME", str(scratch), "--setenv", "TMPDIR", "/tmp",
             "--setenv", "JUPYTER_RUNTIME_DIR", str(scratch / ".jupyter-runtime"),
             "--setenv", "IPYTHONDIR", str(scratch / ".ipython"),
             "--setenv", "MPLCONFIGDIR", str(scratch / ".matplotlib"),
             "--setenv", DATA_DIR_ENV, str(data_dir().resolve()),
             "--"]
    return args + list(cmd)


def prepare_scratch(scratch: Path, uid: int = NOBODY) -> None:
    """Make ``scratch`` (and what is in it) the sandboxed code's own: as root, it runs as
    ``uid``."""
    if as_root():
        for path in [Path(scratch), *Path(scratch).rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)


class Box:
    """One submission's sandbox, from ``open`` to ``close`` (or as a context manager): a
    ``Slot`` and its uid, a cgroup where one can be made, ``scratch`` as a tmpfs of
    ``limits.scratch_bytes`` (as root; what it held when opened is kept, and with ``keep``
    what it holds when closed), and ``wire_dir`` for the grader's sockets. ``command``
    wraps a command to run in it; ``close`` kills whatever still runs there."""

    def __init__(self, scratch: Path, limits: Limits = Limits(), *, keep: bool = False):
        self.scratch = Path(scratch).resolve()
        self.limits, self.keep = limits, keep
        self.slot: Slot | None = None
        self.group: cgroups.Group | None = None
        self.mounted = False
        self._folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Box:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def uid(self) -> int:
        return self.slot.uid if self.slot is not None and as_root() else NOBODY

    @property
    def wire_dir(self) -> Path:
        return Path(self._folder.name) / "wire"

    def open(self) -> Box:
        remove_leftovers_once()
        try:
            self.slot = Slot.acquire()
            self.group = cgroups.Group.create(
                f"slot{self.slot.number}", memory_bytes=self.limits.total_memory_bytes,
                processes=self.limits.processes)
            self._folder = temp_folder("box")
            # the sandbox may pass through (to its sockets), not list, not write
            self.wire_dir.mkdir(mode=0o711)
            os.chmod(self.wire_dir, 0o711)
            if as_root():
                self._mount_scratch()
            prepare_scratch(self.scratch, self.uid)
        except BaseException:
            self.close()
            raise
        return self

    def _mount_scratch(self) -> None:
        held = [p for p in self.scratch.iterdir()]
        saved = None
        if held:            # what the caller put there goes into the tmpfs
            saved = Path(self._folder.name) / "held"
            saved.mkdir()
            for p in held:
                shutil.move(str(p), saved / p.name)
        subprocess.run(["mount", "-t", "tmpfs", "-o",
                        f"size={self.limits.scratch_bytes},mode=0700,nosuid,nodev",
                        "lessonlib-scratch", str(self.scratch)], check=True,
                       capture_output=True)
        self.mounted = True
        if saved is not None:
            for p in saved.iterdir():
                shutil.move(str(p), self.scratch / p.name)

    def command(self, cmd: list[str], *, env: dict | None = None,
                package: Path | None = None) -> list[str]:
        """``cmd`` run in this box: under the per-process limits, in the cgroup, in the
        sandbox as the slot's uid."""
        inner = sandbox_command(cmd, self.scratch, package=package, uid=self.uid, env=env,
                                wire=self.wire_dir, limits=self.limits)
        if self.group is not None:
            inner = self.group.enter_command(inner)
        return ["prlimit", *self.limits.prlimit_args(), *inner]

    def prepare(self) -> None:
        """Give what the grader wrote into the scratch folder to the slot's user."""
        prepare_scratch(self.scratch, self.uid)

    def bounds(self) -> str:
        """Which bounds hold for this box (``bounds_report``'s words)."""
        return _describe_bounds(self.group.layout if self.group is not None else None)

    def close(self) -> None:
        """Kill what still runs in the box, unmount and remove its folders, free its
        slot."""
        if self.group is not None:
            self.group.remove()
            self.group = None
        elif self.slot is not None and as_root():
            kill_processes_of(self.slot.uid)
        if self.mounted:
            kept = None
            if self.keep:
                kept = Path(self._folder.name) / "kept"
                shutil.copytree(self.scratch, kept, symlinks=True)
            _unmount(self.scratch)
            self.mounted = False
            if kept is not None:
                for p in kept.iterdir():
                    shutil.move(str(p), self.scratch / p.name)
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        if self.slot is not None:
            self.slot.release()
            self.slot = None


def run_sandboxed(cmd: list[str], scratch: Path, *, env: dict, timeout: float,
                  limits: Limits = Limits(), package: Path | None = None
                  ) -> subprocess.CompletedProcess:
    """Run ``cmd`` in a ``Box`` of its own; like ``subprocess.run(..., capture_output=True)``.
    What it leaves in ``scratch`` stays there."""
    with Box(scratch, limits, keep=True) as box:
        return subprocess.run(box.command(cmd, env=env, package=package), cwd=scratch,
                              capture_output=True, text=True, timeout=timeout)


def _describe_bounds(layout: str | None) -> str:
    if layout is not None:
        what = ("memory.limit_in_bytes and pids.max" if layout == "v1"
                else "memory.max and pids.max")
        return (f"each submission has a cgroup ({layout}: {what}): its processes' total "
                "memory, tmpfs pages included, and their number")
    fallback = ("no cgroup is writable here: each process's memory, the size of the /tmp "
                "and scratch tmpfs mounts")
    if as_root():
        return fallback + ", and the number of processes of the submission's own uid"
    return fallback + " (/tmp only: scratch is a plain folder without root), no bound " \
        "on the number of processes per submission and no uid of its own"


def bounds_report() -> str:
    """Which resource bounds each submission gets on this machine, in a sentence."""
    return _describe_bounds(layout[0] if (layout := cgroups.parents()) else None)


_STATUS: dict = {}


def sandbox_status() -> str | None:
    """``None`` when the sandbox works here, else why not (checked once per process).
    ``bounds_report`` says which bounds it then has."""
    if "status" not in _STATUS:
        if bwrap_path() is None:
            _STATUS["status"] = ("bubblewrap (bwrap) is not installed (Debian: apt-get "
                                 "install bubblewrap)")
        else:
            with temp_folder("sandbox") as tmp:
                try:
                    proc = run_sandboxed([sys.executable, "-c", "print('ok')"], Path(tmp),
                                         env=dict(os.environ), timeout=60)
                    ok = proc.returncode == 0 and proc.stdout.strip() == "ok"
                    reason = " ".join(proc.stderr.split())[:200]
                except (OSError, subprocess.SubprocessError, RuntimeError) as err:
                    ok, reason = False, str(err)
            _STATUS["status"] = None if ok else f"bubblewrap cannot start here: {reason}"
    return _STATUS["status"]
