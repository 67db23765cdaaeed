"""Interactive playgrounds (ipywidgets), each a thin view over a pure function.

- Notebook 02: :func:`kernel_explorer` shows :func:`apply_kernel` -- pick a preset from
  :data:`KERNELS` or type the nine numbers of a 3x3 kernel, see it applied to a photo.
- Notebook 03: :func:`pooling_explorer` shows :func:`pool_preview` -- move the sliders for
  pooling mode, window, stride and padding, see the output shape and the pooled picture.
  :func:`pooling_walk` shows :func:`pool_step` -- press Play (or drag the slider) and the window
  moves over a small image one position at a time, filling the output cell by cell.

The pure functions do all the work (the tests call them directly). A widget only reads its
controls, calls the function, keeps the answer in ``.result`` and draws it; ``.update()``
does that by hand. ``matplotlib.pyplot`` is imported only when drawing, and this module never
chooses a matplotlib backend: the notebook's is used.
"""
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from course_utils import scratch

__all__ = ["KERNELS", "apply_kernel", "kernel_explorer", "pool_preview", "pooling_explorer",
           "pool_step", "pooling_walk", "KernelExplorer", "PoolingExplorer", "PoolingWalk",
           "PoolStep"]

FIGSIZE = (6, 3)
DPI = 80


def _kernel(rows, scale=1.0):
    kernel = np.array(rows, dtype=np.float64) * scale
    kernel.flags.writeable = False  # a preset cannot be changed by accident
    return kernel


