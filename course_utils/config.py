"""One place for the run profile, paths, thread count and seeds.

This module must run before ``import mxnet``: MXNet reads ``MXNET_HOME`` (where data sets and
weights are cached) and ``OMP_NUM_THREADS`` once, when it is imported. ``import course_utils``
runs it for you. Nothing here imports MXNet at import time.

Environment variables a learner or instructor may set:

- ``COURSE_PROFILE``: ``default`` (bundled data, short runs; any laptop CPU) or ``full``
  (complete data sets, longer runs). Unset: ``full`` when a usable GPU is found, else ``default``.
- ``COURSE_THREADS``: CPU threads for MXNet (default: the number of cores, at most 4). Fixed
  threads make a seeded run repeat bit for bit.
- ``MXNET_HOME``: the cache folder (default ``~/.mxnet``).
- ``COURSE_QUIET``: set to 1 to switch off progress bars (the tests and the saved notebook
  outputs use it, so nothing that varies is printed).
"""
import os
import random
import sys
import warnings
from pathlib import Path

PROFILES = ("default", "full")

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DATA_DIR = Path(os.environ.get("COURSE_DATA_DIR", REPO_DIR / "data"))
NOTEBOOK_DIR = REPO_DIR / "notebooks"


def _default_threads():
    return str(max(1, min(4, os.cpu_count() or 1)))


def parse_threads(text, variable="COURSE_THREADS"):
    """A thread count from an environment variable's text, or None (with a warning) if invalid."""
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value >= 1:
        return str(value)
    warnings.warn(f"{variable} is {text!r}; expected a whole number of CPU threads >= 1, e.g. "
                  f"export {variable}=2. Using {_default_threads()} (this machine's cores, at most "
                  f"4) instead.", stacklevel=2)
    return None


def _threads():
    for variable in ("COURSE_THREADS", "OMP_NUM_THREADS"):
        text = os.environ.get(variable)
        if text:
            return parse_threads(text, variable) or _default_threads()
    return _default_threads()


def _prepare_environment():
    """Set what MXNet reads at import time; warn if it was imported first."""
    threads = _threads()
    if not os.environ.get("OMP_NUM_THREADS", "1").strip().isdigit() or \
            os.environ.get("OMP_NUM_THREADS", "1").strip() == "0":
        os.environ["OMP_NUM_THREADS"] = threads  # an invalid value would stop MXNet
    wanted = {
        "MXNET_HOME": os.environ.get("MXNET_HOME") or str(Path.home() / ".mxnet"),
        "OMP_NUM_THREADS": threads,
        # MXNet's C++ side prints these on stderr; they would differ between machines.
        "MXNET_SUBGRAPH_VERBOSE": "0",
        "MXNET_STORAGE_FALLBACK_LOG_VERBOSE": "0",
        "MXNET_CUDNN_AUTOTUNE_DEFAULT": "0",
        "MXNET_CUDNN_LIB_CHECKING": "0",
    }
    for key, value in wanted.items():
        os.environ.setdefault(key, value)
    if "mxnet" in sys.modules:
        warnings.warn(
            "mxnet was imported before course_utils, so MXNET_HOME and the thread count may not "
            "apply. Restart the kernel and put 'import course_utils' (or 'from course_utils "
            "import ...') before 'import mxnet'.",
            stacklevel=3,
        )


_prepare_environment()

MXNET_HOME = Path(os.environ["MXNET_HOME"]).expanduser()
THREADS = int(os.environ["OMP_NUM_THREADS"])


def quiet():
    """True when progress bars and other varying output should be switched off."""
    return os.environ.get("COURSE_QUIET", "").strip() not in ("", "0", "false", "no")


def profile():
    """The run profile: ``'default'`` or ``'full'``.

    ``COURSE_PROFILE`` decides when set; otherwise ``'full'`` when a usable GPU is found (the
    package asks :func:`course_utils.device.usable_gpus`; see :func:`set_gpu_probe`), else
    ``'default'``.
    """
    chosen = os.environ.get("COURSE_PROFILE", "").strip().lower()
    if chosen:
        if chosen not in PROFILES:
            raise ValueError(
                f"COURSE_PROFILE is {chosen!r}; expected one of {PROFILES}. "
                "Unset it, or run: export COURSE_PROFILE=default"
            )
        return chosen
    return "full" if _GPU_PROBE["usable_gpus"]() else "default"


#: how the automatic profile finds usable GPUs; ``import course_utils`` sets it to
#: :func:`course_utils.device.usable_gpus` (loaded when first asked), so this module imports
#: nothing of the package
_GPU_PROBE = {"usable_gpus": lambda: []}


def set_gpu_probe(usable_gpus):
    """Tell the automatic profile how to find usable GPUs: a function returning a list."""
    _GPU_PROBE["usable_gpus"] = usable_gpus


def pick(default, full):
    """Return ``default`` or ``full`` by the run profile (e.g. ``num_epochs = pick(5, 30)``)."""
    return full if profile() == "full" else default


def set_seed(seed=0):
    """Seed Python's, NumPy's and MXNet's random generators.

    With a fixed thread count (``COURSE_THREADS``) a seeded CPU run repeats bit for bit in a
    fresh process.
    """
    import numpy as np
    import mxnet as mx

    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)
    return seed


def cache_dir(*parts):
    """A folder under ``MXNET_HOME`` (created if needed), e.g. ``cache_dir('datasets', 'mnist')``."""
    path = MXNET_HOME.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
