"""Interactive playgrounds (ipywidgets), each a thin view over a pure function, one drawing path.

=====================================  ==============================================  ========
widget                                 pure function it shows                          notebook
=====================================  ==============================================  ========
:func:`kernel_explorer`                :func:`course_utils.scratch.apply_kernel`         02
:func:`pooling_walk`                   :func:`course_utils.scratch.pool_step`            03
:func:`pooling_explorer`               :func:`course_utils.scratch.pool_preview`         03
:func:`upload_classifier`              :func:`course_utils.pretrained.classify_bytes`    10
:func:`schedule_explorer`              :func:`course_utils.tricks.schedule_preview`      12
:func:`mixup_explorer`                 :func:`course_utils.tricks.mixup`                 12
:func:`temperature_explorer`           :func:`course_utils.tricks.soft_targets`          12
=====================================  ==============================================  ========

The pure functions do all the work (the tests call them directly). A widget reads its
controls, calls the function, keeps the answer in ``.result`` and draws it into ``.picture``, an
``ipywidgets.Image`` holding PNG bytes: every widget draws through
:func:`course_utils.widgets._draw.show`. Use them as ``from course_utils import widgets`` then
``widgets.kernel_explorer(photo)``; the submodules are :mod:`~course_utils.widgets.convolution`,
:mod:`~course_utils.widgets.pretrained` and :mod:`~course_utils.widgets.tricks`.
"""
from course_utils.widgets.convolution import (KernelExplorer, PoolingExplorer, PoolingWalk,
                                              kernel_explorer, pooling_explorer, pooling_walk)
from course_utils.widgets.pretrained import UploadClassifier, upload_classifier
from course_utils.widgets.tricks import (MixupExplorer, ScheduleExplorer, TemperatureExplorer,
                                         mixup_explorer, schedule_explorer, temperature_explorer)

__all__ = ["kernel_explorer", "pooling_explorer", "pooling_walk", "upload_classifier",
           "schedule_explorer", "mixup_explorer", "temperature_explorer", "KernelExplorer",
           "PoolingExplorer", "PoolingWalk", "UploadClassifier", "ScheduleExplorer",
           "MixupExplorer", "TemperatureExplorer"]
