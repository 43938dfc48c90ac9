from lessonlib.core import progress


def test_headless_runs_show_nothing(monkeypatch):
    monkeypatch.setenv(progress.HEADLESS_ENV, "1")
    assert not progress.interactive_kernel()
    bar = progress.progress(range(5), desc="trials")
    assert bar.disable and list(bar) == [0, 1, 2, 3, 4]


def test_outside_a_kernel_shows_nothing(monkeypatch):
    monkeypatch.delenv(progress.HEADLESS_ENV, raising=False)
    assert not progress.interactive_kernel()      # pytest is not an IPython kernel
    assert progress.progress([1, 2]).disable


def test_in_a_kernel_a_tqdm_bar_counts_the_items(monkeypatch):
    monkeypatch.setattr(progress, "interactive_kernel", lambda: True)
    bar = progress.progress(iter("abc"), total=3, desc="trials")
    assert not bar.disable and bar.total == 3 and bar.desc.startswith("trials")
    assert list(bar) == ["a", "b", "c"] and bar.n == 3
