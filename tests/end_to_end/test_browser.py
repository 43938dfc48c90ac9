"""End to end in a real browser: a learner's journey through JupyterLab, driven by Playwright.

One JupyterLab server (on a free port, with a token) serves a copy of ``notebooks/``; one
Chromium page boots JupyterLab once and opens every learner notebook in turn from the file
browser (each notebook's kernel is started while the previous one is tested, and shut down
when its tab closes). For each notebook:

* opened from the file browser, with its kernel idle, the notebook is not marked modified
  (``test_opens_unmodified``);
* Run All from the Run menu reaches the last cell, and no cell shows an error, a traceback
  or stderr (``test_runs_to_the_end``);
* every control (slider, dropdown, checkbox, text box, button) of every widget is changed,
  the widget's figure or text must change, and the change is undone
  (``test_every_widget_responds``);
* in 03 and 05 a classic wrong solution typed into an exercise cell gets ✗ and its hint from
  the check cell, then a right one gets ✓, and the progress cell
  (``session.show_progress()``) reports the exercise failed, then passed
  (``test_exercise_feedback``);
* each test fails on the browser console's errors and uncaught page errors raised during its
  steps, but for the documented harmless ones of ``HARMLESS_CONSOLE`` (none so far).

Screenshots of every step and ``timings.json`` (seconds per step and notebook) go to
``tests/artifacts/browser/``. Check lines are compared with their whitespace collapsed (they
may be word-wrapped). Nothing depends on cell indices or points: exercise, check, progress and
widget cells are found from the notebook file. Skipped, with the reason, when Playwright or
Chromium is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lessonlib.grader.release import LANGUAGE_INFO

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
CHROMIUM = os.environ.get("LESSONLIB_CHROMIUM") or next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found: install "
                                "Debian's chromium (apt-get install chromium) or set "
                                "LESSONLIB_CHROMIUM to a Chromium or Chrome executable")


@dataclass(frozen=True)
class Journey:
    """A learner's attempts at one exercise: a classic ``wrong`` solution whose check line
    must show a hint mentioning ``hint_word``, then a ``right`` one."""

    exercise: str
    wrong: str
    right: str
    hint_word: str


JOURNEYS = {
    "03_batch_norm.ipynb": Journey(
        "3.1",
        wrong='''def batchnorm_forward(Z, gamma, beta, eps=1e-5):
    """Normalizes over the wrong axis: each example over its units."""
    mu = Z.mean(axis=0, keepdims=True)
    var = Z.var(axis=0, keepdims=True)
    Z_hat = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_hat + beta, (Z, Z_hat, mu, var, gamma, eps)''',
        right='''def batchnorm_forward(Z, gamma, beta, eps=1e-5):
    mu = Z.mean(axis=1, keepdims=True)
    var = Z.var(axis=1, keepdims=True)
    Z_hat = (Z - mu) / np.sqrt(var + eps)
    return gamma * Z_hat + beta, (Z, Z_hat, mu, var, gamma, eps)''',
        hint_word="axis"),
    "05_softmax_regression.ipynb": Journey(
        "5.1",
        wrong='''def softmax(Z):
    """Forgets to subtract the maximum: exp overflows on large logits."""
    E = np.exp(Z)
    return E / E.sum(axis=0, keepdims=True)''',
        right='''def softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)''',
        hint_word="max"),
}

# Every learner notebook, those with a journey first: pytest groups the tests of one
# notebook around the module-scoped ``notebook`` fixture by the index of its parameter, so
# the journeys' indices in ``test_exercise_feedback`` must be the same as here (otherwise a
# notebook is opened and run a second time).
NOTEBOOKS = list(JOURNEYS) + sorted(
    p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name not in JOURNEYS)

# Console errors that are not the workbook's and harm nothing, each with its reason. A
# console message matching one of these patterns is ignored; any other error fails the test.
HARMLESS_CONSOLE: dict[str, str] = {}

# a widget a cell displays (not one nested in another widget)
WIDGET_VIEWS = (".jp-Cell-outputArea > .jp-OutputArea-child > "
                ".jp-OutputArea-output:has(> .jupyter-widgets)")
# the controls a learner can change, and how ``_change`` changes each
CONTROLS = {
    "slider": ".widget-slider .noUi-handle",
    "dropdown": ".widget-dropdown select",
    "checkbox": ".widget-checkbox input[type=checkbox]",
    "text": ".widget-text input, .widget-textarea textarea",
    "toggle": ".widget-toggle-button:not(.widget-toggle-buttons *)",
    "choice": ".widget-toggle-buttons, .widget-radio-box",
    "button": ".widget-button",
}
ERROR_OUTPUTS = (".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error'], "
                 ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                 ".jp-OutputArea-output:has-text('Traceback'), "
                 ".jp-OutputArea-output:has-text('Error displaying widget')")
TIMINGS: dict[str, dict[str, float]] = {}


def collapse(text: str) -> str:
    """``text`` with every run of whitespace made one space (check lines may be wrapped)."""
    return " ".join(text.split())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    base: str
    token: str
    root: Path

    def api(self, method: str, path: str, body: dict | None = None):
        """Call JupyterLab's REST API; the decoded JSON answer."""
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab server for the whole file, serving a copy of ``notebooks/``."""
    tmp_path = tmp_path_factory.mktemp("jupyterlab")
    root = tmp_path / "workbook"
    shutil.copytree(ROOT / "notebooks", root)
    # render every cell (no windowing), start the kernel without asking, and keep
    # JupyterLab from asking about news
    settings = tmp_path / "settings" / "@jupyterlab"
    for ext, name, value in [("notebook-extension", "tracker",
                              {"windowingMode": "none", "autoStartDefaultKernel": True,
                               "kernelShutdown": True}),
                             ("apputils-extension", "notification",
                              {"fetchNews": "false", "checkForUpdates": False})]:
        (settings / ext).mkdir(parents=True, exist_ok=True)
        (settings / ext / f"{name}.jupyterlab-settings").write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp_path / "jupyter.log"
    log = open(log_path, "w")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    env.pop("MPLBACKEND", None)   # the kernel must draw inline, as it does for a learner
    env.pop("LESSONLIB_HEADLESS", None)   # and show progress bars
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                       timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + log_path.read_text()[-2000:]) from None
                time.sleep(0.3)
        yield Lab(f"http://127.0.0.1:{port}", token, root)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        log.close()


@dataclass
class Browser:
    """One Chromium page on the JupyterLab server, with every console error it logged."""

    lab: Lab
    page: object
    console: list = field(default_factory=list)
    booted: bool = False


@pytest.fixture(scope="module")
def browser(lab):
    """One Chromium and one JupyterLab page for the whole file: the app boots once, and
    each notebook opens from the file browser, as a learner opens the next lesson."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in [*ARTIFACTS.glob("*.png"), ARTIFACTS / "timings.json"]:
        old.unlink(missing_ok=True)   # the artifacts show this run only
    pw = sync_api.sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1000})
            found = Browser(lab, page)
            page.on("console", lambda m: m.type == "error" and found.console.append(
                f"console error: {m.text} ({m.location.get('url', '')})"))
            page.on("pageerror", lambda e: found.console.append(f"page error: {e}"))
            page.evaluate("console.error('probe')")     # the listener does hear errors
            deadline = time.monotonic() + 10
            while not found.console:
                assert time.monotonic() < deadline, "console errors are not collected"
                page.wait_for_timeout(20)
            assert found.console.pop().startswith("console error: probe")
            yield found
        finally:
            chromium.close()
    finally:
        pw.stop()
        (ARTIFACTS / "timings.json").write_text(json.dumps(TIMINGS, indent=1) + "\n")


