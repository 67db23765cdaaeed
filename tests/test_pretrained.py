"""Tests of course_utils.pretrained and the modules split from it: the torch-free checkpoint
reader (_torch_legacy), EfficientNet-Lite0 in Gluon (efficientnet_lite) with its real ImageNet
weights, and the model-zoo fallback (no network needed)."""
import hashlib
import os
import pickle
import struct
import sys
import threading
import time

import course_utils  # noqa: F401  (before mxnet)
from course_utils import _torch_legacy, efficientnet_lite, pretrained
import mxnet as mx
import numpy as np
import pytest
import skimage.data
from mxnet.gluon import nn

# Logits of the reference PyTorch implementation (PyPI efficientnet-lite-pytorch 0.1.0, torch
# 2.13.0, same checkpoint, eval mode) for np.random.RandomState(0).uniform(-1, 1, (1, 3, 224, 224)):
# {class index: logit}. Our Gluon port agreed to 8e-6 on this and three photos.
TORCH_REFERENCE_LOGITS = {21: 5.7389, 701: 4.5296, 92: 4.2197, 23: 4.2195, 549: 4.1949,
                          0: -2.5931, 281: 0.5882, 285: 0.8413, 967: -0.2776, 999: 1.6377}


@pytest.fixture(scope="module")
def net():
    return pretrained.efficientnet_lite0()


@pytest.fixture(scope="module")
def classes():
    return pretrained.imagenet_classes()


# --- a tiny writer of legacy torch files, so the reader can be tested on known bytes -----------
class _Global:
    """A global by name (e.g. torch._utils._rebuild_tensor_v2), pickled without importing it."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce wants a callable
        raise AssertionError("never called")


class _Call:
    """Pickles as ``global(*args)`` (REDUCE)."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class _LegacyPickler(pickle._Pickler):  # the pure-Python pickler, to write arbitrary globals
    dispatch = dict(pickle._Pickler.dispatch)

    def save_global(self, obj, name=None):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
        else:
            super().save_global(obj, name)

    dispatch[_Global] = save_global

    def persistent_id(self, obj):
        return obj if isinstance(obj, tuple) and obj and obj[0] == "storage" else None


def _dump(obj, f):
    _LegacyPickler(f, protocol=2).dump(obj)


def _write_legacy(path, state, storages):
    """Write ``state`` (name -> object) and ``storages`` (key -> 1-d array) as a legacy file."""
    with open(path, "wb") as f:
        _dump(0x1950A86A20F9469CFC6C, f)
        _dump(1001, f)
        _dump({"protocol_version": 1001, "little_endian": True,
               "type_sizes": {"short": 2, "int": 4, "long": 4}}, f)
        _dump(state, f)
        _dump(sorted(storages), f)
        for key in sorted(storages):
            f.write(struct.pack("<q", storages[key].size))
            f.write(storages[key].astype(storages[key].dtype.newbyteorder("<")).tobytes())


def _tensor(key, storage_type, numel, offset, size, stride):
    pid = ("storage", _Global("torch", storage_type), key, "cpu", numel, None)
    hooks = _Call(_Global("collections", "OrderedDict"), ())
    return _Call(_Global("torch._utils", "_rebuild_tensor_v2"),
                 (pid, offset, size, stride, False, hooks))


def _ordered(items):
    return _Call(_Global("collections", "OrderedDict"), (list(items),))


# --- the reader -----------------------------------------------------------------------------
def test_reader_handles_strides_offsets_shared_storage_and_scalars(tmp_path):
    path = tmp_path / "small.pth"
    data = np.arange(6, dtype=np.float32)
    state = _ordered([
        ("transposed", _tensor("s0", "FloatStorage", 6, 0, (3, 2), (1, 3))),
        ("every_other_from_1", _tensor("s0", "FloatStorage", 6, 1, (3,), (2,))),
        ("count", _tensor("s1", "LongStorage", 1, 0, (), ())),
    ])
    _write_legacy(path, state, {"s0": data, "s1": np.array([7], dtype=np.int64)})

    tensors = _torch_legacy.load_torch_state_dict(path)

    assert list(tensors) == ["transposed", "every_other_from_1", "count"]
    np.testing.assert_array_equal(tensors["transposed"], data.reshape(2, 3).T)
    assert tensors["transposed"].flags["C_CONTIGUOUS"] and tensors["transposed"].dtype == np.float32
    np.testing.assert_array_equal(tensors["every_other_from_1"], [1, 3, 5])
    assert tensors["count"].shape == () and tensors["count"].dtype == np.int64
    assert int(tensors["count"]) == 7


