"""Trusted grading: the checks run here, the learner's code runs in a sandboxed kernel.

``python -m lessonlib.grader.trusted GRADED.ipynb --scratch DIR --results FILE`` is what
``grade`` runs for one submission, as a process of its own outside the sandbox. It starts
the learner's kernel in the sandbox (``grader.kernel``) with a lessonlib that lacks the
exercises' answers (``graded_package.write_graded_package``), runs the cells the graded copy
marks to run (set-up, the learner's exercise cells and added cells), and at each official
check cell runs the genuine check *here*, calling the learner's functions through the
narrow channel of ``grader.wire``. The results go to ``FILE``, outside the sandbox.

Nothing the learner's code does in its kernel (rebinding the check framework, patching
numpy or builtins, printing forged lines, writing files) reaches this process; the worst
it can do is make its own functions return wrong answers, fail, or stop.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

import numpy as np

from . import framework, instructor, oracle, sandbox, wire
from .exercises import EXERCISES, Status, checks_module, exercises_of
from .graded_package import write_graded_package
from .kernel import KernelSession
from .protocol import GRADING_KEY


class CallFailed(Exception):
    """The learner's function did not answer: it ran out of time, or its kernel stopped."""


class Channel:
    """One check's line to the kernel: a Unix socket the grader listens on in the scratch
    folder, and ``wire.serve_loop`` running in the kernel, connected to it, for as long as
    the check lasts. Each call has ``timeout`` seconds, a deadline fixed when the call
    starts that nothing the kernel sends extends, and no call runs past ``deadline`` (a
    ``time.monotonic()`` value: the submission's time limit); after one that fails, every
    later call of the check fails at once, with the reason in ``stopped``."""

    def __init__(self, kernel: KernelSession, timeout: float, deadline: float | None = None):
        self.kernel, self.timeout, self.deadline = kernel, timeout, deadline
        self.server = self.conn = self.msg_id = self.path = None
        self.stopped: str | None = None

    def _call_deadline(self) -> float:
        end = time.monotonic() + self.timeout
        return end if self.deadline is None else min(end, self.deadline)

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self) -> None:
        if not self.kernel.alive():
            self._fail("stopped its kernel (the kernel had stopped)")
        # in a folder the sandbox cannot write, so that nothing there is swapped
        self.path = self.kernel.wire_dir / f".wire-{secrets.token_hex(8)}"
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        os.chmod(self.path, 0o777)            # the kernel runs as the slot's user
        self.server.listen(1)
        self.server.settimeout(max(0.01, self._call_deadline() - time.monotonic()))
        self.msg_id = self.kernel.send(
            "__import__('lessonlib.grader.wire', fromlist=['serve_loop'])"
            f".serve_loop({str(self.path)!r}, globals())")
        try:
            self.conn, _ = self.server.accept()
        except OSError:
            self._fail(self._ended("never answered"))

    def call(self, target, args: tuple, kwargs: dict) -> dict:
        """The decoded reply (``wire.read_reply``) of one call in the kernel."""
        if self.stopped:
            raise CallFailed(self.stopped)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self._fail("was not called: the submission had run out of time")
        if self.conn is None:
            self._open()
        deadline = self._call_deadline()
        try:
            wire.send_frame(self.conn, wire.request(target, args, kwargs), deadline=deadline)
            data = wire.recv_frame(self.conn, deadline=deadline)
        except TimeoutError:
            late = ("did not return before the submission's time limit"
                    if deadline == self.deadline else
                    f"did not return within the {self.timeout:g} s limit")
            self._fail(self._ended(late, now=True))
        except (OSError, wire.ReplyError) as err:
            self._fail(self._ended(f"gave no readable answer ({err})"))
        if data is None:
            self._fail(self._ended("gave no answer"))
        try:
            return wire.read_reply(data)
        except wire.ReplyError as err:
            self._fail(f"gave no readable answer ({err})")

    def _ended(self, what: str, *, now: bool = False) -> str:
        """Why the kernel's side ended: wait for its cell (stopping it ``now``)."""
        outcome = self.kernel.finish(self.msg_id, 0 if now else 5)
        self.msg_id = None
        if outcome.status == "dead":
            return f"stopped its kernel ({outcome.error})"
        if outcome.error and not now:
            return f"{what}: {outcome.error}"
        return what

    def _fail(self, reason: str):
        self.stopped = reason
        raise CallFailed(reason)

    def close(self) -> None:
        if self.conn is not None:
            try:
                wire.send_frame(self.conn, b"stop")
            except OSError:
                pass
            self.conn.close()
        if self.msg_id is not None:
            left = self.timeout if self.deadline is None else self.deadline - time.monotonic()
            self.kernel.finish(self.msg_id, max(1.0, min(self.timeout, left)))
        if self.server is not None:
            self.server.close()
            self.path.unlink(missing_ok=True)
        self.server = self.conn = self.msg_id = None


