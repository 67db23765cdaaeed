"""Student versions of the notebooks: exercise solutions removed, outputs cleared.

The notebooks in ``notebooks/`` are the instructor's copy: they run their solutions (so nbval
tests them) and carry saved outputs. ``python -m course_utils student`` writes copies for
learners into ``student/`` (the originals are never modified):

- everything between a ``## Solutions`` heading and the next ``## `` heading (or the end of the
  notebook) is replaced by one markdown cell saying the solutions are in the instructor's copy;
- every code cell's outputs are cleared and its execution count set to ``None``; saved widget
  state is dropped.

A learner may already work in that folder. ``.student-copies.json`` there records the SHA-256 of
each copy as written; a copy whose bytes differ from both that record and what would be written
now was changed by someone, and is not overwritten (nothing at all is written) unless
``force=True`` (``--force``). Copies are written readable by others (0644 under the usual
umask 022), so a shared class folder works.
"""
import copy
import hashlib
import json
import os
import tempfile
from pathlib import Path

from course_utils import config

SOLUTIONS_HEADING = "## Solutions"
PLACEHOLDER = "Solutions are in the instructor's copy."
RECORD = ".student-copies.json"


class StudentError(RuntimeError):
    """A student version cannot be written; the message says what to do."""


def _lines(cell):
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    return text.splitlines(keepends=True)


def _piece(cell, lines, part):
    """A copy of a markdown cell holding some of its lines (ids stay unique when it is split)."""
    piece = copy.deepcopy(cell)
    piece["source"] = "".join(lines).strip("\n")
    if part and "id" in piece:
        piece["id"] = f"{piece['id']}-{part}"[:64]
    return piece


def _placeholder(number, with_id):
    cell = {"cell_type": "markdown", "metadata": {}, "source": PLACEHOLDER}
    if with_id:
        cell["id"] = f"student-solutions-{number}"
    return cell


def remove_solutions(cells):
    """Replace each ``## Solutions`` section by one placeholder markdown cell.

    The section runs from the line after the ``## Solutions`` heading to the next ``## ``
    heading (or the end); the heading itself stays. A heading in the middle of a markdown cell
    splits that cell.

    Parameters
    ----------
    cells : list of dict
        Notebook cells (nbformat 4 dicts). Not modified.

    Returns
    -------
    (list of dict, int)
        The new cells and how many cells (whole or in part) were removed.
    """
    out, removed, inside, sections = [], 0, False, 0
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            if inside:
                removed += 1
            else:
                out.append(copy.deepcopy(cell))
            continue
        kept, dropped, part = [], False, 0

        def flush():
            nonlocal kept, part
            if any(line.strip() for line in kept):
                out.append(_piece(cell, kept, part))
                part += 1
            kept = []

        for line in _lines(cell):
            stripped = line.rstrip()
            if inside and stripped.startswith("## "):
                inside = False
            if inside:
                dropped = dropped or bool(stripped)
                continue
            kept.append(line)
            if stripped == SOLUTIONS_HEADING:
                flush()
                sections += 1
                out.append(_placeholder(sections, "id" in cell))
                inside = True
        flush()
        removed += dropped
    return out, removed


def clear_outputs(nb):
    """Clear outputs and execution counts in place; drop saved widget state and timings."""
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("widgets", None)
    return nb


def student_notebook(nb):
    """A student version of a notebook dict (the input is not modified).

    Returns
    -------
    (dict, int)
        The new notebook and the number of solution cells removed.
    """
    nb = copy.deepcopy(nb)
    nb["cells"], removed = remove_solutions(nb["cells"])
    return clear_outputs(nb), removed


def _notebook_text(nb):
    import nbformat

    # validates; lists of lines, as Jupyter saves
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file, with the umask's mode."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600: unreadable from a class share
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read_record(out_dir):
    try:
        record = json.loads((out_dir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _changed_copies(planned, record):
    """The existing copies in ``planned`` that someone edited since they were written."""
    changed = []
    for dest, data in planned:
        try:
            current = dest.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as err:
            raise StudentError(f"Cannot read the existing copy {dest} ({err}).") from err
        if current != data and _sha256(current) != record.get(dest.name):
            changed.append(dest)
    return changed


def make_student_versions(out_dir, notebooks=None, force=False):
    """Write student versions of notebooks into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Where the copies go (created if needed); must not be the folder of an original.
    notebooks : list of paths, optional
        The notebooks to copy (default: every ``*.ipynb`` in ``notebooks/``).
    force : bool
        Overwrite copies that were changed after they were written (a learner's work).
        Without it such copies stop the whole run before anything is written.

    Returns
    -------
    list of (Path, int)
        Each copy written and the number of solution cells removed from it.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    sources = (sorted(config.NOTEBOOK_DIR.glob("*.ipynb")) if notebooks is None
               else [Path(p) for p in notebooks])
    if not sources:
        raise StudentError(f"No notebooks found in {config.NOTEBOOK_DIR}; pass their paths.")
    planned, removed_counts = [], []
    for src in sources:
        src = src.expanduser().resolve()
        if src.parent == out_dir:
            raise StudentError(f"--out {out_dir} is the folder of the original {src.name}: the "
                               "copies would overwrite the instructor's notebooks. Choose another "
                               "folder, e.g. --out student/")
        try:
            nb = json.loads(src.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise StudentError(f"Cannot read the notebook {src} ({err}).") from err
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            raise StudentError(f"{src} is not a Jupyter notebook (no list of cells).")
        student, removed = student_notebook(nb)
        planned.append((out_dir / src.name, _notebook_text(student).encode("utf-8")))
        removed_counts.append(removed)
    record = _read_record(out_dir)
    changed = [] if force else _changed_copies(planned, record)
    if changed:
        names = ", ".join(p.name for p in changed)
        raise StudentError(
            f"{len(changed)} copy(ies) in {out_dir} were changed since they were written "
            f"({names}): a learner's work, probably. Nothing was written. Move them elsewhere, "
            "write to another folder (--out), or pass --force to overwrite them.")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for (dest, data), removed in zip(planned, removed_counts):
        _write_atomic(dest, data)
        record[dest.name] = _sha256(data)
        written.append((dest, removed))
    _write_atomic(out_dir / RECORD, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
    return written
