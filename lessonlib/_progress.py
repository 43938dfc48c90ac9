"""A progress bar for long loops, shown only where someone is watching.

In JupyterLab a loop over trials or epochs shows an ipywidgets bar; in a headless run
(nbval, ``grade``, ``refresh``, plain Python) nothing is displayed, so checked outputs
and graded runs never see it. ``LESSONLIB_HEADLESS=1`` (set by the test suite and the
grader) forces the headless behaviour.
"""

from __future__ import annotations

import os

HEADLESS_ENV = "LESSONLIB_HEADLESS"


def _interactive_kernel() -> bool:
    if os.environ.get(HEADLESS_ENV, "") not in ("", "0"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class ProgressBar:
    """``bar = ProgressBar(total, "trials")``; ``bar.update()`` per step; ``bar.close()``.

    A no-op outside an interactive kernel. Also a context manager.
    """

    def __init__(self, total: int, description: str = ""):
        self.total, self.done, self._widget = int(total), 0, None
        if self.total > 0 and _interactive_kernel():
            import ipywidgets as widgets
            from IPython.display import display
            self._widget = widgets.IntProgress(value=0, min=0, max=self.total,
                                               description=description)
            display(self._widget)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._widget is not None:
            self._widget.value = min(self.done, self.total)

    def close(self) -> None:
        if self._widget is not None:
            self._widget.close()
            self._widget = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
