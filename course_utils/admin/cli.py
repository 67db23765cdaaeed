"""Command line for instructors: ``python -m course_utils doctor | prepare | student | launch``.

- ``doctor``: check this machine (exit code 0 only when the course can run).
- ``prepare``: fill the cache for an offline classroom: the full data sets (from system copies
  or downloads, checksummed) and the pretrained weights. Safe to interrupt and re-run: files are
  written to a temporary name and renamed when complete. ``--archive PATH`` then writes the
  cache to one checksummed archive; ``--from-archive PATH`` fills the cache from one first.
- ``student``: copies of the notebooks for learners, solutions removed and outputs cleared.
- ``launch --workers 2 --servers 1 -- python script.py``: run a script as MXNet distributed
  workers (``dist_sync`` kvstore) beside a scheduler and servers on this machine; see
  :mod:`course_utils.admin.launch`.

``python -m course_utils`` (``course_utils/__main__.py``) calls :func:`main`.
"""
import argparse
import sys

import course_utils  # noqa: F401  (sets MXNET_HOME and threads before mxnet)


def cmd_doctor(args):
    from course_utils.admin import doctor

    return 0 if doctor.run(verbose=True).ok else 1


def cmd_prepare(args):
    from course_utils.admin import archive, prepare

    try:
        failures = prepare.prepare_cache(args.offline, args.timeout, args.archive,
                                         args.from_archive)
    except archive.ArchiveError as err:  # the destination is wrong: nothing was done
        print(f"[prepare] error: {err}", file=sys.stderr)
        return 2
    return 1 if failures else 0


def cmd_student(args):
    from course_utils.admin import student

    try:
        written = student.make_student_versions(args.out, args.notebooks or None,
                                                args.force)
    except student.StudentError as err:
        print(f"[FAIL] {err}")
        return 1
    for path, removed in written:
        print(f"[ok] {path} ({removed} solution cell(s) removed, outputs cleared)")
    return 0


def cmd_launch(args):
    from course_utils.admin import launch

    command = list(args.worker_command)
    if command[:1] == ["--"]:
        command = command[1:]
    try:
        return launch.launch(command, num_workers=args.workers, num_servers=args.servers,
                             timeout=args.timeout, threads=args.threads)
    except launch.LaunchError as err:  # nothing was started: say what to change, no traceback
        print(f"[launch] error: {err}", file=sys.stderr)
        return 2


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check that this machine can run the course").set_defaults(func=cmd_doctor)
    p = sub.add_parser("prepare", help="fill the cache for an offline classroom")
    p.add_argument("--offline", action="store_true", help="do not try to download anything")
    p.add_argument("--timeout", type=float, default=15, help="seconds per download attempt")
    p.add_argument("--archive", metavar="PATH",
                   help="then write the cache to this archive (.tar.gz or .zip) for other machines")
    p.add_argument("--from-archive", metavar="PATH",
                   help="first fill the cache from this archive (checked against its SHA-256s)")
    p.set_defaults(func=cmd_prepare)
    st = sub.add_parser("student", help="write student copies: solutions removed, outputs cleared")
    st.add_argument("--out", default="student", help="folder for the copies (default: student/)")
    st.add_argument("--force", action="store_true",
                    help="overwrite copies that were changed since they were written")
    st.add_argument("notebooks", nargs="*", help="notebooks to copy (default: all in notebooks/)")
    st.set_defaults(func=cmd_student)
    la = sub.add_parser(
        "launch", help="run a script as distributed workers (dist_sync) on this machine",
        description="Start a scheduler, servers and workers on 127.0.0.1, stream their output "
                    "with a role prefix, stop them all on failure, timeout or Ctrl-C, and exit "
                    "with the workers' status.",
        epilog="example: python -m course_utils launch --workers 2 --servers 1 -- "
               "python notebooks/scripts/dist_train.py")
    la.add_argument("--workers", type=int, default=2, help="number of workers (default 2)")
    la.add_argument("--servers", type=int, default=1, help="number of servers (default 1)")
    la.add_argument("--timeout", type=float, default=None,
                    help="stop everything after this many seconds (exit status 124)")
    la.add_argument("--threads", type=int, default=None,
                    help="CPU threads per worker (default: the cores shared among the workers)")
    la.add_argument("worker_command", nargs=argparse.REMAINDER, metavar="-- command ...",
                    help="the command each worker runs")
    la.set_defaults(func=cmd_launch)
    args = parser.parse_args(argv)
    return args.func(args)

