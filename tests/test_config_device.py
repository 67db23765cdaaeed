import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import config, device
import mxnet as mx


def test_environment_is_set_before_mxnet():
    import os

    assert os.environ["MXNET_HOME"] == str(config.MXNET_HOME)
    assert int(os.environ["OMP_NUM_THREADS"]) == config.THREADS >= 1


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")
    assert config.profile() == "full" and config.pick(5, 30) == 30
    monkeypatch.setenv("COURSE_PROFILE", "default")
    assert config.profile() == "default" and config.pick(5, 30) == 5
    monkeypatch.setenv("COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="expected one of"):
        config.profile()


def test_profile_is_full_automatically_with_a_usable_gpu(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.setattr(device, "usable_gpus", lambda: [mx.gpu(0)])
    assert config.profile() == "full"
    monkeypatch.setattr(device, "usable_gpus", lambda: [])
    assert config.profile() == "default"


def test_set_seed_repeats_draws_and_rejects_bad_seeds():
    import numpy as np

    config.set_seed(5)
    a = (np.random.rand(3), mx.nd.random.uniform(shape=3).asnumpy())
    config.set_seed(5)
    b = (np.random.rand(3), mx.nd.random.uniform(shape=3).asnumpy())
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    for bad in (-1, 1.5, "0"):
        with pytest.raises(ValueError, match="non-negative integer"):
            config.set_seed(bad)


@pytest.mark.parametrize("cap, ok", [((5, 0), True), ((7, 5), True), ((8, 9), True),
                                     ((3, 7), False), ((9, 0), False), ((10, 0), False)])
def test_compute_capabilities_of_mxnet_wheels(cap, ok):
    assert device.capability_supported(cap) is ok


def fake(monkeypatch, hardware, count, works=True):
    device._CACHE.clear()
    monkeypatch.setattr(device, "nvidia_gpus", lambda: hardware)
    monkeypatch.setattr(device, "_mxnet_gpu_count", lambda: count)
    monkeypatch.setattr(device, "_gpu_works", lambda i: works)


def test_reasons_for_each_situation(monkeypatch):
    try:
        fake(monkeypatch, [], 0)
        assert device.choose() == mx.cpu() and device.reason() == "CPU: no GPU found"
        fake(monkeypatch, [("NVIDIA T4", (7, 5))], 0)
        assert "no CUDA" in device.reason() and "mxnet-cu112" in device.reason()
        fake(monkeypatch, [("NVIDIA H100", (9, 0))], 1)
        assert device.usable_gpus() == []
        assert "GPU found but this MXNet build has no kernels for it" in device.reason()
        assert "9.0" in device.reason()
        fake(monkeypatch, [("NVIDIA A100", (8, 0))], 1)
        assert device.usable_gpus() == [mx.gpu(0)] and device.reason().startswith("GPU: 1 usable")
        assert device.choose_all() == [mx.gpu(0)]
        fake(monkeypatch, [("NVIDIA A100", (8, 0))], 1, works=False)
        assert device.usable_gpus() == [] and "failed a test computation" in device.reason()
    finally:
        device._CACHE.clear()


def test_cpu_devices():
    assert device.cpu_devices(2) == [mx.cpu(0), mx.cpu(1)]
    with pytest.raises(ValueError, match="positive integer"):
        device.cpu_devices(0)
