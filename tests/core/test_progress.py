from lessonlib.core import progress


def test_headless_runs_show_nothing(monkeypatch):
    monkeypatch.setenv(progress.HEADLESS_ENV, "1")
    assert not progress.interactive_kernel()
    items = range(5)
    assert progress.progress(items, desc="trials") is items


def test_outside_a_kernel_shows_nothing(monkeypatch):
    monkeypatch.delenv(progress.HEADLESS_ENV, raising=False)
    assert not progress.interactive_kernel()      # pytest is not an IPython kernel
    items = [1, 2]
    assert progress.progress(items) is items


def test_in_a_kernel_a_tqdm_bar_counts_the_items(monkeypatch):
    monkeypatch.setattr(progress, "interactive_kernel", lambda: True)
    bar = progress.progress(iter("abc"), total=3, desc="trials")
    assert bar.total == 3 and bar.desc.startswith("trials") and not bar.leave
    assert list(bar) == ["a", "b", "c"] and bar.n == 3
