"""Run a submission's notebook in a sandbox: Debian's ``bubblewrap`` (``bwrap``).

What the code inside sees and may do:

- no network (a network namespace of its own, with only loopback, which the kernel and
  nbval need between them);
- a read-only view of what Python needs (the system's ``/usr``, ``/etc``, the interpreter
  and its standard library, the ``lessonlib`` package), and of site-packages only the
  workbook's runtime (``KERNEL_RUNTIME`` and what they require): not the rest of the
  grader's environment (the instructor side, PyTorch, autograd, Dask, pytest), not the
  solved notebooks, not other submissions, not the grader's files;
- one writable folder, the submission's private scratch folder, plus a private ``/tmp``;
- its own process namespace, killed with the grader; limits on memory (address space per
  process), CPU time, file size and the number of open files, and, when the grader runs as
  root, the number of processes: the code then runs as the user ``nobody`` for real (no
  user namespace), whose processes the kernel counts.

When ``bwrap`` is missing or cannot start here, ``sandbox_status`` says why; ``grade``
then refuses, unless told ``--no-sandbox``.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import resource
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ..core.paths import DATA_DIR_ENV, data_dir

GiB = 1024 ** 3
NOBODY = 65534


def as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class Limits:
    """Per-process limits inside the sandbox."""

    memory_bytes: int = 6 * GiB       # address space of each process (numpy needs headroom)
    cpu_seconds: int = 900            # CPU time of each process
    file_bytes: int = 256 * 1024 ** 2  # largest file it may write
    open_files: int = 1024
    processes: int = 512              # tasks of the user nobody, all sandboxes together

    def _limits(self) -> list[tuple[int, str, int]]:
        out = [(resource.RLIMIT_AS, "as", self.memory_bytes),
               (resource.RLIMIT_CPU, "cpu", self.cpu_seconds),
               (resource.RLIMIT_FSIZE, "fsize", self.file_bytes),
               (resource.RLIMIT_NOFILE, "nofile", self.open_files)]
        if as_root():       # without root the count would be the grader's own processes
            out.append((resource.RLIMIT_NPROC, "nproc", self.processes))
        return out

    def prlimit_args(self) -> list[str]:
        """The same limits as options of util-linux's ``prlimit`` command."""
        return [f"--{name}={value}" for _, name, value in self._limits()] + ["--"]

    def apply(self) -> None:
        """Set these limits on the current process (called between fork and exec)."""
        for which, _, value in self._limits():
            resource.setrlimit(which, (value, value))


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
        for f in dist.files or []:
            if f.parts and f.parts[0] != "..":
                path = Path(dist.locate_file(f.parts[0])).resolve()
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


def sandbox_command(cmd: list[str], scratch: Path, *, package: Path | None = None
                    ) -> list[str]:
    """``cmd`` wrapped in ``bwrap``, with ``scratch`` as the only writable folder (also the
    working directory and ``HOME``). Each site-packages folder shows only the runtime's
    entries (``runtime_entries``), and ``lessonlib``: ``package`` (default: the real one),
    read-only, in the first of them, as an installed package."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    scratch = Path(scratch).resolve()
    if as_root():       # become nobody for real, so that the process limit holds
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                      "--unshare-cgroup-try"]
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
               *cmd]
    else:               # an unprivileged user: a user namespace, nobody inside it
        namespaces = ["--unshare-all", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    args = [bwrap, "--die-with-parent", "--new-session", *namespaces,
            "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--tmpfs", "/tmp"]
    for link in ("/bin", "/lib", "/lib64", "/sbin"):        # merged-/usr symlinks
        p = Path(link)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), link]
        elif p.exists():
            args += ["--ro-bind", link, link]
    roots = _readable_roots()
    sites = _site_dirs()
    shown = sites[0] / "lessonlib"
    # the folders above each mount, traversable by nobody (bwrap copies /root's 0700)
    above = {a for r in [*roots, shown, scratch] for a in r.parents
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
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch),
             "--setenv", "HOME", str(scratch), "--setenv", "TMPDIR", "/tmp",
             # a kernel polls the parent named here, and its parent is the sandbox's init
             # (bwrap's --die-with-parent ends it with the grader instead)
             "--unsetenv", "JPY_PARENT_PID",
             "--setenv", "JUPYTER_RUNTIME_DIR", str(scratch / ".jupyter-runtime"),
             "--setenv", "IPYTHONDIR", str(scratch / ".ipython"),
             "--setenv", "MPLCONFIGDIR", str(scratch / ".matplotlib"),
             "--setenv", DATA_DIR_ENV, str(data_dir().resolve()),
             "--"]
    return args + list(cmd)


def prepare_scratch(scratch: Path) -> None:
    """Make ``scratch`` (and what is in it) the sandboxed code's own: as root, it runs as
    ``nobody``."""
    if as_root():
        for path in [Path(scratch), *Path(scratch).rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def run_sandboxed(cmd: list[str], scratch: Path, *, env: dict, timeout: float,
                  limits: Limits = Limits(), package: Path | None = None
                  ) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the sandbox; like ``subprocess.run(..., capture_output=True)``."""
    prepare_scratch(scratch)
    return subprocess.run(sandbox_command(cmd, scratch, package=package), cwd=scratch, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limits.apply)


_STATUS: dict = {}


def sandbox_status() -> str | None:
    """``None`` when the sandbox works here, else why not (checked once per process)."""
    if "status" not in _STATUS:
        if bwrap_path() is None:
            _STATUS["status"] = ("bubblewrap (bwrap) is not installed (Debian: apt-get "
                                 "install bubblewrap)")
        else:
            import tempfile
            with tempfile.TemporaryDirectory(prefix="lessonlib-sandbox-") as tmp:
                try:
                    proc = run_sandboxed([sys.executable, "-c", "print('ok')"], Path(tmp),
                                         env=dict(os.environ), timeout=60)
                    ok = proc.returncode == 0 and proc.stdout.strip() == "ok"
                    reason = " ".join(proc.stderr.split())[:200]
                except (OSError, subprocess.SubprocessError) as err:
                    ok, reason = False, str(err)
            _STATUS["status"] = None if ok else f"bubblewrap cannot start here: {reason}"
    return _STATUS["status"]
