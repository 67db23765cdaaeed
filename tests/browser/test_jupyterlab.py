"""The course in a real JupyterLab, driven in a real browser (headless Chromium + Playwright).

For each case: start JupyterLab on localhost (a free port, a token, its own temporary
configuration, runtime and data folders, autosave off), open the notebook, run it with the menu
(Run > Run All Cells), wait until every cell has run, then check what a learner would see: no
error output, at least one figure, and (where the case names one) a widget that reacts -- pick
another option or move a slider and the picture next to it changes. The main case saves a
screenshot to ``docs/screenshots/jupyterlab.png``.

Two more tests: in notebook 04, draw a 1 and then a 0 on the drawing pad with the mouse and read
LeNet's answer (``docs/screenshots/draw_digit.png``); and during a short ``fit`` with
``plot.LiveCurve`` the curve's picture changes while the cell runs, in one place.

Run it with ``make browser-test`` (``pytest -m browser tests/browser``); plain ``pytest tests``
leaves it out (it needs Chromium and takes a minute or more). Needs Debian's ``chromium`` at
``/usr/bin/chromium`` (or ``COURSE_CHROMIUM=/path``) and the ``playwright`` Python package; it never
downloads a browser.
"""
import hashlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshots" / "jupyterlab.png"
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
# offline and quiet: no sync, no component updates, no background requests to Google
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}
STARTUP_S = 90
RUN_ALL_S = 240
# JupyterLab settings for the test server: no autosave (the committed outputs must stay as they
# are), every cell in the page (no windowing), no news or update checks (offline)
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


@dataclass
class Case:
    """A notebook to run in the browser, and optionally a widget to exercise.

    ``widget`` is ``"dropdown"`` (choose option ``choose``, by its label, in the first
    ``Dropdown``; default: the option after the current one) or ``"slider"`` (move the first
    slider one step right); the picture that must change is the ``img`` in the same cell's output.
    """

    notebook: str
    widget: Optional[str] = None
    choose: Optional[str] = None
    screenshot: bool = False

    def __str__(self):
        return Path(self.notebook).stem + (f"-{self.widget}" if self.widget else "")


# A tiny notebook with a slider linked to a matplotlib picture (interactive output): the
# slider case that does not depend on any course notebook.
SLIDER_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "slider", "metadata": {},
         "outputs": [], "source": (
             "import ipywidgets as widgets\n"
             "import matplotlib.pyplot as plt\n"
             "import numpy as np\n"
             "\n"
             "def draw(k):\n"
             "    x = np.linspace(0, 2 * np.pi, 200)\n"
             "    fig, ax = plt.subplots(figsize=(4, 2.5), dpi=80)\n"
             "    ax.plot(x, np.sin(k * x))\n"
             "    ax.set_title(f'sin({k}x)')\n"
             "    plt.show()\n"
             "\n"
             "k = widgets.IntSlider(value=1, min=1, max=5, description='k')\n"
             "display(widgets.VBox([k, widgets.interactive_output(draw, {'k': k})]))")},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}

CASES = [
    # the main case: notebook 02's kernel explorer (a Dropdown of presets and the filtered photo)
    Case("notebooks/02_convolution_from_scratch.ipynb", widget="dropdown",
         choose="vertical edge (Sobel x)", screenshot=True),
    Case("notebooks/00_setup_and_tour.ipynb"),
    Case("{tmp}/slider.ipynb", widget="slider"),
]


# ------------------------------------------------------------------------------ the server

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    scratch: Path  # a folder under the served root (gitignored build/) for temporary notebooks
    log: Path

    def open_url(self, notebook):
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"

    def api(self, path, method="GET"):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None


def _log_tail(log, n=40):
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])
    except OSError as err:
        return f"(no server log: {err})"


def _descendants(pid):
    """Process ids below ``pid`` (the kernels run in sessions of their own)."""
    try:
        import psutil
    except ImportError:
        return []
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        import psutil

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (ImportError, psutil.Error):
        return True


