"""Settings for every pytest run: unit tests and ``pytest --nbval notebooks``.

Notebook kernels started by nbval inherit this environment, so the saved outputs and the
re-run agree: the default profile (even on a GPU machine), no progress bars, fixed threads.
"""
import os

os.environ.setdefault("COURSE_PROFILE", "default")
os.environ["COURSE_QUIET"] = "1"
os.environ.setdefault("COURSE_THREADS", "2")
os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
