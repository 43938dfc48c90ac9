from lessonlib.core import bars


def test_headless_runs_show_nothing(monkeypatch):
    monkeypatch.setenv(bars.HEADLESS_ENV, "1")
    assert not bars.interactive_kernel()
    items = range(5)
    assert bars.progress_bar(items, desc="trials") is items


def test_outside_a_kernel_shows_nothing(monkeypatch):
    monkeypatch.delenv(bars.HEADLESS_ENV, raising=False)
    assert not bars.interactive_kernel()      # pytest is not an IPython kernel
    items = [1, 2]
    assert bars.progress_bar(items) is items


def test_in_a_kernel_a_tqdm_bar_counts_the_items(monkeypatch):
    monkeypatch.setattr(bars, "interactive_kernel", lambda: True)
    bar = bars.progress_bar(iter("abc"), total=3, desc="trials")
    assert bar.total == 3 and bar.desc.startswith("trials") and not bar.leave
    assert list(bar) == ["a", "b", "c"] and bar.n == 3


def test_in_a_notebook_the_bars_view_is_cleared_when_the_loop_ends(monkeypatch):
    """A notebook bar is shown under a display id and replaced by empty text at the end,
    so a saved notebook keeps no view of a widget that is gone."""
    import IPython.display
    import tqdm.auto
    import tqdm.notebook
    monkeypatch.setattr(bars, "interactive_kernel", lambda: True)
    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    shown, updates = [], []

    class Handle:
        def update(self, data, raw=False):
            updates.append((data, raw))

    monkeypatch.setattr(IPython.display, "display",
                        lambda obj, display_id=False: shown.append(obj) or Handle())
    bar = bars.progress_bar(iter("abc"), total=3, desc="trials")
    assert not shown                                   # nothing until the loop starts
    assert list(bar) == ["a", "b", "c"]
    assert len(shown) == 1 and updates == [({"text/plain": ""}, True)]
