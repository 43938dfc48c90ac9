import subprocess
import sys

import pytest

from lessonlib.core import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux")
def test_glibc_accepts_the_thresholds():
    assert memory.tune_allocator() is True


def test_importing_every_module_leaves_the_allocator_alone():
    """No import-time side effect: only an explicit call (``bench`` makes one) tunes glibc."""
    code = """
import importlib, pkgutil
import lessonlib, lessonlib.core.memory as memory
calls = []
memory.tune_allocator = lambda: calls.append(1)
for info in pkgutil.walk_packages(lessonlib.__path__, "lessonlib."):
    if info.name != "lessonlib.__main__":
        importlib.import_module(info.name)
print(len(calls))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"MPLBACKEND": "Agg", "PATH": ""})
    assert out.stdout.strip() == "0"
