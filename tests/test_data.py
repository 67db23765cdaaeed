import gzip
import shutil
import time

import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import config, data
import mxnet as mx
from mxnet.gluon.data.vision import transforms


@pytest.mark.parametrize("loader, train, n, per_class", [
    (data.load_mnist, True, 4000, 400), (data.load_mnist, False, 1000, 100),
    (data.load_fashion_mnist, True, 10000, 1000), (data.load_fashion_mnist, False, 2000, 200),
])
def test_bundled_subsets_shapes_dtypes_balance(loader, train, n, per_class):
    ds = loader(train=train)
    assert len(ds) == n
    assert np.bincount(ds.labels).tolist() == [per_class] * 10
    x, y = ds[0]
    assert isinstance(x, mx.nd.NDArray) and x.shape == (28, 28, 1) and x.dtype == np.uint8
    assert isinstance(y, np.int32)
    assert "bundled subset" in repr(ds)
    assert ds.images.max() > 200 and ds.images.min() == 0  # real 0-255 pixels, not rescaled


def test_train_and_test_splits_do_not_overlap():
    tr, te = data.load_mnist(True), data.load_mnist(False)
    train_rows = {img.tobytes() for img in tr.images}
    assert not any(img.tobytes() in train_rows for img in te.images)


def test_item_format_works_with_gluon_transforms():
    ds = data.load_fashion_mnist(train=False).transform_first(transforms.ToTensor())
    x, y = ds[3]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and x.max().asscalar() <= 1.0


def test_bundled_checksums_match_readme():
    readme = (config.DATA_DIR / "README.md").read_text()
    for name, (file, digest) in data.BUNDLED.items():
        assert digest in readme, f"data/README.md must list the SHA-256 of {file}"
        data.bundled_path(name)  # raises if the file does not match


def test_damaged_bundled_file_is_reported(tmp_path, monkeypatch):
    file, _ = data.BUNDLED["mnist"]
    raw = bytearray((config.DATA_DIR / file).read_bytes())
    raw[1000] ^= 0xFF
    (tmp_path / file).write_bytes(bytes(raw))
    monkeypatch.setattr(config, "DATA_DIR", tmp_path)
    with pytest.raises(data.DataError, match="damaged.*git checkout"):
        data.load_mnist()


def test_corrupted_cache_file_is_never_used(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MXNET_HOME", tmp_path)
    folder = tmp_path / "datasets" / "mnist"
    folder.mkdir(parents=True)
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 100))
    with pytest.raises(data.DataError) as err:
        data.load_full("mnist", train=True, download=False)
    assert str(bad) in str(err.value) and "Delete it" in str(err.value)


def test_truncated_idx_file_is_detected(tmp_path):
    src = data.SYSTEM_DIRS["fashion-mnist"][0] / "t10k-labels-idx1-ubyte.gz"
    if not src.exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    raw = gzip.decompress(src.read_bytes())
    cut = tmp_path / "t10k-labels-idx1-ubyte.gz"
    cut.write_bytes(gzip.compress(raw[:-500]))
    with pytest.raises(data.DataError, match="truncated"):
        data.read_idx(cut, 10000)
    assert data.read_idx(src, 10000).shape == (10000,)


def test_offline_full_profile_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MXNET_HOME", tmp_path)
    monkeypatch.setitem(data.SYSTEM_DIRS, "mnist", [])
    # port 9 (discard) on loopback is closed: the same failure as a classroom without network
    monkeypatch.setattr(data, "DOWNLOAD_URL", "http://127.0.0.1:9/{name}/{file}")
    start = time.perf_counter()
    with pytest.raises(data.DataError) as err:
        data.load_mnist(train=True, full=True)
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert "download failed" in message and str(tmp_path / "datasets" / "mnist") in message
    assert "COURSE_PROFILE=default" in message
    assert not list((tmp_path / "datasets" / "mnist").glob("*"))  # no half-written file left


def test_full_fashion_mnist_from_system_copy(tmp_path, monkeypatch):
    if not (data.SYSTEM_DIRS["fashion-mnist"][0] / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    monkeypatch.setattr(config, "MXNET_HOME", tmp_path)
    ds = data.load_fashion_mnist(train=False, full=True)
    assert len(ds) == 10000 and "system copy" in ds.source
    # the bundled test subset is drawn from this official test split
    full = {img.tobytes() for img in ds.images}
    sub = data.load_fashion_mnist(train=False).images
    assert all(img.tobytes() in full for img in sub[:50])


def test_full_profile_is_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "full")
    monkeypatch.setattr(data, "load_full", lambda name, train: ("full", name, train))
    assert data.load_mnist(train=False) == ("full", "mnist", False)


@pytest.mark.parametrize("bad", ["train", "test", 1, None])
def test_wrong_split_name_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="train must be True"):
        data.load_mnist(train=bad)


def test_dataset_rejects_wrong_dtype_and_shapes():
    with pytest.raises(ValueError, match="uint8"):
        data.CourseDataset(np.zeros((2, 28, 28), np.float32), np.zeros(2), ["a"], "x")
    with pytest.raises(ValueError, match="labels must be"):
        data.CourseDataset(np.zeros((2, 28, 28), np.uint8), np.zeros(3), ["a"], "x")
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        data.CourseDataset(np.zeros((28, 28), np.uint8), np.zeros(28), ["a"], "x")


