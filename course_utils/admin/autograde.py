"""Grade the notebooks with nbgrader both ways: the instructor's copy must get full marks, the
untouched student release none (without crashing, the checkers' messages in its graded copy).

Usage: ``python -m course_utils.admin.autograde [01 02 ...] [--keep FOLDER]``
(default: notebooks 01-13). Exit code 0 only when every notebook graded as expected.

For each notebook a throwaway nbgrader course is made (``nbgrader_config.py``, ``source/nbNN/``
with the notebook and ``scripts/``); ``nbgrader generate_assignment`` writes the release, the
instructor's notebook is submitted as student ``instructor`` and the release, untouched, as
student ``blank``; ``nbgrader autograde`` runs both (it executes each notebook again: about as
long as nbval). The kernels import this checkout's ``course_utils`` (``PYTHONPATH``).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_utils import config

STUDENTS = ("instructor", "blank")
CONFIG = """c = get_config()
c.CourseDirectory.course_id = "course"
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_assignments = [dict(name={assignment!r})]
c.CourseDirectory.db_students = [dict(id="instructor"), dict(id="blank")]
c.Execute.timeout = {timeout}
c.ClearSolutions.enforce_metadata = True
"""


class AutogradeError(RuntimeError):
    """nbgrader failed on a notebook; the message names it and shows nbgrader's last lines."""


@dataclass
class Grades:
    """What nbgrader gave one notebook: (score, max score) per student, and the test messages."""

    notebook: str
    scores: dict
    blank_messages: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def as_expected(self):
        score, top = self.scores["instructor"]
        blank, _ = self.scores["blank"]
        return top > 0 and score == top and blank == 0 and len(self.blank_messages) == top


def _nbgrader(args, root, env, what):
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise AutogradeError(f"nbgrader {args[0]} failed on {what} (exit {done.returncode}):\n{tail}")
    return done


def _environment():
    env = dict(os.environ)
    repo = str(config.NOTEBOOK_DIR.parent)
    # nbgrader runs `alembic` (its database migrations) from PATH: the venv's bin folder
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for key, value in (("COURSE_PROFILE", "default"), ("COURSE_QUIET", "1"), ("COURSE_THREADS", "2")):
        env.setdefault(key, value)
    return env


def test_messages(graded_notebook):
    """The error messages of the graded test cells of an autograded notebook (one per failing test)."""
    nb = json.loads(Path(graded_notebook).read_text(encoding="utf-8"))
    messages = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade") and meta.get("points"):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                messages.append(errors[0].get("evalue", ""))
    return messages


def autograde(notebook, workdir, timeout=900):
    """Autograde one notebook (a path) both ways in ``workdir``; returns :class:`Grades`."""
    from nbgrader.api import Gradebook

    start = time.monotonic()
    notebook = Path(notebook).resolve()
    assignment = "nb" + notebook.name[:2]
    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        CONFIG.format(root=str(root), assignment=assignment, timeout=int(timeout)), encoding="utf-8")
    source = root / "source" / assignment
    source.mkdir(parents=True)
    shutil.copy(notebook, source / notebook.name)
    scripts = notebook.parent / "scripts"
    if scripts.is_dir():
        shutil.copytree(scripts, source / "scripts")
    env = _environment()
    _nbgrader(["generate_assignment", assignment, "--create", "--force"], root, env, notebook.name)
    for student, folder in (("instructor", source), ("blank", root / "release" / assignment)):
        shutil.copytree(folder, root / "submitted" / student / assignment)
    for student in STUDENTS:
        _nbgrader(["autograde", assignment, "--student", student, "--create", "--force"], root, env,
                  f"{notebook.name} ({student})")
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="course") as gb:
        for student in STUDENTS:
            graded = gb.find_submission_notebook(notebook.stem, assignment, student)
            scores[student] = (graded.score, graded.max_score)
    messages = test_messages(root / "autograded" / "blank" / assignment / notebook.name)
    return Grades(notebook.name, scores, messages, time.monotonic() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_utils.admin.autograde",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: 01 to 13)")
    parser.add_argument("--keep", metavar="FOLDER", help="grade in this folder and keep it")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    args = parser.parse_args(argv)
    numbers = [f"{int(n):02d}" for n in args.numbers] or [f"{n:02d}" for n in range(1, 14)]
    failures = 0
    for number in numbers:
        found = sorted(config.NOTEBOOK_DIR.glob(f"{number}_*.ipynb"))
        if not found:
            print(f"[FAIL] no notebook {number}_*.ipynb in {config.NOTEBOOK_DIR}")
            failures += 1
            continue
        with tempfile.TemporaryDirectory(prefix=f"autograde-{number}-") as tmp:
            where = Path(args.keep) / number if args.keep else Path(tmp)
            try:
                grades = autograde(found[0], where, args.timeout)
            except AutogradeError as err:
                print(f"[FAIL] {err}")
                failures += 1
                continue
        (score, top), (blank, _) = grades.scores["instructor"], grades.scores["blank"]
        ok = grades.as_expected
        failures += not ok
        print(f"[{'ok' if ok else 'FAIL'}] {grades.notebook}: instructor {score:g}/{top:g}, "
              f"untouched release {blank:g}/{top:g} with {len(grades.blank_messages)} checker "
              f"message(s), {grades.seconds:.0f} s")
        if not ok:
            for message in grades.blank_messages[:3]:
                print(f"       {message}")
    print(f"{len(numbers) - failures} of {len(numbers)} notebook(s) graded as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
