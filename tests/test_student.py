"""Student versions: solutions removed, outputs cleared, originals untouched."""
import hashlib
import json

import nbformat
import pytest

import course_utils  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from course_utils import config, student


def md(text, cid):
    return nbformat.v4.new_markdown_cell(text, id=cid)


def code(text, cid, n):
    cell = nbformat.v4.new_code_cell(text, id=cid, execution_count=n)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {n}\n")]
    return cell


def synthetic():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells = [
        md("# 99 · A synthetic notebook", "title"),
        code("x = 1\nprint(x)", "setup", 1),
        md("## Exercises\n\n1. Compute 2 + 2.", "ex"),
        md("## Solutions", "sol"),
        code("print(2 + 2)", "answer1", 2),
        md("### Exercise 2\n\nThe idea is ...", "sub"),  # level 3: still a solution
        code("print(3 + 3)", "answer2", 3),
        md("A last remark on the solutions.\n\n## Summary\n\n- one\n- two", "mixed"),
        code("print('after the summary heading')", "after", 4),
    ]
    return nb


def sources(nb):
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]]


def test_synthetic_notebook(tmp_path):
    src = tmp_path / "instructor" / "99_synthetic.ipynb"
    src.parent.mkdir()
    nbformat.write(synthetic(), str(src))
    before = src.read_bytes()

    [(dest, removed)] = student.make_student_versions(tmp_path / "student", [src])
    assert src.read_bytes() == before  # the original is untouched
    assert dest == (tmp_path / "student" / "99_synthetic.ipynb").resolve()
    assert removed == 4  # two code cells, the level-3 cell, and the first part of "mixed"

    nb = nbformat.read(str(dest), as_version=4)
    nbformat.validate(nb)  # cell ids stay unique after the split
    assert sources(nb) == [
        "# 99 · A synthetic notebook",
        "x = 1\nprint(x)",
        "## Exercises\n\n1. Compute 2 + 2.",
        "## Solutions",
        student.PLACEHOLDER,
        "## Summary\n\n- one\n- two",
        "print('after the summary heading')",
    ]
    assert [c.cell_type for c in nb.cells].count("markdown") == 5
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert "widgets" not in nb.metadata


def test_solutions_heading_inside_a_cell_and_notebook_without_solutions():
    cells = [md("## Exercises\n\nTry it.\n\n## Solutions\n\nThe answer is 4.", "a"),
             code("print(4)", "b", 1)]
    out, removed = student.remove_solutions(cells)
    assert sources({"cells": out}) == ["## Exercises\n\nTry it.\n\n## Solutions", student.PLACEHOLDER]
    assert removed == 2
    assert cells[0]["source"].endswith("The answer is 4.")  # input not modified

    plain = [md("# Title", "t"), code("1 + 1", "c", 1)]
    nb, removed = student.student_notebook({"cells": plain, "metadata": {}, "nbformat": 4,
                                           "nbformat_minor": 5})
    assert removed == 0 and sources(nb) == ["# Title", "1 + 1"]
    assert nb["cells"][1]["outputs"] == [] and plain[1]["outputs"] != []


def test_notebook_00(tmp_path):
    src = config.NOTEBOOK_DIR / "00_setup_and_tour.ipynb"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    original = json.loads(src.read_text(encoding="utf-8"))

    [(dest, removed)] = student.make_student_versions(tmp_path, [src])
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest

    nb = nbformat.read(str(dest), as_version=4)
    nbformat.validate(nb)
    text = sources(nb)
    at = text.index("## Solutions")
    assert text[at + 1] == student.PLACEHOLDER
    assert text[at + 2].startswith("## Summary")
    # every code cell from the original, except the solutions, in the same order
    heading = sources(original).index("## Solutions")
    summary = next(i for i, s in enumerate(sources(original)) if s.startswith("## Summary"))
    kept = [c["id"] for i, c in enumerate(original["cells"])
            if c["cell_type"] == "code" and not heading < i < summary]
    assert removed == summary - heading - 1 > 0
    assert [c.id for c in nb.cells if c.cell_type == "code"] == kept
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert any(c["outputs"] for c in original["cells"] if c["cell_type"] == "code")


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
    assert "4 solution cell(s) removed" in capsys.readouterr().out
    assert (tmp_path / "student" / "99_synthetic.ipynb").is_file()
