"""A student's copy in a real JupyterLab: the checker answers a blank exercise with its message.

The release of notebook 00 (``course_utils.admin.student``, nbgrader's preprocessors) is written
under the served folder, opened in headless Chromium, run with Run > Run All Cells (which stops
at the first ``raise NotImplementedError()`` of a blank solution, as it does for a student), then
the first graded checker cell is run on its own: it must show the checker's one-line message
(``Not yet (00.1): ...``), not a traceback, and the copy must not be changed on disk.
Part of ``make browser-test`` (same server and browser set-up as test_jupyterlab.py).
"""
import json
import time

import pytest

from test_jupyterlab import (REPO, browser_context, error_outputs, lab, open_notebook,  # noqa: F401
                             run_all_cells)

pytestmark = pytest.mark.browser

NOTEBOOK = "00_setup_and_tour.ipynb"
FIRST_CHECK = 'exercises.grade("00.1"'


def test_checker_cell_of_a_student_copy_shows_the_message(lab, browser_context):  # noqa: F811
    from course_utils.admin import student

    [(path, cleared)] = student.make_student_versions(lab.scratch / "student", [REPO / "notebooks" / NOTEBOOK])
    assert cleared > 0
    saved = path.read_bytes()
    cells = json.loads(saved)["cells"]
    page = browser_context.new_page()
    try:
        open_notebook(page, lab.open_url(path.relative_to(REPO).as_posix()),
                      sum(c["cell_type"] == "code" for c in cells))
        prompts = run_all_cells(page)
        stub = [e for e in error_outputs(page) if "NotImplementedError" in e]
        assert len(stub) == 1, f"Run All should stop at the first blank solution: {error_outputs(page)}"
        assert any(p == "[ ]:" for p in prompts), "Run All went past the blank solution"

        check = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell",
                             has_text=FIRST_CHECK).first
        check.scroll_into_view_if_needed()
        check.locator(".jp-InputPrompt").first.click()  # select the cell (command mode)
        page.keyboard.press("Shift+Enter")
        output = check.locator(".jp-OutputArea")
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline and "Not yet" not in text:
            page.wait_for_timeout(250)
            text = output.inner_text() if output.count() else ""
        assert "Not yet (00.1): " in text and "exercises.hint('00.1')" in text, text
        assert "Traceback" not in text and "NameError" not in text, text  # one line, no traceback
    finally:
        page.close()
    assert path.read_bytes() == saved, f"{path.name} was modified on disk by the browser run"
