"""What a training script needs to run as one of several workers, and to resume after a crash.

``python -m course_utils launch`` (:mod:`course_utils.admin.launch`) gives each worker
``COURSE_WORKER_RANK`` (0 .. n-1) and ``COURSE_NUM_WORKERS``: :func:`worker_info` reads them
(``(0, 1)`` when the script runs alone) and :func:`shard` gives the worker its share of the data.
:func:`save_checkpoint` writes parameters, trainer state and the epoch to one file, atomically
(a crash leaves the previous checkpoint whole); :func:`restore_checkpoint` loads it back.
``notebooks/scripts/dist_train.py`` uses all of them. Nothing here imports MXNet at import time.
"""
import io
import os
import tempfile

from course_utils import _util

RANK_VAR = "COURSE_WORKER_RANK"
COUNT_VAR = "COURSE_NUM_WORKERS"
CHECKPOINT_FILE = "checkpoint.npz"


class CheckpointError(ValueError):
    """The checkpoint does not fit this network; the message says what to do."""


def worker_info(environ=None):
    """``(rank, num_workers)`` of this process: from ``launch``, else ``(0, 1)`` (running alone).

    Examples
    --------
    >>> worker_info({"COURSE_WORKER_RANK": "1", "COURSE_NUM_WORKERS": "2"})
    (1, 2)
    >>> worker_info({})
    (0, 1)
    """
    env = os.environ if environ is None else environ
    rank, count = int(env.get(RANK_VAR, 0)), int(env.get(COUNT_VAR, 1))
    if not 0 <= rank < count:
        raise ValueError(f"{RANK_VAR}={rank} is outside 0..{count - 1} ({COUNT_VAR}={count})")
    return rank, count


def shard(n, rank, num_workers):
    """The items of ``range(n)`` that worker ``rank`` of ``num_workers`` takes, as a slice.

    Worker ``rank`` takes every ``num_workers``-th item from ``rank`` on (so a data set sorted by
    class still gives each worker every class), ``n // num_workers`` items each (the remainder
    is dropped): with ``dist_sync`` all workers must take the same number of steps, or the ones
    that finish first leave the others waiting for gradients that never come.

    Examples
    --------
    >>> shard(10, 1, 2)
    slice(1, 10, 2)
    """
    if not 0 <= rank < num_workers:
        raise ValueError(f"rank must be in 0..{num_workers - 1}, got {rank}")
    size = n // num_workers
    if size == 0:
        raise ValueError(f"{n} items cannot be shared among {num_workers} workers")
    return slice(rank, size * num_workers, num_workers)



def save_checkpoint(folder, net, trainer, epoch):
    """Write ``folder/checkpoint.npz``: parameters, trainer state, epoch; atomically.

    The file is written under a temporary name and renamed over the old one, so a crash at any
    moment leaves either the previous checkpoint or the new one, never half of one.
    """
    import numpy as np

    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, CHECKPOINT_FILE)
    states = os.path.join(tempfile.gettempdir(), f"course-states-{os.getpid()}")
    trainer.save_states(states)
    try:
        with open(states, "rb") as f:
            state_bytes = f.read()
    finally:
        os.remove(states)
    arrays = {f"param:{name}": p.data().asnumpy() for name, p in _params(net).items()}
    arrays["trainer_states"] = np.frombuffer(state_bytes, dtype=np.uint8)
    arrays["epoch"] = np.array(epoch, dtype=np.int64)
    with _util.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return path


def read_checkpoint(folder):
    """The bytes of ``folder/checkpoint.npz``, or ``b''`` when there is none yet."""
    path = os.path.join(folder, CHECKPOINT_FILE)
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as f:
        return f.read()


def _params(net):
    """Parameters in the net's order, keyed by position: Gluon numbers layer names per process
    (``conv0_`` in one, ``conv2_`` in another), the order and shapes are what identify them."""
    return {f"{i:04d}": p for i, p in enumerate(net.collect_params().values())}


def restore_checkpoint(blob, net, trainer):
    """Load a checkpoint (bytes from :func:`read_checkpoint`) into ``net`` and ``trainer``.

    ``net`` must have its shapes (run one batch through it first). Returns the saved epoch.
    """
    import mxnet as mx
    import numpy as np

    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        params = _params(net)
        saved = [z[f"param:{k}"].shape for k in sorted(params) if f"param:{k}" in z.files]
        shapes = [p.shape for _, p in sorted(params.items())]
        if len(z.files) - 2 != len(params) or saved != shapes:
            raise CheckpointError(f"the checkpoint holds {len(z.files) - 2} parameters, this network "
                             f"{len(params)} (shapes {shapes[:2]}...): it was saved by another "
                             "model; delete the checkpoint folder or pass another --checkpoint")
        for name, p in params.items():
            p.set_data(mx.nd.array(z[f"param:{name}"]))  # an NDArray: oneDNN layouts
        states = z["trainer_states"].tobytes()
        epoch = int(z["epoch"])
    tmp = os.path.join(tempfile.gettempdir(), f"course-states-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(states)
    try:
        trainer.load_states(tmp)
    finally:
        os.remove(tmp)
    return epoch
