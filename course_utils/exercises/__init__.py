"""Checks and hints for the notebooks' exercises.

One plain call per exercise, named by the number the notebook prints ("02.2" is notebook 02,
exercise 2), the way a teacher says "check exercise 2.2"::

    from course_utils import exercises
    exercises.check("02.2", (n1, n2))   # prints "Correct (02.2): ..." or "Not yet (02.2): ..."
    exercises.hint("02.2")              # a nudge, not the answer

``check`` prints one line and returns a :class:`Result` (true when the answer is right), so a
grading cell can write ``assert exercises.check("02.2", answer)``; ``strict=True`` raises
:class:`NotYet` (an AssertionError) carrying the same message instead. The notebooks' graded
cells (nbgrader's autograder tests) call ``exercises.grade("02.2", lambda: (n1, n2))``: the same
line when right; when not, it raises, and a name the solution has not defined yet is reported
by the checker too (not as a NameError), so a blank student copy gets the checker's message. A wrong answer never ends in a traceback from
the checker: a function that raises is reported by the name of its exception.
Besides the numbered exercises, the functions the notebooks write by hand have checkers too:
"01.softmax", "02.corr2d", "02.conv2d", "03.pool2d", "12.smooth_labels", "12.mixup",
"12.distill_T20" (notebook 12's former exercise 4).
"""
from . import core
from . import nb00_04, nb05_09, nb10_13  # noqa: F401  (importing registers the checkers)

Result = core.Result


class NotYet(AssertionError):
    """A graded answer is not right yet; the message says what to look at.

    In a notebook it shows as its one-line message, not as a traceback
    (IPython calls ``_render_traceback_``); the cell still counts as failed for nbgrader.
    """

    def _render_traceback_(self):
        return [f"\x1b[0;31m{self}\x1b[0m"]


def _get(exercise_id):
    exercise_id = str(exercise_id)
    if exercise_id not in core.REGISTRY:
        near = [k for k in core.REGISTRY if k.split(".")[0] == exercise_id.split(".")[0]]
        raise KeyError(f"no exercise {exercise_id!r}; this notebook's are {', '.join(near) or 'none'}"
                       f" (ids look like '02.2': notebook 02, exercise 2)")
    return core.REGISTRY[exercise_id]


def result(exercise_id, answer):
    """The verdict on ``answer`` without printing it: a :class:`Result` (``ok``, ``message``)."""
    return _get(exercise_id).run(answer)


def check(exercise_id, answer, strict=False):
    """Check ``answer`` to exercise ``exercise_id`` and print one line saying whether it is right.

    Parameters
    ----------
    exercise_id : str
        "NN.k" as numbered in notebook NN's Exercises (e.g. "02.2"), or one of the named
        checkers listed in this module's docstring.
    answer : object
        What the exercise asks for: a number, an array, a tuple, or a function you wrote.
    strict : bool
        Raise AssertionError (with the same message) when the answer is wrong, for grading cells.

    Returns
    -------
    Result
        True when the answer is right; ``.message`` is the printed line.
    """
    verdict = result(exercise_id, answer)
    if strict and not verdict.ok:
        raise NotYet(verdict.message)
    print(verdict.message)
    return verdict


def grade(exercise_id, compute):
    """Check the answer ``compute()`` gives, for graded cells: print the line when right, else raise.

    Parameters
    ----------
    exercise_id : str
        As for :func:`check`.
    compute : function of no arguments
        Gives the answer, e.g. ``lambda: (n1, n2)``. Passing it unevaluated lets a missing
        answer (a name not defined yet, a cell above that failed) be reported by the checker.

    Returns
    -------
    Result
        When the answer is right (the line :func:`check` prints is printed).

    Raises
    ------
    NotYet
        When the answer is wrong or missing; its message is what :func:`check` would print.
    """
    exercise = _get(exercise_id)
    if not callable(compute):
        raise TypeError(f"exercises.grade({exercise_id!r}, ...) takes a function giving the answer: "
                        "write lambda: answer")
    try:
        answer = compute()
    except NameError as err:
        name = getattr(err, "name", None) or str(err)
        raise NotYet(f"Not yet ({exercise.id}): {name} is not defined yet: write your answer in the "
                     f"solution cell above and run it (hint: exercises.hint({exercise.id!r}))") from None
    except Exception as err:  # the learner's code above failed: say so, no traceback
        raise NotYet(f"Not yet ({exercise.id}): computing your answer raised {type(err).__name__}: "
                     f"{err}; fix the cells above and run them again (hint: exercises.hint("
                     f"{exercise.id!r}))") from None
    return check(exercise_id, answer, strict=True)


def hint(exercise_id):
    """Print a nudge for exercise ``exercise_id`` (it does not give the answer)."""
    exercise = _get(exercise_id)
    print(f"Hint ({exercise.id}, {exercise.title}): {exercise.hint}")


def list_exercises(notebook=None):
    """The registered exercise ids, all or those of one notebook ("02")."""
    return [k for k in core.REGISTRY if notebook is None or k.split(".")[0] == f"{int(notebook):02d}"]
