"""Playgrounds for notebook 12 (training tricks), each a thin view over a pure function.

- :func:`schedule_explorer` shows :func:`tricks.schedule_preview
  <course_utils.tricks.schedule_preview>` (i.e. :func:`tricks.lr_curve
  <course_utils.tricks.lr_curve>`): pick a schedule mode, the number of epochs, the warm-up and
  the poly power, see the learning rate at every iteration.
- :func:`mixup_explorer` shows :func:`tricks.mixup <course_utils.tricks.mixup>`: move the
  lambda slider, see the mixed images and their mixed labels.
- :func:`temperature_explorer` shows :func:`tricks.soft_targets
  <course_utils.tricks.soft_targets>`: move the temperature slider, see a teacher's
  probabilities soften.

The pure functions do all the work (the tests call them directly). A widget only reads its
controls, calls the function, keeps the answer in ``.result`` and draws it; ``.update()`` does
that by hand. The picture is drawn into ``.picture`` (see :mod:`course_utils.widgets._draw`).
"""
import ipywidgets as widgets
import numpy as np

import course_utils.widgets._draw as _draw
from course_utils import tricks

__all__ = ["schedule_explorer", "mixup_explorer", "temperature_explorer",
           "ScheduleExplorer", "MixupExplorer", "TemperatureExplorer"]


def _as_images(images):
    """(N, H, W) float images from (N, H, W), (N, 1, H, W) or (N, H, W, 1), NumPy or NDArray."""
    images = images.asnumpy() if hasattr(images, "asnumpy") else np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    elif images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"images must be a batch of gray images (N, H, W), (N, 1, H, W) or "
                         f"(N, H, W, 1); you gave shape {images.shape}.")
    images = images.astype(np.float32)
    if images.max() > 1:
        images = images / 255  # uint8-style pixels: show them on the same 0..1 scale
    return images


# ----------------------------------------------------------------------------- widgets

class ScheduleExplorer(widgets.VBox):
    """Learning-rate schedule playground: mode, epochs, warm-up and power; the curve.

    Attributes
    ----------
    mode : ipywidgets.Dropdown
        One of :data:`course_utils.tricks.SCHEDULE_MODES`.
    num_epochs, warmup_epochs : ipywidgets.IntSlider
    power : ipywidgets.FloatSlider
        Used by ``'poly'`` only.
    message : ipywidgets.Label
        A summary of the curve, or what is wrong with the settings.
    picture : ipywidgets.Image
        The curve as PNG bytes (kept from the last valid settings).
    result : numpy.ndarray (num_epochs * iters_per_epoch,) or None
        The latest :func:`tricks.schedule_preview <course_utils.tricks.schedule_preview>`;
        None when the settings are invalid.
    """

    def __init__(self, mode="cosine", num_epochs=30, warmup_epochs=5, power=2.0,
                 iters_per_epoch=10, base_lr=0.1):
        super().__init__()
        if mode not in tricks.SCHEDULE_MODES:
            raise ValueError(f"mode must be one of {tricks.SCHEDULE_MODES}; you gave {mode!r}.")
        self.iters_per_epoch, self.base_lr = iters_per_epoch, base_lr
        self.result = None
        self.mode = widgets.Dropdown(options=list(tricks.SCHEDULE_MODES), value=mode,
                                     description="mode")
        self.num_epochs = widgets.IntSlider(value=num_epochs, min=2, max=max(100, num_epochs),
                                            description="epochs")
        self.warmup_epochs = widgets.IntSlider(value=warmup_epochs, min=0,
                                               max=max(20, warmup_epochs), description="warm-up")
        self.power = widgets.FloatSlider(value=power, min=0.25, max=5.0, step=0.25,
                                         description="power (poly)")
        self.message = widgets.Label()
        self.picture = _draw.picture()
        controls = (self.mode, self.num_epochs, self.warmup_epochs, self.power)
        self.children = [*controls, self.message, self.picture]
        for control in controls:
            control.observe(lambda change: self.update(), names="value")
        self.update()

    def update(self):
        """Compute the curve for the current settings, store it in ``.result``, redraw."""
        E, W, ipe = self.num_epochs.value, self.warmup_epochs.value, self.iters_per_epoch
        try:
            self.result = tricks.schedule_preview(self.mode.value, E, W, self.power.value, ipe,
                                                  self.base_lr)
        except ValueError as err:
            self.result = None
            self.message.value = str(err)
            return None
        lrs = self.result
        self.message.value = (f"{len(lrs)} iterations ({ipe} per epoch): starts at {lrs[0]:.4f}, "
                              f"peaks at {lrs.max():.4f}, ends at {lrs[-1]:.4f}")
        fig, ax = _draw.figure(figsize=(5, 2.6))
        ax.plot(np.arange(len(lrs)) / ipe, lrs)
        if W:
            ax.axvline(W, color="gray", linestyle=":", label="end of warm-up")
            ax.legend(fontsize=7)
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate")
        ax.set_title(f"{self.mode.value} schedule, {W} warm-up epochs", fontsize=9)
        fig.tight_layout()
        _draw.show(self.picture, fig)
        return self.result

    def __repr__(self):
        return (f"ScheduleExplorer(mode={self.mode.value!r}, num_epochs={self.num_epochs.value}, "
                f"warmup_epochs={self.warmup_epochs.value}, power={self.power.value})")


