"""Playgrounds for notebooks 02 and 03 (convolution, pooling), each a thin view over a pure function.

- :func:`kernel_explorer` shows :func:`scratch.apply_kernel <course_utils.scratch.apply_kernel>`:
  pick a preset from :data:`scratch.KERNELS <course_utils.scratch.KERNELS>` or type the nine
  numbers of a 3x3 kernel, see it applied to a photo.
- :func:`pooling_explorer` shows :func:`scratch.pool_preview
  <course_utils.scratch.pool_preview>`: move the sliders for pooling mode, window, stride and
  padding, see the output shape and the pooled picture.
- :func:`pooling_walk` shows :func:`scratch.pool_step <course_utils.scratch.pool_step>`: press
  Play (or drag the slider) and the window moves over a small image one position at a time,
  filling the output cell by cell.

The pure functions do all the work (the tests call them directly). A widget only reads its
controls, calls the function, keeps the answer in ``.result`` and draws it into ``.picture``
(see :mod:`course_utils.widgets._draw`); ``.update()`` does that by hand.
"""
import ipywidgets as widgets
import numpy as np

import course_utils.widgets._draw as _draw
from course_utils import scratch

__all__ = ["kernel_explorer", "pooling_explorer", "pooling_walk", "KernelExplorer",
           "PoolingExplorer", "PoolingWalk"]

FIGSIZE = (6, 3)

_KERNEL_LABELS = {
    "identity": "identity",
    "laplacian": "edge (Laplacian)",
    "sobel_x": "vertical edge (Sobel x)",
    "sobel_y": "horizontal edge (Sobel y)",
    "sharpen": "sharpen",
    "box_blur": "box blur",
}


def _draw_pair(picture, image, result, title_in, title_out, same_scale=False):
    """Draw the input beside the result into the Image widget ``picture``.

    ``same_scale=True`` draws both in the input's gray range (so max pooling visibly brightens);
    otherwise each picture spans black to white.
    """
    fig, axes = _draw.figure(1, 2, figsize=FIGSIZE)
    limits = dict(vmin=image.min(), vmax=image.max()) if same_scale else {}
    for ax, shown, title in zip(axes, (image, result), (title_in, title_out)):
        ax.imshow(shown, cmap="gray", interpolation="nearest", **limits)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    _draw.show(picture, fig)


# ----------------------------------------------------------------------------- widgets