@dataclass
class OpenNotebook:
    """A learner notebook open in the JupyterLab page, after Run All."""

    name: str
    browser: Browser
    cells: list            # the notebook file's cells
    console_start: int = 0
    timings: dict = field(default_factory=dict)
    opened_modified: bool = False   # the tab's mark when it opened, before Run All

    @property
    def page(self):
        return self.browser.page

    @property
    def stem(self) -> str:
        return self.name.removesuffix(".ipynb")

    def cell(self, index: int):
        return self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)

    def screenshot(self, step: str, target=None) -> None:
        start = time.monotonic()
        (target or self.page).screenshot(path=str(ARTIFACTS / f"{self.stem}-{step}.png"))
        self.timings["screenshots"] = (self.timings.get("screenshots", 0)
                                       + time.monotonic() - start)

    def console_errors(self, since: int | None = None) -> list[str]:
        """The console errors logged since ``since`` (default: the notebook's opening),
        but for the documented harmless ones."""
        self.page.wait_for_timeout(100)   # lets Playwright deliver the pending events
        start = self.console_start if since is None else since
        return [m for m in self.browser.console[start:]
                if not any(re.search(p, m) for p in HARMLESS_CONSOLE)]


def _accept_kernel_dialog(page) -> None:
    """Click "Select" if JupyterLab asks which kernel to start (it should not: the kernel
    starts by itself)."""
    button = page.locator(".jp-Dialog .jp-mod-accept")
    if button.count():
        button.first.click()