def _stop(proc, lab):
    """Shut JupyterLab down: the API first (it stops the kernels), then signals.

    Returns the process ids that had to be killed after the API shutdown (none when clean).
    """
    kernels = _descendants(proc.pid)
    forced = []
    if proc.poll() is None:
        try:
            lab.api("/api/shutdown", method="POST")
            proc.wait(timeout=20)
        except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        forced.append(proc.pid)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in kernels) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in kernels:  # a kernel the server could not stop
        if _alive(pid):
            forced.append(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return sorted(set(forced))


@pytest.fixture(scope="module")
def lab():
    """JupyterLab serving the repository, with configuration that touches nothing of the user's."""
    home = Path(tempfile.mkdtemp(prefix="course-lab-"))
    (REPO / "build").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="browser-test-", dir=REPO / "build"))
    for name, settings in LAB_SETTINGS.items():
        path = home / "config" / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    port, token = free_port(), os.urandom(16).hex()
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_DATA_DIR=str(home / "data"), IPYTHONDIR=str(home / "ipython"),
               # the environment the saved outputs come from (see the Makefile's RUNENV); a
               # COURSE_THREADS of the caller's wins (1 on a machine shared with other jobs)
               COURSE_PROFILE="default", COURSE_QUIET="1",
               COURSE_THREADS=os.environ.get("COURSE_THREADS", "2"))
    env.pop("JUPYTER_PATH", None)
    log = home / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={REPO}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group, to stop it all
    server = Lab(f"http://127.0.0.1:{port}", token, scratch, log)
    forced = []
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {proc.returncode} at start:\n"
                            f"{_log_tail(log)}")
            try:
                server.api("/api/status")
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within {STARTUP_S} s:\n{_log_tail(log)}")
                time.sleep(0.5)
        yield server
    finally:
        forced = _stop(proc, server)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    assert proc.poll() is not None, "JupyterLab is still running after shutdown"
    assert not forced, f"JupyterLab did not shut down cleanly: had to kill {forced}"


# ----------------------------------------------------------------------------- the browser

@pytest.fixture(scope="module")
def browser_context():
    """Headless Debian Chromium with an empty profile, driven by Playwright (never downloaded)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The browser test needs Playwright for Python: pip install -e '.[test]' "
                    "(do not run 'playwright install': it uses Debian's chromium)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No Chromium at {CHROMIUM}: run 'sudo apt-get install chromium' "
                    "or set COURSE_CHROMIUM to a Chromium/Chrome executable")
    profile = tempfile.mkdtemp(prefix="course-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport=VIEWPORT)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# ------------------------------------------------------------------------ what the page shows

# JavaScript run in the page: the state of every code cell of the open notebook
CELL_STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map(p => p.textContent.trim());
  return {kernel: status ? status.getAttribute('data-status') : null, prompts};
}"""


def _until(page, ready, what, timeout_s, settle_s=1.0):
    """Poll the cell state until ``ready(state)`` has held for ``settle_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    since = None
    while True:
        state = page.evaluate(CELL_STATE_JS)
        now = time.monotonic()
        if state is not None and ready(state):
            since = since or now
            if now - since >= settle_s:
                return state
        else:
            since = None
        if now > deadline:
            pytest.fail(f"{what}: not done after {timeout_s} s; last state {state}")
        page.wait_for_timeout(250)


def open_notebook(page, url, n_code_cells, timeout_s=STARTUP_S):
    """Open a notebook and wait until all its code cells are shown and its kernel is idle.

    (While JupyterLab loads, the panel briefly shows one empty cell and an "idle" kernel.)
    """
    page.goto(url, wait_until="domcontentloaded")
    _until(page, lambda s: s["kernel"] == "idle" and len(s["prompts"]) == n_code_cells,
           "opening the notebook and starting its kernel", timeout_s)


# records whether any cell showed [*] (queued or running) after it was installed
WATCH_RUN_JS = """() => {
  window.__courseSawRun = false;
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const look = () => { if ([...panel.querySelectorAll('.jp-InputArea-prompt')]
      .some(p => p.textContent.includes('[*]'))) window.__courseSawRun = true; };
  new MutationObserver(look).observe(panel, {subtree: true, childList: true, characterData: true});
}"""


def run_all_cells(page, timeout_s=RUN_ALL_S):
    """Run > Run All Cells from the menu bar; wait until nothing is queued and the kernel is idle.

    Returns the cell prompts at the end, e.g. ``['[1]:', '[2]:']`` (a ``[ ]:`` means a cell
    never ran: an error stops "Run All").
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate(WATCH_RUN_JS)
    for attempt in (1, 2):  # on a busy machine the first click on the menu can get lost
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click()
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        try:
            page.wait_for_function("() => window.__courseSawRun", timeout=30_000 * attempt)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    state = _until(page, lambda s: s["kernel"] == "idle"
                   and not any(p.startswith("[*]") for p in s["prompts"]),
                   "Run All Cells", timeout_s)
    return state["prompts"]


def error_outputs(page):
    """Text of every error or Traceback on stderr shown in the notebook's outputs."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')]
      .filter(o => o.getAttribute('data-mime-type') === 'application/vnd.jupyter.error'
                   || (o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
                       && /Traceback|Error:/.test(o.textContent)))
      .map(o => o.textContent.slice(0, 2000))""")


def shown_figures(page):
    """Number of decoded images in the notebook's outputs."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img')]
      .filter(img => img.complete && img.naturalWidth > 0).length""")


