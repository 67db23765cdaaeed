"""Mark the notebooks as nbgrader assignments: solution regions and autograder test cells.

Usage: ``python -m course_utils.admin.assignments [NOTEBOOK_OR_FOLDER ...] [--check]``
(default: every notebook in ``notebooks/``).

In each notebook's ``## Solutions`` section (up to the next ``## `` heading):

- every code cell that calls ``exercises.check`` / ``exercises.grade`` becomes an autograder
  test (nbgrader ``grade: true, points: 1, locked: true``) and calls
  ``exercises.grade("NN.k", lambda: ANSWER)``: it prints what ``check`` printed when the answer
  is right and raises when it is wrong or missing, so a blank copy scores 0 and shows the
  checker's message. A check whose answer uses no name the solutions define (a blank copy
  would pass it) is only locked (read-only), not graded, and listed as a warning;
- every other code cell is solution code (``solution: true``): its code goes between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (``# NBVAL_...`` lines stay above), with a
  comment naming the answers the tests read from it;
- every markdown cell except the one introducing the checks holds written answers: a manually
  graded answer worth 0 points, so the release shows "YOUR ANSWER HERE" in its place.

Only sources and metadata change, never outputs: the instructor's notebook runs as before and
its saved outputs still match (the markers are comments). Running it twice changes nothing.
``--check`` changes nothing and exits 1, listing what is unmarked or stale; it also lists the
tests whose answer uses no name the solutions define (a blank copy would pass them).
"""
import argparse
import ast
import copy
import json
import re
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SOLUTIONS_HEADING = "## Solutions"
ANSWER_NOTE = "# Your answer: "
SCHEMA = 3
CHECK_CALL = re.compile(r"\bexercises\.(check|grade)\(")


class AssignmentError(ValueError):
    """A notebook cannot be marked; the message names it and says what to fix."""


def text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def solutions_section(cells):
    """(first, end): the cell indices after the ``## Solutions`` heading up to the next ``## ``."""
    start = next((i for i, c in enumerate(cells) if c.get("cell_type") == "markdown"
                  and any(line.rstrip() == SOLUTIONS_HEADING for line in text(c).splitlines())), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(cells)) if cells[i].get("cell_type") == "markdown"
                and any(line.startswith("## ") for line in text(cells[i]).splitlines())), len(cells))
    return start + 1, end


def is_test(cell):
    return cell.get("cell_type") == "code" and bool(CHECK_CALL.search(text(cell)))


def is_checks_intro(cell):
    """The markdown cell that introduces the check cells (kept in the release)."""
    return cell.get("metadata", {}).get("course", {}).get("id", "").endswith("-checks")


def solution_body(source):
    """(nbval lines, the solution code) of a solution cell, marked or not."""
    lines = source.split("\n")
    if BEGIN in (line.strip() for line in lines):
        at = [line.strip() for line in lines].index(BEGIN)
        stop = max(i for i, line in enumerate(lines) if line.strip() == END)
        head = [line for line in lines[:at] if line.startswith("# NBVAL_")]
        return head, "\n".join(lines[at + 1:stop])
    head = []
    while lines and lines[0].startswith("# NBVAL_"):
        head.append(lines.pop(0))
    return head, "\n".join(lines)


def assigned_names(code):
    """The names a piece of code binds at any level (assignments, loops, defs, imports)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _checks(source, where):
    """[(exercise id, answer expression text, call node)] of the check/grade calls in a cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise AssignmentError(f"{where}: the test cell does not parse ({err})") from None
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "exercises"
                and node.func.attr in ("check", "grade") and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant)):
            answer = node.args[1]
            if node.func.attr == "grade" and isinstance(answer, ast.Lambda):
                answer = answer.body
            found.append((node.args[0].value, ast.get_source_segment(source, answer), node))
    if not found:
        raise AssignmentError(f"{where}: no exercises.check(\"NN.k\", answer) call in the test cell")
    return found


def _offset(lines, lineno, col):
    """The character offset of an AST position (``col`` counts UTF-8 bytes)."""
    return sum(len(line) + 1 for line in lines[:lineno - 1]) + len(lines[lineno - 1].encode()[:col].decode())


