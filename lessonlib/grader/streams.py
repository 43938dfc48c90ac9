"""A child process's output, read in bounded memory.

The trusted grading process and the kernel it starts write to pipes (``grade`` reads the
trusted process's, the trusted process the kernel's own standard output and error). A
``Tail`` reads such a pipe to its end and keeps only its last bytes, for an error message,
so that whatever the other end writes, the reader holds no more than that.
"""

from __future__ import annotations

import threading

TAIL_BYTES = 16 * 1024


class Tail(threading.Thread):
    """Reads the binary ``stream`` to its end in a thread of its own, keeping its last
    ``keep`` bytes; ``total`` counts all it read."""

    def __init__(self, stream, keep: int = TAIL_BYTES):
        super().__init__(daemon=True, name="lessonlib-output-tail")
        self.stream, self.keep, self.total = stream, keep, 0
        self._data = bytearray()
        self._lock = threading.Lock()
        self.start()

    def run(self) -> None:
        try:
            with self.stream:
                while chunk := self.stream.read1(1 << 16):
                    with self._lock:
                        self.total += len(chunk)
                        self._data += chunk
                        if len(self._data) > self.keep:
                            del self._data[:len(self._data) - self.keep]
        except (OSError, ValueError):       # the pipe was closed under it
            pass

    @property
    def dropped(self) -> int:
        """How many bytes were read and not kept."""
        with self._lock:
            return self.total - len(self._data)

    def text(self) -> str:
        """The bytes kept, as text."""
        with self._lock:
            return bytes(self._data).decode("utf-8", errors="replace")
