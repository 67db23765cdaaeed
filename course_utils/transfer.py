"""Transfer learning: a pretrained base, a new output layer, frozen or fine-tuned; your own images.

Notebook 13 derives each function here; later code imports them. The vocabulary is GluonCV's:
a pretrained network has ``features`` (the *base*, ImageNet-trained) and ``output`` (the layer
that maps features to ImageNet's 1,000 classes). Transfer learning keeps the base and puts a
*new* output layer on top:

- :func:`new_output_layer` replaces ``net.output`` by a freshly initialised ``Dense``;
- :func:`freeze` (feature extraction: the base never changes) or :func:`set_lr_mult`
  (fine-tuning: the base learns, more slowly than the new layer);
- :func:`extract_features` runs a frozen base once, so only the small new layer has to train;
- :func:`to_imagenet_input` turns 28x28 grayscale images into what an ImageNet model expects;
- :func:`image_folder` reads your own photos, one sub-folder per class, and says clearly what
  is wrong with a folder it cannot use; :func:`make_demo_folder` builds a small one;
- :func:`export_model` / :func:`import_model` save a trained network and load it back into a
  fresh one, without its Python class.
"""
import warnings
from pathlib import Path

import numpy as np

from course_utils import config  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from course_utils import images
from course_utils._util import positive_int
import mxnet as mx
from mxnet import autograd, gluon
from mxnet.gluon import nn

__all__ = ["new_output_layer", "freeze", "freeze_batchnorm", "set_lr_mult", "count_params",
           "extract_features", "to_imagenet_input", "FolderError", "ImageFolder",
           "image_folder", "make_demo_folder", "export_model", "import_model", "SavedModelError",
           "IMAGE_EXTENSIONS"]

#: file types that ``gluon.data.vision.ImageFolderDataset`` reads
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
#: files that operating systems and Jupyter leave in folders; skipped without a word
_SYSTEM_FILES = {"thumbs.db", "desktop.ini"}


def _params_ctx(block):
    """The device of a block's first initialised parameter (CPU if none is)."""
    for param in block.collect_params().values():
        try:
            return param.list_ctx()[0]
        except (RuntimeError, AssertionError):  # not initialised yet
            continue
    return mx.cpu()


def _clear_cached_graphs(block):
    # A hybridized block keeps a compiled graph; layers changed below must be traced again.
    block.apply(lambda b: b._clear_cached_op() if isinstance(b, gluon.HybridBlock) else None)


# =================================================================================================
# Base -> New
# =================================================================================================
def new_output_layer(net, num_classes, init=None, ctx=None):
    """Replace ``net.output`` by a new, freshly initialised ``Dense(num_classes)``.

    The base (``net.features``) keeps its weights. The new layer starts from random weights
    (Xavier) because nothing in the old one fits: it mapped features to ImageNet's 1,000 classes,
    and the new task has other classes, in another number.

    Parameters
    ----------
    net : HybridBlock
        A GluonCV-style network with ``features`` and ``output`` children.
    num_classes : int
        Classes of the new task.
    init : mx.init.Initializer, optional
        Default ``mx.init.Xavier()``.
    ctx : mx.Context, optional
        Default: where the base's parameters are.

    Returns
    -------
    nn.Dense
        The new layer (also ``net.output``). Shapes: ``features (N, F) -> (N, num_classes)``.
    """
    if not (hasattr(net, "features") and hasattr(net, "output")):
        raise ValueError(f"{type(net).__name__} has no 'features' and 'output' children; "
                         "expected a GluonCV-style network (e.g. from course_utils.pretrained)")
    positive_int(num_classes, "num_classes", example="num_classes=len(classes)", minimum=2)
    old_dense = [b for b in _leaves(net.output) if isinstance(b, nn.Dense)]
    in_units = old_dense[-1].weight.shape[1] if old_dense else 0  # 0: inferred on first call
    with net.name_scope():
        layer = nn.Dense(int(num_classes), in_units=in_units)
    layer.initialize(init or mx.init.Xavier(), ctx=ctx or _params_ctx(net.features))
    try:
        net.output = layer
    except TypeError:  # Gluon forbids changing a child's type (e.g. MobileNetV2's output)
        net.register_child(layer, "output")
        object.__setattr__(net, "output", layer)
    _clear_cached_graphs(net)
    return layer


