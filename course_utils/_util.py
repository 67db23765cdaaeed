"""Small helpers the package's modules share (internal: learners and notebooks do not need them).

Imports nothing of the package, so any module may use it.
"""
import contextlib
import hashlib
import numbers
import os
import tempfile
from pathlib import Path

CHUNK = 1 << 20


def sha256_file(path, chunk=CHUNK):
    """SHA-256 of a file, as 64 hex digits, read ``chunk`` bytes at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path, mode=0o644):
    """Write a file under a hidden temporary name next to ``path``; rename it when complete.

    Yields the temporary path (a str) to write to. When the block ends normally the bytes are
    synced to disk, the file gets ``mode`` (``mkstemp`` makes it private; None: what a new file
    gets under the process's umask, e.g. for a class share) and is renamed over ``path``, so a
    file with that name is always whole; on any error the temporary file is removed. The
    temporary name ends in ``.part``, the suffix the course's clean-ups know.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode() if mode is None else mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _umask_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def positive_int(value, name, error=ValueError, example="", minimum=1):
    """``value`` as an int if it is an integer >= ``minimum`` (numpy ints too, not bools).

    Else raises ``error`` naming ``name``, what was expected and the value, with ``example``
    (e.g. ``"--workers 2"``) as the thing to write instead.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        expected = {1: "a positive integer", 0: "a non-negative integer"}.get(
            minimum, f"an integer >= {minimum}")
        hint = f": e.g. {example}" if example else ""
        raise error(f"{name} must be {expected}, got {value!r}{hint}")
    return int(value)


def int_pair(value, name):
    """``2`` as ``(2, 2)``; a pair like ``(2, 3)`` as a tuple of two non-negative ints.

    Raises ValueError naming ``name`` for anything else (a float like 2.5, three numbers, a
    negative size).
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        pair = tuple(int(v) for v in value)
        ok = len(pair) == 2 and all(int(v) == v and not isinstance(v, bool) for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an int or a pair of ints like (1, 2); got {value!r}")
    if min(pair) < 0:
        raise ValueError(f"{name} must not be negative; got {value!r}")
    return pair
