"""Fault injection for the cache (issue 15): a damaged cached data file under the full profile
(case 5: the doctor must not say [ok]) and ``prepare --from-archive`` onto a full disk (case 7:
one clear message, the cache as it was, no staging folder or partial file left).
"""
import builtins
import errno
import hashlib
import io
import os
import runpy
import sys
import tarfile
import zipfile

import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import config, data
from course_utils.admin import doctor


def _tree(folder):
    """{relative path: bytes} of every file under ``folder`` (hidden ones included)."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- the doctor, full profile

@pytest.fixture
def full_cache(tmp_path, monkeypatch):
    """A full-profile cache of small stand-in files, the checksums set to match them."""
    monkeypatch.setenv("COURSE_PROFILE", "full")
    monkeypatch.setattr(config, "MXNET_HOME", tmp_path)
    monkeypatch.setattr(data, "SYSTEM_DIRS", {name: [] for name in data.SYSTEM_DIRS})
    monkeypatch.setattr(doctor, "_reachable", lambda url, timeout=3.0: True)  # "online"
    for name, files in data.FULL_FILES.items():
        monkeypatch.setitem(data.FULL_FILES, name, dict(files))
        folder = tmp_path / "datasets" / name
        folder.mkdir(parents=True)
        for file in files:
            body = f"{name}/{file}".encode() * 1000
            (folder / file).write_bytes(body)
            data.FULL_FILES[name][file] = hashlib.sha1(body).hexdigest()
    return tmp_path


def _data_checks():
    return {c.name: c for c in doctor.check_data()}


def test_the_doctor_passes_an_intact_full_cache(full_cache):
    """The control: with every file intact, the stand-in cache is what the doctor accepts."""
    checks = _data_checks()
    for name in data.FULL_FILES:
        assert checks[f"data {name}"].status == "ok", checks[f"data {name}"]
        assert checks[f"data {name}"].detail == "full data set (cache)"


@pytest.mark.parametrize("file", ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
def test_the_doctor_fails_a_truncated_cached_data_file_naming_it_and_the_fix(full_cache, file):
    damaged = full_cache / "datasets" / "fashion-mnist" / file
    damaged.write_bytes(damaged.read_bytes()[:100])  # a download cut short
    before = _tree(full_cache)
    checks = _data_checks()
    check = checks["data fashion-mnist"]
    assert check.status == "FAIL", check
    assert str(damaged) in check.detail and "damaged or incomplete" in check.detail
    assert "Delete it and run 'python -m course_utils prepare'" in check.detail
    assert checks["data mnist"].status == "ok"  # only the damaged set is blamed
    assert not doctor.Report(list(checks.values())).ok
    assert _tree(full_cache) == before  # the doctor only looks: nothing removed or added


def test_the_doctor_warns_when_some_full_files_are_still_to_download(full_cache):
    (full_cache / "datasets" / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    check = _data_checks()["data mnist"]
    assert check.status == "warn" and "downloaded on first use" in check.detail


# ---------------------------------------------------------------- prepare --from-archive, full disk

def _archive(path, files):
    """A course cache archive as write_archive makes it: the manifest first, then the files."""
    manifest = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n"
                       for name, body in files.items()).encode()
    members = [("MANIFEST.sha256", manifest), *files.items()]
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as zf:
            for name, body in members:
                zf.writestr(name, body)
        return path
    with tarfile.open(path, "w:gz") as tar:
        for name, body in members:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return path


def _prepare_from_archive(archive, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["course_utils", "prepare", "--from-archive", str(archive)])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("course_utils", run_name="__main__", alter_sys=False)
    return done.value.code, capsys.readouterr().out


@pytest.mark.parametrize("archive_name", ["course-cache.tar.gz", "course-cache.zip"])
def test_prepare_from_archive_onto_a_full_disk_says_so_and_changes_nothing(
        tmp_path, monkeypatch, capsys, archive_name):
    home = tmp_path / "cache"
    (home / "models").mkdir(parents=True)
    (home / "models" / "net.params").write_bytes(b"the learner's older weights")
    files = {"models/net.params": os.urandom(3_000_000),  # 3 MB that gzip cannot shrink
             "datasets/mnist/train-labels-idx1-ubyte.gz": os.urandom(200_000)}
    archive = _archive(tmp_path / archive_name, files)
    monkeypatch.setattr(config, "MXNET_HOME", home)
    before = _tree(home)

    real_open, room = builtins.open, [1_000_000]  # the disk fills 1 MB into the unpacking

    class FullDisk(io.FileIO):
        def write(self, block):
            if len(block) > room[0]:
                super().write(block[:room[0]])
                room[0] = 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            room[0] -= len(block)
            return super().write(block)

    def open_on_a_full_disk(file, mode="r", *args, **kwargs):
        if ".classroom-staging-" in str(file) and "w" in mode:
            return FullDisk(file, "wb")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_on_a_full_disk)
    status, out = _prepare_from_archive(archive, monkeypatch, capsys)
    monkeypatch.setattr(builtins, "open", real_open)

    assert room[0] == 0, "the simulated full disk was never reached"
    assert status == 1, out
    assert "Traceback" not in out and out.count("[FAIL]") == 1, out
    assert f"The disk is full: unpacking {archive} into {home} needs about 3.2 MB" in out
    assert " MB are free there. Free some space" in out and "the cache was not changed" in out
    assert _tree(home) == before  # old weights kept; no staging folder, no partial file


def test_prepare_from_archive_with_room_still_fills_the_cache(tmp_path, monkeypatch, capsys):
    """The control for the test above: the same archive with room unpacks and replaces."""
    home = tmp_path / "cache"
    files = {"models/net.params": b"new weights"}
    archive = _archive(tmp_path / "course-cache.tar.gz", files)
    monkeypatch.setattr(config, "MXNET_HOME", home)
    monkeypatch.setattr(data, "SYSTEM_DIRS", {name: [] for name in data.SYSTEM_DIRS})
    from course_utils import pretrained
    monkeypatch.setattr(pretrained, "prepare_weights", lambda: "not fetched in this test")
    _, out = _prepare_from_archive(archive, monkeypatch, capsys)
    assert "every file matched its SHA-256; 1 added" in out, out
    assert _tree(home) == {"models/net.params": b"new weights"}
