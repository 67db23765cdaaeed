"""Helpers for the course "Image classification with deep learning, hands-on".

Import this package before MXNet: :mod:`course_utils.compat` adapts MXNet 1.9.1 and GluonCV to
newer Pythons, numpys and torch (only where needed), and :mod:`course_utils.config` sets
``MXNET_HOME``, the thread count and MXNet's log verbosity, which MXNet reads once, at import time.
"""
from course_utils import compat

compat.apply()  # before config and before anything imports mxnet or gluoncv

from course_utils import config  # noqa: E402,F401  (must run before mxnet is imported)

__version__ = "0.1.0"
__all__ = ["config", "doctor"]


def doctor(verbose=True):
    """Check that this machine can run the course; see :func:`course_utils.admin.doctor.run`."""
    from course_utils.admin.doctor import run

    return run(verbose=verbose)


def _usable_gpus():
    # the automatic run profile asks device (which imports mxnet) only when it is needed;
    # config itself imports nothing of the package
    from course_utils import device

    return device.usable_gpus()


config.set_gpu_probe(_usable_gpus)
