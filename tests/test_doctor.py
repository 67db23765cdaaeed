import os
import subprocess
import sys

import course_utils  # noqa: F401
from course_utils import health as doctor


def test_python_versions():
    assert doctor.check_python((3, 11, 7)).status == "ok"
    assert doctor.check_python((3, 8, 0)).status == "ok"
    bad = doctor.check_python((3, 12, 1))
    assert bad.status == "FAIL" and "Install Python 3.11" in bad.detail


def test_numpy_versions():
    assert doctor.check_numpy("1.23.5").status == "ok"
    bad = doctor.check_numpy("1.26.4")
    assert bad.status == "FAIL" and "pip install 'numpy<1.24'" in bad.detail and "1.26.4" in bad.detail
    assert doctor.check_numpy("2.1.0").status == "FAIL"


def test_torch_in_the_environment_is_a_failure(monkeypatch):
    real = doctor.importlib.util.find_spec
    monkeypatch.setattr(doctor.importlib.util, "find_spec",
                        lambda name: object() if name == "torch" else real(name))
    check = doctor.check_torch()
    assert check.status == "FAIL" and "gluoncv" in check.detail
    monkeypatch.setattr(doctor.importlib.util, "find_spec", real)
    assert doctor.check_torch().status == "ok"


def test_missing_module_is_reported():
    check = doctor.check_module("no_such_module_for_the_course")
    assert check.status == "FAIL" and "pip install" in check.detail


def test_report_on_this_machine():
    report = doctor.run(verbose=False)
    assert report.ok, str(report)
    assert report["mxnet"].detail == "1.9.1"
    assert report["device"].detail.startswith(("CPU", "GPU"))


def run_cli(env_extra):
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "course_utils", "doctor"], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cli_exit_codes(tmp_path):
    ok = run_cli({})
    assert ok.returncode == 0 and "the course can run here" in ok.stdout
    broken = run_cli({"COURSE_DATA_DIR": str(tmp_path)})  # bundled data missing
    assert broken.returncode == 1 and "[FAIL] data mnist" in broken.stdout
    assert "git checkout -- data/" in broken.stdout
    readonly = run_cli({"MXNET_HOME": "/proc/no-such-cache"})
    assert readonly.returncode == 1 and "[FAIL] cache" in readonly.stdout
