"""Command line for instructors: ``python -m course_utils doctor | prepare``.

- ``doctor``: check this machine (exit code 0 only when the course can run).
- ``prepare``: fill the cache for an offline classroom: the full data sets (from system copies
  or downloads, checksummed) and the pretrained weights. Safe to interrupt and re-run: files are
  written to a temporary name and renamed when complete.
"""
import argparse
import sys

import course_utils  # noqa: F401  (sets MXNET_HOME and threads before mxnet)


def cmd_doctor(args):
    from course_utils import health

    return 0 if health.run(verbose=True).ok else 1


def cmd_prepare(args):
    from course_utils import config, data

    failures = 0
    print(f"cache: {config.MXNET_HOME}")
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
    print("prepare finished" + (f" with {failures} problem(s)" if failures else ": all ready"))
    return 1 if failures else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check that this machine can run the course").set_defaults(func=cmd_doctor)
    p = sub.add_parser("prepare", help="fill the cache for an offline classroom")
    p.add_argument("--offline", action="store_true", help="do not try to download anything")
    p.add_argument("--timeout", type=float, default=15, help="seconds per download attempt")
    p.set_defaults(func=cmd_prepare)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
