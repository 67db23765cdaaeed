"""Pictures for the notebooks: image grids, training curves, a live curve. Never trains.

Figures are kept small (a few inches at 80 dpi) so notebooks stay light in git.
"""
import numpy as np
import matplotlib.pyplot as plt

DPI = 80
plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (5, 3),
                     "axes.grid": False, "font.size": 9})


def _to_numpy(img):
    img = img.asnumpy() if hasattr(img, "asnumpy") else np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = img.transpose(1, 2, 0)  # (C, H, W) -> (H, W, C)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    return img


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
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles; give one title per image")
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
    n = min(n, len(dataset))
    items = [dataset[i] for i in range(n)]
    classes = getattr(dataset, "classes", None)
    titles = [classes[int(y)] if classes else int(y) for _, y in items]
    return show_images([x for x, _ in items], titles, ncols=ncols, scale=scale)


def plot_history(histories, metrics=("train_loss", "test_acc"), figsize=None):
    """Curves of one or more training runs, one panel per metric.

    Parameters
    ----------
    histories : History or dict of {label: History}
    metrics : sequence of History keys
    """
    if not isinstance(histories, dict):
        histories = {"": histories}
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
    """Redraws the training curves after every epoch: ``fit(..., on_epoch=LiveCurve())``.

    Only for interactive use: it redraws in place with IPython's display machinery.
    """

    def __init__(self, metrics=("train_loss", "train_acc", "test_acc")):
        self.metrics = metrics
        self.handle = None

    def __call__(self, history):
        from IPython import display

        fig, ax = plt.subplots(figsize=(4, 2.6))
        for m in self.metrics:
            values = history[m]
            if all(v is not None for v in values):
                ax.plot(history["epoch"], values, marker=".", label=m.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
        if self.handle is None:
            self.handle = display.display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)


def bar_chart(labels, values, title="", xlabel="", figsize=(5, 2.6), horizontal=True):
    """A simple labelled bar chart (e.g. top-5 probabilities, parameters per layer)."""
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


def confusion_matrix_figure(matrix, classes, figsize=(4.5, 4)):
    """A confusion matrix ``(K, K)`` (rows: true class, columns: predicted) as a picture."""
    matrix = np.asarray(matrix)
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