def _leaves(block):
    children = list(block._children.values())
    if not children:
        return [block]
    return [leaf for child in children for leaf in _leaves(child)]


def count_params(block):
    """Number of trainable numbers in ``block`` (BatchNorm's running statistics excluded)."""
    total = 0
    for param in block.collect_params().values():
        if param._differentiable and param.shape and all(d > 0 for d in param.shape):
            total += int(np.prod(param.shape))
    return total


# =================================================================================================
# Frozen or fine-tuned
# =================================================================================================
def freeze_batchnorm(block, frozen=True):
    """Make every BatchNorm layer in ``block`` normalise with its stored (ImageNet) statistics.

    By default a BatchNorm layer, while training, normalises with the statistics of the current
    batch and updates its running averages. With a few images of another kind that replaces
    ImageNet's statistics by noisy ones. Frozen, it uses (and keeps) the stored ones; its scale
    and shift (``gamma``, ``beta``) still train unless :func:`freeze` is used.

    Returns the number of BatchNorm layers changed. Call ``hybridize()`` on the *whole* network
    again afterwards if it was hybridized (this clears the compiled graphs of ``block`` only).
    """
    layers = [b for b in _leaves(block) if isinstance(b, nn.BatchNorm)]
    for layer in layers:
        layer._kwargs["use_global_stats"] = bool(frozen)
    _clear_cached_graphs(block)
    return len(layers)


def freeze(block, frozen=True):
    """Freeze ``block`` (feature extraction): no gradients, no updates, no change at all.

    Sets ``grad_req = 'null'`` on every parameter (the optimizer skips them and backward stops
    there) and freezes its BatchNorm statistics (:func:`freeze_batchnorm`), so training the
    layers after it leaves every number in ``block`` exactly as it was. ``frozen=False`` undoes
    both.

    Returns
    -------
    int
        Trainable numbers frozen (or unfrozen).
    """
    for param in block.collect_params().values():
        param.grad_req = "null" if frozen else "write"  # running stats stay 'null' either way
    freeze_batchnorm(block, frozen)
    return count_params(block)


def set_lr_mult(block, mult):
    """Scale the learning rate of every parameter in ``block`` by ``mult`` (fine-tuning).

    ``gluon.Trainer`` multiplies its learning rate by each parameter's ``lr_mult``: with
    ``set_lr_mult(net.features, 0.1)`` the base learns 10x more slowly than the new layer, so a
    few noisy steps on little data do not wash out what it learned on ImageNet.
    Set it before creating the Trainer.
    """
    if not mult >= 0:
        raise ValueError(f"mult must be >= 0, got {mult!r}")
    params = block.collect_params().values()
    for param in params:
        param.lr_mult = float(mult)
    return len(params)


# =================================================================================================
# Inputs and cached features
# =================================================================================================
def to_imagenet_input(images, size=64, mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0)):
    """Grayscale images -> what an ImageNet model expects: 3 channels, ``size`` px, normalised.

    Each image is resized (bilinear), its one channel copied to red, green and blue, then scaled
    as ``(pixel - mean) / std`` per channel (0..255 scale, as in :mod:`course_utils.pretrained`:
    EfficientNet-Lite's defaults here; pass ``info['mean']``/``info['std']`` from
    ``load_pretrained`` for a GluonCV zoo model).

    Parameters
    ----------
    images : np.ndarray or NDArray, (N, H, W) or (N, H, W, 1), uint8
    size : int, default 64
    mean, std : 3 floats

    Returns
    -------
    NDArray, (N, 3, size, size) float32
    """
    x = images.asnumpy() if isinstance(images, mx.nd.NDArray) else np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(f"expected grayscale images (N, H, W) or (N, H, W, 1), got {x.shape}")
    if x.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels 0..255, got {x.dtype}")
    x = mx.nd.array(x[:, None], dtype="float32")  # (N, 1, H, W)
    if x.shape[2:] != (size, size):
        x = mx.nd.contrib.BilinearResize2D(x, height=size, width=size)
    x = mx.nd.clip(x, 0, 255).repeat(3, axis=1)  # gray -> RGB
    mean = mx.nd.array(mean, dtype="float32").reshape((1, 3, 1, 1))
    std = mx.nd.array(std, dtype="float32").reshape((1, 3, 1, 1))
    return (x - mean) / std


