"""Command line for instructors: ``python -m course_utils doctor | prepare | student | launch``.

- ``doctor``: check this machine (exit code 0 only when the course can run).
- ``prepare``: fill the cache for an offline classroom: the full data sets (from system copies
  or downloads, checksummed) and the pretrained weights. Safe to interrupt and re-run: files are
  written to a temporary name and renamed when complete. ``--archive PATH`` then writes the
  cache to one checksummed archive; ``--from-archive PATH`` fills the cache from one first.
- ``student``: copies of the notebooks for learners, solutions removed and outputs cleared.
- ``launch --workers 2 --servers 1 -- python script.py``: run a script as MXNet distributed
  workers (``dist_sync`` kvstore) beside a scheduler and servers on this machine; see
  :mod:`course_utils.launch`.
"""
import argparse
import sys

import course_utils  # noqa: F401  (sets MXNET_HOME and threads before mxnet)


def cmd_doctor(args):
    from course_utils import health

    return 0 if health.run(verbose=True).ok else 1


def cmd_prepare(args):
    from course_utils import classroom, config, data

    failures = 0
    print(f"cache: {config.MXNET_HOME}")
    if args.from_archive:
        try:
            report = classroom.read_archive(args.from_archive)
        except classroom.ArchiveError as err:
            print(f"[FAIL] {err}")
            return 1
        print(f"[ok] {args.from_archive}: every file matched its SHA-256; "
              + ", ".join(f"{len(v)} {k}" for k, v in report.items()))
        args.offline = True  # the archive is the source: check what it gave, download nothing
    for name in ("mnist", "fashion-mnist"):
        for train in (True, False):
            try:
                ds = data.load_full(name, train, download=not args.offline, timeout=args.timeout)
                print(f"[ok] {ds.source}: {len(ds)} images")
            except data.DataError as err:
                failures += 1
                print(f"[FAIL] {err}")
    try:
        from course_utils import pretrained
    except ImportError:
        pretrained = None
    if pretrained is not None and hasattr(pretrained, "prepare_weights"):
        try:
            path = pretrained.prepare_weights()
            print(f"[ok] pretrained weights: {path}")
        except Exception as err:  # noqa: BLE001  (report every failure, keep going)
            failures += 1
            print(f"[FAIL] pretrained weights: {err}")
    if args.archive:
        try:
            manifest = classroom.write_archive(args.archive)
            print(f"[ok] wrote {args.archive} ({len(manifest)} files, SHA-256s in "
                  f"{classroom.MANIFEST}); on each machine run: "
                  f"python -m course_utils prepare --from-archive {args.archive}")
            missing = classroom.missing_full_files()
            if missing:
                print(f"[note] the archive lacks {len(missing)} full data-set file(s), e.g. "
                      f"{missing[0]}: machines without them use the bundled subsets (default "
                      "profile); Fashion-MNIST: sudo apt install dataset-fashion-mnist")
        except (classroom.ArchiveError, OSError) as err:
            failures += 1
            print(f"[FAIL] archive: {err}")
    print("prepare finished" + (f" with {failures} problem(s)" if failures else ": all ready"))
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
    from course_utils import launch

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


if __name__ == "__main__":
    sys.exit(main())