def _prompts(page) -> list[str]:
    return [p.strip() for p in
            page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt")
            .all_inner_texts()]


def _wait_for_idle_kernel(page, name: str, timeout: float) -> None:
    """Wait until the status bar shows notebook ``name`` and its idle kernel (Run All
    before the kernel is there runs nothing)."""
    deadline = time.monotonic() + timeout
    status = page.locator("#jp-main-statusbar")
    while "| Idle" not in (text := status.inner_text()) or name not in text:
        _accept_kernel_dialog(page)
        assert time.monotonic() < deadline, f"no idle kernel; the status bar says {text!r}"
        time.sleep(0.1)


def _run_all(page, timeout: float) -> None:
    """Run All Cells from the Run menu, and wait until every code cell shows an execution
    number and the last one has run."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.monotonic() + timeout
    while True:
        _accept_kernel_dialog(page)
        numbers = [re.fullmatch(r"\[(\d+)\]:", p) for p in _prompts(page)]
        if numbers and all(numbers) and int(numbers[-1].group(1)) >= len(numbers):
            return
        ran = sum(bool(n) for n in numbers)
        if time.monotonic() > deadline:
            page.screenshot(path=str(ARTIFACTS / "run-all-timed-out.png"))
            raise AssertionError(f"after {timeout:.0f} s only {ran}/{len(numbers)} cells ran")
        time.sleep(0.2)


def _start_kernel(lab: Lab, name: str) -> None:
    """Start notebook ``name``'s kernel ahead of time (JupyterLab joins the running
    session when the notebook opens)."""
    if not any(s["path"] == name for s in lab.api("GET", "/api/sessions")):
        lab.api("POST", "/api/sessions", {"path": name, "name": name, "type": "notebook",
                                          "kernel": {"name": "python3"}})


def _open(browser: Browser, name: str) -> None:
    page, lab = browser.page, browser.lab
    if not browser.booted:
        page.goto(f"{lab.base}/lab/workspaces/browser-test/tree/{name}?reset&token={lab.token}")
        browser.booted = True
    else:
        listing = page.locator(".jp-DirListing-content")
        if not listing.is_visible():
            page.locator(".jp-SideBar [data-id='filebrowser']").click()
        listing.locator(".jp-DirListing-item", has_text=name).first.dblclick()
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-CodeCell", timeout=120_000)
    _wait_for_idle_kernel(page, name, timeout=60)


def _close(browser: Browser, name: str) -> None:
    """Close the notebook's tab, discarding its changes."""
    page = browser.page
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name)
    if tab.count():
        tab.first.locator(".lm-TabBar-tabCloseIcon").click()
        discard = page.locator(".jp-Dialog button", has_text="Discard")
        try:
            discard.wait_for(timeout=5_000)
            discard.click()
        except sync_api.TimeoutError:
            pass
        page.locator(".jp-NotebookPanel").first.wait_for(state="detached", timeout=10_000)


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda nb: nb.removesuffix(".ipynb"))
def notebook(request, lab, browser):
    """The learner notebook ``request.param`` opened from JupyterLab's file browser and run
    with Run All; its tab is closed and its kernel shut down after the notebook's tests."""
    name = request.param
    cells = json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    nb = OpenNotebook(name, browser, cells, console_start=len(browser.console))
    start = time.monotonic()
    try:
        _start_kernel(lab, name)
        _open(browser, name)
        nb.timings["open"] = time.monotonic() - start
        nb.opened_modified = browser.page.locator(
            ".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty", has_text=name).count() > 0
        _run_all(browser.page, timeout=120)
        nb.timings["run all"] = time.monotonic() - start - nb.timings["open"]
        following = NOTEBOOKS.index(name) + 1
        if following < len(NOTEBOOKS):   # its kernel starts while this one is tested
            _start_kernel(lab, NOTEBOOKS[following])
        yield nb
    finally:
        TIMINGS[nb.stem] = {k: round(v, 2) for k, v in nb.timings.items()}
        try:
            _close(browser, name)
        finally:
            for session in lab.api("GET", "/api/sessions"):
                if session["path"] == name:
                    lab.api("DELETE", f"/api/sessions/{session['id']}")


