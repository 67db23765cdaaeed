"""Settings for every pytest run: unit tests and ``pytest --nbval notebooks``.

Notebook kernels started by nbval inherit this environment, so the saved outputs and the
re-run agree: the default profile (even on a GPU machine), no progress bars, fixed threads.
"""
import os

# subprocesses (launch's roles, scripts in tmp_path) import this checkout's course_utils, not
# whatever checkout the environment's editable install points at (a worktree shares one .venv)
_HERE = os.path.dirname(os.path.abspath(__file__))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_HERE] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != _HERE])
os.environ.setdefault("COURSE_PROFILE", "default")
os.environ["COURSE_QUIET"] = "1"
os.environ.setdefault("COURSE_THREADS", "2")
os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
