"""Small helpers the package's modules share (internal: learners and notebooks do not need them).

Imports nothing of the package, so any module may use it.
"""
import contextlib
import hashlib
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

    Yields the temporary path to write to. When the block ends normally the bytes are synced to
    disk, the file gets ``mode`` (``mkstemp`` makes it private) and is renamed over ``path``, so
    a file with that name is always whole; on any error the temporary file is removed.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def positive_int(value, name, error=ValueError, example=""):
    """``value`` if it is an int >= 1 (not a bool), else ``error`` naming ``name`` and the value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        hint = f": e.g. {example}" if example else ""
        raise error(f"{name} must be a positive integer, got {value!r}{hint}")
    return value
