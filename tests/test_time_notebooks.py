"""The notebook timing tool: selecting notebooks, reading saved cell timestamps, the agreement check."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("time_notebooks", ROOT / "benchmarks" / "time_notebooks.py")
time_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(time_notebooks)


def write_notebook(path, stamps):
    """A notebook whose code cells carry the given (start, reply) ISO timestamps."""
    cells = [{"cell_type": "code", "source": "1", "outputs": [], "execution_count": i,
              "metadata": {"execution": {"iopub.execute_input": start, "shell.execute_reply": reply}}}
             for i, (start, reply) in enumerate(stamps, 1)]
    cells.insert(1, {"cell_type": "markdown", "source": "text", "metadata": {}})
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_saved_cell_span_is_first_start_to_last_reply(tmp_path):
    nb = write_notebook(tmp_path / "00_x.ipynb", [("2026-01-01T10:00:00.000Z", "2026-01-01T10:00:02.500Z"),
                                                  ("2026-01-01T10:00:03.000Z", "2026-01-01T10:01:10.000Z")])
    assert time_notebooks.saved_cell_span(nb) == pytest.approx(70.0)


def test_saved_cell_span_without_timestamps_is_none(tmp_path):
    nb = tmp_path / "00_x.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "1", "outputs": [],
                                         "metadata": {}}], "metadata": {}}))
    assert time_notebooks.saved_cell_span(nb) is None


def test_selection_by_number_and_unknown_names():
    chosen = time_notebooks.find_notebooks(["4", "12"])
    assert [p.name[:2] for p in chosen] == ["04", "12"]
    assert len(time_notebooks.find_notebooks([])) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    with pytest.raises(SystemExit, match="no notebook matches 'lenet'"):
        time_notebooks.find_notebooks(["lenet"])


def test_check_reports_a_notebook_whose_saved_span_disagrees(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "00_a.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:01:40Z")])  # 100 s
    write_notebook(folder / "01_b.ipynb", [("2026-01-01T10:00:00Z", "2026-01-01T10:00:10Z")])  # 10 s
    monkeypatch.setattr(time_notebooks, "NOTEBOOKS", folder)
    table = {"notebooks": {"00_a.ipynb": {"cells_s": 95.0}, "01_b.ipynb": {"cells_s": 20.0}}}
    problems = time_notebooks.check(table)
    assert len(problems) == 1 and problems[0].startswith("01_b.ipynb: saved cells span 10 s")


def test_write_table_replaces_only_the_marked_part():
    table = {"machine": "x86_64, 2 cores", "notebooks": {
        "00_a.ipynb": {"wall_s": 10.0, "cpu_s": 8.0, "peak_rss_mb": 400},
        "01_b.ipynb": {"wall_s": 30.4, "cpu_s": 50.0, "peak_rss_mb": 900}}}
    text = "intro\n<!-- timings -->\nold table\n<!-- /timings -->\nafter\n"
    new = time_notebooks.write_table(text, table)
    assert new.startswith("intro\n<!-- timings -->\nMeasured on: x86_64, 2 cores.")
    assert new.endswith("<!-- /timings -->\nafter\n") and "old table" not in new
    assert "| 01 | `01_b` | 30 | 50 | 900 |" in new and "| | all | 40 | | |" in new
    with pytest.raises(ValueError, match="one <!-- timings -->"):
        time_notebooks.write_table("no markers here", table)