def test_opens_unmodified(notebook):
    """Opened with its kernel idle and nothing done, the notebook is not marked modified
    (JupyterLab records the kernel's language report; the notebook stores the reference
    Python's)."""
    if platform.python_version() != LANGUAGE_INFO["version"]:
        pytest.skip(f"Python {platform.python_version()} here: JupyterLab records it in place "
                    f"of the notebooks' {LANGUAGE_INFO['version']}")
    assert not notebook.opened_modified


def _error_outputs(scope) -> list[str]:
    return scope.locator(ERROR_OUTPUTS).evaluate_all(
        "els => els.map(e => e.textContent.slice(0, 2000))")


def test_runs_to_the_end(notebook):
    """Run All reaches the last cell and no cell shows an error, a traceback or stderr."""
    page = notebook.page
    notebook.screenshot("after-run-all")
    assert page.locator(".jp-Notebook .jp-Cell").count() == len(notebook.cells)
    errors = _error_outputs(page)
    assert errors == [], f"{len(errors)} error outputs, the first:\n{errors[0]}"
    # the progress cell, the last one, ran and printed the notebook's progress
    last = collapse(notebook.cell(len(notebook.cells) - 1).locator(".jp-Cell-outputArea")
                    .inner_text())
    assert last.startswith(f"Progress in {notebook.stem}:"), last
    assert notebook.console_errors() == []


# ------------------------------------------------------------------------------ widgets
_STATE_JS = """root => {
    // what a learner sees change: the figures and the text a widget shows, not its
    // controls' readouts
    const parts = [...root.querySelectorAll('img')].map(i => i.src);
    for (const el of root.querySelectorAll('.widget-output, .widget-html, .widget-htmlmath'))
        parts.push(el.innerText);
    return parts.join('\\n---\\n');
}"""


def _widget_cells(notebook) -> list[int]:
    """Indices of the code cells whose last line shows a lessonlib widget."""
    found = []
    for i, c in enumerate(notebook.cells):
        lines = "".join(c["source"]).strip().splitlines()
        if c["cell_type"] == "code" and lines and re.search(r"\b\w+_widget\(", lines[-1]):
            found.append(i)
    return found


def _wait_for_change(root, before: str, what: str, timeout: float = 60,
                     settle: float = 0.1) -> str:
    """What the widget ``root`` shows once it differs from ``before``, the kernel is idle
    and nothing has changed for ``settle`` seconds (a slider's redraws have all arrived)."""
    status = root.page.locator("#jp-main-statusbar")
    deadline = time.monotonic() + timeout
    last, since = before, time.monotonic()
    while True:
        now = root.evaluate(_STATE_JS)
        if now != last:
            last, since = now, time.monotonic()
        elif (now != before and time.monotonic() - since >= settle
              and "| Idle" in status.inner_text()):
            return now
        assert time.monotonic() < deadline, f"nothing changed after {what}"
        time.sleep(0.05)