class Remote:
    """The learner's function ``name`` in the kernel, called like a local function."""

    def __init__(self, channel: Channel, name: str):
        self.channel, self.name = channel, name
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        reply = self.channel.call(wire.Ref(self.name), args, kwargs)
        try:
            tree, arrays = reply["tree"], reply["arrays"]
            self._write_back(args, kwargs, tree, arrays)
            if "raise" in tree:
                name, message, not_implemented = tree["raise"]
                if not_implemented:
                    raise NotImplementedError(str(message)[:300])
                raise _remote_error(str(name)[:60])(str(message)[:300])
            return wire.value(tree["return"], arrays)
        except (wire.ReplyError, KeyError, TypeError, ValueError, RecursionError) as err:
            raise CallFailed(f"gave no readable answer ({err})") from None

    @staticmethod
    def _write_back(args, kwargs, tree, arrays) -> None:
        """Arrays changed in place and draws taken from a generator, as in the kernel."""
        for i, node in enumerate(tree.get("args", [])):
            if node is not None and i < len(args) and isinstance(args[i], np.ndarray):
                _copy_into(args[i], wire.value(node, arrays))
        for k, node in tree.get("kwargs", {}).items():
            if isinstance(kwargs.get(k), np.ndarray):
                _copy_into(kwargs[k], wire.value(node, arrays))
        for key, state in tree.get("rng", {}).items():
            target = args[int(key)] if key.isdigit() and int(key) < len(args) \
                else kwargs.get(key)
            if isinstance(target, np.random.Generator):
                try:
                    target.bit_generator.state = state
                except (TypeError, ValueError, KeyError):
                    raise CallFailed("sent back a random generator it had broken") from None


def _copy_into(target: np.ndarray, new) -> None:
    if isinstance(new, np.ndarray) and new.shape == target.shape:
        if not np.array_equal(new, target, equal_nan=True):
            target[...] = new
    else:
        target.fill(np.nan) if target.dtype.kind in "fc" else target.fill(~target.flat[0])


_ERRORS: dict[str, type] = {}


def _remote_error(name: str) -> type:
    """An exception class named like the learner's, so messages read "raised KeyError"."""
    if not name.isidentifier():
        name = "Error"
    if name not in _ERRORS:
        _ERRORS[name] = type(name, (wire.RemoteError,), {})
    return _ERRORS[name]


