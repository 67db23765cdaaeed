"""Measure how long a network takes to run: latency of one forward pass, on the current device.

Timings vary from run to run and machine to machine (other programs share the cores), so the
notebooks print them only in cells whose output nbval ignores, and compare models by *ratios*
measured in one run. Notebook 08 introduces :func:`measure_latency`; notebook 09 uses it on the
GluonCV model zoo, and :func:`memory_in_use_mb` / :func:`release_memory` to make room for VGG-16.
"""
import ctypes
import ctypes.util
import gc
import os
import time

import numpy as np

import course_utils.config  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from course_utils._util import positive_int
import mxnet as mx


def _context(net):
    for p in net.collect_params().values():
        try:
            return p.list_ctx()[0]
        except RuntimeError:  # deferred initialisation: not placed yet
            break
    return mx.cpu()


def _wait(output):
    """Block until ``output`` (an NDArray, or a list/tuple of them, as some zoo models return)
    is computed."""
    if isinstance(output, (list, tuple)):
        for item in output:
            _wait(item)
    else:
        output.wait_to_read()


def measure_latency(net, input_shape, repeats=5, warmup=1, reduce="median"):
    """Seconds for one forward pass of ``net`` on random input of ``input_shape``.

    The net runs ``warmup`` times first (shape inference, memory allocation and, if hybridized,
    graph building happen there), then ``repeats`` timed times. MXNet computes asynchronously,
    so each timed run waits for its output before the clock stops.

    Parameters
    ----------
    net : Block, initialised (``net.initialize()``)
    input_shape : tuple
        ``(N, C, H, W)``, e.g. ``(1, 3, 224, 224)``.
    repeats : int, default 5
        Timed forward passes (at least 1).
    warmup : int, default 1
        Untimed forward passes before them (at least 0).
    reduce : {'median', 'min', 'mean'}
        How the timed runs are summarised; the median ignores a run slowed by another program.

    Returns
    -------
    float
        Seconds per forward pass (for the whole batch of ``input_shape[0]`` images).
    """
    if len(tuple(input_shape)) < 2:
        raise ValueError(f"input_shape must be a batch shape such as (1, 3, 224, 224), "
                         f"got {input_shape!r}")
    X = mx.nd.random.uniform(shape=tuple(input_shape), ctx=_context(net))
    return time_call(lambda: _wait(net(X)), repeats=repeats, warmup=warmup, reduce=reduce)


def time_call(fn, repeats=5, warmup=1, reduce="median"):
    """Seconds one call of ``fn()`` takes: ``warmup`` untimed calls, then ``repeats`` timed ones.

    ``fn`` must wait for its own result when it runs MXNet code (MXNet computes asynchronously:
    end with ``.wait_to_read()`` or ``mx.nd.waitall()``), or the clock stops too early.
    ``reduce`` ('median', 'min' or 'mean') summarises the timed calls.
    """
    positive_int(repeats, "repeats", example="repeats=5")
    positive_int(warmup, "warmup", example="warmup=1", minimum=0)
    reducers = {"median": np.median, "min": np.min, "mean": np.mean}
    if reduce not in reducers:
        raise ValueError(f"reduce must be one of {sorted(reducers)}, got {reduce!r}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(reducers[reduce](times))


def memory_in_use_mb():
    """Resident memory of this Python process in MiB: what the operating system has given it now.

    Read from ``/proc/self/statm`` on Linux, from psutil elsewhere (macOS, Windows).
    """
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import psutil
        return psutil.Process().memory_info().rss / 2**20


def release_memory():
    """Free what Python and MXNet no longer use and give it back to the operating system.

    Three steps: ``gc.collect()`` frees objects nothing refers to any more (``del`` only removes a
    name); ``mx.nd.waitall()`` lets MXNet finish the queued work that still holds arrays; glibc's
    ``malloc_trim(0)`` hands freed heap pages back to the system (Linux; elsewhere this step is
    skipped). Call it after ``del`` of large objects, before building something big. Returns
    :func:`memory_in_use_mb` afterwards.
    """
    gc.collect()
    mx.nd.waitall()
    name = ctypes.util.find_library("c")
    if name and "libc" in name:
        try:
            trim = ctypes.CDLL(name).malloc_trim
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
            trim = None
        if trim is not None:
            trim(0)
    return memory_in_use_mb()