def exercise_widget(page, kind, choose=None, timeout_s=30):
    """Change the first Dropdown or slider; return the picture's src before and after."""
    selector = {"dropdown": ".widget-dropdown select", "slider": ".widget-slider"}[kind]
    control = page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell:has({selector})").first
    control.scroll_into_view_if_needed()
    picture = control.locator(".jp-OutputArea-output img")
    picture.first.wait_for(state="visible", timeout=timeout_s * 1000)

    def srcs():  # short fingerprints: a failure message stays readable
        return [hashlib.sha1((picture.nth(i).get_attribute("src") or "").encode()).hexdigest()[:12]
                for i in range(picture.count())]

    before = srcs()
    if kind == "dropdown":
        select = control.locator(selector).first
        if choose is None:
            labels = select.locator("option").all_inner_texts()
            current = select.evaluate("s => s.selectedIndex")
            choose = labels[(current + 1) % len(labels)]
        select.select_option(label=choose)
    else:
        handle = control.locator(".widget-slider .noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowRight")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        after = srcs()
        if after and after != before and picture.first.evaluate("i => i.complete && i.naturalWidth > 0"):
            return before, after
        page.wait_for_timeout(250)
    return before, srcs()


def save_screenshot(page, path, element=None):
    """A PNG of the page (1280x800) or of one element, palette-reduced to stay small."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".raw.png")
    (element or page).screenshot(path=str(raw))
    try:
        with Image.open(raw) as img:
            img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
                path, optimize=True)
    finally:
        raw.unlink()
    return path


# ---------------------------------------------------------------------------------- the test

@pytest.mark.parametrize("case", CASES, ids=str)
def test_notebook_in_jupyterlab(lab, browser_context, case):
    notebook = case.notebook.format(tmp=lab.scratch.relative_to(REPO).as_posix())
    path = REPO / notebook
    if "{tmp}" in case.notebook:
        path.write_text(json.dumps(SLIDER_NOTEBOOK))
    if not path.is_file():
        pytest.fail(f"{notebook} does not exist")
    saved = path.read_bytes()

    page = browser_context.new_page()
    try:
        n_code = sum(c["cell_type"] == "code" for c in json.loads(saved)["cells"])
        open_notebook(page, lab.open_url(notebook), n_code)
        prompts = run_all_cells(page)

        assert prompts, "no code cell was found in the page"
        assert error_outputs(page) == [], "a cell shows an error"
        not_run = [i for i, p in enumerate(prompts) if not p[1:-2].isdigit()]
        assert not not_run, f"code cells {not_run} did not run (prompts: {prompts})"
        assert shown_figures(page) >= 1, "no figure is shown in the outputs"

        if case.widget:
            before, after = exercise_widget(page, case.widget, case.choose)
            assert before, f"the {case.widget} widget's cell shows no picture"
            assert after != before, f"the picture did not change after moving the {case.widget}"
            assert error_outputs(page) == [], "the widget's callback shows an error"

        if case.screenshot:
            target = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell:has("
                                  + (".widget-dropdown, .widget-slider" if case.widget
                                     else ".jp-OutputArea-output img") + ")").first
            target.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            save_screenshot(page, SCREENSHOT)
            assert SCREENSHOT.stat().st_size > 10_000
    finally:
        page.close()
    # autosave is off and nothing saved: the committed notebook (with its outputs) is unchanged
    assert path.read_bytes() == saved, f"{notebook} was modified on disk by the browser run"


# ------------------------------------------------------------- notebook 04's drawing pad

DRAW_NOTEBOOK = "notebooks/04_lenet.ipynb"
DRAW_SCREENSHOT = REPO / "docs" / "screenshots" / "draw_digit.png"
RUN_04_S = 1800  # notebook 04 trains 11 nets: about 2 minutes alone, far more on a busy machine
PAD = 280       # the pad's size in canvas pixels (course_utils.draw.CANVAS_SIZE)
# pen paths in canvas pixels, drawn as a person would: a one, then a zero
ONE = [(140, 40), (140, 240)]
ZERO = [(140 + 65 * math.sin(t * math.pi / 10), 140 - 100 * math.cos(t * math.pi / 10)) for t in range(21)]


def pen(page, canvas, points, steps=5):
    """Press the mouse at the first point, move through the others, release at the last."""
    box = canvas.bounding_box()
    assert box and box["width"] > 100, f"the canvas is not visible ({box})"
    at = [(box["x"] + x * box["width"] / PAD, box["y"] + y * box["height"] / PAD) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()


def wait_text(locator, needle, timeout_s=60):
    """Wait until the element's text contains ``needle``; returns the text."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = locator.inner_text()
        if needle in text:
            return text
        time.sleep(0.25)
    pytest.fail(f"waited {timeout_s} s for {needle!r}; the page shows {text!r}")