def test_reader_refuses_a_tensor_reaching_past_its_storage(tmp_path):
    path = tmp_path / "overflow.pth"
    state = _ordered([("w", _tensor("s0", "FloatStorage", 4, 2, (3,), (1,)))])
    _write_legacy(path, state, {"s0": np.zeros(4, np.float32)})
    with pytest.raises(_torch_legacy.CheckpointError, match="damaged"):
        _torch_legacy.load_torch_state_dict(path)


@pytest.mark.parametrize("module,name", [("os", "system"), ("builtins", "eval"),
                                         ("subprocess", "call")])
def test_checkpoint_naming_another_global_is_refused_and_nothing_runs(tmp_path, module, name):
    marker = tmp_path / "pwned"
    command = f"open({str(marker)!r}, 'w').write('x')" if name == "eval" else f"touch {marker}"
    payload = _Call(_Global(module, name), (command if name != "call" else ["touch", str(marker)],))
    path = tmp_path / "evil.pth"
    _write_legacy(path, _ordered([("w", payload)]), {})

    with pytest.raises(_torch_legacy.UnsafeCheckpointError, match=rf"'{module}\.{name}'") as info:
        _torch_legacy.load_torch_state_dict(path)

    assert isinstance(info.value, ValueError)
    assert "nothing was executed" in str(info.value)
    assert not marker.exists()


