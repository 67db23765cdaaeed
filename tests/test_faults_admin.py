"""Fault injection for the instructor tools (issue 15): archives, prepare, doctor, launch.

Each test feeds one bad input or interruption and checks the outcome (a result or a message a
teacher can act on), that nothing was lost, and that no file or process was left behind.
"""
import io
import os
import signal
import subprocess
import sys
import tarfile
import time
import tracemalloc
import uuid
import zipfile

import pytest

import course_utils  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from course_utils import config
from course_utils.admin import archive as classroom, doctor, launch


class Zeros(io.RawIOBase):
    """``size`` zero bytes, read without ever holding them all (to build a bomb cheaply)."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


BOMB_BYTES = 64 * 1024 * 1024  # a 64 MB manifest compresses to about 64 KB


def write_bomb(path):
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            with zf.open(classroom.MANIFEST, "w", force_zip64=True) as out:
                for _ in range(BOMB_BYTES // (1 << 20)):
                    out.write(bytes(1 << 20))
    else:
        with tarfile.open(path, "w:gz", compresslevel=1) as tar:
            info = tarfile.TarInfo(classroom.MANIFEST)
            info.size = BOMB_BYTES
            tar.addfile(info, io.BufferedReader(Zeros(BOMB_BYTES)))
    return path


@pytest.mark.parametrize("name", ["bomb.tar.gz", "bomb.zip"])
def test_a_huge_manifest_is_refused_without_reading_it(tmp_path, monkeypatch, name):
    archive = write_bomb(tmp_path / name)
    assert archive.stat().st_size < 2 * 1024 * 1024  # small on disk, 64 MB unpacked
    home = tmp_path / "cache"
    (home / "models").mkdir(parents=True)
    (home / "models" / "kept.params").write_bytes(b"learner's weights")
    monkeypatch.setattr(config, "MXNET_HOME", home)
    tracemalloc.start()
    try:
        with pytest.raises(classroom.ArchiveError, match="larger than 256 KB") as err:
            classroom.read_archive(archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "prepare --archive" in str(err.value) and str(archive) in str(err.value)
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MB while refusing the manifest"
    # nothing lost, nothing left: the cache is as it was, the staging folder is gone
    assert (home / "models" / "kept.params").read_bytes() == b"learner's weights"
    assert sorted(p.name for p in home.iterdir()) == ["models"]


def test_a_manifest_just_under_the_bound_is_read(tmp_path):
    line = "0" * 64 + "  models/" + "x" * 40 + ".params\n"
    text = line * (classroom.MAX_MANIFEST_BYTES // len(line))
    assert classroom._read_manifest(io.BytesIO(text.encode()), tmp_path / "a.zip") == text


def test_python_too_old_asks_for_an_older_range_not_for_3_13():
    old = doctor.check_python((3, 7, 0))
    assert old.status == "FAIL" and "3.7.0" in old.detail
    assert "3.8 to 3.12" in old.detail and "3.11 or 3.12" in old.detail
    assert "3.13" not in old.detail and "numpy 2" not in old.detail


def test_python_too_new_says_mxnet_has_no_numpy_2_and_names_3_11_or_3_12():
    new = doctor.check_python((3, 13, 1))
    assert new.status == "FAIL" and "3.13.1" in new.detail
    assert "MXNet 1.9.1" in new.detail and "numpy 2" in new.detail
    assert "3.12 or 3.11" in new.detail and "too old" not in new.detail


LINGER = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
print("ready", flush=True)
time.sleep(120)
"""


def test_no_process_outlives_a_launcher_killed_with_sigkill(tmp_path):
    """kill -9 of the launcher (no clean-up of its own): its sentinel stops every role."""
    script = tmp_path / "linger.py"
    script.write_text(LINGER)
    mark = uuid.uuid4().hex
    env = dict(os.environ, COURSE_TEST_MARK=mark)
    proc = subprocess.Popen([sys.executable, "-m", "course_utils", "launch", "--workers", "2",
                             "--", sys.executable, str(script)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready = 0
        for line in proc.stdout:
            ready += " ready" in line
            if ready == 2:
                break
        # the launcher, its sentinel, scheduler, server, 2 workers, their 2 grandchildren
        assert len(launch.tagged_pids(mark, "COURSE_TEST_MARK")) == 8
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 20
    while launch.tagged_pids(mark, "COURSE_TEST_MARK") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert launch.tagged_pids(mark, "COURSE_TEST_MARK") == []


def _no_work(*args, **kwargs):
    raise AssertionError("prepare started working before checking --archive")


@pytest.mark.parametrize("dest, expected", [
    ("missing-folder/cache.tar.gz", "does not exist; create it first"),
    ("a-folder", "is a folder; give a file name in it"),
    ("cache.rar", "name it *.tar.gz, *.tgz or *.zip"),
    ("mxnet-home/cache.zip", "outside the cache"),
])
def test_prepare_refuses_a_bad_archive_destination_before_any_work(tmp_path, monkeypatch,
                                                                   capsys, dest, expected):
    from course_utils import data
    from course_utils.admin import cli
    from course_utils.admin import prepare

    (tmp_path / "a-folder").mkdir()
    monkeypatch.setattr(config, "MXNET_HOME", tmp_path / "mxnet-home")
    (tmp_path / "mxnet-home").mkdir()
    monkeypatch.setattr(data, "load_full", _no_work)
    monkeypatch.setattr(prepare, "_prepare_weights", _no_work)
    monkeypatch.chdir(tmp_path)
    status = cli.main(["prepare", "--offline", "--archive", dest])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "mxnet-home"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_prepare_refuses_an_unwritable_archive_folder(tmp_path):
    from course_utils.admin import prepare

    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(classroom.ArchiveError, match="not writable"):
        prepare.check_destination(locked / "cache.tar.gz", home=tmp_path / "home")


def test_prepare_on_the_command_line_exits_2_with_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "course_utils", "prepare", "--offline",
                          "--archive", str(tmp_path / "nowhere" / "c.tar.gz")],
                         capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, MXNET_HOME=str(tmp_path / "home")))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("[prepare] error: --archive ") and out.stderr.count("\n") == 1
    assert not (tmp_path / "home").exists()  # not even the cache folder was made
