import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("LESSONLIB_HEADLESS", "1")   # notebooks run by nbval show no progress bars


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew, so that none piles up across a worker's tests."""
    yield
    import matplotlib.pyplot as plt
    plt.close("all")
