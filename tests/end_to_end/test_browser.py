"""End to end in a real browser: JupyterLab on localhost driven through Playwright.

Opens copies of learner notebooks (02, and 05 with its Jacobian, derivation and log-softmax
exercises; with ``LESSONLIB_BROWSER_ALL=1`` also 03 and 04, which add about a minute),
runs all cells from the Run menu, checks that no cell shows an error, moves a widget slider
and checks that the figure changed. Screenshots go to ``tests/artifacts/browser/``.
Skipped, with the reason, when Playwright or Debian's Chromium is missing (``.ci/run``
installs both).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
CHROMIUM = os.environ.get("LESSONLIB_CHROMIUM") or next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
NOTEBOOKS = ["02_choosing_scales.ipynb", "05_softmax_regression.ipynb"]
if os.environ.get("LESSONLIB_BROWSER_ALL", "") not in ("", "0"):
    NOTEBOOKS[1:1] = ["03_batch_norm.ipynb", "04_batch_norm_test_time.ipynb"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found: install "
                                "Debian's chromium (apt-get install chromium) or set "
                                "LESSONLIB_CHROMIUM to a Chromium or Chrome executable")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyter_lab(tmp_path):
    """A JupyterLab server on a free port serving a copy of ``notebooks/`` (a new one for
    each test: a workspace restored from an earlier test would open its notebook too)."""
    root = tmp_path / "workbook"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns("solutions"))
    # render every cell (no windowing), start the kernel without asking, and keep
    # JupyterLab from asking about news
    settings = tmp_path / "settings" / "@jupyterlab"
    for ext, name, value in [("notebook-extension", "tracker",
                              {"windowingMode": "none", "autoStartDefaultKernel": True}),
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
    log = open(tmp_path / "jupyter.log", "w")
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
                                       + (tmp_path / "jupyter.log").read_text()[-2000:]
                                       ) from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", token
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _figure_src(page) -> str:
    img = page.locator(".widget-output img").first
    img.wait_for(state="attached", timeout=60_000)
    return img.get_attribute("src") or ""


def _accept_kernel_dialog(page, wait: float = 5) -> None:
    """Click "Select" if JupyterLab asks which kernel to start."""
    button = page.locator(".jp-Dialog .jp-mod-accept")
    try:
        button.wait_for(timeout=wait * 1000)
    except sync_api.TimeoutError:
        return
    button.click()


def _wait_for_all_cells(page, timeout: float) -> None:
    """Wait until every code cell shows an execution number and the last one has run."""
    deadline = time.monotonic() + timeout
    while True:
        prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        numbers = [re.fullmatch(r"\[(\d+)\]:", p.strip()) for p in prompts]
        if prompts and all(numbers) and int(numbers[-1].group(1)) >= len(prompts):
            return
        ran = sum(bool(n) for n in numbers)
        assert time.monotonic() < deadline, f"only {ran}/{len(prompts)} cells ran"
        time.sleep(1)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab_and_its_widget_redraws(jupyter_lab, notebook):
    base, token = jupyter_lab
    stem = notebook.removesuffix(".ipynb")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/{notebook}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
            _accept_kernel_dialog(page)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            _accept_kernel_dialog(page)
            _wait_for_all_cells(page, timeout=240)
            page.screenshot(path=str(ARTIFACTS / f"{stem}-after-run-all.png"), full_page=False)
            errors = page.locator(".jp-OutputArea-output[data-mime-type="
                                  "'application/vnd.jupyter.error'], .jp-OutputArea-output"
                                  ":has-text('Traceback')")
            texts = errors.evaluate_all("els => els.map(e => e.textContent.slice(0, 2000))")
            assert texts == [], texts[0]

            slider = page.locator(".widget-slider").first
            slider.scroll_into_view_if_needed()
            before = _figure_src(page)
            page.screenshot(path=str(ARTIFACTS / f"{stem}-widget-before.png"))
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            for _ in range(5):
                handle.press("ArrowRight")
            deadline = time.monotonic() + 60
            while _figure_src(page) == before:
                assert time.monotonic() < deadline, "the figure did not change"
                time.sleep(0.5)
            page.screenshot(path=str(ARTIFACTS / f"{stem}-widget-after.png"))
        finally:
            browser.close()
