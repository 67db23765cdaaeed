"""GluonCV's model zoo, offline-safe: what :func:`course_utils.pretrained.load_pretrained` uses.

GluonCV's ``get_model(name, pretrained=True)`` looks in ``$MXNET_HOME/models``, else downloads,
with no time limit, and leaves a ``.lock`` file (and after a failed download a partial ``.zip``)
behind. Here: :func:`cached_file` finds a verified weights file without the network,
:func:`get_model` gives a download at most ``timeout`` seconds, :func:`removing_leftovers`
removes what an attempt created and left.
"""
import contextlib
import io
import os
import socket
import threading
from pathlib import Path

from course_utils import config


def root():
    # gluoncv's get_model_file ignores its root argument when MXNET_HOME is set
    return Path(os.environ.get("MXNET_HOME", str(config.MXNET_HOME))).expanduser() / "models"


def cached_file(name):
    """The zoo's weights file for ``name`` if it is in the cache with the right SHA-1."""
    from gluoncv.model_zoo import model_store
    from gluoncv.utils import check_sha1

    path = root() / f"{name}-{model_store.short_hash(name)}.params"
    return path if path.is_file() and check_sha1(str(path), model_store._model_sha1[name]) else None


def get_model(name, timeout, ctx):
    """``gluoncv.model_zoo.get_model(name, pretrained=True)``, given at most ``timeout`` seconds.

    Runs in a daemon thread (a download stuck on DNS cannot block the caller) with a default
    socket timeout. Raises ``TimeoutError`` or what the zoo raised.
    """
    from gluoncv import model_zoo

    result = {}

    def work():
        try:
            result["net"] = model_zoo.get_model(name, pretrained=True, ctx=ctx,
                                                root=str(root()))
        except Exception as err:  # noqa: BLE001  any failure is reported to the caller
            result["error"] = err

    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        # GluonCV prints "Downloading ..." (with this machine's paths): keep notebook output stable
        with contextlib.redirect_stdout(io.StringIO()):
            worker = threading.Thread(target=work, name=f"zoo-{name}", daemon=True)
            worker.start()
            worker.join(timeout)
    finally:
        socket.setdefaulttimeout(old_timeout)
    if "net" in result:
        return result["net"]
    if "error" in result:
        raise result["error"]
    raise TimeoutError(f"no answer within {timeout} s")


@contextlib.contextmanager
def removing_leftovers(name):
    """Remove what GluonCV's attempt to get ``name`` created and left: its 0-byte ``.lock``
    (always), a partial ``.zip`` (after a failure), the ``models`` folder if it was made empty.

    Only files that did not exist before are removed.
    """
    from gluoncv.model_zoo import model_store

    folder = root()
    stem = f"{name}-{model_store.short_hash(name)}"
    lock, partial = folder / f"{stem}.lock", folder / f"{stem}.zip"
    had = {f for f in (folder, lock, partial) if f.exists()}
    failed = True
    try:
        yield
        failed = False
    finally:
        for leftover in (lock, partial) if failed else (lock,):
            if leftover not in had:
                with contextlib.suppress(OSError):
                    leftover.unlink()
        if folder not in had:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
