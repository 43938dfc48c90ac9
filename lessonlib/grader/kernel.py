"""A Jupyter kernel for grading: started in the sandbox, driven cell by cell from outside.

The kernel talks to the grader over Unix sockets in the submission's scratch folder (the
only place the two share; the sandbox has no network), and is interrupted by a message
rather than a signal. ``run`` executes code with a time limit and reports what happened;
the learner's output is kept only as text.

What the kernel sends takes bounded memory here, however much it sends: what a run prints
is kept up to ``MAX_OUTPUT_CHARS``, an error's text up to ``MAX_ERROR_CHARS``; a message
larger than ``MAX_MESSAGE_BYTES`` is refused (ZeroMQ then drops that connection, and the
session makes a new one), and at most ``MAX_QUEUED_MESSAGES`` wait unread; what the
kernel's process writes to its own standard output and error goes to a pipe of which only
the end is kept (``streams.Tail``).
"""

from __future__ import annotations

import json
import os
import queue
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import zmq
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from . import sandbox
from .streams import Tail

# what a run keeps of what the learner's code prints
MAX_OUTPUT_CHARS = 1024 ** 2
# what is kept of an error's text ("ValueError: ...")
MAX_ERROR_CHARS = 1000
# the largest message accepted from the kernel, and how many may wait unread: together a
# bound on what the kernel's messages can take of the grader's memory
MAX_MESSAGE_BYTES = 32 * 1024 ** 2
MAX_QUEUED_MESSAGES = 8
# how long to wait for the kernel's "idle" once its reply has come (a lost one is not
# waited for until the time limit)
IDLE_GRACE = 2.0


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
        self._specs = self._context = self._raw = None
        self._ready = self._stale = False
        self.km = self.kc = None
        self.box: sandbox.Box | None = None
        self.output_dropped = self.lost = 0      # for output_notes

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
        self._context = zmq.Context()       # its sockets' limits on what comes in
        self._context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._context.setsockopt(zmq.RCVHWM, MAX_QUEUED_MESSAGES)
        self.km = KernelManager(
            kernel_name="lessonlib-grading",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(Path(self._specs.name))]),
            transport="ipc", ip=str(self.scratch / ".kernel"),
            connection_file=str(self.scratch / ".kernel.json"), context=self._context)
        if self.sandboxed:      # the kernel's own files, readable by it as the slot's user
            self.km.write_connection_file()
            self.box.prepare()
        read, write = os.pipe()            # the kernel's own stdout and stderr
        try:
            self.km.start_kernel(cwd=str(self.scratch), env=self.env, stdout=write,
                                 stderr=write)
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self._raw = Tail(os.fdopen(read, "rb"))
        self.kc = self.km.client(context=self._context)
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
            said = self._raw.text().strip().splitlines()[-2:] if self._raw else []
            self.stop()
            raise RuntimeError(f"the kernel did not start: {err}"
                               + (f" (it wrote: {' | '.join(said)[-300:]})" if said else "")
                               ) from None
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
        if self._context is not None:
            self._context.destroy(linger=0)
        self.km = self.kc = self._specs = self.box = self._context = None

    @property
    def wire_dir(self) -> Path:
        """Where the grader's sockets for this kernel go: the box's folder for them,
        which the sandbox cannot write (the scratch folder without a sandbox)."""
        return self.box.wire_dir if self.box is not None else self.scratch

    def output_notes(self) -> list[str]:
        """What was not kept of the kernel's output, for the grade's notes."""
        notes = []
        if self.output_dropped:
            notes.append(f"the notebook printed more than the grader keeps of a cell "
                         f"({MAX_OUTPUT_CHARS // 1024} KiB); the rest, "
                         f"{self.output_dropped} characters in all, was not kept")
        if self.lost:
            notes.append(f"messages from the kernel were lost in {self.lost} run(s) (one "
                         f"larger than the grader's {MAX_MESSAGE_BYTES // 1024 ** 2} MiB, or "
                         "too many at once)")
        if self._raw is not None and self._raw.dropped:
            notes.append(f"the kernel wrote {self._raw.total} bytes to its standard output "
                         f"and error; the grader kept the last {self._raw.keep // 1024} KiB")
        return notes

    def _keep(self, kept: list, text) -> None:
        """Keep what the code printed, up to ``MAX_OUTPUT_CHARS`` a run."""
        text = str(text)
        room = max(0, MAX_OUTPUT_CHARS - sum(map(len, kept)))
        if room:
            kept.append(text[:room])
        self.output_dropped += max(0, len(text) - room)

    def _reconnect(self, timeout: float = 10) -> None:
        """A new client, answered by the kernel within ``timeout`` seconds (else
        ``RuntimeError``): a connection dropped for a message past ``MAX_MESSAGE_BYTES`` is
        not made again by ZeroMQ, and an answer means the kernel is idle."""
        self.kc.stop_channels()
        self.kc = self.km.client(context=self._context)
        self.kc.start_channels()
        self._stale = False
        self.kc.wait_for_ready(timeout=timeout)

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
        if self._stale and self.alive():
            try:
                self._reconnect()
            except RuntimeError:
                self.km.shutdown_kernel(now=True)      # finish then says it is dead
        # stop_on_error=False: an error must not make the kernel drop the next requests
        return self.kc.execute(code, store_history=False, allow_stdin=False,
                               stop_on_error=False)

    def finish(self, msg_id: str, timeout: float) -> Outcome:
        """Wait until the code sent as ``msg_id`` is done, at most ``timeout`` seconds (a
        deadline: nothing the kernel sends extends it)."""
        deadline = time.monotonic() + timeout
        stdout, error, replied, idle, replied_at = [], "", None, False, 0.0
        dropped = self.output_dropped
        while not (replied is not None
                   and (idle or time.monotonic() - replied_at > IDLE_GRACE)):
            if time.monotonic() > deadline:
                return self._stop_runaway(msg_id, stdout)
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                if not self.alive():
                    return Outcome("dead", "".join(stdout), "the kernel died")
                if replied is None and (replied := self._replied(msg_id)) is not None:
                    replied_at = time.monotonic()
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content.get("name") == "stdout":
                self._keep(stdout, content.get("text", ""))
            elif kind == "error":
                error = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
                error = error[:MAX_ERROR_CHARS]
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
                if replied is None:
                    replied = self._replied(msg_id, wait=1.0) or "lost"
                    replied_at = time.monotonic()
        if not idle or replied == "lost":        # messages were lost: connect again
            self._stale = True
            self.lost += 1
        if replied == "aborted":
            error = error or "the kernel did not run it (aborted)"
        if self.output_dropped > dropped:
            stdout.append(f"\n[output past the grader's {MAX_OUTPUT_CHARS // 1024} KiB not "
                          "kept]")
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
        """Interrupt the code; if the kernel answers again within 5 s (on a new connection:
        the old one may have lost messages), it stopped, else it is killed."""
        self.km.interrupt_kernel()
        try:
            self._reconnect(timeout=5)
        except RuntimeError:
            self.km.shutdown_kernel(now=True)      # it ignored the interrupt
            return Outcome("dead", "".join(stdout), "it ignored the interrupt, so the "
                           "kernel was stopped")
        return Outcome("timeout", "".join(stdout), "stopped at the time limit")
