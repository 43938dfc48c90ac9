"""lessonlib.grader.kernel: a grading kernel runs code, stops what runs too long, and
reports a kernel that died; in the sandbox it has no network; what it sends takes bounded
memory in the grader."""

import tracemalloc

import pytest

from lessonlib.grader.kernel import MAX_ERROR_CHARS, MAX_OUTPUT_CHARS, KernelSession

from .common import NO_SANDBOX, SANDBOXED


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with KernelSession(tmp_path_factory.mktemp("scratch"), sandboxed=False) as k:
        yield k


def test_output_errors_and_state_between_runs(kernel):
    assert kernel.run("x = 20\nprint(x + 1)", 30).stdout == "21\n"
    out = kernel.run("1 / 0", 30)
    assert out.status == "error" and out.error.startswith("ZeroDivisionError")
    assert kernel.run("print(x)", 30).stdout == "20\n"    # an error drops no later cell


def test_a_runaway_cell_is_stopped_and_the_kernel_goes_on(kernel):
    out = kernel.run("while True:\n    pass", 1)
    assert out.status == "timeout"
    assert kernel.run("print('still here')", 30).stdout == "still here\n"


def test_a_kernel_that_exits_or_ignores_interrupts_is_reported_dead(tmp_path):
    with KernelSession(tmp_path, sandboxed=False) as k:
        out = k.run("import os\nos._exit(3)", 30)
        assert out.status == "dead" and not k.alive()
        assert k.run("print(1)", 5).status == "dead"
    with KernelSession(tmp_path, sandboxed=False) as k:
        stubborn = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
        out = k.run(stubborn, 1)
        assert out.status == "dead" and "ignored the interrupt" in out.error


@pytest.mark.skipif(not SANDBOXED, reason=f"no sandbox here: {NO_SANDBOX}")
def test_a_sandboxed_kernel_has_no_network_and_its_own_scratch(tmp_path):
    with KernelSession(tmp_path, sandboxed=True) as k:
        out = k.run("import socket\nsocket.create_connection(('151.101.0.223', 443), 3)", 30)
        assert out.status == "error" and "OSError" in out.error or "Errno" in out.error
        assert k.run("import os\nprint(os.getcwd())", 30).stdout.strip() == str(tmp_path)


def test_a_flood_of_output_keeps_the_grader_bounded_and_the_kernel_usable(tmp_path):
    """64 MiB printed at once (one message past MAX_MESSAGE_BYTES: refused, and ZeroMQ drops
    that connection for good), 16 MiB in a loop of prints, 128 MiB written to the kernel's
    own stdout and stderr: a run keeps at most MAX_OUTPUT_CHARS, this process's memory peak
    (tracemalloc) stays under 64 MiB, the notes say what was not kept, and the next run
    works on a new connection, its output seen."""
    with KernelSession(tmp_path, sandboxed=False) as k:
        assert k.run("print('warm')", 30).stdout == "warm\n"
        tracemalloc.start()
        try:
            big = k.run("print('x' * (64 << 20))", 60)
            loop = k.run("s = 'y' * (1 << 20)\nfor _ in range(16):\n    print(s)", 60)
            raw = k.run("import os\nb = b'z' * (1 << 20)\nfor _ in range(64):\n"
                        "    os.write(1, b)\n    os.write(2, b)", 60)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        after = k.run("print('still here')", 30)
        notes = k.output_notes()
    assert (big.status, loop.status, raw.status) == ("ok", "ok", "ok")
    assert len(big.stdout) <= MAX_OUTPUT_CHARS + 100
    assert len(loop.stdout) <= MAX_OUTPUT_CHARS + 100 and loop.stdout.endswith("not kept]")
    assert after.stdout == "still here\n"
    assert peak < 64 * 1024 ** 2, peak
    assert any("printed more than the grader keeps" in n for n in notes), notes
    assert any("standard output and error" in n for n in notes), notes


def test_a_huge_error_message_is_cut_and_costs_only_its_own_cell(tmp_path):
    with KernelSession(tmp_path, sandboxed=False) as k:
        out = k.run("raise ValueError('v' * 100_000)", 30)
        assert out.status == "error" and len(out.error) <= MAX_ERROR_CHARS
        assert k.run("print(1)", 30).stdout == "1\n"
