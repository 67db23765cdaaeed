"""Adapt MXNet 1.9.1 and GluonCV 0.10.5 (both final releases) to newer Pythons, numpys and torch.

``import course_utils`` runs :func:`apply` before anything imports MXNet. It applies only what
this environment needs, and records it in :data:`APPLIED`; on Python 3.8-3.11 with numpy < 1.24
and no torch it applies nothing.

1. numpy >= 1.24 (Python 3.12 has numpy 1.26.4): numpy removed the aliases ``np.bool``,
   ``np.int`` and ``np.float`` that MXNet and GluonCV still read. They are set back to the
   builtins they always were (numpy itself defined ``np.bool = bool`` until 1.24).
2. torch >= 2.0 importable (Google Colab preinstalls it): ``import gluoncv`` raises RuntimeError.
   An import hook hides torch while GluonCV's ``__init__`` runs and puts it back afterwards, so
   GluonCV's MXNet half imports and ``import torch`` still works.

``distutils`` (gone from Python 3.12's standard library; MXNet and GluonCV import it) needs no
code: the ``setuptools`` dependency pyproject.toml adds on 3.12 provides it.

This module imports neither MXNet nor GluonCV nor torch at import time.
"""
import importlib.abc
import importlib.util
import sys

#: names of the adaptations applied in this process (empty when nothing was needed)
APPLIED = []
_DONE = False

# alias -> the builtin numpy < 1.24 bound it to, and a line that reads it
NUMPY_ALIASES = {
    # mxnet/numpy/utils.py:37 `bool = onp.bool`, run by `import mxnet` (and
    # mxnet/numpy/multiarray.py:591 `array(key, dtype=_np.bool, ...)` when indexing by a mask)
    "bool": bool,
    # gluoncv/model_zoo/hrnet.py:539 `np.int(np.sum(pre_stage_channels))`,
    # mxnet/test_utils.py:2319 `dtype=np.int`
    "int": int,
    # gluoncv/model_zoo/rcnn/rpn/anchor.py:96 `np.array(sizes, dtype=np.float)`,
    # gluoncv/utils/metrics/coco_detection.py:199 `.astype(np.float)`
    "float": float,
}
# np.object, np.str and np.complex went too, but no line of MXNet 1.9.1 or GluonCV's MXNet half
# reads them, so they stay unset.


def _restore_numpy_aliases():
    try:
        import numpy
    except ImportError:  # the doctor reports it; MXNet cannot run without numpy anyway
        return
    major, minor = (int(part) for part in numpy.__version__.split(".")[:2])
    missing = [name for name in NUMPY_ALIASES if name not in vars(numpy)]
    if (major, minor) < (1, 24) or not missing:
        return
    for name in missing:
        setattr(numpy, name, NUMPY_ALIASES[name])
    APPLIED.append("numpy aliases " + ", ".join(f"np.{name}" for name in missing))


def _torch_version_blocks_gluoncv():
    """True when importing torch gives >= 2.0, which gluoncv/check.py refuses.

    gluoncv/__init__.py:27 calls ``_require_pytorch_version('1.4.0', '2.0.0')``, which imports
    torch and raises RuntimeError for 2.x; the ``try`` around it catches only ImportError.
    Importing torch here costs nothing extra: GluonCV's ``__init__`` would import it anyway.
    """
    try:
        import torch
    except ImportError:
        return False
    except Exception:  # noqa: BLE001  (a broken torch: GluonCV's own import of it would fail too)
        return True
    version = str(getattr(torch, "__version__", "0")).split("+")[0]
    try:
        major = int(version.split(".")[0])
    except ValueError:
        return False
    return major >= 2


class _HideTorchLoader(importlib.abc.Loader):
    """Runs GluonCV's ``__init__`` with ``sys.modules['torch'] = None``, then restores torch."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # get_code, is_package, get_resource_reader, ...
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if not _torch_version_blocks_gluoncv():
            self.loader.exec_module(module)
            return
        # `import torch` raises ImportError while sys.modules holds None for it: gluoncv/check.py
        # then reports "no torch", and GluonCV's __init__ goes on with its MXNet half.
        saved = sys.modules.get("torch")
        sys.modules["torch"] = None
        try:
            self.loader.exec_module(module)
        finally:
            if saved is None:
                del sys.modules["torch"]
            else:
                sys.modules["torch"] = saved


class GluonCVFinder(importlib.abc.MetaPathFinder):
    """Finds the top-level ``gluoncv`` package as usual and wraps its loader."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "gluoncv":
            return None
        # ask the finders after this one (site-packages, an editable install, ...)
        for finder in sys.meta_path[sys.meta_path.index(self) + 1:]:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _HideTorchLoader(spec.loader)
                return spec
        return None


def _tolerate_torch():
    if importlib.util.find_spec("torch") is None:
        return
    if not any(isinstance(finder, GluonCVFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, GluonCVFinder())
    APPLIED.append("import gluoncv with torch >= 2.0 hidden")


def _failed_earlier():
    """Packages whose import failed earlier in this process (their submodules are left over)."""
    return [name for name in ("mxnet", "gluoncv")
            if name not in sys.modules
            and any(key.startswith(name + ".") for key in sys.modules)]


def apply():
    """Apply what this environment needs (idempotent); return :data:`APPLIED`.

    Raises ImportError when ``import mxnet`` or ``import gluoncv`` already failed in this process
    for a reason this module fixes: the half-imported package cannot be repaired in place.
    """
    global _DONE
    failed = _failed_earlier()
    if not _DONE:
        _DONE = True
        _restore_numpy_aliases()
        _tolerate_torch()
    if failed and APPLIED:
        names = " and ".join(f"'import {name}'" for name in failed)
        raise ImportError(
            f"{names} failed earlier in this process, before course_utils could adapt it to this "
            f"environment (Python {sys.version.split()[0]}: {'; '.join(APPLIED)}). Restart the "
            "kernel (or the program) and import course_utils first: put 'import course_utils' "
            f"(or 'from course_utils import ...') above {names}.")
    return APPLIED
