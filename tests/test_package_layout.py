"""The package's shape (issue 10): no import cycle, a light ``import course_utils``, small modules."""
import ast
import io
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"
MAX_MODULE_LINES = 350
MAX_FIT_LINES = 60


def module_name(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name, path):
    """The course_utils modules ``name`` imports anywhere in its code (lazy imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            # the longest known module the target names (``from x import y``: y may be a name)
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name and target != "course_utils":
                found.add(target)
    return found


def test_the_import_graph_of_course_utils_is_acyclic():
    graph = {name: imported_modules(name, path) for name, path in MODULES.items()}
    assert graph["course_utils.config"] == set(), "config must import nothing of the package"
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    # the automatic profile asks device through the package, not through config
    assert "course_utils.device" in graph["course_utils"]


def test_a_bare_import_loads_only_config_and_compat():
    code = ("import course_utils, sys; "
            "print(sorted(m for m in sys.modules if m == 'mxnet' or m.startswith(('mxnet.', "
            "'course_utils.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['course_utils.compat', 'course_utils.config']"


def code_lines(source, first=1, last=None):
    """Lines that hold code: not blank, not only a comment, not a docstring."""
    lines = set()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip:
            continue
        for line in range(tok.start[0], tok.end[0] + 1):
            if line not in docstrings and first <= line <= (last or line):
                lines.add(line)
    return len(lines)


def test_code_lines_counts_code_only():
    source = '"""Doc.\n\nMore."""\n# a comment\n\nx = 1  # why\n\n\ndef f():\n    """Doc."""\n    return (x +\n            1)\n'
    assert code_lines(source) == 4  # x = 1, def f, and the two lines of the return


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_at_most_350_code_lines(name):
    n = code_lines(MODULES[name].read_text())
    assert n <= MAX_MODULE_LINES, f"{name} has {n} lines of code; split it (at most {MAX_MODULE_LINES})"


def test_fit_body_is_under_60_code_lines():
    source = MODULES["course_utils.train"].read_text()
    fit = next(n for n in ast.walk(ast.parse(source))
               if isinstance(n, ast.FunctionDef) and n.name == "fit")
    n = code_lines(source, fit.body[0].lineno, fit.end_lineno)
    assert n < MAX_FIT_LINES, f"train.fit's body has {n} lines of code"
