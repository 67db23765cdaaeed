"""Student versions of the notebooks, made by nbgrader's preprocessors: solutions cleared, outputs cleared.

The notebooks in ``notebooks/`` are the instructor's copy: they run their solutions (so nbval
tests them) and carry saved outputs. Their exercise solutions are marked in nbgrader's format
(:mod:`course_utils.admin.assignments`). ``python -m course_utils student`` writes copies for
learners into ``student/`` (the originals are never modified) through the preprocessors that
``nbgrader generate_assignment`` runs, without a course folder or a database:

- ``LockCells``, ``ClearSolutions``: the code between ``### BEGIN SOLUTION`` and ``### END
  SOLUTION`` becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, a written answer
  becomes "YOUR ANSWER HERE"; the test cells (``exercises.grade``) stay, locked;
- ``ClearOutput``, ``ClearHiddenTests``, ``ClearMarkScheme``, ``ComputeChecksums``,
  ``CheckCellMetadata``: outputs and execution counts cleared, checksums as nbgrader's release
  has them (``nbgrader validate`` works on a copy); saved widget state and timings are dropped too.

A notebook whose ``## Solutions`` section has no nbgrader solution cell is refused (its
solutions would be released): mark it first with ``python -m course_utils.admin.assignments``.

A learner may already work in that folder. ``.student-copies.json`` there records the SHA-256 of
each copy as written; a copy whose bytes differ from both that record and what would be written
now was changed by someone, and is not overwritten (nothing at all is written) unless
``force=True`` (``--force``). Copies are written readable by others (0644 under the usual
umask 022), so a shared class folder works.
"""
import hashlib
import json
from pathlib import Path

from course_utils import config
from course_utils._util import atomic_path
from course_utils.admin import assignments

RECORD = ".student-copies.json"


class StudentError(RuntimeError):
    """A student version cannot be written; the message says what to do."""


def _release_preprocessors():
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme,
                                        ClearOutput, ClearSolutions, ComputeChecksums, LockCells)

    # generate_assignment's order, less what needs a course folder (header, database, templates)
    return [LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums(),
            ClearHiddenTests(), ClearMarkScheme(), ComputeChecksums(), CheckCellMetadata()]


def solution_cells(nb):
    """How many cells of a notebook dict nbgrader will clear (solution code and written answers)."""
    return sum(1 for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution"))


def clear_outputs(nb):
    """Clear outputs and execution counts in place; drop saved widget state and timings."""
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("execution", None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("widgets", None)
    return nb


def student_notebook(nb, name="notebook"):
    """A student version of a notebook dict (the input is not modified).

    Returns
    -------
    (dict, int)
        The new notebook and the number of solution cells cleared.

    Raises
    ------
    StudentError
        When the notebook has a ``## Solutions`` section without nbgrader solution cells, or
        nbgrader rejects its cell metadata.
    """
    import nbformat
    from nbgrader.nbgraderformat import ValidationError

    cleared = solution_cells(nb)
    section = assignments.solutions_section(nb["cells"])
    if section is not None and not cleared and section[0] < section[1]:
        raise StudentError(f"{name} has a '## Solutions' section but no cell marked as an nbgrader "
                           "solution, so its solutions would be released. Mark it first: python -m "
                           f"course_utils.admin.assignments {name}")
    node = nbformat.reads(json.dumps(nb), as_version=4)  # sources joined, as nbgrader expects
    resources = {}
    try:
        for preprocessor in _release_preprocessors():
            node, resources = preprocessor.preprocess(node, resources)
    except (ValidationError, RuntimeError) as err:
        raise StudentError(f"{name}: nbgrader cannot make the release ({err}). Re-mark it with "
                           f"python -m course_utils.admin.assignments {name}") from None
    return clear_outputs(json.loads(nbformat.writes(node))), cleared


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` whole or not at all, readable from a class share."""
    with atomic_path(path, mode=None) as tmp:  # mode None: the umask's, not mkstemp's 0600
        Path(tmp).write_bytes(data)


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
        Each copy written and the number of solution cells cleared in it.
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
        student, removed = student_notebook(nb, src.name)
        planned.append((out_dir / src.name, assignments.notebook_text(student).encode("utf-8")))
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
