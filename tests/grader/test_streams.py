"""lessonlib.grader.streams: a pipe read to its end in bounded memory, its end kept."""

import os
import subprocess
import sys

from lessonlib.grader.streams import Tail


def test_a_tail_keeps_the_end_of_what_was_written_and_counts_the_rest():
    read, write = os.pipe()
    tail = Tail(os.fdopen(read, "rb"), keep=10)
    os.write(write, b"a" * 100 + b"the end.\n")
    os.close(write)
    tail.join(5)
    assert tail.text() == "athe end.\n"
    assert tail.total == 109 and tail.dropped == 99


def test_a_flood_through_a_tail_keeps_its_memory_bounded():
    """256 MiB written by a child process: the tail holds its last 16 KiB only (the reader's
    peak memory measured with tracemalloc)."""
    import tracemalloc
    proc = subprocess.Popen([sys.executable, "-c", "import os\nb = b'x' * (1 << 20)\n"
                             "for _ in range(256):\n    os.write(1, b)\nprint('done')"],
                            stdout=subprocess.PIPE)
    tracemalloc.start()
    try:
        tail = Tail(proc.stdout)
        proc.wait(60)
        tail.join(60)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert tail.total == 256 * (1 << 20) + 5 and tail.text().endswith("xdone\n")
    assert peak < 2 * 1024 ** 2, peak
