import sys

import pytest

from lessonlib import _memory


def test_opt_out_leaves_the_allocator_alone(monkeypatch):
    monkeypatch.setenv("LESSONLIB_KEEP_MALLOC", "1")
    assert _memory.tune_allocator() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux")
def test_glibc_accepts_the_thresholds(monkeypatch):
    monkeypatch.delenv("LESSONLIB_KEEP_MALLOC", raising=False)
    assert _memory.tune_allocator() is True
