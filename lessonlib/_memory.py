"""Keep freed memory for reuse, so the large temporary arrays of training do not page-fault.

numpy gives every result a new array. Above glibc's mmap threshold each one is mapped
fresh from the operating system and faults its pages in on first touch, and freed memory
at the top of the heap goes back to the system at once. A batch of ``(256, 512)`` float64
values is 1 MiB: measured here (``python -m lessonlib bench``), that churn made batch norm's
forward and backward 2 to 4 times slower. On glibc (Linux), importing lessonlib raises the
mmap threshold to 64 MiB and the trim threshold to 256 MiB, so such arrays reuse memory the
process already has. It changes speed, never results; set ``LESSONLIB_KEEP_MALLOC=1`` to
leave the allocator as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3        # glibc's mallopt parameters
MMAP_THRESHOLD = 64 * 2**20
TRIM_THRESHOLD = 256 * 2**20


def tune_allocator() -> bool:
    """Apply the thresholds once; True when glibc accepted them."""
    if os.environ.get("LESSONLIB_KEEP_MALLOC", "") not in ("", "0"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False                                   # not glibc (musl, say)
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
