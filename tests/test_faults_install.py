"""Fault injection for `make setup` (issue 15, case 1: an interrupted install, then "success").

`make setup` runs for real, but with ``PYTHON=`` a small stand-in interpreter written here: it
answers ``tools/find-python``'s version questions (by asking the real Python running the tests)
and implements ``-m venv DIR`` by writing ``DIR/bin/python``, a stand-in that logs each ``-m pip
install ...`` call and exits 0, or 1, or is interrupted like Ctrl-C (SIGINT to its whole process
group, make included) when the test asks. No pip, no network, a second per case.
"""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = ".course-installed"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")

# the venv's python: `-c CODE` is the real Python's answer; `-m pip ...` is logged, then does
# what STUB_PIP says: "ok" (exit 0), "fail" (exit 1), "interrupt" (Ctrl-C to the process group)
VENV_PYTHON = """#!/bin/sh
if [ "$1" = "-c" ]; then exec "{real}" "$@"; fi
echo "$*" >> "{log}"
case "$STUB_PIP" in
  fail) echo "ERROR: stand-in pip failed" >&2; exit 1 ;;
  interrupt) kill -INT 0; sleep 5; exit 130 ;;
esac
exit 0
"""

# the interpreter given as PYTHON=: `-c CODE` as above, `-m venv DIR` writes DIR/bin/python
BASE_PYTHON = """#!/bin/sh
if [ "$1" = "-c" ]; then exec "{real}" "$@"; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  echo "venv $3" >> "{log}"
  mkdir -p "$3/bin" && cp "{venv_python}" "$3/bin/python" && chmod +x "$3/bin/python"
  exit 0
fi
echo "stand-in python: unexpected arguments $*" >&2
exit 2
"""


@pytest.fixture
def stub(tmp_path):
    """(tmp_path, the PYTHON= stand-in, the log of venv/pip calls)."""
    log = tmp_path / "calls.log"
    venv_python = tmp_path / "venv-python.sh"
    venv_python.write_text(VENV_PYTHON.format(real=sys.executable, log=log))
    base = tmp_path / "python3.11"
    base.write_text(BASE_PYTHON.format(real=sys.executable, log=log, venv_python=venv_python))
    base.chmod(0o755)
    return tmp_path, base, log


def _make_setup(tmp_path, base, pip="ok"):
    env = dict(os.environ, STUB_PIP=pip)
    env.pop("MAKEFLAGS", None)
    # its own session: the stand-in's Ctrl-C reaches make and its children, not pytest
    proc = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "setup", f"VENV={tmp_path / 'venv'}",
         f"PYTHON={base}"], env=env, capture_output=True, text=True, timeout=60,
        start_new_session=True)
    return proc.returncode, proc.stdout + proc.stderr


def _calls(log):
    return log.read_text().splitlines() if log.exists() else []


