"""A learner's feedback report in a real browser (issue 25): Chromium opens the HTML file from
disk with the network off, every exercise and question of the notebook is on the page, and
the console shows no error. Skipped, with the reason, without Playwright or Chromium."""

from __future__ import annotations

import nbformat
import pytest

from lessonlib import cli
from lessonlib.grader.exercises import exercises_of
from tests.end_to_end.test_browser import CHROMIUM, CHROMIUM_ARGS, sync_api
from tests.grader.common import ROOT, SANDBOXED, cells_of

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install "
                                "chromium, or set LESSONLIB_CHROMIUM)")
SOLVED_05 = ROOT / "instructor" / "solutions" / "05_softmax_regression.ipynb"


@pytest.mark.parametrize("reveal", [False, True], ids=["feedback", "after the deadline"])
def test_a_report_opens_offline_with_every_exercise_and_no_console_error(tmp_path, reveal):
    nb = nbformat.read(SOLVED_05, as_version=4)
    cells_of(nb, "exercise")["5.1"].source = (      # a wrong softmax and a script tag
        "def softmax(Z):\n    # </pre><script>alert(1)</script>\n"
        "    E = np.exp(Z)\n    return E / E.sum()\n")
    path = tmp_path / "submissions" / "ada" / "05_softmax_regression.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    code = cli.main(["grade", str(tmp_path / "submissions"), "--feedback",
                     str(tmp_path / "feedback"), "--cases", "7"]
                    + (["--reveal"] if reveal else []) + ([] if SANDBOXED else ["--no-sandbox"]))
    assert code == 1
    report = tmp_path / "feedback" / "ada" / "05_softmax_regression.html"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, java_script_enabled=True)
            page = context.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: (problems.append(f"a dialog: {d.message}"), d.dismiss()))
            page.goto(report.as_uri())
            text = page.locator("body").inner_text()
        finally:
            browser.close()
    assert problems == []
    for exercise in exercises_of("05_softmax_regression"):
        assert exercise.function in text, exercise.id
    assert "<script>alert(1)</script>" in text          # shown as text, never run