def _change(control, kind: str, restore: bool = False, state: dict | None = None) -> str:
    """Change ``control`` as a learner would (or, with ``restore``, undo that change);
    returns what was done."""
    if kind == "slider":                  # one step with the keyboard
        control.focus()
        position = ("h => h.getAttribute('aria-valuetext') + ' ' + h.closest('.widget-slider')"
                    ".querySelector('.widget-readout')?.textContent")
        value = control.evaluate(position)
        if restore:
            key = "ArrowLeft" if state["key"] == "ArrowRight" else "ArrowRight"
            control.press(key)
            return f"pressing {key} on the slider"
        key = "ArrowRight"
        control.press(key)
        deadline = time.monotonic() + 2
        while control.evaluate(position) == value:
            if time.monotonic() > deadline:    # at its maximum: one step down instead
                key = "ArrowLeft"
                control.press(key)
                break
            time.sleep(0.05)
        state["key"] = key
        return f"pressing {key} on the slider"
    if kind == "dropdown":
        options = control.locator("option").all_inner_texts()
        if restore:
            control.select_option(index=state["index"])
            return "restoring the dropdown"
        state["index"] = control.evaluate("s => s.selectedIndex")
        new = (state["index"] + 1) % len(options)
        control.select_option(index=new)
        return f"choosing {options[new]!r} in the dropdown"
    if kind == "choice":                  # toggle buttons or radio buttons
        options = control.locator("button, input[type=radio]")
        if restore:
            options.nth(state["index"]).click()
            return f"choosing option {state['index'] + 1} again"
        state["index"] = options.evaluate_all(
            "els => els.findIndex(e => e.checked || e.classList.contains('mod-active'))")
        new = (state["index"] + 1) % options.count()
        options.nth(new).click()
        return f"choosing option {new + 1} of {options.count()}"
    if kind in ("checkbox", "toggle"):
        control.click()
        return f"clicking the {kind}"
    if kind == "text":
        if restore:
            control.fill(state["value"])
        else:
            state["value"] = value = control.input_value()
            try:
                new = repr(float(value) / 2) if float(value) else "1"
            except ValueError:
                new = value + "x"
            control.fill(new)
        control.press("Enter")
        return f"typing {control.input_value()!r} in the text box"
    control.click()
    return "clicking the button"


def test_every_widget_responds(notebook):
    """Each control of each widget changes the widget's figure or text: every cell that
    shows a lessonlib widget has one with controls, and each control is moved, the change
    seen, then undone."""
    start = time.monotonic()
    n_console = len(notebook.browser.console)
    expected = _widget_cells(notebook)
    shown = {}
    for i in range(len(notebook.cells)):
        roots = notebook.cell(i).locator(WIDGET_VIEWS)
        for k in range(roots.count()):
            root = roots.nth(k)
            if root.locator(", ".join(CONTROLS.values())).count():
                shown.setdefault(i, []).append(root)
    assert sorted(shown) == expected, (
        f"cells showing a widget with controls: {sorted(shown)}, cells calling a *_widget "
        f"function: {expected}")
    n_controls = 0
    for i, roots in shown.items():
        for k, root in enumerate(roots):
            root.scroll_into_view_if_needed()
            before = root.evaluate(_STATE_JS)
            assert before, f"cell {i}'s widget shows nothing"
            notebook.screenshot(f"widget{i}-{k}-before", root)
            for kind, selector in CONTROLS.items():
                controls = root.locator(selector)
                for j in range(controls.count()):
                    control, state = controls.nth(j), {}
                    what = _change(control, kind, state=state)
                    after = _wait_for_change(root, before, f"{what} in cell {i}")
                    notebook.screenshot(f"widget{i}-{k}-{kind}{j}-after", root)
                    errors = _error_outputs(root)
                    assert errors == [], f"{what} in cell {i} gave an error:\n{errors[0]}"
                    n_controls += 1
                    if kind != "button":
                        what = _change(control, kind, restore=True, state=state)
                        before = _wait_for_change(root, after, f"{what} in cell {i}")
    assert n_controls >= len(expected)
    notebook.timings["widgets"] = time.monotonic() - start
    assert notebook.console_errors(n_console) == []


