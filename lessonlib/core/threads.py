"""One BLAS thread for the small matrix products of training loops.

A ``(100, 100) @ (100, 60)`` product is too small to share between threads: with several
threads OpenBLAS spends more time waking them than multiplying, and on a busy 2-core
machine many times more (seen here: 5 to 60 times slower). Training loops run inside
``one_blas_thread()``; the learner's own code elsewhere keeps numpy's default.
"""

from __future__ import annotations

import contextlib

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def one_blas_thread():
    """Limit BLAS to one thread inside the ``with`` block (restored afterwards)."""
    with threadpool_limits(1, user_api="blas"):
        yield