def grading_source(source, where):
    """The test cell's source, every ``exercises.check(ID, X)`` as ``exercises.grade(ID, lambda: X)``."""
    lines, out = source.split("\n"), source
    calls = [node for _, _, node in _checks(source, where) if node.func.attr == "check"]
    for node in sorted(calls, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        at = _offset(lines, node.args[1].lineno, node.args[1].col_offset)
        out = out[:at] + "lambda: " + out[at:]
        name = _offset(lines, node.func.end_lineno, node.func.end_col_offset) - len("check")
        out = out[:name] + "grade" + out[name + len("check"):]
    return out


def nbgrader_metadata(kind, grade_id):
    """nbgrader's cell metadata for a "solution", "test", "answer" (markdown) or "read-only" cell."""
    meta = {"grade": kind in ("test", "answer"), "grade_id": grade_id,
            "locked": kind in ("test", "read-only"), "schema_version": SCHEMA,
            "solution": kind in ("solution", "answer"), "task": False}
    if meta["grade"]:
        meta["points"] = 1 if kind == "test" else 0
    return meta


def mark_notebook(nb, where="notebook"):
    """A marked copy of a notebook dict and the list of warnings (the input is not modified)."""
    nb = copy.deepcopy(nb)
    cells = nb["cells"]
    section = solutions_section(cells)
    if section is None:
        return nb, []
    first, end = section
    tests = [i for i in range(first, end) if is_test(cells[i])]
    code = [i for i in range(first, end) if cells[i].get("cell_type") == "code" and i not in tests]
    bodies = {i: solution_body(text(cells[i])) for i in code}
    before = set()
    for cell in cells[:first]:
        if cell.get("cell_type") == "code":
            before |= assigned_names(text(cell))
    defined = {i: assigned_names(bodies[i][1]) - before for i in code}
    notes, warnings, ungraded = {i: [] for i in code}, [], set()
    for i in tests:
        for exercise_id, answer, _ in _checks(text(cells[i]), f"{where} cell {cells[i].get('id', i)}"):
            used = [n.id for n in ast.walk(ast.parse(answer, mode="eval")) if isinstance(n, ast.Name)]
            owners = [(n, next((j for j in code if n in defined[j]), None)) for n in dict.fromkeys(used)]
            owners = [(n, j) for n, j in owners if j is not None]
            if not owners:
                warnings.append(f"{where}: the check of {exercise_id} uses no name the solutions define "
                                f"({answer}): a blank copy would pass it, so it is not graded (read-only)")
                ungraded.add(i)
            for name, j in owners:
                note = f"{name} ({exercise_id})"
                if note not in notes[j]:
                    notes[j].append(note)
    for i in code:
        cell = cells[i]
        head, body = bodies[i]
        note = [ANSWER_NOTE + ", ".join(notes[i]) + ", checked below"] if notes[i] else []
        cell["source"] = "\n".join(head + note + [BEGIN, body, END])
        cell.setdefault("metadata", {})["nbgrader"] = nbgrader_metadata("solution", f"solution-{cell.get('id', i)}")
    for i in tests:
        cell = cells[i]
        cell["source"] = grading_source(text(cell), f"{where} cell {cell.get('id', i)}")
        kind = "read-only" if i in ungraded else "test"
        cell.setdefault("metadata", {})["nbgrader"] = nbgrader_metadata(kind, f"{kind}-{cell.get('id', i)}")
    for i in range(first, end):
        cell = cells[i]
        if cell.get("cell_type") == "markdown" and not is_checks_intro(cell):
            cell.setdefault("metadata", {})["nbgrader"] = nbgrader_metadata("answer", f"answer-{cell.get('id', i)}")
    return nb, warnings


def _normalise(nb):
    """Sources as plain strings, to compare notebooks whatever their line splitting."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        cell["source"] = text(cell)
    return nb


def notebook_text(nb):
    import nbformat

    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def notebooks_in(paths):
    from course_utils import config

    found = []
    for path in [Path(p) for p in paths] or [config.NOTEBOOK_DIR]:
        found += sorted(path.glob("[0-9][0-9]_*.ipynb")) if path.is_dir() else [path]
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_utils.admin.assignments",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 listing the notebooks that are not marked")
    args = parser.parse_args(argv)
    stale, problems = [], 0
    for path in notebooks_in(args.paths):
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            marked, warnings = mark_notebook(nb, path.name)
        except (OSError, ValueError) as err:
            print(f"ERROR {path}: {err}")
            problems += 1
            continue
        for warning in warnings:
            print(f"WARNING {warning}")
        if _normalise(marked) == _normalise(nb):
            continue
        stale.append(path)
        if args.check:
            unmarked = [c.get("id", "?") for c, m in zip(nb["cells"], marked["cells"])
                        if _normalise({"cells": [c]}) != _normalise({"cells": [m]})]
            print(f"UNMARKED {path.name}: cell(s) {', '.join(unmarked)}")
        else:
            path.write_text(notebook_text(marked), encoding="utf-8")
            print(f"marked {path.name}")
    verb = "need marking" if args.check else "changed"
    print(f"{len(stale)} notebook(s) {verb}, {problems} error(s)")
    return 1 if problems or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
