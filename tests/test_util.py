"""course_utils._util: the helpers every module uses for checked integers, pairs and whole files."""
import course_utils  # noqa: F401  (first, as in every test module)
import os
import stat

import numpy as np
import pytest

from course_utils import _util


def test_positive_int_accepts_numpy_ints_and_names_what_was_expected():
    assert _util.positive_int(np.int64(3), "epochs") == 3
    assert type(_util.positive_int(np.int64(3), "epochs")) is int
    assert _util.positive_int(0, "warmup", minimum=0) == 0
    for bad in (0, -1, 2.5, "3", None, True):
        with pytest.raises(ValueError, match=f"epochs must be a positive integer, got {bad!r}"):
            _util.positive_int(bad, "epochs")
    with pytest.raises(ValueError, match="warmup must be a non-negative integer, got -1: e.g. warmup=3"):
        _util.positive_int(-1, "warmup", example="warmup=3", minimum=0)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2, got 1"):
        _util.positive_int(1, "num_classes", minimum=2)
    with pytest.raises(KeyError):
        _util.positive_int(0, "x", error=KeyError)


def test_int_pair():
    assert _util.int_pair(2, "stride") == (2, 2) and _util.int_pair(np.int32(0), "padding") == (0, 0)
    assert _util.int_pair([1, 3.0], "kernel") == (1, 3)
    for bad in (2.5, (1, 2, 3), (1.5, 2), "ab", (True, 1), None):
        with pytest.raises(ValueError, match="stride must be an int or a pair of ints like"):
            _util.int_pair(bad, "stride")
    with pytest.raises(ValueError, match=r"padding must not be negative; got \(1, -1\)"):
        _util.int_pair((1, -1), "padding")


def test_atomic_path_renames_when_whole_and_leaves_nothing_on_error(tmp_path):
    dest = tmp_path / "weights.params"
    with _util.atomic_path(dest) as tmp:
        assert os.path.basename(tmp).startswith(".weights.params.") and tmp.endswith(".part")
        with open(tmp, "wb") as f:
            f.write(b"new")
        assert not dest.exists()  # the name appears only when the file is whole
    assert dest.read_bytes() == b"new" and stat.S_IMODE(dest.stat().st_mode) == 0o644
    with pytest.raises(RuntimeError):
        with _util.atomic_path(dest) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise RuntimeError("interrupted")
    assert dest.read_bytes() == b"new" and os.listdir(tmp_path) == ["weights.params"]


def test_atomic_path_mode_none_follows_the_umask(tmp_path):
    old = os.umask(0o002)  # a class share: group-writable
    try:
        with _util.atomic_path(tmp_path / "notebook.ipynb", mode=None) as tmp:
            with open(tmp, "w") as f:
                f.write("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "notebook.ipynb").stat().st_mode) == 0o664