class KernelExplorer(widgets.VBox):
    """Kernel playground: a preset menu, a 3x3 grid of numbers, and the filtered image.

    Attributes
    ----------
    preset : ipywidgets.Dropdown
        A name from :data:`course_utils.scratch.KERNELS`, or ``'custom'`` once a number is edited.
    entries : list of 9 ipywidgets.FloatText
        The kernel, row by row.
    picture : ipywidgets.Image
        The input beside the filtered image, as PNG bytes.
    result : (H, W) array
        The latest ``scratch.apply_kernel(image, kernel)``.
    """

    def __init__(self, image, preset="sobel_x"):
        super().__init__()
        if preset not in scratch.KERNELS:
            raise ValueError(f"preset must be one of {sorted(scratch.KERNELS)}; got {preset!r}")
        self.image = scratch.to_gray(image)
        self.result = None
        self._busy = False  # True while the preset menu fills in the nine numbers
        options = [(label, name) for name, label in _KERNEL_LABELS.items()] + [("custom", "custom")]
        self.preset = widgets.Dropdown(options=options, value=preset, description="kernel")
        self.entries = [widgets.FloatText(value=float(v), step=0.5, layout=widgets.Layout(width="70px"))
                        for v in scratch.KERNELS[preset].ravel()]
        grid = widgets.GridBox(self.entries,
                               layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
        self.picture = _draw.picture()
        self.children = [self.preset, grid, self.picture]
        self.preset.observe(self._on_preset, names="value")
        for entry in self.entries:
            entry.observe(self._on_entry, names="value")
        self.update()

    @property
    def kernel(self):
        """The kernel now in the grid, a (3, 3) array."""
        return np.array([entry.value for entry in self.entries], dtype=np.float64).reshape(3, 3)

    def _on_preset(self, change):
        if change["new"] == "custom":
            return
        self._busy = True
        try:
            for entry, value in zip(self.entries, scratch.KERNELS[change["new"]].ravel()):
                entry.value = float(value)
        finally:
            self._busy = False
        self.update()

    def _on_entry(self, change):
        if self._busy:
            return
        if self.preset.value != "custom" and not np.array_equal(self.kernel, scratch.KERNELS[self.preset.value]):
            self._busy = True
            try:
                self.preset.value = "custom"
            finally:
                self._busy = False
        self.update()

    def update(self):
        """Apply the current kernel, store it in ``.result``, redraw; returns ``.result``."""
        self.result = scratch.apply_kernel(self.image, self.kernel)
        low, high = self.result.min(), self.result.max()
        _draw_pair(self.picture, self.image, self.result, "input",
                   f"filtered (values {low:.2f} to {high:.2f})")
        return self.result


class PoolingExplorer(widgets.VBox):
    """Pooling playground: mode, window, stride and padding controls, the output shape and picture.

    Attributes
    ----------
    mode : ipywidgets.ToggleButtons
        ``'max'`` or ``'avg'``.
    pool_size, stride, padding : ipywidgets.IntSlider
        ``padding`` stays below ``pool_size`` (as MXNet requires).
    shape_label : ipywidgets.Label
        The output-size formula with the numbers filled in, or the error message.
    picture : ipywidgets.Image
        The input beside the pooled image, as PNG bytes (kept from the last valid settings).
    result : (pooled, shape) tuple or None
        The latest ``scratch.pool_preview(...)``; None when the settings are invalid.
    """

    def __init__(self, image, mode="max", pool_size=2, stride=2, padding=0):
        super().__init__()
        self.image = scratch.to_gray(image)
        self.result = None
        self._busy = False
        self.mode = widgets.ToggleButtons(options=["max", "avg"], value=mode, description="mode")
        self.pool_size = widgets.IntSlider(value=pool_size, min=1, max=8, description="pool_size")
        self.stride = widgets.IntSlider(value=stride, min=1, max=8, description="stride")
        self.padding = widgets.IntSlider(value=padding, min=0, max=max(pool_size - 1, 0),
                                         description="padding")
        self.shape_label = widgets.Label()
        self.picture = _draw.picture()
        self.children = [self.mode, self.pool_size, self.stride, self.padding,
                         self.shape_label, self.picture]
        for control in (self.mode, self.pool_size, self.stride, self.padding):
            control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, change):
        if self._busy:
            return
        if change["owner"] is self.pool_size:
            self._busy = True  # narrowing the padding range may move the padding: redraw once
            try:
                self.padding.max = self.pool_size.value - 1
            finally:
                self._busy = False
        self.update()

    def update(self):
        """Pool with the current settings, store ``(pooled, shape)`` in ``.result``, redraw."""
        H, W = self.image.shape
        k, s, p = self.pool_size.value, self.stride.value, self.padding.value
        try:
            self.result = scratch.pool_preview(self.image, self.mode.value, k, s, p)
        except ValueError as err:
            self.result = None
            self.shape_label.value = str(err)
            return None
        H_out, W_out = self.result[1]
        self.shape_label.value = (
            f"input {H}x{W} -> output {H_out}x{W_out}:  "
            f"H_out = floor(({H} + 2*{p} - {k}) / {s}) + 1 = {H_out}"
        )
        _draw_pair(self.picture, self.image, self.result[0], f"input {H}x{W}",
                   f"{self.mode.value} pooled {H_out}x{W_out}", same_scale=True)
        return self.result


