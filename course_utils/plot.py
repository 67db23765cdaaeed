"""Pictures for the notebooks: image grids, training curves, a live curve, a photo beside its
top-k classes. Never trains.

Figures are kept small (a few inches at 80 dpi) so notebooks stay light in git. Importing this
module changes no matplotlib setting: each function here draws its figure under the course's
:data:`STYLE`; a notebook that draws figures of its own calls :func:`use_style` once.
"""
import functools

import numpy as np
import matplotlib.pyplot as plt

from course_utils._util import positive_int

DPI = 80
DISPLAY_SIDE = 400  # photos are shrunk to at most this many pixels a side before drawing
STYLE = {"figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (5, 3), "axes.grid": False,
         "font.size": 9}


def use_style():
    """Draw every later figure in the course's :data:`STYLE` (80 dpi, 9-point text).

    For notebooks that draw figures with ``plt.subplots`` themselves; this module's functions
    apply the style to their own figures without it.
    """
    plt.rcParams.update(STYLE)


def _styled(function):
    """Run ``function`` (which makes, and maybe shows, a figure) under :data:`STYLE`."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return function(*args, **kwargs)
    return wrapper


def _to_numpy(img):
    img = img.asnumpy() if hasattr(img, "asnumpy") else np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = img.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


@_styled
def show_images(images, titles=None, ncols=8, scale=1.0, cmap="gray"):
    """Show images in a grid, each with an optional title.

    Parameters
    ----------
    images : sequence of arrays or NDArrays, each (H, W), (H, W, C) or (C, H, W)
    titles : sequence of str, optional
    ncols : int
    scale : float
        Inches per image.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = list(images)
    if not images:
        raise ValueError("show_images needs at least one image")
    if titles is not None:
        titles = list(titles)
        if len(titles) != len(images):
            raise ValueError(f"got {len(images)} images but {len(titles)} titles; give one title "
                             f"per image")
    positive_int(ncols, "show_images' ncols (images per row)", example="ncols=8")
    ncols = min(ncols, len(images))
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * scale * 1.15),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(_to_numpy(img), cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    fig.tight_layout(pad=0.2)
    plt.show()
    return fig


def show_dataset(dataset, n=16, ncols=8, scale=0.9):
    """The first ``n`` items of a data set with their class names as titles."""
    n = min(positive_int(n, "show_dataset's n (how many images)", example="n=16"), len(dataset))
    items = [dataset[i] for i in range(n)]
    classes = getattr(dataset, "classes", None)
    titles = [classes[int(y)] if classes else int(y) for _, y in items]
    return show_images([x for x, _ in items], titles, ncols=ncols, scale=scale)


@_styled
def plot_history(histories, metrics=("train_loss", "test_acc"), figsize=None):
    """Curves of one or more training runs, one panel per metric.

    Parameters
    ----------
    histories : History or dict of {label: History}
    metrics : str or sequence of History keys

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric, one line per run (a run whose metric was not recorded, e.g.
        ``test_acc`` without test data, has no line there).
    """
    if not isinstance(histories, dict):
        histories = {"": histories}
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if not histories or not metrics:
        raise ValueError(f"plot_history needs at least one History and one metric; got "
                         f"{len(histories)} histories and metrics={metrics!r}")
    for label, h in histories.items():
        keys = getattr(h, "KEYS", None)
        if keys is None:
            run = f" for run {label!r}" if label else ""
            raise TypeError(f"plot_history draws train.History objects (what train.fit returns); "
                            f"got a {type(h).__name__}{run}")
        unknown = [m for m in metrics if m not in keys]
        if unknown:
            raise KeyError(f"plot_history: unknown metric {unknown[0]!r}; choose from {keys}")
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize or (3.2 * len(metrics), 2.6),
                             squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for label, h in histories.items():
            values = h[metric]
            if any(v is None for v in values):
                continue
            ax.plot(h["epoch"], values, marker=".", label=label or None)
        ax.set_xlabel("epoch")
        ax.set_title(metric.replace("_", " "))
        if len(histories) > 1:
            ax.legend(fontsize=7)
    fig.tight_layout()
    plt.show()
    return fig


class LiveCurve:
    """Training curves redrawn in place after every epoch: ``fit(..., on_epoch=LiveCurve(num_epochs))``.

    While a person watches, one figure (loss on the left, accuracy on the right, the x-axis
    already spanning all ``num_epochs``) is shown once and redrawn in the same place after each
    epoch, through one IPython display handle; the last drawing stays in the notebook. In quiet
    mode (``COURSE_QUIET``: tests, nbval, saved outputs) only the final figure is drawn.

    Parameters
    ----------
    num_epochs : int
        The epochs ``fit`` will run: the final figure is drawn after this many.
    metrics : sequence of History keys
        Keys ending in ``loss`` go to the left panel, the others (accuracies) to the right.
    live : bool or None
        Redraw after every epoch; None: unless ``COURSE_QUIET`` is set.
    title : str, optional

    Attributes
    ----------
    draws : int
        How many times a figure was drawn (``num_epochs`` when live, 1 when quiet).
    figure : matplotlib.figure.Figure or None
        The latest figure drawn (closed: its picture is in the notebook).
    """

    def __init__(self, num_epochs, metrics=("train_loss", "train_acc", "test_acc"), live=None,
                 title=None, figsize=(6, 2.4)):
        from course_utils import config

        positive_int(num_epochs, "LiveCurve's num_epochs (the number of epochs fit will run)",
                     example="LiveCurve(5) for fit(..., num_epochs=5)")
        self.num_epochs, self.metrics, self.title, self.figsize = num_epochs, tuple(metrics), title, figsize
        if not self.metrics or isinstance(metrics, str):
            raise ValueError(f"LiveCurve needs a sequence of History keys to draw, e.g. "
                             f"metrics=('train_loss', 'test_acc'); got metrics={metrics!r}")
        self.live = (not config.quiet()) if live is None else bool(live)
        self.handle, self.figure, self.draws = None, None, 0

    def __repr__(self):
        mode = "live" if self.live else "quiet: final figure only"
        return f"LiveCurve({self.num_epochs} epochs, {mode}, {self.draws} drawn)"

    @_styled
    def draw(self, history):
        """The figure for ``history`` so far (not shown)."""
        losses = [m for m in self.metrics if m.endswith("loss")]
        others = [m for m in self.metrics if not m.endswith("loss")]
        panels = [(p, ms) for p, ms in (("loss", losses), ("accuracy", others)) if ms]
        fig, axes = plt.subplots(1, len(panels), figsize=self.figsize, squeeze=False)
        for ax, (name, ms) in zip(axes.flat, panels):
            for m in ms:
                values = history[m]
                if values and all(v is not None for v in values):
                    ax.plot(history["epoch"], values, marker=".", label=m.replace("_", " "))
            ax.set_xlim(0.5, self.num_epochs + 0.5)
            ax.set_xlabel("epoch")
            ax.set_title(name)
            ax.legend(fontsize=7)
        if self.title:
            fig.suptitle(self.title, fontsize=9)
        fig.tight_layout()
        return fig

    def __call__(self, history):
        from IPython import display

        final = len(history) >= self.num_epochs
        if not (self.live or final):
            return
        fig = self.figure = self.draw(history)
        self.draws += 1
        if not self.live:
            display.display(fig)
        elif self.handle is None:
            self.handle = display.display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)


