from lessonlib import _progress
from lessonlib._progress import ProgressBar


def test_headless_runs_show_nothing(monkeypatch):
    monkeypatch.setenv(_progress.HEADLESS_ENV, "1")
    with ProgressBar(5, "trials") as bar:
        bar.update(2)
        assert bar._widget is None and bar.done == 2


def test_outside_a_kernel_shows_nothing(monkeypatch):
    monkeypatch.delenv(_progress.HEADLESS_ENV, raising=False)
    assert not _progress._interactive_kernel()      # pytest is not an IPython kernel
    assert ProgressBar(5)._widget is None


def test_in_a_kernel_a_widget_counts_up_and_closes(monkeypatch):
    monkeypatch.setattr(_progress, "_interactive_kernel", lambda: True)
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    bar = ProgressBar(3, "trials")
    assert shown == [bar._widget] and bar._widget.max == 3
    widget = bar._widget
    for _ in range(5):
        bar.update()
    assert widget.value == 3          # never past the end
    bar.close()
    assert bar._widget is None