def test_array_loader_batches_and_seeded_shuffle():
    train_iter, test_iter = data.loaders(data.load_mnist(True), data.load_mnist(False), 256)
    X, y = next(iter(test_iter))
    assert X.shape == (256, 1, 28, 28) and X.dtype == np.float32 and y.shape == (256,)
    assert 0.0 <= X.min().asscalar() and X.max().asscalar() <= 1.0
    assert len(test_iter) == 4 and sum(b[0].shape[0] for b in test_iter) == 1000
    config.set_seed(3)
    first = next(iter(train_iter))[1].asnumpy()
    config.set_seed(3)
    assert np.array_equal(first, next(iter(train_iter))[1].asnumpy())
    with pytest.raises(ValueError, match="must match"):
        data.ArrayLoader(mx.nd.zeros((3, 2)), mx.nd.zeros(4))


def test_loaders_with_augmentation_use_gluon_dataloader():
    aug = transforms.Compose([transforms.RandomFlipLeftRight(), transforms.ToTensor()])
    train_iter, _ = data.loaders(data.load_mnist(False), data.load_mnist(False), 64, transform=aug)
    X, y = next(iter(train_iter))
    assert X.shape == (64, 1, 28, 28) and X.dtype == np.float32


def test_photos_are_real_rgb_images():
    for name in data.PHOTOS:
        img = data.load_photo(name)
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 and img.std() > 10
    with pytest.raises(ValueError, match="choose one of"):
        data.load_photo("unicorn")


def test_faces_are_200_real_crops_faces_first():
    faces = data.load_faces()
    assert len(faces) == 200 and faces.classes == ["face", "non-face"]
    assert faces.images.shape == (200, 25, 25, 1) and faces.images.dtype == np.uint8
    assert np.bincount(faces.labels).tolist() == [100, 100]
    assert (faces.labels[:100] == 0).all() and (faces.labels[100:] == 1).all()
    assert faces.images.max() > 200 and faces.images.std() > 20  # real 0-255 pixels, not blank
    assert len({faces.images[i].tobytes() for i in range(200)}) == 200  # no repeated image
    import skimage.data
    assert np.abs(faces.images[..., 0] / 255.0 - skimage.data.lfw_subset()).max() <= 0.5 / 255
    assert "Labeled Faces in the Wild" in repr(faces) and "faces" in data.sources()


def test_permute_pixels_is_one_fixed_reproducible_permutation():
    perm = data.pixel_permutation(784)
    assert sorted(perm.tolist()) == list(range(784)) and not np.array_equal(perm, np.arange(784))
    assert np.array_equal(perm, data.pixel_permutation(784, seed=data.PERMUTATION_SEED))
    np.random.seed(123)  # the global generator must not matter
    assert np.array_equal(perm, data.pixel_permutation(784))
    assert not np.array_equal(perm, data.pixel_permutation(784, seed=data.PERMUTATION_SEED + 1))

    ds = data.load_mnist(train=False)
    shuffled = data.permute_pixels(ds)
    assert shuffled.images.shape == ds.images.shape and shuffled.images.dtype == np.uint8
    assert np.array_equal(shuffled.labels, ds.labels) and "pixels permuted" in repr(shuffled)
    flat = ds.images.reshape(len(ds), 784)
    assert np.array_equal(shuffled.images.reshape(len(ds), 784), flat[:, perm])
    assert np.array_equal(shuffled.images.reshape(len(ds), 784)[:, np.argsort(perm)], flat)

    X, _ = data.to_arrays(ds)  # (N, 1, 28, 28) float32: NDArray and NumPy agree with the data set
    X_perm = data.permute_pixels(X)
    assert isinstance(X_perm, mx.nd.NDArray) and X_perm.shape == X.shape
    expected = data.to_arrays(shuffled)[0].asnumpy()
    np.testing.assert_array_equal(X_perm.asnumpy(), expected)
    np.testing.assert_array_equal(data.permute_pixels(X.asnumpy()), expected)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        data.permute_pixels(X[0])


def _idx_bytes(array):
    """MNIST's idx format: 0x0000, type 0x08 (uint8), the number of dimensions, big-endian sizes."""
    header = b"\x00\x00\x08" + bytes([array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_read_idx_reads_images_and_labels_written_by_the_test(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "images.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    (tmp_path / "labels.gz").write_bytes(gzip.compress(_idx_bytes(labels)))
    got_images = data.read_idx(tmp_path / "images.gz", expected_count=5)
    got_labels = data.read_idx(tmp_path / "labels.gz")
    assert got_images.shape == (5, 28, 28) and got_images.dtype == np.uint8
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:-30], "truncated"),                          # data cut short
    (lambda raw: raw + b"\x00" * 7, "truncated or wrong"),         # bytes after the data
    (lambda raw: b"\x00\x00\x0d" + raw[3:], "not an idx file"),    # float32, not uint8
    (lambda raw: b"\x00\x00\x08\x02" + raw[4:], "not an idx file"),  # 2-D: neither images nor labels
])
def test_read_idx_refuses_a_damaged_file_and_names_it(tmp_path, damage, message):
    raw = _idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(damage(raw)))
    with pytest.raises(data.DataError, match=message) as err:
        data.read_idx(path)
    assert str(path) in str(err.value) and "prepare" in str(err.value)


def test_read_idx_checks_the_expected_count(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.zeros(10, dtype=np.uint8))))
    assert data.read_idx(path, expected_count=10).shape == (10,)
    with pytest.raises(data.DataError, match="header says"):
        data.read_idx(path, expected_count=60000)


def test_read_idx_refuses_a_file_that_is_not_gzip(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")  # idx, but not gzipped
    with pytest.raises(data.DataError, match="not a readable gzip file"):
        data.read_idx(path)
