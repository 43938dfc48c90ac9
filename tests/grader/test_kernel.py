"""lessonlib.grader.kernel: a grading kernel runs code, stops what runs too long, and
reports a kernel that died; in the sandbox it has no network."""

import pytest

from lessonlib.grader.kernel import KernelSession

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