def test_draw_digits_for_lenet(lab, browser_context):
    path = REPO / DRAW_NOTEBOOK
    saved = path.read_bytes()
    page = browser_context.new_page()
    try:
        n_code = sum(c["cell_type"] == "code" for c in json.loads(saved)["cells"])
        open_notebook(page, lab.open_url(DRAW_NOTEBOOK), n_code)
        prompts = run_all_cells(page, RUN_04_S)
        assert error_outputs(page) == [], "a cell shows an error"
        assert all(p[1:-2].isdigit() for p in prompts), f"not every cell ran: {prompts}"

        cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell:has(canvas)").first
        cell.scroll_into_view_if_needed()
        canvas, answer = cell.locator("canvas").first, cell.locator(".widget-html").first
        wait_text(answer, "Draw a digit")

        pen(page, canvas, ONE)
        assert "LeNet reads 1 " in wait_text(answer, "LeNet reads")
        cell.locator("button", has_text="Clear").click()
        wait_text(answer, "Draw a digit")

        pen(page, canvas, ZERO)
        assert "LeNet reads 0 " in wait_text(answer, "LeNet reads")
        picture = cell.locator(".widget-image").first
        picture.wait_for(state="visible", timeout=60_000)
        deadline = time.monotonic() + 60
        while not picture.evaluate("i => i.complete && i.naturalWidth > 300"):
            assert time.monotonic() < deadline, "the activations picture did not appear"
            page.wait_for_timeout(250)
        page.wait_for_timeout(300)
        save_screenshot(page, DRAW_SCREENSHOT, element=cell)
        assert DRAW_SCREENSHOT.stat().st_size > 10_000
        cell.locator("button", has_text="Clear").click()
        wait_text(answer, "Draw a digit")
        assert error_outputs(page) == [], "drawing made a cell show an error"
    finally:
        page.close()
    assert path.read_bytes() == saved, f"{DRAW_NOTEBOOK} was modified on disk by the browser run"


# ---------------------------------------------------------------- a live curve during fit

LIVE_EPOCHS = 5
LIVE_S = 480
LIVE_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "live", "metadata": {},
         "outputs": [], "source": (
             "import course_utils\n"
             "from course_utils import config, data, models, plot, train\n"
             "\n"
             "config.set_seed(0)\n"
             "X, y = data.to_arrays(data.load_mnist(train=True))\n"
             "train_iter = data.ArrayLoader(X[::3], y[::3], 64, shuffle=True)  # short epochs\n"
             "X_test, y_test = data.to_arrays(data.load_mnist(train=False))\n"
             "test_iter = data.ArrayLoader(X_test[::2], y_test[::2], 250)\n"
             "net = models.LeNet(activation='relu', pooling='max')\n"
             f"curve = plot.LiveCurve({LIVE_EPOCHS}, live=True)  # the lab runs with COURSE_QUIET=1\n"
             f"history = train.fit(net, train_iter, test_iter, {LIVE_EPOCHS}, lr=0.003,\n"
             "                    optimizer='adam', on_epoch=curve)\n"
             "print('figures drawn:', curve.draws)")},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}

# records, while the live cell runs ([*]), a fingerprint of each picture its output shows
WATCH_LIVE_JS = """() => {
  window.__courseLive = {seen: [], most: 0};
  const cell = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell');
  const h = s => { let x = 0; for (let k = 0; k < s.length; k += 7) x = (x * 31 + s.charCodeAt(k)) | 0;
                   return x + ':' + s.length; };
  const look = () => {
    const imgs = [...cell.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src);
    window.__courseLive.most = Math.max(window.__courseLive.most, imgs.length);
    if (!cell.querySelector('.jp-InputArea-prompt').textContent.includes('[*]')) return;
    for (const src of imgs) if (!window.__courseLive.seen.includes(h(src))) window.__courseLive.seen.push(h(src));
  };
  new MutationObserver(look).observe(cell, {subtree: true, childList: true, characterData: true,
                                            attributes: true, attributeFilter: ['src']});
}"""


def test_live_curve_redraws_while_fit_runs(lab, browser_context):
    notebook = lab.scratch / "live_curve.ipynb"
    notebook.write_text(json.dumps(LIVE_NOTEBOOK))
    page = browser_context.new_page()
    try:
        open_notebook(page, lab.open_url(notebook.relative_to(REPO).as_posix()), 1)
        page.evaluate(WATCH_LIVE_JS)
        run_all_cells(page, LIVE_S)
        live = page.evaluate("() => window.__courseLive")
        text = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea").first.inner_text()
        assert error_outputs(page) == [], "the cell shows an error"
        assert f"figures drawn: {LIVE_EPOCHS}" in text
        assert len(live["seen"]) >= 2, f"the curve never changed while fit ran: {live}"
        assert live["most"] == 1, f"the curve is not redrawn in one place: {live}"
    finally:
        page.close()
