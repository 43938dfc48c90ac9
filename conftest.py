"""Settings for every run of the suite, the notebooks' too (``python3 -m pytest notebooks``).

The kernels nbval starts inherit the environment: figures are drawn off-screen, so a cell's
outputs are what it prints, as when ``python -m lessonlib refresh`` stored them, and no
progress bar is drawn.
"""

import os

import pytest

os.environ["MPLBACKEND"] = "Agg"
os.environ.setdefault("LESSONLIB_HEADLESS", "1")

STORED_OUTPUTS = (
    "A solved notebook stores what each of its cells printed when `python -m lessonlib refresh` "
    "last ran it, and every run of the suite must print exactly that (the prose quotes these "
    "figures). If you changed the notebook or lessonlib on purpose, run `python -m lessonlib "
    "refresh instructor/solutions/NAME.ipynb` and read the prose against the new figures. If "
    "nothing changed, this cell is not deterministic: find the unseeded randomness, or the "
    "result that depends on the machine.")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Say what a solved notebook's stored outputs are when nbval finds a cell printing others."""
    report = yield
    if (report.failed and call.when == "call" and item.path.parent.name == "solutions"
            and "Cell outputs differ" in str(report.longrepr)):
        report.sections.append(("stored outputs", STORED_OUTPUTS))
    return report


# pytest-xdist (``--dist loadfile``) hands whole files to the workers in collection order, so
# the longest files go first and the many short ones fill the gaps at the end: with the
# notebooks last, as collected, one worker ran a notebook for the last minute while the other
# was idle. Roughly longest first: the browser test (every learner notebook in JupyterLab),
# the handout's (a fresh environment, every learner notebook twice),
# the notebooks, the grader's tests that run notebooks in kernels, then the rest as collected.
LONGEST_FIRST = ("tests/end_to_end/test_browser.py", "tests/grader/test_handout.py",
                 "instructor/solutions/03", "notebooks/03", "instructor/solutions/04",
                 "notebooks/04", "instructor/solutions/06", "notebooks/06", "notebooks/",
                 "instructor/solutions/",
                 "tests/grader/test_grade.py", "tests/grader/test_cohort.py", "tests/grader/")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        if not item.path.is_relative_to(config.rootpath):
            return len(LONGEST_FIRST)
        path = item.path.relative_to(config.rootpath).as_posix()
        return next((i for i, p in enumerate(LONGEST_FIRST) if path.startswith(p)),
                    len(LONGEST_FIRST))
    items.sort(key=rank)   # stable: each file keeps its own order
