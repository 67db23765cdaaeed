"""Fault injection for the pretrained weights, checkpoints and saved models (issue 15).

One test per case: an unwritable or misdirected cache, a full disk during conversion, a hostile
checkpoint that asks for a huge allocation, a bit-flipped converted file, the zoo fallback's
leftovers, a damaged export. Each asserts the outcome (the right result, or a message naming the
file, what went wrong and what to do) and that no file is left behind (no ``*.part``, no 0-byte
``.lock``, no half ``.params``).
"""
import errno
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import _torch_legacy, config, efficientnet_lite, pretrained, transfer
from course_utils.admin import doctor
import mxnet as mx
from mxnet.gluon import nn

from test_pretrained import _no_network, _ordered, _tensor, _write_legacy


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def _weights_equal_source(net):
    source = pretrained.load_torch_state_dict(pretrained.find_checkpoint(download=False))
    return all(np.array_equal(param.data().asnumpy(), source[name])
               for name, param in efficientnet_lite.torch_names(net))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty MXNET_HOME for the converted weights."""
    folder = tmp_path / "home"
    monkeypatch.setattr(config, "MXNET_HOME", folder)
    return folder


# ---------------------------------------------------------------- 1. MXNET_HOME unwritable
def test_mxnet_home_that_is_a_file_says_so_and_how_to_fix_it(tmp_path, monkeypatch):
    notes = tmp_path / "notes.txt"
    notes.write_text("a learner's notes")
    monkeypatch.setattr(config, "MXNET_HOME", notes)
    with pytest.raises(pretrained.CheckpointError) as err:
        pretrained.efficientnet_lite0()
    message = str(err.value)
    assert f"{notes} is a file, not a folder" in message
    assert "export MXNET_HOME=" in message and "Traceback" not in message
    assert notes.read_text() == "a learner's notes"  # nothing lost
    assert _files(tmp_path) == ["notes.txt"]  # nothing left behind


def test_read_only_mxnet_home_says_so_and_how_to_fix_it(home, monkeypatch):
    models = home / "models"
    models.mkdir(parents=True)
    models.chmod(0o555)
    if os.geteuid() == 0:  # chmod does not stop root: refuse the final rename as the OS would
        def refused(src, dst):
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        monkeypatch.setattr(pretrained.os, "replace", refused)
    try:
        with pytest.raises(pretrained.CheckpointError) as err:
            pretrained.efficientnet_lite0()
    finally:
        models.chmod(0o755)
    message = str(err.value)
    assert f"into {models}: the folder is not writable (Permission denied)" in message
    assert "export MXNET_HOME=" in message and pretrained.PARAMS_NAME in message
    assert _files(home) == ["models"]  # no .part, no half .params, no checksum


# ---------------------------------------------------------------- 2. disk full while converting
@pytest.mark.parametrize("raised", ["OSError", "MXNetError"])
def test_disk_full_during_conversion_says_how_much_space_and_where(home, monkeypatch, raised):
    import shutil

    def disk_full(self, filename, **kwargs):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        if raised == "OSError":
            raise OSError(errno.ENOSPC, "No space left on device", filename)
        raise mx.base.MXNetError("Check failed: size == nwrite")  # MXNet's own writer: no errno

    if raised == "MXNetError":  # the space left then tells a full disk from other failures
        usage = shutil.disk_usage("/")._replace(free=5_000_000)
        monkeypatch.setattr(shutil, "disk_usage", lambda path: usage)
    monkeypatch.setattr(efficientnet_lite.EfficientNetLite, "save_parameters", disk_full)
    with pytest.raises(pretrained.CheckpointError) as err:
        pretrained.efficientnet_lite0()
    message = str(err.value)
    assert message.startswith("the disk is full")
    assert f"into {home / 'models'}, which needs about 19 MB" in message
    assert "Free some space" in message and "export MXNET_HOME=" in message
    assert _files(home) == ["models"]  # the half file and its .part are gone


# ---------------------------------------------------------------- 3. the stride-0 trick
@pytest.mark.parametrize("size, stride", [
    ((100_000, 100_000), (0, 0)),  # 10^10 copies of one float: 40 GB from a few hundred bytes
    ((100_000, 100_000), (1, 0)),  # stride 0 on one dimension only
    ((3000, 3000), (1, 1)),        # overlapping rows: 9 million elements from 6,000
])
def test_a_tensor_repeating_its_storage_is_refused_before_allocating(tmp_path, size, stride):
    path = tmp_path / "hostile.pth"
    numel = 1 if stride[0] == 0 else 6000
    state = _ordered([("w", _tensor("s0", "FloatStorage", numel, 0, size, stride))])
    _write_legacy(path, state, {"s0": np.zeros(numel, np.float32)})
    assert path.stat().st_size < 25_000
    before = path.read_bytes()
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(_torch_legacy.CheckpointError, match="refused before anything was "
                           "allocated") as err:
            _torch_legacy.load_torch_state_dict(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - start < 5
    assert peak < 5_000_000, peak  # bytes: nothing near the size the tensor claims
    assert str(path) in str(err.value) and "delete it" in str(err.value)
    assert path.read_bytes() == before and _files(tmp_path) == ["hostile.pth"]


# ---------------------------------------------------------------- 4. converted weights verified
def test_a_bit_flipped_converted_file_is_noticed_and_converted_again(home):
    pretrained.efficientnet_lite0()  # converts: the .params and its recorded SHA-256
    params = home / "models" / pretrained.PARAMS_NAME
    assert _files(home) == ["models", f"models/{params.name}", f"models/{params.name}.sha256"]
    assert pretrained.verify_converted(params) is True
    raw = bytearray(params.read_bytes())
    raw[len(raw) // 2] ^= 0x10  # one bit, inside a weight
    params.write_bytes(bytes(raw))
    with pytest.raises(pretrained.CheckpointError, match="damaged.*python -m course_utils prepare"):
        pretrained.verify_converted(params)

    with pytest.warns(UserWarning, match="damaged.*converting it again") as caught:
        net = pretrained.efficientnet_lite0()
    assert len([w for w in caught if "damaged" in str(w.message)]) == 1  # warned once
    assert _weights_equal_source(net)  # the right weights, not the flipped ones
    assert pretrained.verify_converted(params) is True
    assert not list(home.rglob("*.part"))


def test_an_older_cache_without_a_checksum_is_compared_with_the_source(home):
    pretrained.efficientnet_lite0()
    params = home / "models" / pretrained.PARAMS_NAME
    checksum = pretrained.checksum_path(params)
    checksum.unlink()  # as an older course version left the cache
    written = params.stat().st_mtime_ns
    assert pretrained.verify_converted(params) is False  # cannot be vouched for by itself
    net = pretrained.efficientnet_lite0()  # intact: kept, and its checksum recorded
    assert _weights_equal_source(net) and params.stat().st_mtime_ns == written
    assert pretrained.verify_converted(params) is True

    checksum.unlink()
    raw = bytearray(params.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    params.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="differs from efficientnet-lite0-57934424.pth"):
        net = pretrained.efficientnet_lite0()  # damaged: converted again
    assert _weights_equal_source(net) and pretrained.verify_converted(params) is True
    assert not list(home.rglob("*.part"))


def test_a_read_only_older_cache_still_loads(home, monkeypatch):
    pretrained.efficientnet_lite0()
    params = home / "models" / pretrained.PARAMS_NAME
    pretrained.checksum_path(params).unlink()

    def refused(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(pretrained.os, "replace", refused)  # a shared, read-only class cache
    net = pretrained.efficientnet_lite0()
    assert _weights_equal_source(net)
    assert _files(home) == ["models", f"models/{params.name}"]  # no .part left trying


def test_doctor_fails_a_bit_flipped_converted_file(home):
    pretrained.efficientnet_lite0()
    params = home / "models" / pretrained.PARAMS_NAME
    assert doctor.check_weights().status == "ok"
    raw = bytearray(params.read_bytes())
    raw[-100] ^= 0x01
    params.write_bytes(bytes(raw))
    check = doctor.check_weights()
    assert check.status == "FAIL" and params.name in check.detail
    assert "Delete them and run: python -m course_utils prepare" in check.detail
    assert params.is_file()  # reported, not deleted behind the instructor's back
    pretrained.checksum_path(params).unlink()
    check = doctor.check_weights()
    assert check.status == "warn" and "no recorded checksum" in check.detail


# ---------------------------------------------------------------- 5. the zoo fallback's leftovers
def test_offline_zoo_fallback_leaves_no_lock_file(tmp_path, monkeypatch):
    from gluoncv.model_zoo import model_store

    zoo_home = tmp_path / "zoo"
    zoo_home.mkdir()
    monkeypatch.setenv("MXNET_HOME", str(zoo_home))
    monkeypatch.setattr(model_store, "download", _no_network)
    net, info = pretrained.load_pretrained("resnet50_v1d", timeout=5)
    assert isinstance(net, pretrained.EfficientNetLite) and "resnet50_v1d" in info["note"]
    assert info["error"] == "OSError: no network (simulated)"  # the zoo was really tried
    assert _files(zoo_home) == []  # no models/resnet50_v1d-*.lock, no empty models folder

    # a lock that was there before belongs to someone else: it stays
    (zoo_home / "models").mkdir()
    theirs = zoo_home / "models" / f"resnet50_v1d-{model_store.short_hash('resnet50_v1d')}.lock"
    theirs.touch()
    pretrained.load_pretrained("resnet50_v1d", timeout=5)
    assert _files(zoo_home) == ["models", f"models/{theirs.name}"]


# ---------------------------------------------------------------- 6. a damaged export
@pytest.fixture
def exported(tmp_path):
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="relu"), nn.Dense(3))
    net.initialize(mx.init.Xavier())
    x = mx.nd.ones((1, 5))
    symbol_file, params_file = transfer.export_model(net, tmp_path / "mine", input_shape=(1, 5))
    return tmp_path / "mine", symbol_file, params_file, net(x).asnumpy(), x


def _damage(path, how):
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "edited":  # still valid JSON, but a weight renamed
        assert b'_weight"' in raw
        path.write_bytes(raw.replace(b'_weight"', b'_w8"', 1))
    else:  # "garbage"
        path.write_bytes(b"{not json" + raw[:10])


@pytest.mark.parametrize("which, how, shown", [
    ("symbol", "truncated", "is not a readable network graph"),
    ("symbol", "garbage", "is not a readable network graph"),
    ("symbol", "edited", "does not hold the weights that mine-symbol.json needs"),
    ("params", "truncated", "does not hold the weights that mine-symbol.json needs"),
])
def test_import_model_names_a_damaged_file_and_says_export_again(exported, which, how, shown):
    prefix, symbol_file, params_file, expected, x = exported
    assert np.allclose(transfer.import_model(prefix)(x).asnumpy(), expected)  # intact: loads
    damaged = symbol_file if which == "symbol" else params_file
    _damage(damaged, how)
    named = params_file if "weights" in shown else symbol_file
    with pytest.raises(transfer.SavedModelError) as err:
        transfer.import_model(prefix)
    message = str(err.value)
    assert message.startswith(f"{named} {shown}")
    assert "transfer.export_model(net, " in message and "Traceback" not in message
    assert _files(prefix.parent) == ["mine-0000.params", "mine-symbol.json"]  # nothing removed


# ---------------------------------------------------------------- issue 15 case 3: image_folder
def test_a_tiny_strip_image_in_an_image_folder_loads_in_bounded_memory(tmp_path):
    """The upload path is covered in test_faults.py; image_folder shares preprocess."""
    import subprocess
    import sys

    from test_faults import _png

    for name in ("strips", "other"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.png").write_bytes(_png(20000, 1))  # 5,120,000 x 256 if resized whole
    probe = ("import resource, sys, course_utils\n"
             "from course_utils import transfer\n"
             "rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
             "before = rss(); x, label = transfer.image_folder(sys.argv[1], size=128)[0]\n"
             "print(*x.shape, label, rss() - before)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    *shape, label, grown_mb = (int(v) for v in done.stdout.split())
    assert shape == [3, 128, 128] and label == 0  # item 0: other/a.png, also a strip
    assert grown_mb < 100, f"one item raised the peak RSS by {grown_mb} MB"
    assert _files(tmp_path) == ["other", "other/a.png", "strips", "strips/a.png"]
