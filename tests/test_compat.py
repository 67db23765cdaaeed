"""course_utils.compat: exactly the adaptations an environment needs, torch 2.x tolerated.

The torch cases run in fresh processes (sys.executable: the venv's Python) with a stand-in
``torch`` package, version 2.5.1, first on the path: the real torch is a 700 MB wheel, and what
GluonCV trips over is only its version.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import course_utils  # noqa: F401
from course_utils import compat, config
from course_utils.admin import launch

NEEDS_ALIASES = tuple(int(v) for v in np.__version__.split(".")[:2]) >= (1, 24)
# what a learner's own code could do so that MXNet loads on numpy >= 1.24 without course_utils
ALIASES_BY_HAND = "import numpy as np\nnp.bool, np.int, np.float = bool, int, float\n"


@pytest.fixture
def stand_in_torch(tmp_path):
    """A folder holding a package ``torch`` whose version is 2.5.1 (what Colab's 2.x reports)."""
    package = tmp_path / "torch"
    package.mkdir()
    (package / "__init__.py").write_text('__version__ = "2.5.1"\nSTAND_IN = True\n')
    return tmp_path


def run_python(code, path_first=None):
    """Run ``code`` in a fresh interpreter (this venv's), ``path_first`` ahead on its path."""
    env = dict(os.environ)
    if path_first is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path_first), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=300)


def test_the_stand_in_reproduces_the_problem(stand_in_torch):
    # without course_utils (only numpy's old aliases set by hand, so that MXNet loads on numpy
    # >= 1.24 too), GluonCV refuses torch 2.x: the stand-in is enough to show it
    result = run_python(ALIASES_BY_HAND + "import gluoncv", stand_in_torch)
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr and "Legacy torch==2.5.1" in result.stderr


def test_gluoncv_and_torch_both_import_after_course_utils(stand_in_torch):
    result = run_python("""
        import sys
        import course_utils
        from course_utils import compat
        import gluoncv
        import mxnet as mx
        net = gluoncv.model_zoo.get_model("resnet18_v1", pretrained=False)
        net.initialize()
        print("logits", net(mx.nd.zeros((1, 3, 32, 32))).shape)
        print("gluoncv found torch:", gluoncv._found_pytorch)
        import torch
        print("torch", torch.__version__, torch.STAND_IN, sys.modules["torch"] is torch)
        print("applied", compat.APPLIED)
    """, stand_in_torch)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "logits (1, 1000)" in out
    assert "gluoncv found torch: False" in out  # the MXNet half only, as GluonCV does without torch
    assert "torch 2.5.1 True True" in out
    assert "import gluoncv with torch >= 2.0 hidden" in out


def test_this_environment_gets_exactly_what_it_needs():
    has_torch = compat.importlib.util.find_spec("torch") is not None
    expected = []
    if NEEDS_ALIASES:
        expected.append("numpy aliases np.bool, np.int, np.float")
    if has_torch:
        expected.append("import gluoncv with torch >= 2.0 hidden")
    # Python 3.8-3.11 with numpy 1.23.5 and no torch: nothing at all
    assert compat.APPLIED == expected
    assert (vars(np).get("bool") is bool) if NEEDS_ALIASES else ("bool" not in vars(np))
    assert any(isinstance(f, compat.GluonCVFinder) for f in sys.meta_path) == has_torch


def test_mxnet_imported_first_is_explained():
    result = run_python("""
        try:
            import mxnet
        except AttributeError as err:
            print("mxnet failed:", err)
        import warnings
        warnings.simplefilter("always")
        import course_utils
        print("course_utils imported")
    """)
    if NEEDS_ALIASES:  # numpy >= 1.24: MXNet fails on np.bool, course_utils says what to do
        assert "mxnet failed:" in result.stdout
        assert result.returncode != 0 and "ImportError" in result.stderr
        assert "'import mxnet' failed earlier" in result.stderr
        assert "import course_utils first" in result.stderr
    else:  # MXNet imports: the existing warning about settings MXNet read too early
        assert result.returncode == 0 and "course_utils imported" in result.stdout
        assert "mxnet was imported before course_utils" in result.stderr


def test_gluoncv_imported_first_with_torch_is_explained(stand_in_torch):
    result = run_python(ALIASES_BY_HAND + textwrap.dedent("""
        try:
            import gluoncv
        except RuntimeError as err:
            print("gluoncv failed:", err)
        import course_utils
    """), stand_in_torch)
    assert "gluoncv failed: Legacy torch==2.5.1" in result.stdout
    assert result.returncode != 0
    assert "'import gluoncv' failed earlier in this process" in result.stderr
    assert "import course_utils first" in result.stderr


def test_mxnet_roles_adapt_mxnet_themselves():
    # the scheduler and servers that launch starts run only SERVE, which runs the role under
    # course_utils.admin.watchdog; that module imports course_utils (and so compat) before its role
    # imports mxnet: on numpy >= 1.24 a bare "import mxnet" would fail on np.bool
    assert launch.SERVE.startswith("from course_utils.admin import watchdog")
    result = run_python("from course_utils.admin import watchdog\nimport sys\n"
                        "print(sorted(set(sys.modules) & {'course_utils', 'mxnet'}))\n"
                        "import mxnet\nprint('mxnet imported')")
    assert result.returncode == 0, result.stderr
    assert "['course_utils']" in result.stdout and "mxnet imported" in result.stdout


def find_python(python):
    return subprocess.run(["sh", str(config.REPO_DIR / "tools" / "find-python")], capture_output=True,
                          text=True, env=dict(os.environ, PYTHON=str(python)), timeout=60)


def test_find_python_takes_exactly_the_interpreter_given(tmp_path):
    assert find_python(sys.executable).stdout.strip() == sys.executable
    missing = find_python(tmp_path / "python3.12")
    assert missing.returncode == 1 and "no such interpreter" in missing.stderr
    # a stand-in Python 3.13: prints its version, fails the 3.8-3.12 check like a real one would
    fake = tmp_path / "python3.13"
    fake.write_text('#!/bin/sh\ncase "$2" in *print*) echo 3.13.0 ;; *) exit 1 ;; esac\n')
    fake.chmod(0o755)
    new = find_python(fake)
    assert new.returncode == 1 and new.stdout == ""
    assert "Python 3.13.0; the course needs 3.8 to 3.12" in new.stderr and "numpy 2" in new.stderr