def check_call(source: str, function: str) -> tuple[str, dict]:
    """The learner's names a check cell passes: ``check_f(f, session, forward=g)`` gives
    ``("f", {"forward": "g"})`` (the session is the learner's kernel's, not the grader's)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == f"check_{function}":
            args = node.args
            if len(args) == 2 and getattr(args[1], "id", "") == "session":
                args = args[:1]            # the learner's own record, no business of ours
            context = {k.arg: k.value.id for k in node.keywords
                       if k.arg and isinstance(k.value, ast.Name)}
            if len(args) == 1 and isinstance(args[0], ast.Name) \
                    and len(context) == len(node.keywords):
                return args[0].id, context
    raise ValueError(f"no call check_{function}(<name>, ...) in the check cell")


def grade_in_kernel(path: Path, scratch: Path, *, sandboxed: bool, timeout: float,
                    cases: int | None = None, keys: bool = True,
                    time_limit: float | None = None, save=None) -> dict:
    """Run the graded copy at ``path`` and its trusted checks; the results as plain data.
    The checks' random cases come from ``cases``, or from fresh entropy. The questions are
    graded against the instructor side's keys, or with ``keys=False`` only read for their
    form, as a learner's own check cell does (``progress``). Each cell and each call of a
    learner's function has ``timeout`` seconds, and all of it ``time_limit`` seconds of
    wall-clock time: what has not finished by then is not run, and scores 0. ``save``,
    when given, is called with the results so far as they grow (at most once a second),
    so that a run stopped from outside leaves what finished."""
    start = time.monotonic()
    deadline = None if time_limit is None else start + time_limit
    question_keys = instructor.question_keys() if keys else None
    nb = json.loads(Path(path).read_text(encoding="utf-8"))   # written by grade itself
    name = nb["metadata"]["lessonlib"]["notebook"]
    # fresh random cases: answers hard-coded for the cases the notebook shows earn nothing
    entropy = secrets.randbits(63) if cases is None else int(cases)
    framework.fresh_cases(entropy)
    results: dict = {"cells": {}, "checks": {}, "notes": [], "cases": entropy,
                     "complete": False}
    saved = [0.0]

    def progress(force: bool = False) -> None:
        if save is not None and (force or time.monotonic() - saved[0] >= 1.0):
            save(results)
            saved[0] = time.monotonic()

    def left() -> float:
        return float("inf") if deadline is None else deadline - time.monotonic()

    env = dict(os.environ, MPLBACKEND="Agg", LESSONLIB_HEADLESS="1")
    with sandbox.temp_folder("package") as pkg:
        # the kernel's lessonlib lacks the exercises' answers: mounted in its place in the
        # sandbox, first on the import path without one
        package = write_graded_package([e.id for e in exercises_of(name)], pkg)
        if not sandboxed:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(package.parent), *filter(None, [env.get("PYTHONPATH")])])
        with KernelSession(scratch, sandboxed=sandboxed, package=package, env=env,
                           startup_timeout=max(1.0, min(60.0, left()))) as kernel:
            module = importlib.import_module(checks_module(name))    # while the kernel starts
            answers = oracle.reference_namespace()     # the real references, here only
            exercise_sources: dict = {}
            k = -1
            for cell in nb["cells"]:
                if cell["cell_type"] != "code":
                    continue
                k += 1
                if left() <= 0:
                    results["notes"].append(
                        f"the submission ran past its {time_limit:g} s time limit and was "
                        "stopped; what had not finished scores 0")
                    break
                source = "".join(cell["source"])
                info = cell.get("metadata", {}).get("lessonlib", {})
                if info.get("role") == "exercise":
                    exercise_sources[info.get("exercise")] = source
                if info.get("role") == "check" and info.get("exercise") in EXERCISES:
                    exercise = EXERCISES[info["exercise"]]
                    forbidden = framework.forbidden_call(
                        exercise, _names_in(exercise_sources.get(exercise.id, "")))
                    results["checks"][exercise.id] = _result_data(forbidden) if forbidden \
                        else _trusted_check(module, exercise, source, kernel, timeout,
                                            answers, question_keys, deadline)
                    progress()
                    continue
                if cell.get("metadata", {}).get(GRADING_KEY) == "skip":
                    results["cells"][k] = {"status": "skipped"}
                    continue
                outcome = kernel.run(source, min(timeout, left()))
                results["cells"][k] = {"status": outcome.status, "error": outcome.error}
                progress()
            results["notes"] += kernel.output_notes()
    results["complete"] = True
    progress(force=True)
    return results


def _trusted_check(module, exercise, source: str, kernel, timeout: float, answers,
                   question_keys: dict | None, deadline: float | None = None) -> dict:
    """The check of ``exercise`` run here on the learner's functions in ``kernel``, with the
    reference ``answers`` (``oracle.reference_namespace()``) or, for a question, its key
    (none: the answer's form only), as plain data; no call runs past ``deadline``."""
    check = getattr(module, f"check_{exercise.function}")
    try:
        fn_name, context = check_call(source, exercise.function)
    except (SyntaxError, ValueError) as err:
        return {"status": Status.FAILED.value, "points": 0.0, "message": str(err),
                "seconds": 0.0}
    start = time.perf_counter()
    with Channel(kernel, timeout, deadline) as channel:
        fn = Remote(channel, fn_name)
        ctx = {key: Remote(channel, name) for key, name in context.items()}
        if exercise.is_question and question_keys is not None:
            result = check.grade(fn, question_keys[exercise.id])
        else:
            result = check.evaluate(fn, ref=answers, **ctx)
    seconds = time.perf_counter() - start
    data = _result_data(result, seconds)
    if channel.stopped and result.status is not Status.PASSED:
        data["message"] = f"the function {channel.stopped}"
    return data


def _result_data(result, seconds: float = 0.0) -> dict:
    """A check's result as the plain data the results file holds (its text capped: it may
    quote what the learner's code raised)."""
    return {"status": result.status.value, "points": float(result.points),
            "message": _capped(result.message), "line": _capped(result.line),
            "mistake": getattr(result, "mistake", ""), "seconds": round(seconds, 4)}


def _capped(text, n: int = 2000):
    return text if not isinstance(text, str) or len(text) <= n else text[:n] + "..."


def _names_in(source: str) -> set[str]:
    """The names an exercise cell's ``source`` refers to (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _stop(signum, frame):
    """SIGTERM: unwind, so that the kernel is stopped and the temporary folders go."""
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lessonlib.grader.trusted")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--time-limit", type=float, help="wall-clock seconds for the whole "
                        "notebook (default: none)")
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument("--parent", type=int,
                        help="the pid of the process that started this one (end with it)")
    parser.add_argument("--cases", type=int, help="the checks' random cases (default: fresh)")
    parser.add_argument("--no-keys", action="store_true",
                        help="read the questions' answers for their form only, not their keys")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    sandbox.die_with_parent(args.parent)    # a driver that is killed takes this one along

    def save(results: dict) -> None:
        tmp = args.results.with_suffix(".part")
        tmp.write_text(json.dumps(results), encoding="utf-8")
        tmp.replace(args.results)

    grade_in_kernel(args.notebook, args.scratch, sandboxed=not args.no_sandbox,
                    timeout=args.timeout, cases=args.cases, keys=not args.no_keys,
                    time_limit=args.time_limit, save=save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
