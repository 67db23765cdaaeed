"""course_utils.benchmark: latency measurement."""
import sys
import time

import numpy as np
import pytest

import course_utils  # noqa: F401
import mxnet as mx
from mxnet.gluon import nn

from course_utils import benchmark


def _net(channels, kernel=3):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(channels, kernel, padding=kernel // 2, in_channels=8), nn.GlobalAvgPool2D())
    net.initialize()
    return net


def test_latency_is_positive_and_counts_forwards():
    calls = []

    class Counting(nn.Block):
        def forward(self, x):
            calls.append(x.shape)
            return x * 2

    net = Counting()
    seconds = benchmark.measure_latency(net, (2, 3, 4, 4), repeats=3, warmup=2)
    assert seconds > 0
    assert calls == [(2, 3, 4, 4)] * 5  # 2 warm-up + 3 timed, on the shape asked for


def test_more_work_takes_longer():
    # 512 3x3 filters are 4,608x the multiply-adds of one 1x1 filter: a gap wide enough to survive
    # a busy shared CPU (best of several runs each).
    small = benchmark.measure_latency(_net(1, kernel=1), (1, 8, 64, 64), repeats=7, reduce="min")
    big = benchmark.measure_latency(_net(512), (1, 8, 64, 64), repeats=7, reduce="min")
    assert big > small


def test_hybridized_net_and_bad_arguments():
    net = _net(4)
    net.hybridize()
    assert benchmark.measure_latency(net, (1, 8, 8, 8), repeats=1, warmup=0) > 0
    with pytest.raises(ValueError, match="repeats"):
        benchmark.measure_latency(net, (1, 8, 8, 8), repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        benchmark.measure_latency(net, (1, 8, 8, 8), warmup=-1)
    with pytest.raises(ValueError, match="reduce"):
        benchmark.measure_latency(net, (1, 8, 8, 8), reduce="max")
    with pytest.raises(ValueError, match="input_shape"):
        benchmark.measure_latency(net, (8,))


def test_waits_for_every_output_of_a_multi_output_net():
    class TwoHeads(nn.Block):
        def forward(self, x):
            return [x + 1, (x * 2,)]

    assert benchmark.measure_latency(TwoHeads(), (1, 2, 3, 3), repeats=2) > 0


def test_time_call_runs_warmup_then_timed_calls_and_reduces_them():
    calls = []
    pauses = iter([0.0, 0.03, 0.001, 0.02])  # the warm-up call, then three timed ones

    def fn():
        calls.append(1)
        time.sleep(next(pauses))

    seconds = benchmark.time_call(fn, repeats=3, warmup=1, reduce="min")
    assert len(calls) == 4
    assert 0.001 <= seconds < 0.02  # the fastest timed call, not the 0.03 s one
    assert benchmark.time_call(lambda: time.sleep(0.01), repeats=3, warmup=0) >= 0.01
    for bad, match in (({"repeats": 0}, "repeats"), ({"warmup": -1}, "warmup"),
                       ({"reduce": "max"}, "reduce")):
        with pytest.raises(ValueError, match=match):
            benchmark.time_call(fn, **bad)


def test_memory_in_use_follows_a_large_array_and_release_returns_it():
    # 200 MiB of touched memory shows up in the resident size, and is gone after del + release
    # (numpy's large blocks come from mmap: freeing them returns them to the system at once;
    # release_memory must not undo that, and must report the smaller figure)
    before = benchmark.memory_in_use_mb()
    big = np.ones((200 * 2**20 // 8,), dtype=np.float64)
    during = benchmark.memory_in_use_mb()
    assert during - before > 180, (before, during)
    del big
    after = benchmark.release_memory()
    assert after < during - 180, (during, after)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_memory_hands_back_freed_small_objects():
    # small objects live on the heap; when a few survive among them (fragmentation), glibc keeps
    # the freed pages after gc.collect() until malloc_trim hands them back: what release adds
    import gc
    junk = [bytearray(512) for _ in range(400_000)]   # ~230 MiB in small blocks
    survivors = junk[::100]
    del junk
    gc.collect()
    untrimmed = benchmark.memory_in_use_mb()
    trimmed = benchmark.release_memory()
    assert trimmed < untrimmed - 100, (untrimmed, trimmed)
    assert len(survivors) == 4000