#: Classic 3x3 kernels, by name. Applied with cross-correlation (as in deep learning), so
#: ``sobel_x`` is positive where the image gets brighter from left to right.
KERNELS = {
    "identity": _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "laplacian": _kernel([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sobel_x": _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel_y": _kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "sharpen": _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "box_blur": _kernel([[1, 1, 1], [1, 1, 1], [1, 1, 1]], scale=1 / 9),
}

_KERNEL_LABELS = {
    "identity": "identity",
    "laplacian": "edge (Laplacian)",
    "sobel_x": "vertical edge (Sobel x)",
    "sobel_y": "horizontal edge (Sobel y)",
    "sharpen": "sharpen",
    "box_blur": "box blur",
}


def _gray(image):
    """A 2-D float image: (H, W) kept; (H, W, 3) or (H, W, 4) colour turned to gray.

    Integer images (e.g. uint8 photos) are scaled to [0, 1].
    """
    image = np.asarray(image)
    if image.dtype.kind in "iub":
        image = image / (np.iinfo(image.dtype).max if image.dtype.kind != "b" else 1)
    elif image.dtype not in (np.float32, np.float64):
        image = image.astype(np.float64)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        # Luminance weights of ITU-R BT.709, as in skimage.color.rgb2gray.
        image = image[..., :3] @ np.array([0.2125, 0.7154, 0.0721], dtype=image.dtype)
    if image.ndim != 2:
        raise ValueError(
            f"expected a gray image of shape (H, W) or a colour one of shape (H, W, 3); got "
            f"shape {image.shape}"
        )
    return image


# ----------------------------------------------------------------------------- pure functions

def apply_kernel(image, kernel):
    """Filter a gray image with a kernel; the output has the input's size.

    The border is padded by repeating the edge pixels (not zeros), so the photo's frame does
    not light up as an "edge"; then :func:`course_utils.scratch.corr2d` does the work.

    Parameters
    ----------
    image : (H, W) array
        Gray image (an (H, W, 3) colour image is turned to gray first).
    kernel : (kh, kw) array
        Odd height and width, e.g. 3x3 (see :data:`KERNELS`).

    Returns
    -------
    filtered : (H, W) array, the image's float dtype
    """
    image = _gray(image)
    kernel = np.asarray(kernel, dtype=image.dtype)
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(
            f"expected a 2-D kernel with odd height and width such as (3, 3), so that the output "
            f"lines up with the input; got shape {kernel.shape}"
        )
    ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(image, ((ph, ph), (pw, pw)), mode="edge")
    return scratch.corr2d(padded, kernel)


def pool_preview(image, mode="max", pool_size=2, stride=None, padding=0):
    """Pool a gray image as one channel; return the pooled image and its shape.

    Parameters
    ----------
    image : (H, W) array
        Gray image (an (H, W, 3) colour image is turned to gray first).
    mode : {'max', 'avg'}
    pool_size, stride, padding : int or pair
        As in :func:`course_utils.scratch.max_pool2d` (``stride`` defaults to ``pool_size``).

    Returns
    -------
    pooled : (H_out, W_out) array
    shape : (H_out, W_out) tuple
        ``H_out = scratch.output_size(H, pool_size, padding, stride)``, the same for W.
    """
    pools = {"max": scratch.max_pool2d, "avg": scratch.avg_pool2d}
    if mode not in pools:
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}")
    X = _gray(image)[None, None]  # (1, 1, H, W): a batch of one single-channel image
    pooled = pools[mode](X, pool_size=pool_size, stride=stride, padding=padding)[0, 0]
    return pooled, pooled.shape


class PoolStep(NamedTuple):
    """One position of the pooling window (see :func:`pool_step`)."""

    step: int            # 0, 1, ..., steps - 1 (row by row)
    steps: int           # H_out * W_out
    cell: tuple          # (i, j): the output cell this step fills
    window: tuple        # (top, left, bottom, right): rows top..bottom-1, columns left..right-1
    values: np.ndarray   # the input values under the window, (size, size)
    value: float         # their max or mean: output[i, j]
    output: np.ndarray   # (H_out, W_out) float64, cells after this step still NaN


def pool_step(x, size=2, stride=None, step=0, mode="max"):
    """Pooling frozen at one window position: what the window covers and the output so far.

    Parameters
    ----------
    x : (H, W) array
        A small single-channel input (e.g. 8x8).
    size : int
        Window height and width.
    stride : int, optional
        Defaults to ``size`` (windows that touch, as in :func:`course_utils.scratch.max_pool2d`).
    step : int
        Which window position, ``0 <= step < H_out * W_out``, row by row.
    mode : {'max', 'avg'}

    Returns
    -------
    PoolStep
        At the last step ``output`` equals ``scratch.max_pool2d`` (or ``avg_pool2d``) of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"pool_step walks over one channel: expected (H, W), got shape {x.shape}")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}")
    stride = size if stride is None else stride
    for name, v in (("size", size), ("stride", stride)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if size > min(x.shape):
        raise ValueError(f"a {size}x{size} window does not fit in a {x.shape[0]}x{x.shape[1]} input")
    H_out, W_out = (scratch.output_size(n, size, 0, stride) for n in x.shape)
    steps = H_out * W_out
    if not isinstance(step, (int, np.integer)) or not 0 <= step < steps:
        raise ValueError(f"step must be an integer from 0 to {steps - 1} ({H_out}x{W_out} window "
                         f"positions); got {step!r}")
    output = np.full((H_out, W_out), np.nan)
    reduce = np.max if mode == "max" else np.mean
    for k in range(step + 1):
        i, j = divmod(k, W_out)
        window = x[i * stride:i * stride + size, j * stride:j * stride + size]
        output[i, j] = reduce(window)
    top, left = i * stride, j * stride
    return PoolStep(int(step), steps, (i, j), (top, left, top + size, left + size),
                    window.copy(), float(output[i, j]), output)


# ----------------------------------------------------------------------------- drawing

def _show(output, image, result, title_in, title_out, same_scale=False):
    """Draw the input beside the result, replacing what ``output`` showed before.

    ``same_scale=True`` draws both in the input's gray range (so max pooling visibly brightens);
    otherwise each picture spans black to white.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    with output:
        output.clear_output(wait=True)
        fig, axes = plt.subplots(1, 2, figsize=FIGSIZE, dpi=DPI)
        limits = dict(vmin=image.min(), vmax=image.max()) if same_scale else {}
        for ax, picture, title in zip(axes, (image, result), (title_in, title_out)):
            ax.imshow(picture, cmap="gray", interpolation="nearest", **limits)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
        fig.tight_layout()
        display(fig)
        plt.close(fig)  # displayed once, then freed: redraws do not pile up figures


# ----------------------------------------------------------------------------- widgets

class KernelExplorer(widgets.VBox):
    """Kernel playground: a preset menu, a 3x3 grid of numbers, and the filtered image.

    Attributes
    ----------
    preset : ipywidgets.Dropdown
        A name from :data:`KERNELS`, or ``'custom'`` once a number is edited.
    entries : list of 9 ipywidgets.FloatText
        The kernel, row by row.
    result : (H, W) array
        The latest ``apply_kernel(image, kernel)``.
    """

    def __init__(self, image, preset="sobel_x"):
        super().__init__()
        if preset not in KERNELS:
            raise ValueError(f"preset must be one of {sorted(KERNELS)}; got {preset!r}")
        self.image = _gray(image)
        self.result = None
        self._busy = False  # True while the preset menu fills in the nine numbers
        options = [(label, name) for name, label in _KERNEL_LABELS.items()] + [("custom", "custom")]
        self.preset = widgets.Dropdown(options=options, value=preset, description="kernel")
        self.entries = [widgets.FloatText(value=float(v), step=0.5, layout=widgets.Layout(width="70px"))
                        for v in KERNELS[preset].ravel()]
        grid = widgets.GridBox(self.entries,
                               layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
        self.output = widgets.Output()
        self.children = [self.preset, grid, self.output]
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
            for entry, value in zip(self.entries, KERNELS[change["new"]].ravel()):
                entry.value = float(value)
        finally:
            self._busy = False
        self.update()

    def _on_entry(self, change):
        if self._busy:
            return
        if self.preset.value != "custom" and not np.array_equal(self.kernel, KERNELS[self.preset.value]):
            self._busy = True
            try:
                self.preset.value = "custom"
            finally:
                self._busy = False
        self.update()

    def update(self):
        """Apply the current kernel, store it in ``.result``, redraw; returns ``.result``."""
        self.result = apply_kernel(self.image, self.kernel)
        low, high = self.result.min(), self.result.max()
        _show(self.output, self.image, self.result, "input",
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
    result : (pooled, shape) tuple or None
        The latest ``pool_preview(...)``; None when the settings are invalid.
    """

    def __init__(self, image, mode="max", pool_size=2, stride=2, padding=0):
        super().__init__()
        self.image = _gray(image)
        self.result = None
        self._busy = False
        self.mode = widgets.ToggleButtons(options=["max", "avg"], value=mode, description="mode")
        self.pool_size = widgets.IntSlider(value=pool_size, min=1, max=8, description="pool_size")
        self.stride = widgets.IntSlider(value=stride, min=1, max=8, description="stride")
        self.padding = widgets.IntSlider(value=padding, min=0, max=max(pool_size - 1, 0),
                                         description="padding")
        self.shape_label = widgets.Label()
        self.output = widgets.Output()
        self.children = [self.mode, self.pool_size, self.stride, self.padding,
                         self.shape_label, self.output]
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
            self.result = pool_preview(self.image, self.mode.value, k, s, p)
        except ValueError as err:
            self.result = None
            self.shape_label.value = str(err)
            return None
        H_out, W_out = self.result[1]
        self.shape_label.value = (
            f"input {H}x{W} -> output {H_out}x{W_out}:  "
            f"H_out = floor(({H} + 2*{p} - {k}) / {s}) + 1 = {H_out}"
        )
        _show(self.output, self.image, self.result[0], f"input {H}x{W}",
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
    result : PoolStep
        The latest ``pool_step(...)``.
    """

    def __init__(self, x, size=2, stride=None, mode="max", interval_ms=700):
        super().__init__()
        self.x = np.asarray(x, dtype=np.float64)
        self.size, self.stride, self.mode = size, size if stride is None else stride, mode
        first = pool_step(self.x, size, self.stride, 0, mode)  # checks the settings
        self.play = widgets.Play(value=0, min=0, max=first.steps - 1, interval=interval_ms,
                                 description="play")
        self.slider = widgets.IntSlider(value=0, min=0, max=first.steps - 1, description="step")
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.caption = widgets.Label()
        self.output = widgets.Output()
        self.children = [widgets.HBox([self.play, self.slider]), self.caption, self.output]
        self.slider.observe(lambda change: self.update(), names="value")
        self.result = None
        self.update()

    def update(self):
        """Compute the slider's step, store it in ``.result``, redraw; returns ``.result``."""
        import matplotlib.pyplot as plt
        from IPython.display import display

        r = self.result = pool_step(self.x, self.size, self.stride, self.slider.value, self.mode)
        top, left, bottom, right = r.window
        fmt = (lambda v: f"{v:g}") if np.all(self.x == np.round(self.x)) else (lambda v: f"{v:.2f}")
        self.caption.value = (
            f"step {r.step + 1} of {r.steps}: rows {top}-{bottom - 1}, columns {left}-{right - 1} "
            f"-> {self.mode}({', '.join(fmt(v) for v in r.values.ravel())}) = {fmt(r.value)} "
            f"in output cell {r.cell}")
        with self.output:
            self.output.clear_output(wait=True)
            fig, axes = plt.subplots(1, 2, figsize=FIGSIZE, dpi=DPI,
                                     gridspec_kw={"width_ratios": [self.x.shape[1], r.output.shape[1] * 1.6]})
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
            display(fig)
            plt.close(fig)
        return r


def kernel_explorer(image, preset="sobel_x"):
    """A :class:`KernelExplorer` over ``image``: choose or type a 3x3 kernel, see the result.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
        E.g. ``skimage.data.camera()`` or a colour photo (turned to gray).
    preset : str
        A key of :data:`KERNELS` to start with.
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