class PoolingWalk(widgets.VBox):
    """Pooling, one window at a time: a Play button and a slider over the window positions.

    Left: the input with its values and the window (orange); right: the output filled so far,
    the cell being written in orange. The line above says what this step computes.

    Attributes
    ----------
    play : ipywidgets.Play
    slider : ipywidgets.IntSlider
        The step, ``0 .. H_out * W_out - 1``; Play moves it.
    caption : ipywidgets.Label
    picture : ipywidgets.Image
        The input with the window beside the output so far, as PNG bytes.
    result : course_utils.scratch.PoolStep
        The latest ``scratch.pool_step(...)``.
    """

    def __init__(self, x, size=2, stride=None, mode="max", interval_ms=700):
        super().__init__()
        self.x = np.asarray(x, dtype=np.float64)
        self.size, self.stride, self.mode = size, size if stride is None else stride, mode
        first = scratch.pool_step(self.x, size, self.stride, 0, mode)  # checks the settings
        self.play = widgets.Play(value=0, min=0, max=first.steps - 1, interval=interval_ms,
                                 description="play")
        self.slider = widgets.IntSlider(value=0, min=0, max=first.steps - 1, description="step")
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.caption = widgets.Label()
        self.picture = _draw.picture()
        self.children = [widgets.HBox([self.play, self.slider]), self.caption, self.picture]
        self.slider.observe(lambda change: self.update(), names="value")
        self.result = None
        self.update()

    def update(self):
        """Compute the slider's step, store it in ``.result``, redraw; returns ``.result``."""
        import matplotlib.pyplot as plt

        r = self.result = scratch.pool_step(self.x, self.size, self.stride, self.slider.value,
                                            self.mode)
        top, left, bottom, right = r.window
        fmt = (lambda v: f"{v:g}") if np.all(self.x == np.round(self.x)) else (lambda v: f"{v:.2f}")
        self.caption.value = (
            f"step {r.step + 1} of {r.steps}: rows {top}-{bottom - 1}, columns {left}-{right - 1} "
            f"-> {self.mode}({', '.join(fmt(v) for v in r.values.ravel())}) = {fmt(r.value)} "
            f"in output cell {r.cell}")
        fig, axes = _draw.figure(1, 2, figsize=FIGSIZE, gridspec_kw={
            "width_ratios": [self.x.shape[1], r.output.shape[1] * 1.6]})
        panels = ((self.x, (top, left, bottom - top, right - left), "input"),
                  (r.output, (r.cell[0], r.cell[1], 1, 1), f"{self.mode} pooled"))
        cmap = plt.get_cmap("gray").copy()
        cmap.set_bad("#d8d8d8")  # output cells not computed yet
        for ax, (grid, (y, x, h, w), title) in zip(axes, panels):
            ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=self.x.min(),
                      vmax=self.x.max(), interpolation="nearest")
            ax.add_patch(plt.Rectangle((x - 0.5, y - 0.5), w, h, fill=False, lw=2.5,
                                       edgecolor="tab:orange"))
            for (i, j), v in np.ndenumerate(grid):
                if not np.isnan(v):
                    ax.text(j, i, fmt(v), ha="center", va="center", fontsize=6,
                            color="black" if v > (self.x.min() + self.x.max()) / 2 else "white")
            ax.set_title(f"{title} {grid.shape[0]}x{grid.shape[1]}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        _draw.show(self.picture, fig)
        return r


def kernel_explorer(image, preset="sobel_x"):
    """A :class:`KernelExplorer` over ``image``: choose or type a 3x3 kernel, see the result.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        E.g. ``skimage.data.camera()`` or a colour photo (turned to gray).
    preset : str
        A key of :data:`course_utils.scratch.KERNELS` to start with.
    """
    return KernelExplorer(image, preset=preset)


def pooling_explorer(image, mode="max", pool_size=2, stride=2, padding=0):
    """A :class:`PoolingExplorer` over ``image``: sliders for window, stride and padding.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        A small picture shows pooling best (e.g. a 64x64 crop): each output pixel stays visible.
    mode : {'max', 'avg'}
    pool_size, stride, padding : int
        Starting values of the sliders.
    """
    return PoolingExplorer(image, mode=mode, pool_size=pool_size, stride=stride, padding=padding)


def pooling_walk(x, size=2, stride=None, mode="max", interval_ms=700):
    """A :class:`PoolingWalk` over a small input ``x (H, W)``: pooling stepped window by window.

    Parameters
    ----------
    x : (H, W) array
        Small enough to read its values (about 8x8).
    size, stride : int
        Window size and stride (``stride`` defaults to ``size``).
    mode : {'max', 'avg'}
    interval_ms : int
        Milliseconds per step when playing.
    """
    return PoolingWalk(x, size=size, stride=stride, mode=mode, interval_ms=interval_ms)