class MixupExplorer(widgets.VBox):
    """Mix-up playground: a lambda slider, the batch and the mixed batch with its mixed labels.

    Each image i is mixed with image N-1-i (the batch reversed), as :func:`tricks.mixup
    <course_utils.tricks.mixup>` does.

    Attributes
    ----------
    lam : ipywidgets.FloatSlider
        The weight of each original image, in [0, 1].
    picture : ipywidgets.Image
        The batch (top row) and the mixed batch with its labels (bottom row), as PNG bytes.
    result : (X_mixed (N, H, W), Y_mixed (N, K)) tuple
        The latest ``tricks.mixup(images, one_hot(labels), lam)``.
    """

    def __init__(self, images, labels, num_classes, classes=None, lam=0.7):
        super().__init__()
        self.images = _as_images(images)
        labels = labels.asnumpy() if hasattr(labels, "asnumpy") else np.asarray(labels)
        if labels.shape != (len(self.images),):
            raise ValueError(f"labels must have shape ({len(self.images)},), one per image; you "
                             f"gave shape {labels.shape}.")
        self.targets = tricks.one_hot(labels, num_classes)  # also checks the label values
        if classes is None:
            classes = [str(k) for k in range(num_classes)]
        self.classes = list(classes)
        if len(self.classes) != num_classes:
            raise ValueError(f"classes must name all {num_classes} classes; you gave "
                             f"{len(self.classes)} names.")
        self.result = None
        self.lam = widgets.FloatSlider(value=lam, min=0.0, max=1.0, step=0.05, description="lambda")
        self.picture = _draw.picture()
        self.children = [self.lam, self.picture]
        self.lam.observe(lambda change: self.update(), names="value")
        self.update()

    def _title(self, target):
        """'0.70 coat + 0.30 bag': the classes with weight, largest first."""
        order = [k for k in np.argsort(-target, kind="stable") if target[k] > 1e-6]
        return "\n+ ".join(f"{target[k]:.2f} {self.classes[k]}" for k in order)

    def update(self):
        """Mix the batch with the current lambda, store it in ``.result``, redraw."""
        self.result = tricks.mixup(self.images, self.targets, self.lam.value)
        mixed, targets = self.result
        n = len(self.images)
        fig, axes = _draw.figure(2, n, figsize=(1.1 * n, 3.0), squeeze=False)
        for i in range(n):
            original = self.classes[int(self.targets[i].argmax())]
            for row, image, title in ((0, self.images[i], original),
                                      (1, mixed[i], self._title(targets[i]))):
                ax = axes[row, i]
                ax.imshow(image, cmap="gray", vmin=0, vmax=1)
                ax.set_title(title, fontsize=7)
                ax.axis("off")
        fig.suptitle(f"top: the batch; bottom: mixed with the batch reversed, lambda = "
                     f"{self.lam.value:.2f}", fontsize=8)
        fig.tight_layout()
        _draw.show(self.picture, fig)
        return self.result

    def __repr__(self):
        return f"MixupExplorer({len(self.images)} images, lam={self.lam.value})"


