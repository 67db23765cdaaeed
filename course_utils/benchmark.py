"""Measure how long a network takes to run: latency of one forward pass, on the current device.

Timings vary from run to run and machine to machine (other programs share the cores), so the
notebooks print them only in cells whose output nbval ignores, and compare models by *ratios*
measured in one run. Notebook 08 introduces :func:`measure_latency`; notebook 09 uses it on the
GluonCV model zoo.
"""
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
