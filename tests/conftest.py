import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew, so that none piles up across a worker's tests."""
    yield
    import matplotlib.pyplot as plt
    plt.close("all")
