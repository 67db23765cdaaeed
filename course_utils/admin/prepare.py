"""``python -m course_utils prepare``: fill the cache for an offline classroom, then archive it.

:func:`prepare_cache` does the work and reports each step on one line (``[ok]``, ``[FAIL]``,
``[note]``); :func:`check_destination` refuses a bad ``--archive`` path before anything is
downloaded or converted, so a typo costs a second, not the whole run.
"""
import os
from pathlib import Path

from course_utils import config, data
from course_utils.admin import archive as classroom


def check_destination(path, home=None):
    """Check where the archive will go, before any work; returns the resolved path.

    Raises
    ------
    classroom.ArchiveError
        The name has no archive suffix, the path is a folder, its folder does not exist or is
        not writable, or it lies inside the cache (the message says what to do).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise classroom.ArchiveError(f"--archive {path} is a folder; give a file name in it, "
                                     f"e.g. --archive {path / 'course-cache.tar.gz'}")
    classroom.archive_format(path)  # raises on a name that is not *.tar.gz, *.tgz or *.zip
    path = path.resolve()
    parent = path.parent
    if not parent.is_dir():
        raise classroom.ArchiveError(f"--archive {path}: the folder {parent} does not exist; "
                                     f"create it first (mkdir -p {parent}) or choose another one")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise classroom.ArchiveError(f"--archive {path}: the folder {parent} is not writable by "
                                     "you; choose a folder of your own, e.g. "
                                     "--archive ~/course-cache.tar.gz")
    home = Path(config.MXNET_HOME if home is None else home).expanduser().resolve()
    if parent == home or home in parent.parents:
        raise classroom.ArchiveError(f"Write the archive outside the cache ({home}), e.g. to a "
                                     "USB stick or your home folder: --archive ~/course-cache.tar.gz")
    return path


def _load_full_data(offline, timeout, say):
    failures = 0
    for name in ("mnist", "fashion-mnist"):
        for train in (True, False):
            try:
                ds = data.load_full(name, train, download=not offline, timeout=timeout)
                say(f"[ok] {ds.source}: {len(ds)} images")
            except data.DataError as err:
                failures += 1
                say(f"[FAIL] {err}")
    return failures


def _prepare_weights(say):
    try:
        from course_utils import pretrained
    except ImportError:
        return 0
    if not hasattr(pretrained, "prepare_weights"):
        return 0
    try:
        say(f"[ok] pretrained weights: {pretrained.prepare_weights()}")
    except Exception as err:  # noqa: BLE001  (report every failure, keep going)
        say(f"[FAIL] pretrained weights: {err}")
        return 1
    return 0


def _write(archive, say):
    try:
        manifest = classroom.write_archive(archive)
    except (classroom.ArchiveError, OSError) as err:
        say(f"[FAIL] archive: {err}")
        return 1
    say(f"[ok] wrote {archive} ({len(manifest)} files, SHA-256s in {classroom.MANIFEST}); on "
        f"each machine run: python -m course_utils prepare --from-archive {archive}")
    missing = classroom.missing_full_files()
    if missing:
        say(f"[note] the archive lacks {len(missing)} full data-set file(s), e.g. {missing[0]}: "
            "machines without them use the bundled subsets (default profile); Fashion-MNIST: "
            "sudo apt install dataset-fashion-mnist")
    return 0


def prepare_cache(offline=False, timeout=15.0, archive=None, from_archive=None, say=print):
    """Fill the cache (full data sets, pretrained weights); optionally read or write an archive.

    Parameters
    ----------
    offline : bool
        Download nothing (use system copies and what is cached).
    timeout : float
        Seconds per download attempt.
    archive : path, optional
        Then write the cache to this archive (checked first, see :func:`check_destination`).
    from_archive : path, optional
        First fill the cache from this archive (then nothing is downloaded).
    say : callable
        Where the report lines go (default ``print``).

    Returns
    -------
    int
        The number of steps that failed (0: all ready).

    Raises
    ------
    classroom.ArchiveError
        ``archive`` cannot be written there (raised before any work is done).
    """
    if archive is not None:
        archive = check_destination(archive)
    say(f"cache: {config.MXNET_HOME}")
    failures = 0
    if from_archive:
        try:
            report = classroom.read_archive(from_archive)
        except classroom.ArchiveError as err:
            say(f"[FAIL] {err}")
            return 1
        say(f"[ok] {from_archive}: every file matched its SHA-256; "
            + ", ".join(f"{len(v)} {k}" for k, v in report.items()))
        offline = True  # the archive is the source: check what it gave, download nothing
    failures += _load_full_data(offline, timeout, say)
    failures += _prepare_weights(say)
    if archive is not None:
        failures += _write(archive, say)
    say("prepare finished" + (f" with {failures} problem(s)" if failures else ": all ready"))
    return failures
