"""A Jupyter kernel for grading: started in the sandbox, driven cell by cell from outside.

The kernel talks to the grader over Unix sockets in the submission's scratch folder (the
only place the two share; the sandbox has no network), and is interrupted by a message
rather than a signal. ``run`` executes code with a time limit and reports what happened;
the learner's output is kept only as text.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from . import sandbox


@dataclass
class Outcome:
    """What running one piece of code did: ``status`` is "ok", "error", "timeout" or
    "dead" (the kernel is gone); ``stdout`` is what it printed."""

    status: str
    stdout: str = ""
    error: str = ""


class KernelSession:
    """One kernel, in the sandbox unless ``sandboxed`` is false, working in ``scratch``.

    ``package`` is the folder the sandbox shows as lessonlib (``sandbox.sandbox_command``).
    Use as a context manager; ``run(code, timeout)`` executes code, ``send`` and ``finish``
    do the same in two steps.
    """

    def __init__(self, scratch: Path, *, sandboxed: bool = True, package: Path | None = None,
                 env: dict | None = None, startup_timeout: float = 60):
        self.scratch = Path(scratch).resolve()
        self.sandboxed = sandboxed
        self.package = package
        self.env = dict(env if env is not None else os.environ)
        self.startup_timeout = startup_timeout
        self._specs = None
        self._ready = False
        self.km = self.kc = None
        self.box: sandbox.Box | None = None

    def __enter__(self) -> KernelSession:
        self.launch(wait=False)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def launch(self, *, wait: bool = True) -> None:
        """Start the kernel; wait until it answers unless ``wait`` is false (the first
        ``run`` or ``send`` waits then, so its start overlaps the caller's own work)."""
        self._specs = sandbox.temp_folder("kernelspec")
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        if self.sandboxed:      # a slot, uid and cgroup of its own (sandbox.Box)
            self.box = sandbox.Box(self.scratch).open()
            argv = self.box.command(argv, env=self.env, package=self.package)
        spec_dir = Path(self._specs.name) / "lessonlib-grading"
        spec_dir.mkdir()
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": "lessonlib grading", "language": "python",
            "interrupt_mode": "message"}), encoding="utf-8")
        self.km = KernelManager(
            kernel_name="lessonlib-grading",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(Path(self._specs.name))]),
            transport="ipc", ip=str(self.scratch / ".kernel"),
            connection_file=str(self.scratch / ".kernel.json"))
        if self.sandboxed:      # the kernel's own files, readable by it as the slot's user
            self.km.write_connection_file()
            self.box.prepare()
        self.km.start_kernel(cwd=str(self.scratch), env=self.env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self._ready = False
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        if self._ready:
            return
        try:
            self.kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError as err:
            self.stop()
            raise RuntimeError(f"the kernel did not start: {err}") from None
        self._ready = True

    def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            self.km.shutdown_kernel(now=True)
        if self._specs is not None:
            self._specs.cleanup()
        if self.box is not None:
            self.box.close()
        self.km = self.kc = self._specs = self.box = None

    @property
    def wire_dir(self) -> Path:
        """Where the grader's sockets for this kernel go: the box's folder for them,
        which the sandbox cannot write (the scratch folder without a sandbox)."""
        return self.box.wire_dir if self.box is not None else self.scratch

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def run(self, code: str, timeout: float) -> Outcome:
        """Execute ``code``; stop it (interrupt, then kill) after ``timeout`` seconds."""
        self.wait_ready()
        if not self.alive():
            return Outcome("dead", error="the kernel had stopped")
        return self.finish(self.send(code), timeout)

    def send(self, code: str) -> str:
        """Send ``code`` to run and return at once: the request's id, for ``finish``."""
        self.wait_ready()
        # stop_on_error=False: an error must not make the kernel drop the next requests
        return self.kc.execute(code, store_history=False, allow_stdin=False,
                               stop_on_error=False)

    def finish(self, msg_id: str, timeout: float) -> Outcome:
        """Wait until the code sent as ``msg_id`` is done, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        stdout, error, replied, idle = [], "", None, False
        while not (replied is not None and idle):
            if time.monotonic() > deadline:
                return self._stop_runaway(msg_id, stdout)
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                if not self.alive():
                    return Outcome("dead", "".join(stdout), "the kernel died")
                replied = replied or self._replied(msg_id)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content.get("name") == "stdout":
                stdout.append(content.get("text", ""))
            elif kind == "error":
                error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
                replied = replied or self._replied(msg_id, wait=1.0) or "lost"
        if replied == "aborted":
            error = error or "the kernel did not run it (aborted)"
        return Outcome("error" if error else "ok", "".join(stdout), error)

    def _replied(self, msg_id: str, wait: float = 0.0) -> str | None:
        """The status of the shell's reply to ``msg_id`` ("ok", "error", "aborted"), or
        ``None`` while there is none."""
        try:
            while True:
                reply = self.kc.get_shell_msg(timeout=wait)
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return str(reply.get("content", {}).get("status", "ok"))
        except queue.Empty:
            return None

    def _stop_runaway(self, msg_id: str, stdout: list) -> Outcome:
        self.km.interrupt_kernel()
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.1)
            except queue.Empty:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle" \
                    and msg.get("parent_header", {}).get("msg_id") == msg_id:
                return Outcome("timeout", "".join(stdout), "stopped at the time limit")
        self.km.shutdown_kernel(now=True)      # it ignored the interrupt
        return Outcome("dead", "".join(stdout), "it ignored the interrupt, so the kernel "
                       "was stopped")