def extract_features(features, X, batch_size=64, transform=None, ctx=None):
    """Run a (frozen) base over ``X`` once, batch by batch, and keep the result.

    Parameters
    ----------
    features : HybridBlock
        E.g. ``net.features`` ``(N, 3, H, W) -> (N, 1280)``; any block works (also a slice of
        it, for the output of an intermediate layer).
    X : NDArray or np.ndarray, (N, ...)
        Inputs, or raw images when ``transform`` is given.
    batch_size : int, default 64
    transform : callable, optional
        Applied to each batch of ``X`` first (e.g. ``lambda b: to_imagenet_input(b, 64)``), so
        the full-size inputs never sit in memory all at once.
    ctx : mx.Context, optional
        Where to compute (default: where ``features``' parameters are). The result is on the CPU.

    Returns
    -------
    NDArray, float32, (N, ...) on the CPU
    """
    positive_int(batch_size, "batch_size", example="batch_size=64")
    n = X.shape[0]
    if n == 0:
        raise ValueError("X is empty: nothing to extract features from")
    ctx = ctx or _params_ctx(features)
    outs = []
    for start in range(0, n, batch_size):
        batch = X[start:start + batch_size]
        if transform is not None:
            batch = transform(batch)
        if not isinstance(batch, mx.nd.NDArray):
            batch = mx.nd.array(batch, dtype="float32")
        with autograd.predict_mode():  # BatchNorm and Dropout in inference mode
            outs.append(features(batch.as_in_context(ctx)).as_in_context(mx.cpu()))
    return mx.nd.concat(*outs, dim=0)


# =================================================================================================
# Your own images: one sub-folder per class
# =================================================================================================
class FolderError(ValueError):
    """A folder of images that cannot be used as a data set; the message says how to fix it."""


def _is_hidden(name):
    return name.startswith(".") or name.lower() in _SYSTEM_FILES


class ImageFolder(gluon.data.vision.ImageFolderDataset):
    """``gluon.data.vision.ImageFolderDataset`` that checks the folder first.

    ``root/<class>/<image>``: each sub-folder is a class (sorted by name, label 0, 1, ...).
    Hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) are skipped. Anything else
    that cannot become a labelled image raises :class:`FolderError` naming the file and the fix:
    a missing folder, fewer than two classes, an empty class, a file without an image
    extension (.jpg, .jpeg, .png, .webp, .bmp, .gif, .tif), or one whose header does not open
    as an image of at most 80 megapixels.

    Items are ``(image, label)``: the image as ``(H, W, 3)`` uint8 NDArray (``flag=0``: gray
    ``(H, W, 1)``), or whatever ``transform(image, label)`` returns. Images are decoded by
    :func:`course_utils.images.decode`, as uploads are: EXIF orientation applied, 16-bit gray
    scaled, a truncated file refused with its name. ``classes`` (= ``synsets``) lists the class
    names.
    """

    def __init__(self, root, flag=1, transform=None):
        super().__init__(str(root), flag=flag, transform=transform)

    def __getitem__(self, idx):
        path, label = self.items[idx]
        picture = images.decode(path)
        pixels = np.asarray(picture.convert("L"))[:, :, None] if self._flag == 0 else \
            np.asarray(picture)
        image = mx.nd.array(pixels, dtype="uint8")
        if self._transform is not None:
            return self._transform(image, label)
        return image, label

    def _list_images(self, root):
        root_path = Path(root)
        fix = ("Expected: one sub-folder per class, each holding .jpg/.jpeg/.png images, e.g. "
               f"{root_path}/cat/1.jpg and {root_path}/dog/1.jpg.")
        if not root_path.is_dir():
            raise FolderError(f"{root_path} is not a folder. {fix} Create it, or check the path "
                              f"(the current folder is {Path.cwd()}).")
        entries = sorted(e for e in root_path.iterdir() if not _is_hidden(e.name))
        strays = [e.name for e in entries if not e.is_dir()]
        if strays:
            raise FolderError(f"{root_path} holds files next to the class folders: "
                              f"{', '.join(strays[:5])}. {fix} Move each image into the "
                              "sub-folder of its class, or delete the file.")
        classes = [e for e in entries if e.is_dir()]
        if len(classes) < 2:
            found = f"only one class folder ({classes[0].name})" if classes else "no class folders"
            raise FolderError(f"{root_path} has {found}; a classifier needs at least two classes. "
                              f"{fix} Add a sub-folder for each other class.")
        self.synsets, self.items = [], []
        for label, folder in enumerate(classes):
            files = sorted(f for f in folder.iterdir() if not _is_hidden(f.name))
            images = [f for f in files if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS]
            others = [f for f in files if f not in images]
            if others:
                kind = ("a folder" if others[0].is_dir()
                        else f"not a {'/'.join(IMAGE_EXTENSIONS)} image")
                raise FolderError(f"{others[0]} is {kind} (class folder '{folder.name}' must hold "
                                  "only images). Convert it to .jpg or .png, or move it out of "
                                  f"{root_path}." + (f" ({len(others) - 1} more like it.)"
                                                     if len(others) > 1 else ""))
            if not images:
                raise FolderError(f"The class folder {folder} is empty: every class needs images "
                                  f"(at least a few; more is better). {fix} Add images to it, "
                                  "or delete the folder.")
            for f in images:
                _check_image_file(f)
            self.synsets.append(folder.name)
            self.items.extend((str(f), label) for f in images)

    @property
    def classes(self):
        return list(self.synsets)

    def counts(self):
        """Images per class, as ``{class name: count}``."""
        labels = np.array([label for _, label in self.items])
        return {name: int((labels == i).sum()) for i, name in enumerate(self.synsets)}

    def arrays(self):
        """All items stacked: ``X (N, ...)`` and labels ``y (N,)`` float32 NDArrays.

        For small folders (everything is held in memory).
        """
        xs, ys = zip(*(self[i] for i in range(len(self))))
        X = mx.nd.stack(*[x if isinstance(x, mx.nd.NDArray) else mx.nd.array(x) for x in xs])
        return X, mx.nd.array(ys, dtype="float32")

    def __repr__(self):
        counts = ", ".join(f"{k}: {v}" for k, v in self.counts().items())
        return f"ImageFolder({len(self)} images, {len(self.synsets)} classes; {counts})"


