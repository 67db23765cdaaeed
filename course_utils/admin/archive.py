"""Classroom readiness: copy the cache to every machine through one checksummed archive.

An instructor fills the cache once (``python -m course_utils prepare``), writes it to an
archive (``prepare --archive course-cache.tar.gz``), copies that file to every machine (a USB
stick, a shared folder) and reads it there (``prepare --from-archive course-cache.tar.gz``).

The archive holds ``$MXNET_HOME/datasets`` and ``$MXNET_HOME/models`` plus a manifest,
``MANIFEST.sha256``, in ``sha256sum`` format (``sha256sum -c MANIFEST.sha256`` works on an
unpacked copy). Both directions are safe to interrupt and re-run:

- writing goes to a hidden temporary file next to the target, renamed only when complete, so a
  file with the archive's name is always a whole archive;
- reading checks every member against the manifest while unpacking into a staging folder inside
  the cache, and moves files into place only when all of them matched, so a damaged archive
  changes nothing.

Formats: ``.tar.gz`` / ``.tgz`` (tar, gzip) or ``.zip``, chosen by the file name.
"""
import errno
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from course_utils import _util, config

MANIFEST = "MANIFEST.sha256"
FOLDERS = ("datasets", "models")
# temporary or lock files that downloads and conversions leave while they run
SKIP_SUFFIXES = (".part", ".partial", ".lock", ".tmp")
CHUNK = 1 << 20
#: the largest manifest a reader accepts: a line is about 120 bytes, so this is room for over
#: 2,000 cached files (the course caches a few dozen); a bigger one is refused unread
MAX_MANIFEST_BYTES = 256 * 1024


class ArchiveError(RuntimeError):
    """The archive cannot be written or read; the message says what to do."""


def _home(home):
    return Path(config.MXNET_HOME if home is None else home).expanduser()


def archive_format(path):
    """``'tar'`` or ``'zip'`` from the archive's name; ArchiveError for any other name."""
    name = Path(path).name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "tar"
    if name.endswith(".zip"):
        return "zip"
    raise ArchiveError(f"Cannot tell the archive format of {path}: name it *.tar.gz, *.tgz or "
                       "*.zip, e.g. --archive course-cache.tar.gz")


sha256_file = _util.sha256_file


def cache_files(home=None):
    """The cache files an archive carries.

    Parameters
    ----------
    home : path, optional
        The cache folder (default: ``config.MXNET_HOME``).

    Returns
    -------
    list of str
        Paths relative to ``home``, with ``/`` separators, sorted: every regular file under
        ``datasets/`` and ``models/`` except hidden, temporary and lock files.
    """
    home = _home(home)
    found = []
    for folder in FOLDERS:
        root = home / folder
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            rel = path.relative_to(home)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if path.is_symlink() or not path.is_file() or path.name.endswith(SKIP_SUFFIXES):
                continue
            found.append(rel.as_posix())
    return sorted(found)


def _manifest_text(entries):
    return "".join(f"{sha}  {name}\n" for name, sha in entries)


def _parse_manifest(text, archive):
    entries = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        sha, sep, name = line.partition("  ")
        if not sep or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ArchiveError(f"{archive}: line {number} of {MANIFEST} is not '<sha256>  <path>'. "
                               "The archive is damaged: copy it again, or rebuild it on the "
                               "instructor's machine with: python -m course_utils prepare --archive PATH")
        _check_member_name(name, archive)
        entries[name] = sha
    if not entries:
        raise ArchiveError(f"{archive}: {MANIFEST} lists no files. Rebuild the archive on a machine "
                           "with a filled cache: python -m course_utils prepare --archive PATH")
    return entries


def _read_manifest(f, archive):
    """The manifest's text, read at most ``MAX_MANIFEST_BYTES + 1`` bytes: never a whole bomb."""
    raw = f.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ArchiveError(f"{archive}: {MANIFEST} is larger than {MAX_MANIFEST_BYTES // 1024} KB "
                           "(a course cache lists a few dozen files in a few KB); this is not a "
                           "course cache archive, or it was tampered with. Rebuild it with: "
                           "python -m course_utils prepare --archive PATH")
    return raw.decode("utf-8", "replace")


def _check_member_name(name, archive):
    """Refuse paths that would land outside the cache's datasets/ and models/ folders."""
    parts = PurePosixPath(name).parts
    if (not parts or name.startswith("/") or "\\" in name or ".." in parts
            or parts[0] not in FOLDERS or len(parts) < 2):
        raise ArchiveError(f"{archive}: member {name!r} is not a path under datasets/ or models/; "
                           "this is not a course cache archive (or it was tampered with). Rebuild it "
                           "with: python -m course_utils prepare --archive PATH")


def missing_full_files(home=None):
    """Files of the full data sets that the cache lacks (so an archive of it lacks them too).

    System copies (e.g. Debian's ``dataset-fashion-mnist``) are not in the cache: their gzip
    bytes differ from the download's, whose SHA-1 the cache is checked against.

    Returns
    -------
    list of str
        Paths relative to the cache, e.g. ``datasets/mnist/train-images-idx3-ubyte.gz``.
    """
    from course_utils import data

    home = _home(home)
    return [f"datasets/{name}/{file}" for name, files in data.FULL_FILES.items()
            for file in files if not (home / "datasets" / name / file).is_file()]


