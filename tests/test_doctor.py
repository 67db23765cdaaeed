import os
import subprocess
import sys

import course_utils  # noqa: F401
from course_utils.admin import doctor


def test_python_versions():
    assert doctor.check_python((3, 11, 7)).status == "ok"
    assert doctor.check_python((3, 8, 0)).status == "ok"
    assert doctor.check_python((3, 12, 1)).status == "ok"
    new = doctor.check_python((3, 13, 0))
    assert new.status == "FAIL" and "numpy 2" in new.detail and "Install Python 3.12 or 3.11" in new.detail
    old = doctor.check_python((3, 7, 16))
    assert old.status == "FAIL" and "3.8 to 3.12" in old.detail


def test_numpy_versions():
    assert doctor.check_numpy("1.23.5").status == "ok"
    adapted = doctor.check_numpy("1.26.4")
    assert adapted.status == "ok" and "course_utils puts them back" in adapted.detail
    bad = doctor.check_numpy("2.1.0")
    assert bad.status == "FAIL" and "2.1.0" in bad.detail and "pip install 'numpy" in bad.detail


def test_torch_in_the_environment_is_tolerated(monkeypatch):
    real_spec, real_version = doctor.importlib.util.find_spec, doctor.importlib.metadata.version
    monkeypatch.setattr(doctor.importlib.util, "find_spec",
                        lambda name: object() if name == "torch" else real_spec(name))
    monkeypatch.setattr(doctor.importlib.metadata, "version",
                        lambda name: "2.5.1+cu121" if name == "torch" else real_version(name))
    check = doctor.check_torch()
    assert check.status == "ok" and check.detail.startswith("2.5.1+cu121 found and tolerated")
    monkeypatch.setattr(doctor.importlib.metadata, "version", lambda name: "1.13.1")
    assert "accepts torch 1.4 to 1.x" in doctor.check_torch().detail
    monkeypatch.setattr(doctor.importlib.util, "find_spec", real_spec)
    assert doctor.check_torch().detail == "not installed (the course does not need it)"


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
