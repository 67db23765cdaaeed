"""The classroom archive: round trip, checksums, damaged archives, interrupted writes."""
import hashlib
import io
import os
import tarfile
import zipfile

import pytest

import course_utils  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from course_utils import config
from course_utils.admin import archive as cache_archive

FILES = {
    "datasets/mnist/train-images-idx3-ubyte.gz": b"IMAGES" + bytes(range(256)) * 40,
    "datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz": b"LABELS" + bytes(500),
    "models/efficientnet_lite0-57934424.params": b"WEIGHTS-" * 2000,
}
# what a running download or conversion leaves behind: never archived
LEFTOVERS = ("models/resnet50_v1d-117a384e.lock", "models/x.params.123-4.part",
             "datasets/mnist/.train.gz.abc.part")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A filled cache in a temporary MXNET_HOME."""
    root = tmp_path / "instructor"
    for rel, payload in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(payload)
    for rel in LEFTOVERS:
        (root / rel).write_bytes(b"half")
    monkeypatch.setattr(config, "MXNET_HOME", root)
    return root


def use_home(monkeypatch, path):
    monkeypatch.setattr(config, "MXNET_HOME", path)
    return path


def cache_contents(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_cache_files_skips_temporary_and_lock_files(home):
    assert cache_archive.cache_files() == sorted(FILES)


@pytest.mark.parametrize("name", ["course-cache.tar.gz", "course-cache.zip"])
def test_round_trip_and_rerun(home, tmp_path, monkeypatch, name):
    archive = tmp_path / "usb" / name
    manifest = cache_archive.write_archive(archive)
    assert manifest == {rel: hashlib.sha256(data).hexdigest() for rel, data in FILES.items()}
    assert archive.is_file()
    assert [p.name for p in archive.parent.iterdir()] == [name]  # no temporary file left

    student = use_home(monkeypatch, tmp_path / "student")
    report = cache_archive.read_archive(archive)
    assert sorted(report["added"]) == sorted(FILES) and not report["replaced"]
    assert cache_contents(student) == FILES  # nothing else: no staging folder, no manifest

    # re-running is safe and changes nothing
    again = cache_archive.read_archive(archive)
    assert sorted(again["unchanged"]) == sorted(FILES) and not again["added"]
    assert cache_contents(student) == FILES


def test_manifest_is_sha256sum_format(home, tmp_path):
    archive = tmp_path / "cache.tar.gz"
    cache_archive.write_archive(archive)
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == cache_archive.MANIFEST
        text = tar.extractfile(cache_archive.MANIFEST).read().decode()
    lines = text.splitlines()
    assert len(lines) == len(FILES)
    for line in lines:
        sha, rel = line.split("  ")
        assert sha == hashlib.sha256(FILES[rel]).hexdigest()


def test_a_file_that_differs_is_replaced(home, tmp_path, monkeypatch):
    archive = tmp_path / "cache.tgz"
    cache_archive.write_archive(archive)
    student = use_home(monkeypatch, tmp_path / "student")
    stale = student / "models/efficientnet_lite0-57934424.params"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an old, different file")
    report = cache_archive.read_archive(archive)
    assert report["replaced"] == ["models/efficientnet_lite0-57934424.params"]
    assert cache_contents(student) == FILES


def tampered_tar(src, dest, member, payload):
    """Copy a tar.gz archive, replacing one member's bytes (the manifest is left as it was)."""
    with tarfile.open(src) as tin, tarfile.open(dest, "w:gz") as tout:
        for info in tin:
            data = tin.extractfile(info).read()
            if info.name == member:
                data = payload
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def test_damaged_member_is_named_and_nothing_changes(home, tmp_path, monkeypatch):
    good = tmp_path / "good.tar.gz"
    cache_archive.write_archive(good)
    bad = tmp_path / "bad.tar.gz"
    member = "models/efficientnet_lite0-57934424.params"
    tampered_tar(good, bad, member, FILES[member][:-1] + b"X")

    student = use_home(monkeypatch, tmp_path / "student")
    with pytest.raises(cache_archive.ArchiveError) as err:
        cache_archive.read_archive(bad)
    message = str(err.value)
    assert member in message and "damaged" in message
    assert "prepare --archive" in message  # the fix
    assert cache_contents(student) == {}  # every file checked before any is placed
    assert list(student.iterdir()) == []  # the staging folder is gone


def test_flipped_byte_in_zip_is_caught(home, tmp_path, monkeypatch):
    archive = tmp_path / "cache.zip"
    cache_archive.write_archive(archive)
    raw = bytearray(archive.read_bytes())
    at = raw.find(b"WEIGHTS-WEIGHTS-") + 100  # inside the stored weights file
    raw[at] ^= 0xFF
    archive.write_bytes(bytes(raw))
    use_home(monkeypatch, tmp_path / "student")
    with pytest.raises(cache_archive.ArchiveError, match="efficientnet_lite0-57934424.params"):
        cache_archive.read_archive(archive)