def _check_image_file(path):
    try:
        images.check(path)
    except images.NotAnImageError as err:
        raise FolderError(f"{path} has an image extension but is not a readable image ({err}). "
                          "Open it in an image viewer and save it again as .jpg or .png, or "
                          "delete it.") from None


def image_folder(path, size=128, mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0)):
    """Your own images as a data set ready for an ImageNet model.

    Parameters
    ----------
    path : str or Path
        ``path/<class name>/<image>.jpg`` (or .jpeg, .png); at least two class folders.
    size : int, default 128
        Each photo is resized so its shorter side is ``size * 256 / 224``, then its centre
        ``size x size`` is cropped (:func:`course_utils.pretrained.preprocess`).
    mean, std : 3 floats
        Input scaling, 0..255 scale (EfficientNet-Lite's defaults; a GluonCV zoo model needs
        ``info['mean']``, ``info['std']`` from ``load_pretrained``).

    Returns
    -------
    ImageFolder
        Items ``((3, size, size) float32 NDArray, int label)``; ``.classes``, ``.counts()``,
        ``.arrays()``.

    Raises
    ------
    FolderError
        The folder is missing, has fewer than two classes, an empty class, or a file that is not
        a readable .jpg/.jpeg/.png image; the message names the file and what to do.
    """
    from course_utils.pretrained import preprocess

    def transform(image, label):
        return preprocess(image.asnumpy(), size=size, mean=mean, std=std)[0], label

    return ImageFolder(path, flag=1, transform=transform)