class TemperatureExplorer(widgets.VBox):
    """Temperature playground: a slider for T and the softened probabilities ``softmax(z / T)``.

    Attributes
    ----------
    temperature : ipywidgets.FloatSlider
    message : ipywidgets.Label
        The top probability and the entropy at this temperature.
    picture : ipywidgets.Image
        Bar chart of the probabilities at T = 1 (gray) and at T, as PNG bytes.
    result : numpy.ndarray (K,)
        The latest ``tricks.soft_targets(logits, T)``.
    """

    def __init__(self, logits, classes=None, temperature=1.0, max_temperature=20.0):
        super().__init__()
        logits = logits.asnumpy() if hasattr(logits, "asnumpy") else np.asarray(logits)
        if logits.ndim == 2 and logits.shape[0] == 1:
            logits = logits[0]
        if logits.ndim != 1:
            raise ValueError(f"logits must be one sample's raw scores, shape (K,) or (1, K); you "
                             f"gave shape {logits.shape}.")
        self.logits = logits.astype(np.float64)
        K = len(self.logits)
        self.classes = list(classes) if classes is not None else [str(k) for k in range(K)]
        if len(self.classes) != K:
            raise ValueError(f"classes must name all {K} classes; you gave {len(self.classes)} "
                             "names.")
        self.plain = tricks.soft_targets(self.logits, 1.0)  # T = 1, drawn for comparison
        self.result = None
        self.temperature = widgets.FloatSlider(value=temperature, min=0.5, max=max_temperature,
                                               step=0.5, description="T")
        self.message = widgets.Label()
        self.picture = _draw.picture()
        self.children = [self.temperature, self.message, self.picture]
        self.temperature.observe(lambda change: self.update(), names="value")
        self.update()

    def update(self):
        """Soften the logits at the current temperature, store them in ``.result``, redraw."""
        T = self.temperature.value
        self.result = tricks.soft_targets(self.logits, T)
        p = self.result
        entropy = float(-(p * np.log(np.clip(p, 1e-30, None))).sum())
        self.message.value = (f"T = {T:g}: top probability {p.max():.3f}, entropy {entropy:.2f} "
                              f"nats (uniform: {np.log(len(p)):.2f})")
        fig, ax = _draw.figure(figsize=(5, 2.6))
        x = np.arange(len(p))
        ax.bar(x - 0.2, self.plain, width=0.4, color="lightgray", label="T = 1")
        ax.bar(x + 0.2, p, width=0.4, label=f"T = {T:g}")
        ax.set_xticks(x, self.classes, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("probability")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7)
        fig.tight_layout()
        _draw.show(self.picture, fig)
        return self.result

    def __repr__(self):
        return (f"TemperatureExplorer({len(self.logits)} classes, "
                f"temperature={self.temperature.value})")


def schedule_explorer(mode="cosine", num_epochs=30, warmup_epochs=5, power=2.0,
                      iters_per_epoch=10, base_lr=0.1):
    """A :class:`ScheduleExplorer`: choose mode, epochs, warm-up and power; see the schedule."""
    return ScheduleExplorer(mode, num_epochs, warmup_epochs, power, iters_per_epoch, base_lr)


def mixup_explorer(images, labels, num_classes, classes=None, lam=0.7):
    """A :class:`MixupExplorer` over a small batch (4 to 8 images show best).

    Parameters
    ----------
    images : (N, H, W), (N, 1, H, W) or (N, H, W, 1) array or NDArray
        Gray images, pixels in [0, 1] (or 0-255, rescaled).
    labels : (N,) integer class indices
    num_classes : int
    classes : list of str, optional
        Class names for the titles.
    lam : float
        Starting value of the slider.
    """
    return MixupExplorer(images, labels, num_classes, classes, lam)


def temperature_explorer(logits, classes=None, temperature=1.0, max_temperature=20.0):
    """A :class:`TemperatureExplorer` over one sample's logits ``(K,)``, e.g. a teacher's."""
    return TemperatureExplorer(logits, classes, temperature, max_temperature)
