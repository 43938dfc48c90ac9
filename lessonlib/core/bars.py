"""Progress bars for long loops, shown only where someone is watching.

``progress_bar(iterable, total=..., desc=...)`` is ``tqdm.auto.tqdm``: in JupyterLab its bar is
an ipywidget. In a headless run (nbval, ``grade``, ``refresh``, plain Python) it is the
iterable itself: tqdm is not even imported, so checked outputs and graded runs never see a
bar, and no tqdm lock exists when a process pool forks the kernel. ``LESSONLIB_HEADLESS=1``
(set by the test suite and the grader) forces the headless behaviour.
"""

from __future__ import annotations

import os

HEADLESS_ENV = "LESSONLIB_HEADLESS"


def interactive_kernel() -> bool:
    """Whether a person is watching: an IPython kernel, and not ``LESSONLIB_HEADLESS=1``."""
    if os.environ.get(HEADLESS_ENV, "") not in ("", "0"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress_bar(iterable, *, total: int | None = None, desc: str = ""):
    """``iterable`` wrapped in a tqdm bar that counts its items, where someone watches;
    ``iterable`` itself in a headless run.

    The bar disappears when the loop ends; iterating gives exactly the items of
    ``iterable``. In a notebook the bar's widget view is then replaced by empty text, so a
    saved notebook keeps no view of a widget that is gone ("widget model not found" when it
    is reopened).
    """
    if not interactive_kernel():
        return iterable
    from tqdm.auto import tqdm  # here: headless runs never create tqdm's locks

    if not tqdm.__module__.startswith("tqdm.notebook"):     # a text bar (no ipywidgets)
        return tqdm(iterable, total=total, desc=desc, leave=False)
    return _shown_while_running(tqdm(iterable, total=total, desc=desc, leave=False,
                                     display=False))


def _shown_while_running(bar):
    """Iterate ``bar``, its widget shown under a display id and cleared at the end."""
    from IPython.display import display
    handle = display(bar.container, display_id=True)
    try:
        yield from bar
    finally:
        bar.close()
        if handle is not None:
            handle.update({"text/plain": ""}, raw=True)