# ---------------------------------------------------------------------- exercise feedback
def _cell_index(notebook, role: str, exercise: str) -> int:
    for i, c in enumerate(notebook.cells):
        meta = c.get("metadata", {}).get("lessonlib", {})
        if meta.get("role") == role and meta.get("exercise") == exercise:
            return i
    raise AssertionError(f"{notebook.name} has no {role} cell for exercise {exercise}")


def _run_cell(notebook, index: int, timeout: float = 60) -> str:
    """Run cell ``index`` with Shift+Enter, as a learner does; its output text, collapsed."""
    cell = notebook.cell(index)
    prompt = cell.locator(".jp-InputArea-prompt")
    before = prompt.inner_text().strip()
    cell.locator(".cm-content").click()
    notebook.page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + timeout
    while not re.fullmatch(r"\[\d+\]:", now := prompt.inner_text().strip()) or now == before:
        assert time.monotonic() < deadline, f"cell {index} did not run ({now})"
        time.sleep(0.1)
    return collapse(cell.locator(".jp-Cell-outputArea").inner_text())


def _type_into(notebook, index: int, code: str) -> None:
    """Replace cell ``index``'s code by ``code``, through the editor."""
    editor = notebook.cell(index).locator(".cm-content")
    editor.click()
    notebook.page.keyboard.press("Control+A")
    notebook.page.keyboard.insert_text(code)
    typed = editor.evaluate("e => [...e.querySelectorAll('.cm-line')]"
                            ".map(l => l.textContent).join('\\n')")
    assert typed == code, f"the editor holds:\n{typed}"


@pytest.mark.parametrize("notebook", list(JOURNEYS), indirect=True,
                         ids=lambda nb: nb.removesuffix(".ipynb"))
def test_exercise_feedback(notebook):
    """A wrong solution gets ✗ and the hint, a right one ✓; the progress cell follows."""
    page, start = notebook.page, time.monotonic()
    n_console = len(notebook.browser.console)
    journey = JOURNEYS[notebook.name]
    ex = journey.exercise
    exercise = _cell_index(notebook, "exercise", ex)
    check = _cell_index(notebook, "check", ex)
    progress = len(notebook.cells) - 1
    head = f"Exercise {ex} "
    line = collapse(notebook.cell(check).locator(".jp-Cell-outputArea").inner_text())
    assert line.startswith(f"○ {head}") and "not attempted" in line, line

    _type_into(notebook, exercise, journey.wrong)
    _run_cell(notebook, exercise)
    line = _run_cell(notebook, check)
    notebook.screenshot("exercise-wrong", notebook.cell(check))
    assert line.startswith(f"✗ {head}"), line
    hint = line.partition(" Hint: ")[2]
    assert journey.hint_word in hint.lower(), line
    table = _run_cell(notebook, progress)
    notebook.screenshot("progress-after-wrong", notebook.cell(progress))
    assert re.search(rf"✗ {re.escape(ex)} \w+ \S+ failed", table), table

    _type_into(notebook, exercise, journey.right)
    _run_cell(notebook, exercise)
    line = _run_cell(notebook, check)
    notebook.screenshot("exercise-right", notebook.cell(check))
    assert line.startswith(f"✓ {head}") and "Hint" not in line, line
    table = _run_cell(notebook, progress)
    notebook.screenshot("progress-after-right", notebook.cell(progress))
    assert re.search(rf"✓ {re.escape(ex)} \w+ \S+ passed", table), table
    assert _error_outputs(page) == []
    notebook.timings["exercise"] = time.monotonic() - start
    assert notebook.console_errors(n_console) == []