def make_demo_folder(path, photos=None, per_class=12, size=160, seed=0):
    """Build a small image folder from scikit-image's photos: one class per photo.

    Each image is a random crop (40 to 100% of the shorter side, anywhere in the photo),
    flipped left-right half of the time, with its brightness changed by up to 20%, saved as
    JPEG. Crops of one photo per class make an easy task: this shows that the code works end to
    end, not how well a model generalises.

    Parameters
    ----------
    path : str or Path
        Created if needed; ``path/<class>/<class>_NN.jpg`` is written.
    photos : dict of {class name: photo name}, optional
        Default ``{'cat': 'chelsea', 'coffee': 'coffee', 'rocket': 'rocket'}`` (names of
        :data:`course_utils.data.PHOTOS`).
    per_class : int, default 12
    size : int, default 160
        Side of the saved square images in pixels.
    seed : int, default 0
        Another seed gives other crops (e.g. a test folder next to a training folder).

    Returns
    -------
    Path
        ``path``.
    """
    from PIL import Image

    from course_utils import data

    photos = photos or {"cat": "chelsea", "coffee": "coffee", "rocket": "rocket"}
    rng = np.random.RandomState(seed)
    root = Path(path)
    for name, photo in photos.items():
        image = Image.fromarray(data.load_photo(photo))
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        width, height = image.size
        for i in range(per_class):
            side = int(min(width, height) * rng.uniform(0.4, 1.0))
            left, top = rng.randint(0, width - side + 1), rng.randint(0, height - side + 1)
            crop = image.crop((left, top, left + side, top + side)).resize((size, size),
                                                                           Image.BILINEAR)
            if rng.rand() < 0.5:
                crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
            pixels = np.asarray(crop, dtype=np.float32) * rng.uniform(0.8, 1.2)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                folder / f"{name}_{i:02d}.jpg", quality=90)
    return root


# =================================================================================================
# Save and load a trained network
# =================================================================================================
def export_model(net, prefix, input_shape=(1, 3, 224, 224), ctx=None):
    """Save ``net`` as ``prefix-symbol.json`` (the graph) and ``prefix-0000.params`` (weights).

    ``HybridBlock.export`` needs a traced graph: the network is hybridized and run once on
    zeros of ``input_shape`` (in inference mode, so nothing changes). The files load without
    the Python class that built the network (:func:`import_model`), also from C++ or MXNet
    Model Server.

    Returns
    -------
    (Path, Path)
        The symbol file and the parameter file.
    """
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    net.hybridize()
    with autograd.predict_mode():
        net(mx.nd.zeros(input_shape, ctx=ctx or _params_ctx(net)))
    net.export(str(prefix), epoch=0)
    return Path(f"{prefix}-symbol.json"), Path(f"{prefix}-0000.params")


def import_model(prefix, ctx=None):
    """Load a network saved by :func:`export_model` into a fresh ``gluon.SymbolBlock``.

    Returns
    -------
    gluon.SymbolBlock
        Takes the same input as the exported network (called ``data``) and gives the same
        outputs.

    Raises
    ------
    FileNotFoundError
        One of the two files is missing.
    SavedModelError
        A file is truncated or edited (the graph does not parse, or the weights do not match
        it); the message names the file and says to export again.
    """
    symbol_file, params_file = Path(f"{prefix}-symbol.json"), Path(f"{prefix}-0000.params")
    missing = [str(f) for f in (symbol_file, params_file) if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"no saved model at {prefix}: {', '.join(missing)} missing. "
                                "Save one first with export_model(net, prefix).")
    try:
        graph = mx.sym.load(str(symbol_file))
    except mx.base.MXNetError as err:
        raise SavedModelError(_damaged(symbol_file, "is not a readable network graph", err,
                                       prefix)) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Cannot decide type for the following arguments"
        try:
            net = gluon.SymbolBlock(graph, [mx.sym.var("data")])
        except (mx.base.MXNetError, ValueError, KeyError) as err:
            raise SavedModelError(_damaged(symbol_file, "has no input called 'data'", err,
                                           prefix)) from None
        try:
            net.collect_params().load(str(params_file), ctx=ctx or mx.cpu())
        except (mx.base.MXNetError, AssertionError, ValueError, KeyError) as err:
            raise SavedModelError(_damaged(params_file, f"does not hold the weights that "
                                           f"{symbol_file.name} needs", err, prefix)) from None
    return net


class SavedModelError(ValueError):
    """A file written by :func:`export_model` is truncated, edited or from another network."""


def _damaged(path, what, err, prefix):
    reason = str(err).strip().splitlines()
    reason = next((line for line in reversed(reason) if line.strip()), type(err).__name__)
    return (f"{path} {what}: it is truncated, was edited, or comes from another export "
            f"({reason.strip()[:160]}). Export the network again with "
            f"transfer.export_model(net, '{prefix}') and load that.")
