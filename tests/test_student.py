"""Student versions through nbgrader's preprocessors: solutions and outputs cleared, originals untouched."""
import hashlib
import json

import nbformat
import pytest

import course_utils  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from course_utils import config
from course_utils.admin import assignments, student


def md(text, cid):
    return nbformat.v4.new_markdown_cell(text, id=cid)


def code(text, cid, n):
    cell = nbformat.v4.new_code_cell(text, id=cid, execution_count=n)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {n}\n")]
    return cell


def synthetic():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [
        md("# 99 · A synthetic notebook", "title"),
        code("x = 1\nprint(x)", "setup", 1),
        md("## Exercises\n\n1. Compute 2 + 2.", "ex"),
        md("## Solutions", "sol"),
        code("# NBVAL_IGNORE_OUTPUT\nfour = 2 + 2\nprint(four)", "answer1", 2),
        md("Four, because two and two.", "why"),
        code("from course_utils import exercises\n\nexercises.check(\"11.3\", four)", "check1", 3),
        md("## Summary\n\n- one\n- two", "summary"),
        code("print('after the summary heading')", "after", 4),
    ]
    marked, warnings = assignments.mark_notebook(json.loads(nbformat.writes(nb)), "99_synthetic")
    assert warnings == []
    return nbformat.from_dict(marked)


def sources(nb):
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]]


def test_synthetic_notebook(tmp_path):
    src = tmp_path / "instructor" / "99_synthetic.ipynb"
    src.parent.mkdir()
    nbformat.write(synthetic(), str(src))
    before = src.read_bytes()

    [(dest, cleared)] = student.make_student_versions(tmp_path / "student", [src])
    assert src.read_bytes() == before  # the original is untouched
    assert dest == (tmp_path / "student" / "99_synthetic.ipynb").resolve()
    assert cleared == 2  # the solution code and the written answer

    nb = nbformat.read(str(dest), as_version=4)
    nbformat.validate(nb)
    assert sources(nb) == [
        "# 99 · A synthetic notebook",
        "x = 1\nprint(x)",
        "## Exercises\n\n1. Compute 2 + 2.",
        "## Solutions",
        "# NBVAL_IGNORE_OUTPUT\n# Your answer: four (11.3), checked below\n"
        "# YOUR CODE HERE\nraise NotImplementedError()",
        "YOUR ANSWER HERE",
        "from course_utils import exercises\n\nexercises.grade(\"11.3\", lambda: four)",
        "## Summary\n\n- one\n- two",
        "print('after the summary heading')",
    ]
    test = nb.cells[6]
    assert test.metadata.nbgrader["locked"] and test.metadata.nbgrader["points"] == 1
    assert test.metadata.nbgrader["checksum"]  # as nbgrader's release has it
    assert not test.metadata.get("deletable", True) and not test.metadata.get("editable", True)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "widgets" not in nb.metadata


def test_an_unmarked_notebook_is_refused_and_nothing_is_written(tmp_path):
    nb = synthetic()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    src = tmp_path / "99_unmarked.ipynb"
    nbformat.write(nb, str(src))
    with pytest.raises(student.StudentError, match="no cell marked as an nbgrader solution.*"
                                                   "python -m course_utils.admin.assignments"):
        student.make_student_versions(tmp_path / "student", [src])
    assert not (tmp_path / "student").exists()
    # a notebook without a Solutions section has nothing to clear: outputs only
    plain = {"cells": [md("# Title", "t"), code("1 + 1", "c", 1)], "metadata": {}, "nbformat": 4,
             "nbformat_minor": 5}
    out, cleared = student.student_notebook(json.loads(json.dumps(plain)))
    assert cleared == 0 and sources(out) == ["# Title", "1 + 1"] and out["cells"][1]["outputs"] == []


def test_notebook_01(tmp_path):
    src = config.NOTEBOOK_DIR / "01_mnist_fully_connected.ipynb"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    original = json.loads(src.read_text(encoding="utf-8"))

    [(dest, cleared)] = student.make_student_versions(tmp_path, [src])
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest

    nb = nbformat.read(str(dest), as_version=4)
    nbformat.validate(nb)
    assert [c.id for c in nb.cells] == [c["id"] for c in original["cells"]]  # every cell, in order
    solutions = [c for c in original["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    assert cleared == len(solutions) >= 6
    released = "\n".join(sources(nb))
    by_id = {c.id: c.source for c in nb.cells}
    for cell in solutions:
        if cell["cell_type"] == "code":
            _, body = assignments.solution_body("".join(cell["source"]))
            assert body.strip() and not any(line in by_id[cell["id"]] for line in body.splitlines() if line.strip())
    assert 'def shuffle_each' not in released and "argsort" in "".join(sources(original))
    assert released.count("raise NotImplementedError()") == sum(c["cell_type"] == "code" for c in solutions)
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")


def test_refuses_to_overwrite_the_originals(tmp_path):
    src = tmp_path / "01_x.ipynb"
    nbformat.write(synthetic(), str(src))
    with pytest.raises(student.StudentError, match="overwrite the instructor's notebooks"):
        student.make_student_versions(tmp_path, [src])
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(student.StudentError, match="Cannot read the notebook"):
        student.make_student_versions(tmp_path / "out", [bad])


def test_command_line(tmp_path, capsys):
    from course_utils.__main__ import main

    src = tmp_path / "99_synthetic.ipynb"
    nbformat.write(synthetic(), str(src))
    assert main(["student", "--out", str(tmp_path / "student"), str(src)]) == 0
    assert "2 solution cell(s) removed" in capsys.readouterr().out
    assert (tmp_path / "student" / "99_synthetic.ipynb").is_file()