def test_truncated_archive(home, tmp_path, monkeypatch):
    archive = tmp_path / "cache.tar.gz"
    cache_archive.write_archive(archive)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    student = use_home(monkeypatch, tmp_path / "student")
    with pytest.raises(cache_archive.ArchiveError, match="damaged.*truncated"):
        cache_archive.read_archive(archive)
    assert cache_contents(student) == {}


def test_missing_member_and_foreign_archives(home, tmp_path, monkeypatch):
    good = tmp_path / "good.tar.gz"
    cache_archive.write_archive(good)
    short = tmp_path / "short.tar.gz"
    with tarfile.open(good) as tin, tarfile.open(short, "w:gz") as tout:
        for info in tin:
            if info.name != "datasets/mnist/train-images-idx3-ubyte.gz":
                tout.addfile(info, tin.extractfile(info))
    use_home(monkeypatch, tmp_path / "student")
    with pytest.raises(cache_archive.ArchiveError, match="missing, e.g. datasets/mnist/train-images"):
        cache_archive.read_archive(short)

    # a path that would escape the cache, and an archive without a manifest
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr(cache_archive.MANIFEST, "0" * 64 + "  ../../etc/evil\n")
        zf.writestr("../../etc/evil", b"")
    with pytest.raises(cache_archive.ArchiveError, match="not a path under datasets/ or models/"):
        cache_archive.read_archive(evil)
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("models/a.params", b"x")
    with pytest.raises(cache_archive.ArchiveError, match="MANIFEST.sha256 is not its first member"):
        cache_archive.read_archive(plain)
    with pytest.raises(cache_archive.ArchiveError, match="No archive at"):
        cache_archive.read_archive(tmp_path / "absent.zip")


def test_interrupted_write_leaves_no_archive(home, tmp_path, monkeypatch):
    archive = tmp_path / "cache.tar.gz"
    real_add = tarfile.TarFile.add
    calls = []

    def add_then_interrupt(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "add", add_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        cache_archive.write_archive(archive)
    assert list(tmp_path.iterdir()) == [home]  # no archive, no temporary file

    # an older, complete archive survives an interrupted rewrite untouched
    monkeypatch.setattr(tarfile.TarFile, "add", real_add)
    cache_archive.write_archive(archive)
    before = archive.read_bytes()
    calls.clear()
    monkeypatch.setattr(tarfile.TarFile, "add", add_then_interrupt)
    (home / "models/new-00000000.params").write_bytes(b"new")
    with pytest.raises(KeyboardInterrupt):
        cache_archive.write_archive(archive)
    assert archive.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([home.name, archive.name])


def test_write_refuses_empty_cache_bad_names_and_archives_inside_the_cache(tmp_path, monkeypatch):
    empty = use_home(monkeypatch, tmp_path / "empty")
    with pytest.raises(cache_archive.ArchiveError, match="Fill the cache first"):
        cache_archive.write_archive(tmp_path / "cache.tar.gz")
    (empty / "models").mkdir(parents=True)
    (empty / "models/a.params").write_bytes(b"x")
    with pytest.raises(cache_archive.ArchiveError, match="name it"):
        cache_archive.write_archive(tmp_path / "cache.rar")
    with pytest.raises(cache_archive.ArchiveError, match="outside the cache"):
        cache_archive.write_archive(empty / "models" / "cache.zip")


def test_missing_full_files(home, monkeypatch):
    from course_utils import data

    monkeypatch.setattr(data, "FULL_FILES", {
        "mnist": {"train-images-idx3-ubyte.gz": "0" * 40, "t10k-images-idx3-ubyte.gz": "0" * 40}})
    assert cache_archive.missing_full_files() == ["datasets/mnist/t10k-images-idx3-ubyte.gz"]


def test_command_line(home, tmp_path, monkeypatch, capsys):
    from course_utils.admin import cli
    from course_utils import data, pretrained

    class Fake:
        source = "cache"

        def __len__(self):
            return 10

    def fake_load_full(name, train, download, timeout):
        assert download is False  # --offline, or implied by --from-archive
        return Fake()

    monkeypatch.setattr(data, "load_full", fake_load_full)
    monkeypatch.setattr(pretrained, "prepare_weights", lambda: home / "models" / "w.params")
    archive = tmp_path / "usb" / "cache.zip"
    archive.parent.mkdir()  # prepare checks the folder exists before it starts
    assert cli.main(["prepare", "--offline", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert f"--from-archive {archive}" in out
    assert "[note] the archive lacks 6 full data-set file(s)" in out  # 2 of 8 in FILES

    use_home(monkeypatch, tmp_path / "student")
    assert cli.main(["prepare", "--from-archive", str(archive)]) == 0
    assert cache_contents(tmp_path / "student") == FILES

    archive.write_bytes(archive.read_bytes()[:200])
    assert cli.main(["prepare", "--from-archive", str(archive)]) == 1
    assert "is damaged" in capsys.readouterr().out
