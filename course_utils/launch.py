"""Old name of :mod:`course_utils.dist` (notebook 11 does ``launch.worker_info()``).

The helpers a training script uses live in :mod:`course_utils.dist`; the process launcher
(``python -m course_utils launch``) is :mod:`course_utils.admin.launch`.
"""
from course_utils.dist import shard, worker_info  # noqa: F401

__all__ = ["shard", "worker_info"]