@_styled
def digit_reading(reading, show=True, max_maps=16):
    """What LeNet saw in one digit: the input, the probabilities, every layer's activations.

    Parameters
    ----------
    reading : course_utils.draw.DigitReading
        From :func:`course_utils.draw.read_digit`.
    show : bool
        Show the figure (False: only return it, e.g. to draw it into a widget).
    max_maps : int
        Feature maps shown per layer.

    Returns
    -------
    matplotlib.figure.Figure
        Row 1: the 28x28 input and a bar per digit (the most probable highlighted); then one row
        of maps per convolution or pooling layer; last, one bar chart per hidden dense layer.
    """
    positive_int(max_maps, "digit_reading's max_maps (feature maps per layer)", example="16")
    maps = [(n, a) for n, a in reading.activations.items() if np.ndim(a) == 3]
    dense = [(n, a) for n, a in reading.activations.items() if np.ndim(a) == 1 and n != "output"]
    cols = max([min(len(a), max_maps) for _, a in maps] + [2])
    heights = [2.2] + [1.0] * len(maps) + ([1.2] if dense else [])
    fig = plt.figure(figsize=(7, 1.0 + 0.62 * sum(heights)))
    grid = fig.add_gridspec(len(heights), cols, height_ratios=heights)
    half = cols // 2
    ax = fig.add_subplot(grid[0, :max(2, cols // 4)])
    ax.imshow(reading.image, cmap="gray", vmin=0, vmax=1)
    ax.set_title("input 28x28", fontsize=8)
    ax.axis("off")
    ax = fig.add_subplot(grid[0, half:])
    digits = np.arange(len(reading.probabilities))
    ax.bar(digits, reading.probabilities,
           color=["tab:orange" if d == reading.digit else "tab:blue" for d in digits])
    ax.set_xticks(digits)
    ax.set_ylim(0, 1)
    ax.set_title(f"probabilities: {reading.digit}", fontsize=8)
    for row, (name, a) in enumerate(maps, start=1):
        n = min(len(a), max_maps)
        width = cols // n
        for i in range(n):
            ax = fig.add_subplot(grid[row, i * width:(i + 1) * width])
            ax.imshow(a[i], cmap="gray")
            ax.axis("off")
            if i == 0:
                ax.set_title(f"{name}: {len(a)} x {a.shape[1]}x{a.shape[2]}", fontsize=7, loc="left")
    for k, (name, a) in enumerate(dense):
        span = cols // len(dense)
        ax = fig.add_subplot(grid[-1, k * span:(k + 1) * span])
        ax.bar(np.arange(len(a)), a, width=1.0)
        ax.set_title(f"{name}: {len(a)} units", fontsize=7, loc="left")
        ax.set_xticks([])
        ax.tick_params(labelsize=6)
    if show:
        plt.show()
    return fig


@_styled
def bar_chart(labels, values, title="", xlabel="", figsize=(5, 2.6), horizontal=True):
    """A simple labelled bar chart (e.g. top-5 probabilities, parameters per layer).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one bar per value, labelled in order.
    """
    labels, values = list(labels), list(values)
    if len(labels) != len(values):
        raise ValueError(f"bar_chart got {len(labels)} labels but {len(values)} values; give one "
                         f"label per bar")
    fig, ax = plt.subplots(figsize=figsize)
    if horizontal:
        ax.barh(range(len(values)), values)
        ax.set_yticks(range(len(values)), labels)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
    else:
        ax.bar(range(len(values)), values)
        ax.set_xticks(range(len(values)), labels, rotation=45, ha="right")
        ax.set_ylabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    plt.show()
    return fig


def _display_copy(image):
    """A small RGB array of ``image`` for drawing (at most DISPLAY_SIDE pixels a side)."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(np.asarray(image))
    image = image.convert("RGB")
    if max(image.size) > DISPLAY_SIDE:
        image = image.copy()
        image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE), Image.BILINEAR)
    return np.asarray(image)


@_styled
def topk_figure(image, top, title="", figsize=(6, 2.4)):
    """A figure (not shown): the photo on the left, its top-k as bars on the right.

    Parameters
    ----------
    image : np.ndarray or PIL.Image.Image
        ``(H, W, 3)`` uint8 photo.
    top : list of (str, float)
        ``(class name, probability)``, most probable first.
    title : str
        Over the photo.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=figsize, dpi=DPI,
                                         gridspec_kw={"width_ratios": [1, 1.5]})
    ax_img.imshow(_display_copy(image))
    ax_img.set_title(title, fontsize=9)
    ax_img.axis("off")
    labels = [label for label, _ in top]
    probs = [prob for _, prob in top]
    ax_bar.barh(range(len(top)), probs, color="tab:blue")
    ax_bar.set_yticks(range(len(top)), labels)
    ax_bar.invert_yaxis()
    ax_bar.set_xlim(0, 1.15)  # room for the numbers after the bars
    ax_bar.set_xlabel("probability")
    for i, prob in enumerate(probs):
        ax_bar.text(prob + 0.02, i, f"{prob:.2f}", va="center", fontsize=8)
    ax_bar.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


@_styled
def show_topk(image, top, title=""):
    """Show the photo beside its top-k bars (:func:`topk_figure`) and return the figure."""
    fig = topk_figure(image, top, title)
    plt.show()
    return fig


@_styled
def confusion_matrix_figure(matrix, classes, figsize=(4.5, 4)):
    """A confusion matrix ``(K, K)`` (rows: true class, columns: predicted) as a picture.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the matrix as an image, each non-zero count written in its cell.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(classes):
        raise ValueError(f"confusion_matrix_figure needs a (K, K) matrix for K = {len(classes)} "
                         f"classes; got shape {matrix.shape} (metrics.confusion_matrix gives one)")
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if matrix[i, j]:
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    fig.tight_layout()
    plt.show()
    return fig