def write_archive(path, home=None):
    """Write the cache to an archive, atomically.

    Parameters
    ----------
    path : path
        The archive to write (``*.tar.gz``, ``*.tgz`` or ``*.zip``); replaced if it exists.
    home : path, optional
        The cache folder (default: ``config.MXNET_HOME``).

    Returns
    -------
    dict
        ``{relative path: sha256}`` of the files written (the manifest).
    """
    path = Path(path).expanduser().resolve()
    kind = archive_format(path)
    home = _home(home)
    names = cache_files(home)
    if not names:
        raise ArchiveError(f"Nothing to archive: {home}/datasets and {home}/models hold no files. "
                           "Fill the cache first: python -m course_utils prepare")
    if path.parent == home or home in path.parents:
        raise ArchiveError(f"Write the archive outside the cache ({home}), e.g. to a USB stick or "
                           "your home folder: --archive ~/course-cache.tar.gz")
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [(name, sha256_file(home / name)) for name in names]
    manifest = _manifest_text(entries).encode()
    with _util.atomic_path(path) as tmp:  # a file with the archive's name is always whole
        if kind == "tar":
            with tarfile.open(tmp, "w:gz") as tar:
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(manifest)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(manifest))
                for name, _ in entries:
                    tar.add(home / name, arcname=name, recursive=False)
        else:
            # weights and gzipped idx files do not compress further: store them
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                zf.writestr(MANIFEST, manifest, compress_type=zipfile.ZIP_DEFLATED)
                for name, _ in entries:
                    zf.write(home / name, arcname=name)
    return dict(entries)


def _damaged(archive, detail):
    return ArchiveError(f"The archive {archive} is damaged: {detail}. Copy it again from the "
                        "instructor's machine, or rebuild it there with: "
                        "python -m course_utils prepare --archive PATH")


def _members(archive, kind):
    """Yield ``(name, file object)`` for each regular file in the archive, in order."""
    if kind == "tar":
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ArchiveError(f"{archive}: member {member.name!r} is a link or a device, "
                                       "not a file; this is not a course cache archive.")
                yield member.name, tar.extractfile(member)
    else:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                with zf.open(info) as f:
                    yield info.filename, f


def _disk_full(archive, kind, home):
    """An :class:`ArchiveError` for a cache without room for the unpacked ``archive``."""
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            needed = sum(info.file_size for info in zf.infolist())
    else:  # gzip's last 4 bytes: the unpacked size (modulo 4 GiB, hence the max)
        with open(archive, "rb") as f:
            f.seek(-4, os.SEEK_END)
            needed = max(int.from_bytes(f.read(4), "little"), archive.stat().st_size)
    free = shutil.disk_usage(home).free
    return ArchiveError(f"The disk is full: unpacking {archive} into {home} needs about "
                        f"{needed / 1e6:.1f} MB, and {free / 1e6:.1f} MB are free there. Free some "
                        "space (or point MXNET_HOME at a disk with room) and run the command "
                        "again; the cache was not changed.")


def _remove_stale_staging(home, older_than_s=3600):
    """Remove staging folders a killed reader left behind (an hour old: no reader is using them)."""
    now = time.time()
    for stale in home.glob(".classroom-staging-*"):
        if stale.is_dir() and now - stale.stat().st_mtime > older_than_s:
            shutil.rmtree(stale, ignore_errors=True)


def read_archive(path, home=None):
    """Check an archive against its manifest and unpack it into the cache.

    Nothing in the cache changes unless every file matched its SHA-256.

    Parameters
    ----------
    path : path
        An archive written by :func:`write_archive`.
    home : path, optional
        The cache folder (default: ``config.MXNET_HOME``).

    Returns
    -------
    dict
        ``{"added": [...], "replaced": [...], "unchanged": [...]}``: relative paths.

    Raises
    ------
    ArchiveError
        The archive is missing, unreadable, or a file in it does not match the manifest (the
        message names the file and says what to do).
    """
    path = Path(path).expanduser()
    kind = archive_format(path)
    if not path.is_file():
        raise ArchiveError(f"No archive at {path}. Write one on a prepared machine with: "
                           f"python -m course_utils prepare --archive {path.name}")
    home = _home(home)
    home.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(home)
    staging = Path(tempfile.mkdtemp(dir=home, prefix=".classroom-staging-"))
    try:
        expected, got, where = None, {}, "at all"
        try:
            for name, f in _members(path, kind):
                where = f"in {name}"
                if name == MANIFEST:
                    expected = _parse_manifest(_read_manifest(f, path), path)
                    where = f"after {name}"
                    continue
                if expected is None:
                    raise _damaged(path, f"{MANIFEST} is not its first member")
                if name not in expected:
                    raise _damaged(path, f"{name} is not listed in {MANIFEST}")
                if name in got:
                    raise _damaged(path, f"{name} appears twice")
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with open(target, "wb") as out:
                    for block in iter(lambda: f.read(CHUNK), b""):
                        digest.update(block)
                        out.write(block)
                got[name] = digest.hexdigest()
                where = f"after {name}"
                if got[name] != expected[name]:
                    raise _damaged(path, f"{name} has SHA-256 {got[name][:12]}..., the manifest "
                                         f"says {expected[name][:12]}...")
        except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise _damaged(path, f"it cannot be read {where} ({type(err).__name__}: {err}); "
                                 "it is probably truncated or corrupted") from err
        except OSError as err:
            if err.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            shutil.rmtree(staging, ignore_errors=True)  # before measuring what is free
            raise _disk_full(path, kind, home) from None
        if expected is None:
            raise _damaged(path, f"it has no {MANIFEST}")
        missing = sorted(set(expected) - set(got))
        if missing:
            raise _damaged(path, f"{len(missing)} file(s) listed in {MANIFEST} are missing, "
                                 f"e.g. {missing[0]}")
        report = {"added": [], "replaced": [], "unchanged": []}
        for name in sorted(got):
            dest = home / name
            if dest.is_file() and sha256_file(dest) == got[name]:
                report["unchanged"].append(name)
                continue
            report["replaced" if dest.exists() else "added"].append(name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, dest)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
