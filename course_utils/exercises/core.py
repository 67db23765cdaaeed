"""The shared core of the exercise checkers: a registry, and comparisons that explain themselves.

Every checker is a small function ``check(answer)`` registered with :func:`exercise`. It returns
nothing when the answer is right and raises :class:`Mismatch` with a message a learner can act
on when it is not; :func:`run` turns either into a :class:`Result`. The comparisons below
(:func:`compare`, :func:`same_number`, :func:`call`) produce the messages: the expected and
received shape, the first index where values differ (with both values), or the name of a common
mistake when the answer equals what that mistake would produce.
"""
import numbers
from dataclasses import dataclass

import numpy as np

REGISTRY = {}


class Mismatch(Exception):
    """Raised by a checker: the answer is not right; the message says what to look at."""


@dataclass(frozen=True)
class Result:
    """A checker's verdict: ``ok`` and the one line it prints."""

    exercise: str
    ok: bool
    message: str

    def __bool__(self):
        return self.ok

    def __str__(self):
        return self.message

    __repr__ = __str__

    def _ipython_display_(self):
        """check() has printed the message already: show nothing more in a notebook."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id ("02.2"), a title, a checker, a hint and the line printed when right."""

    id: str
    title: str
    checker: object
    hint: str
    done: str

    def run(self, answer):
        try:
            self.checker(answer)
        except Mismatch as err:
            return Result(self.id, False, f"Not yet ({self.id}): {err} (hint: exercises.hint({self.id!r}))")
        except Exception as err:  # an answer of an unexpected kind: say so, no traceback
            return Result(self.id, False, f"Not yet ({self.id}): this answer could not be checked "
                          f"({type(err).__name__}: {err}); exercises.hint({self.id!r}) says what to pass")
        return Result(self.id, True, f"Correct ({self.id}): {self.done}")


def exercise(exercise_id, title, hint, done):
    """Register the decorated ``check(answer)`` function as exercise ``exercise_id``."""
    def register(checker):
        if exercise_id in REGISTRY:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        REGISTRY[exercise_id] = Exercise(exercise_id, title, checker, hint, done)
        return checker
    return register


# ----------------------------------------------------------------------------------------------
# Comparisons
# ----------------------------------------------------------------------------------------------

def as_array(value, what="your answer"):
    """A NumPy array from an array, an MXNet NDArray, a list or a number; Mismatch otherwise."""
    if hasattr(value, "asnumpy"):
        value = value.asnumpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mismatch(f"{what} should be numbers (an array), received {type(value).__name__}") from None
    return array


def _fmt(x):
    return f"{x:.6g}" if isinstance(x, (float, np.floating)) else str(x)


def compare(received, expected, what="your answer", mistakes=(), atol=1e-6, rtol=1e-5):
    """Raise Mismatch unless ``received`` equals ``expected`` (arrays, within the tolerances).

    ``mistakes`` is a sequence of ``(description, what_that_mistake_gives)``: when the answer
    equals one of them, the message names the mistake instead of the first differing value.
    """
    got, want = as_array(received, what), as_array(expected)
    for description, candidate in mistakes:
        candidate = as_array(candidate)
        if candidate.shape == got.shape and not (candidate.shape == want.shape and np.allclose(candidate, want, rtol, atol)) \
                and np.allclose(got, candidate, rtol, atol, equal_nan=True):
            raise Mismatch(f"{what} looks like this common mistake: {description}")
    if got.shape != want.shape:
        raise Mismatch(f"{what} has shape {got.shape}, expected {want.shape}")
    if not np.all(np.isfinite(got)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        raise Mismatch(f"{what} holds {got[index]} at index {index}: an overflow or a division by 0")
    close = np.isclose(got, want, rtol, atol)
    if not close.all():
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        where = f" at index {index}" if index else ""
        raise Mismatch(f"{what} differs first{where}: expected {_fmt(want[index])}, received {_fmt(got[index])}"
                       f" ({int((~close).sum())} of {close.size} values differ)")


def same_number(received, expected, what="your answer", mistakes=(), rel=1e-4):
    """Raise Mismatch unless the number ``received`` equals ``expected`` (relative tolerance)."""
    if isinstance(received, (bool, np.bool_)) or not isinstance(received, (int, float, np.integer, np.floating)):
        if hasattr(received, "asscalar") and getattr(received, "size", 2) == 1:
            received = received.asscalar()
        else:
            raise Mismatch(f"{what} should be one number, received {type(received).__name__}")
    for description, candidate in mistakes:
        if np.isclose(received, candidate, rtol=rel, atol=0) and not np.isclose(candidate, expected, rtol=rel, atol=0):
            raise Mismatch(f"{what} is {_fmt(received)}: {description}")
    if not np.isclose(received, expected, rtol=rel, atol=1e-12):
        raise Mismatch(f"{what} is {_fmt(received)}, expected {_fmt(expected)}")


def call(function, *args, what="your function"):
    """``function(*args)``, with Mismatch (naming the exception) instead of a traceback."""
    if not callable(function):
        raise Mismatch(f"expected a function, received {type(function).__name__}: pass the function itself, "
                       "without calling it (no parentheses)")
    try:
        return function(*args)
    except Exception as err:  # the learner's code: any exception becomes a message
        raise Mismatch(f"{what} raised {type(err).__name__}: {err}") from None


def unpack(answer, names):
    """The parts of a tuple answer such as ``(n1, n2)``; Mismatch when the count is wrong."""
    if not isinstance(answer, (tuple, list)) or len(answer) != len(names):
        raise Mismatch(f"pass a tuple of {len(names)}: ({', '.join(names)})")
    return answer


def accuracies(answer, names):
    """The accuracies of a tuple answer, each checked to be a fraction in [0, 1]."""
    values = unpack(answer, names)
    for name, value in zip(names, values):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise Mismatch(f"{name} should be an accuracy between 0 and 1, received {value!r}")
    return values