def test_a_global_in_the_first_pickle_is_refused_too(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_header.pth"
    with open(path, "wb") as f:
        _dump(_Call(_Global("os", "system"), (f"touch {marker}",)), f)  # where the magic goes
    with pytest.raises(_torch_legacy.UnsafeCheckpointError, match="'os.system'"):
        _torch_legacy.load_torch_state_dict(path)
    assert not marker.exists()


def test_the_reader_imports_neither_torch_nor_mxnet():
    import subprocess

    probe = ("import sys, course_utils._torch_legacy\n"
             "print(sorted({'torch', 'mxnet', 'gluoncv'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["[]"]


def test_public_names_stay_importable_from_pretrained():
    for name in ("CheckpointError", "UnsafeCheckpointError", "load_torch_state_dict"):
        assert getattr(pretrained, name) is getattr(_torch_legacy, name)
    for name in ("EfficientNetLite", "MBConv", "ConvBN", "LITE0_SPEC"):
        assert getattr(pretrained, name) is getattr(efficientnet_lite, name)
    assert all(hasattr(pretrained, name) for name in pretrained.__all__)


def test_torch_is_never_imported():
    pretrained.find_checkpoint(download=False)
    assert "torch" not in sys.modules
    assert pretrained.CHECKPOINT_MODULE not in sys.modules  # located, not imported


def test_the_payload_does_run_under_plain_pickle(tmp_path):
    """Control for the test above: the crafted bytes are a working exploit for pickle.load."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        _dump(_Call(_Global("os", "system"), (f"touch {marker}",)), f)
    with open(path, "rb") as f:
        pickle.load(f)  # noqa: S301  (the point of the test)
    assert marker.exists()


def test_real_checkpoint_is_read_exactly():
    source = pretrained.find_checkpoint(download=False)
    tensors = pretrained.load_torch_state_dict(source)
    assert len(tensors) == 296
    floats = {k: v for k, v in tensors.items() if not k.endswith("num_batches_tracked")}
    assert sum(v.size for v in floats.values()) == 4_694_024  # with BatchNorm running stats
    assert tensors["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert tensors["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert tensors["_fc.weight"].shape == (1000, 1280)
    assert all(v.dtype == np.float32 and v.flags["C_CONTIGUOUS"] for v in floats.values())


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    source = pretrained.find_checkpoint(download=False)
    raw = source.read_bytes()
    for cut in (len(raw) // 2, 2000, 30):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(raw[:cut])
        with pytest.raises(pretrained.CheckpointError, match="truncated") as info:
            pretrained.load_torch_state_dict(path)
        assert str(path) in str(info.value)
        with pytest.raises(pretrained.CheckpointError, match="pip install") as info:
            pretrained.verify_checkpoint(path)
        assert str(path) in str(info.value) and "truncated" in str(info.value)


def test_wrong_file_of_the_right_size_fails_the_checksum(tmp_path):
    path = tmp_path / "zeros.pth"
    path.write_bytes(bytes(pretrained.CHECKPOINT_SIZE))
    with pytest.raises(pretrained.CheckpointError, match="SHA-256"):
        pretrained.verify_checkpoint(path)


def test_interrupted_conversion_leaves_no_file(tmp_path, monkeypatch):
    def interrupted(self, filename, **kwargs):
        with open(filename, "wb") as f:
            f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(efficientnet_lite.EfficientNetLite, "save_parameters", interrupted)
    dst = tmp_path / "lite0.params"
    with pytest.raises(KeyboardInterrupt):
        pretrained.convert_checkpoint(pretrained.find_checkpoint(download=False), dst)
    assert list(tmp_path.iterdir()) == []


# --- the network with its weights -----------------------------------------------------------
def test_architecture_and_weights_match_the_checkpoint(net):
    params = list(net.collect_params().values())
    assert len(params) == 296 - 49  # every tensor but the 49 BatchNorm batch counters
    assert sum(p.data().size for p in params) == 4_694_024
    assert len([b for b in net.features if isinstance(b, efficientnet_lite.MBConv)]) == 16
    source = pretrained.load_torch_state_dict(pretrained.find_checkpoint(download=False))
    np.testing.assert_array_equal(net.features[0].conv.weight.data().asnumpy(),
                                  source["_conv_stem.weight"])
    np.testing.assert_array_equal(net.output[-1].weight.data().asnumpy(), source["_fc.weight"])


def test_logits_match_the_pytorch_reference(net):
    x = np.random.RandomState(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    y = net(mx.nd.array(x)).asnumpy()[0]
    for index, logit in TORCH_REFERENCE_LOGITS.items():
        assert abs(y[index] - logit) < 1e-3, (index, y[index], logit)


def test_output_shape_and_hybridized_equals_imperative():
    x = mx.nd.array(np.random.RandomState(1).uniform(-1, 1, (2, 3, 224, 224)))
    net = pretrained.efficientnet_lite0()
    y = net(x)
    assert y.shape == (2, 1000) and y.dtype == np.float32
    assert net.features(x).shape == (2, 1280)
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), y.asnumpy(), atol=1e-4)


def test_imagenet_classes(classes):
    assert len(classes) == 1000
    assert classes[285] == "Egyptian cat" and classes[967] == "espresso" and classes[968] == "cup"


def test_preprocess_shape_and_scale():
    x = pretrained.preprocess(skimage.data.chelsea())  # (300, 451, 3) uint8
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    assert -1.0 <= x.min().asscalar() and x.max().asscalar() <= 128 / 128
    gray = pretrained.preprocess(skimage.data.camera(), size=160)
    assert gray.shape == (1, 3, 160, 160)
    with pytest.raises(ValueError, match="uint8"):
        pretrained.preprocess(skimage.data.chelsea() / 255.0)


def _top1_index(net, image, classes):
    name, prob = pretrained.predict_topk(net, image, k=1)[0]
    assert 0 < prob <= 1
    return classes.index(name)


def test_cat_photo_is_a_cat(net, classes):
    assert 281 <= _top1_index(net, skimage.data.chelsea(), classes) <= 285


def test_coffee_photo_is_espresso_or_cup(net, classes):
    assert _top1_index(net, skimage.data.coffee(), classes) in (967, 968)


def test_predict_topk_is_sorted_probabilities(net):
    top = pretrained.predict_topk(net, skimage.data.coffee(), k=5)
    probs = [p for _, p in top]
    assert len(top) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6


def test_replacing_output_keeps_feature_weights():
    net = pretrained.efficientnet_lite0()
    x = pretrained.preprocess(skimage.data.chelsea())
    stem = net.features[0].conv.weight.data().copy()
    features = net.features(x).copy()

    net.output = nn.Dense(10)
    net.output.initialize(mx.init.Xavier())
    y = net(x)

    assert y.shape == (1, 10)
    assert net.output in net._children.values()
    np.testing.assert_array_equal(net.features[0].conv.weight.data().asnumpy(), stem.asnumpy())
    np.testing.assert_array_equal(net.features(x).asnumpy(), features.asnumpy())
    assert any(p.shape == (10, 1280) for p in net.collect_params().values())


# --- the zoo with a fallback ----------------------------------------------------------------
def _no_network(*args, **kwargs):
    raise OSError("no network (simulated)")


def test_load_pretrained_falls_back_offline(tmp_path, monkeypatch):
    from gluoncv.model_zoo import model_store

    monkeypatch.setenv("MXNET_HOME", str(tmp_path))  # an empty zoo cache
    monkeypatch.setattr(model_store, "download", _no_network)
    start = time.monotonic()
    net, info = pretrained.load_pretrained("resnet50_v1d", timeout=5)
    assert time.monotonic() - start < 5
    assert isinstance(net, pretrained.EfficientNetLite)
    assert info["model"] == "efficientnet_lite0" and info["requested"] == "resnet50_v1d"
    assert "resnet50_v1d" in info["note"] and "\n" not in info["note"]
    assert info["mean"] == pretrained.LITE_MEAN and info["preprocess"] is pretrained.preprocess


def test_load_pretrained_gives_up_on_a_hanging_download(tmp_path, monkeypatch):
    from gluoncv.model_zoo import model_store

    release = threading.Event()
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.setattr(model_store, "download", lambda *a, **k: release.wait(60))
    try:
        start = time.monotonic()
        net, info = pretrained.load_pretrained("mobilenetv2_0.25", timeout=1)
        elapsed = time.monotonic() - start
    finally:
        release.set()
    assert elapsed < 1 + 5, elapsed
    assert info["model"] == "efficientnet_lite0" and "within 1 s" in info["note"]


def test_load_pretrained_uses_a_cached_zoo_file_without_network(tmp_path, monkeypatch):
    from gluoncv import model_zoo
    from gluoncv.model_zoo import model_store

    name = "mobilenetv2_0.25"
    zoo_net = model_zoo.get_model(name, pretrained=False)
    zoo_net.initialize(mx.init.Xavier())
    zoo_net(mx.nd.zeros((1, 3, 224, 224)))  # finish Gluon's deferred initialisation
    (tmp_path / "models").mkdir()
    tmp_file = tmp_path / "models" / "tmp.params"
    zoo_net.save_parameters(str(tmp_file))
    sha1 = hashlib.sha1(tmp_file.read_bytes()).hexdigest()
    os.replace(tmp_file, tmp_path / "models" / f"{name}-{sha1[:8]}.params")
    monkeypatch.setitem(model_store._model_sha1, name, sha1)  # pretend these are the weights
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    monkeypatch.setattr(model_store, "download", _no_network)

    net, info = pretrained.load_pretrained(name, timeout=0.01)

    assert info["model"] == name and "cached" in info["note"]
    assert info["mean"] == pretrained.IMAGENET_MEAN and info["std"] == pretrained.IMAGENET_STD
    assert info["preprocess"](skimage.data.coffee()).shape == (1, 3, 224, 224)
    first = lambda n: next(iter(n.collect_params().values())).data().asnumpy()  # noqa: E731
    np.testing.assert_array_equal(first(net), first(zoo_net))


def test_load_pretrained_rejects_unknown_names():
    with pytest.raises(ValueError, match="get_model_list"):
        pretrained.load_pretrained("resnet5")


def test_prepare_weights_returns_the_verified_params_file():
    path = pretrained.prepare_weights()
    assert path.name == pretrained.PARAMS_NAME and path.is_file()
    assert not list(path.parent.glob("*.part")) and not list(path.parent.glob(".*.part"))
