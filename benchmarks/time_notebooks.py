"""Execute the notebooks one at a time, save them in place, and record what each one cost.

Usage::

    .venv/bin/python benchmarks/time_notebooks.py              # all notebooks, in order
    .venv/bin/python benchmarks/time_notebooks.py 04 12         # only these (by number or path)
    .venv/bin/python benchmarks/time_notebooks.py --check       # compare the saved notebooks' own
                                                                # cell timestamps with the table

Each notebook runs alone, in a fresh kernel, in the environment its saved outputs come from
(``COURSE_PROFILE=default COURSE_QUIET=1 COURSE_THREADS=2``, the same as ``make execute``), one
after another: nothing else of the course should run meanwhile, or the times (and the saved cell
timestamps that instructors plan a class with) double. For each notebook it records

- ``wall_s``: seconds from start to the saved notebook (kernel start-up included);
- ``cpu_s``: user + system CPU seconds of nbconvert and the kernel together;
- ``peak_rss_mb``: the largest resident memory of any one process (in practice the kernel);
- ``cells_s``: the span of the saved cell timestamps (first cell started to last cell replied),
  which is what a reader of the saved notebook sees.

The results go to ``docs/timings.json`` (one entry per notebook, plus the machine that measured
them), merged with the entries already there; the Markdown table printed at the end replaces the
one between the ``<!-- timings -->`` and ``<!-- /timings -->`` markers of ``docs/teaching.md``.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMINGS = ROOT / "docs" / "timings.json"
TEACHING = ROOT / "docs" / "teaching.md"
MARKERS = ("<!-- timings -->", "<!-- /timings -->")
ENVIRONMENT = {"COURSE_PROFILE": "default", "COURSE_QUIET": "1", "COURSE_THREADS": "2"}
CELL_TIMEOUT_S = 900
AGREEMENT = 0.15  # --check: saved cell span and recorded cells_s agree within 15 %


def find_notebooks(selection):
    """The notebooks to run: all of ``notebooks/*.ipynb`` in order, or those named by number/path."""
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not selection:
        return every
    chosen = []
    for item in selection:
        path = Path(item)
        if path.suffix == ".ipynb":
            matches = [p for p in every if p.name == path.name]
        else:
            matches = [p for p in every if p.name.startswith(f"{int(item):02d}_")] if item.isdigit() else []
        if not matches:
            names = ", ".join(p.name for p in every)
            raise SystemExit(f"time_notebooks: no notebook matches {item!r}; "
                             f"give a number (e.g. 04) or one of: {names}")
        chosen.extend(matches)
    return chosen


def saved_cell_span(path):
    """Seconds between the first code cell's start and the last code cell's reply, or None."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    starts, ends = [], []
    for cell in cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            starts.append(datetime.datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00")))
            ends.append(datetime.datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00")))
    if not starts:
        return None
    return (max(ends) - min(starts)).total_seconds()


def run_one(path, python=sys.executable):
    """Execute ``path`` in place in a fresh kernel; return its measurements."""
    command = [python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
               f"--ExecutePreprocessor.timeout={CELL_TIMEOUT_S}",
               "--ExecutePreprocessor.kernel_name=python3", str(path)]
    env = dict(os.environ, **ENVIRONMENT)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = output.decode("utf-8", "replace")[-3000:]
        raise SystemExit(f"time_notebooks: {path.name} failed (exit {proc.returncode}); the saved "
                         f"copy may be half-executed: `git checkout {path.relative_to(ROOT)}` "
                         f"restores it.\n{tail}")
    # wait4 reports the child and every descendant it waited for (the kernel); ru_maxrss is in KiB
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "cells_s": round(saved_cell_span(path), 1)}


def machine():
    """A one-line description of the machine that measured."""
    cores = os.cpu_count()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return (f"{platform.machine()}{_cpu_model()}, {cores} cores, {memory_gb:.0f} GB, no GPU used, "
            f"Python {platform.python_version()}, {platform.system()}")


def _cpu_model():
    """' (the CPU's model name, its widest vector units)' from /proc/cpuinfo, or '' elsewhere:
    the same notebook takes about twice as long on a 2019 laptop core as on a 2023 server core."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    fields = {}
    for line in info.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value)
    name, flags = " ".join(fields.get("model name", "").split()), fields.get("flags", "").split()
    units = [label for flag, label in (("avx512f", "AVX-512"), ("amx_tile", "AMX")) if flag in flags]
    units = units or (["AVX2"] if "avx2" in flags else [])
    return f" ({', '.join([name] + units)})" if name else ""


def load():
    if TIMINGS.exists():
        return json.loads(TIMINGS.read_text(encoding="utf-8"))
    return {"machine": None, "environment": ENVIRONMENT, "notebooks": {}}


def save(table):
    tmp = TIMINGS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, TIMINGS)


def markdown(table):
    rows = ["| # | notebook | run all (s) | CPU (s) | peak memory (MB) |", "|---|---|---|---|---|"]
    for name, entry in sorted(table["notebooks"].items()):
        rows.append(f"| {name[:2]} | `{name[:-6]}` | {entry['wall_s']:.0f} | {entry['cpu_s']:.0f} "
                    f"| {entry['peak_rss_mb']} |")
    total = sum(e["wall_s"] for e in table["notebooks"].values())
    rows.append(f"| | all | {total:.0f} | | |")
    return "\n".join(rows)


def write_table(text, table):
    """``text`` with the part between the timing markers replaced by the table (and its machine)."""
    start, end = MARKERS
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"expected one {start} ... {end} pair of lines around the timing table")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    body = f"\nMeasured on: {table['machine']}.\n\n{markdown(table)}\n"
    return f"{head}{start}{body}{end}{tail}"


def check(table):
    """Compare each saved notebook's cell span with the recorded one; return the disagreements."""
    problems = []
    for path in find_notebooks([]):
        entry = table["notebooks"].get(path.name)
        span = saved_cell_span(path)
        if entry is None or span is None:
            problems.append(f"{path.name}: not in {TIMINGS.name} or has no cell timestamps")
        elif abs(span - entry["cells_s"]) > AGREEMENT * entry["cells_s"]:
            problems.append(f"{path.name}: saved cells span {span:.0f} s, table says "
                            f"{entry['cells_s']:.0f} s (more than {AGREEMENT:.0%} apart)")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="numbers (04) or file names; default: all")
    parser.add_argument("--check", action="store_true",
                        help="only compare the saved notebooks' cell timestamps with the table")
    args = parser.parse_args(argv)
    table = load()
    if args.check:
        problems = check(table)
        print("\n".join(problems) if problems else
              f"all {len(table['notebooks'])} notebooks agree with {TIMINGS.name} within {AGREEMENT:.0%}")
        return 1 if problems else 0
    for path in find_notebooks(args.notebooks):
        print(f"{path.name} ...", end=" ", flush=True)
        entry = run_one(path)
        entry["measured"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        table["notebooks"][path.name] = entry
        table["machine"] = machine()
        save(table)  # after every notebook: an interrupted run keeps what it measured
        print(f"{entry['wall_s']:.0f} s wall, {entry['cpu_s']:.0f} s CPU, {entry['peak_rss_mb']} MB")
    print(markdown(table))
    if TEACHING.exists() and MARKERS[0] in TEACHING.read_text(encoding="utf-8"):
        TEACHING.write_text(write_table(TEACHING.read_text(encoding="utf-8"), table), encoding="utf-8")
        print(f"table written to {TEACHING.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