def _no_stray_processes(tmp_path):
    """Nothing started from the stand-ins still runs (a left-over `sleep` or pip)."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in out, "a process of the interrupted install is still running"


def _assert_installed(venv, log, calls_before=0):
    calls = _calls(log)[calls_before:]
    assert calls[0] == f"venv {venv}"
    assert calls[1:] == ["-m pip install --upgrade pip", "-m pip install -e .[test]"]
    assert (venv / MARKER).is_file()
    # the marker is written last: newer than the venv's python, after both pip calls
    assert (venv / MARKER).stat().st_mtime_ns >= (venv / "bin" / "python").stat().st_mtime_ns


def test_a_fresh_setup_creates_the_venv_installs_then_writes_the_marker(stub):
    tmp_path, base, log = stub
    rc, out = _make_setup(tmp_path, base)
    assert rc == 0, out
    _assert_installed(tmp_path / "venv", log)


def test_a_half_filled_venv_without_the_marker_is_removed_and_built_again(stub):
    tmp_path, base, log = stub
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")  # would be trusted if kept
    (venv / "bin" / "python").chmod(0o755)
    (venv / "half-installed-numpy").write_text("left by an interrupted pip")
    rc, out = _make_setup(tmp_path, base)
    assert rc == 0, out
    assert "no .course-installed marker (an interrupted make setup?): building it again" in out
    assert not (venv / "half-installed-numpy").exists()
    _assert_installed(venv, log)


@pytest.mark.parametrize("pip", ["fail", "interrupt"])
def test_an_interrupted_install_leaves_no_marker_and_the_next_setup_rebuilds(stub, pip):
    tmp_path, base, log = stub
    venv = tmp_path / "venv"
    rc, out = _make_setup(tmp_path, base, pip=pip)
    assert rc != 0, out
    assert not (venv / MARKER).exists(), "an unfinished install was marked as done"
    assert _calls(log) == [f"venv {venv}", "-m pip install --upgrade pip"]  # stopped there
    _no_stray_processes(tmp_path)
    (venv / "half-installed-numpy").write_text("left by the interrupted pip")

    rc, out = _make_setup(tmp_path, base)
    assert rc == 0, out
    assert "building it again" in out
    assert not (venv / "half-installed-numpy").exists()
    _assert_installed(venv, log, calls_before=2)


def test_a_complete_venv_with_its_marker_is_not_built_again(stub):
    tmp_path, base, log = stub
    venv = tmp_path / "venv"
    assert _make_setup(tmp_path, base)[0] == 0
    (venv / "learner-file").write_text("kept")
    calls = len(_calls(log))
    rc, out = _make_setup(tmp_path, base)
    assert rc == 0, out
    assert "is up to date" in out or "Nothing to be done" in out, out
    assert _calls(log)[calls:] == [], "a complete venv was installed again"
    assert (venv / "learner-file").read_text() == "kept"


def test_ctrl_c_reaches_the_stand_in_the_way_a_terminal_sends_it(stub):
    """The interrupt case is real: make itself is killed by SIGINT, not only its child."""
    tmp_path, base, _ = stub
    rc, _ = _make_setup(tmp_path, base, pip="interrupt")
    assert rc in (-signal.SIGINT, 128 + signal.SIGINT, 2), rc


# a stand-in for another Python version: the real interpreter told that it is 3.12.1 (all that
# find-python and the Makefile ask is sys.version_info)
OTHER_PYTHON = """#!/bin/sh
if [ "$1" = "-c" ]; then exec "{real}" -c "import sys; sys.version_info = (3, 12, 1, 'final', 0)
$2"; fi
echo "stand-in python3.12: unexpected arguments $*" >&2
exit 2
"""


def test_setup_with_another_python_over_an_existing_venv_stops_and_says_which_folder(stub):
    """Issue 15 case 8: `make setup PYTHON=python3.12` over a 3.11 venv used to go on quietly with
    the old interpreter. Now it stops before touching the venv and names the way out."""
    tmp_path, base, log = stub
    venv = tmp_path / "venv"
    assert _make_setup(tmp_path, base)[0] == 0
    (venv / "learner-file").write_text("kept")
    calls = len(_calls(log))
    have = "%d.%d" % sys.version_info[:2]
    other = tmp_path / "python3.12"
    other.write_text(OTHER_PYTHON.format(real=sys.executable))
    other.chmod(0o755)
    if have == "3.12":
        pytest.skip("the stand-in claims 3.12, the version running the tests")

    rc, out = _make_setup(tmp_path, other)
    assert rc != 0, out
    assert f"was made with Python {have}, but PYTHON={other} is 3.12" in out, out
    assert "make setup VENV=.venv312" in out and f"make clean VENV={venv}" in out, out
    assert "Traceback" not in out
    assert _calls(log)[calls:] == [], "pip or venv ran although the setup was refused"
    assert (venv / MARKER).is_file() and (venv / "learner-file").read_text() == "kept"


def test_setup_with_an_interpreter_that_does_not_exist_stops_with_the_way_to_see_why(stub):
    tmp_path, base, log = stub
    venv = tmp_path / "venv"
    assert _make_setup(tmp_path, base)[0] == 0
    calls = len(_calls(log))
    rc, out = _make_setup(tmp_path, tmp_path / "no-such-python")
    assert rc != 0, out
    assert "is not a usable Python 3.8-3.12; see why:" in out and "tools/find-python" in out, out
    assert _calls(log)[calls:] == [] and (venv / MARKER).is_file()
