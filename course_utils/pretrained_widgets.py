"""Bring your own image: upload a photo and see what an ImageNet network thinks it shows.

Notebook 10. :func:`classify_bytes` does all the work (decode the file with Pillow, preprocess it
the way the network was trained, softmax, top-k); the tests call it directly.
:class:`UploadClassifier` is a thin view over it: an upload button, a message line and a picture
(the photo beside its top-k bars, as a PNG). After each upload ``.result`` holds the top-k (``None`` after a
file that is not an image, whose reason is in ``.error`` and on the message line);
``.classify(data, name)`` does by hand what an upload does.

:func:`show_topk` draws a photo beside its top-k bars; :func:`format_topk` writes them as text.
``matplotlib.pyplot`` is imported only when drawing, and this module never chooses a matplotlib
backend: the notebook's is used.

Example
-------
>>> from course_utils import data, pretrained, pretrained_widgets
>>> net = pretrained.efficientnet_lite0()
>>> jpeg = pretrained_widgets.image_to_bytes(data.load_photo("coffee"))
>>> pretrained_widgets.classify_bytes(net, jpeg, k=1)       # doctest: +SKIP
[('espresso', 0.95...)]
>>> pretrained_widgets.upload_classifier(net)              # in a notebook: the widget
"""
import html
import io

import ipywidgets as widgets
import numpy as np

from course_utils import images, pretrained

__all__ = ["NotAnImageError", "decode_image", "image_to_bytes", "classify_bytes", "format_topk",
           "topk_figure", "show_topk", "UploadClassifier", "upload_classifier"]

FIGSIZE = (6, 2.4)
DPI = 80
DISPLAY_SIDE = 400  # photos are shrunk to at most this many pixels a side before drawing
FORMATS = images.FORMATS
NotAnImageError = images.NotAnImageError


# ----------------------------------------------------------------------------- pure functions

def _as_bytes(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected the file's bytes (bytes, bytearray or memoryview), got "
                    f"{type(data).__name__}; read a file with open(path, 'rb').read()")


def decode_image(data, name="the file"):
    """Decode an image file's bytes into an RGB picture, upright.

    The course's one decoder, :func:`course_utils.images.decode` (also used for image folders):
    the EXIF rotation of phone photos is applied, the format comes from the content, the pixel
    count is checked from the header (at most 80 megapixels) before decoding, and 16-bit gray
    is scaled to 0..255.

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        The whole file (JPEG, PNG, GIF, BMP, TIFF or WebP).
    name : str
        The file's name, used in error messages.

    Returns
    -------
    PIL.Image.Image
        Mode ``'RGB'``.

    Raises
    ------
    NotAnImageError
        Empty, not an image, truncated or damaged, or too many pixels to decode safely.
    """
    return images.decode(_as_bytes(data), name)


def image_to_bytes(image, format="JPEG", quality=90):
    """Encode a picture as an image file's bytes, as if it had been saved and uploaded.

    Parameters
    ----------
    image : np.ndarray or PIL.Image.Image
        ``(H, W, 3)`` or ``(H, W)`` uint8.
    format : str, default 'JPEG'
        Any format Pillow writes (``'PNG'``, ``'BMP'``, ...).
    quality : int, default 90
        JPEG quality.

    Returns
    -------
    bytes
    """
    from PIL import Image

    if not isinstance(image, Image.Image):
        array = np.asarray(image)
        if array.dtype != np.uint8:
            raise ValueError(f"expected a uint8 image (values 0..255), got dtype {array.dtype}")
        image = Image.fromarray(array)
    buffer = io.BytesIO()
    options = {"quality": quality} if format.upper() in ("JPEG", "JPG") else {}
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def classify_bytes(net, data, k=5, preprocess=None, classes=None, name="the file"):
    """The ``k`` most probable classes for an image file's bytes (what an upload delivers).

    Parameters
    ----------
    net : HybridBlock
        An ImageNet network, ``(1, 3, 224, 224)`` -> ``(1, 1000)`` logits (e.g.
        :func:`course_utils.pretrained.efficientnet_lite0`).
    data : bytes, bytearray or memoryview
        The whole image file.
    k : int, default 5
    preprocess : callable, optional
        Photo -> input; default as in :func:`course_utils.pretrained.predict_topk` (the scaling
        that matches ``net``). Pass ``info['preprocess']`` from ``load_pretrained``.
    classes : list of str, optional
        Class names (default: ImageNet's).
    name : str
        The file's name, for error messages.

    Returns
    -------
    list of (str, float)
        ``(class name, probability)``, most probable first.

    Raises
    ------
    NotAnImageError
        The bytes are not a readable image (see :func:`decode_image`).
    """
    image = decode_image(data, name)
    return pretrained.predict_topk(net, image, k=k, classes=classes, preprocess=preprocess)


def format_topk(top, digits=3):
    """The top-k as text, one ``rank. name  probability`` line each.

    Parameters
    ----------
    top : list of (str, float)
        As returned by :func:`classify_bytes` or ``pretrained.predict_topk``.
    digits : int, default 3

    Returns
    -------
    str
    """
    width = max((len(label) for label, _ in top), default=0)
    return "\n".join(f"{rank}. {label:<{width}}  {prob:.{digits}f}"
                     for rank, (label, prob) in enumerate(top, 1))


# ----------------------------------------------------------------------------- drawing

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


def topk_figure(image, top, title="", figsize=FIGSIZE):
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
    import matplotlib.pyplot as plt

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


def _png(fig):
    """The figure as PNG bytes; the figure is closed (freed), never shown."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def show_topk(image, top, title=""):
    """Show the photo beside its top-k bars (:func:`topk_figure`) and return the figure."""
    import matplotlib.pyplot as plt

    fig = topk_figure(image, top, title)
    plt.show()
    return fig


# ----------------------------------------------------------------------------- the widget

def _uploaded_files(value):
    """``[(name, bytes), ...]`` from a FileUpload value (ipywidgets 8: a tuple of dicts with
    ``name``, ``type``, ``size``, ``last_modified`` and ``content``, a memoryview)."""
    return [(item.get("name") or "upload", item["content"]) for item in value]


class UploadClassifier(widgets.VBox):
    """Bring your own image: an upload button, a message line, the photo beside its top-k.

    Parameters
    ----------
    net : HybridBlock
        An ImageNet network (``(1, 3, 224, 224)`` -> ``(1, 1000)``).
    k : int, default 5
    preprocess : callable, optional
        Photo -> input matching ``net`` (default: chosen by ``pretrained.predict_topk``).
    classes : list of str, optional
        Class names (default: ImageNet's).

    Attributes
    ----------
    upload : ipywidgets.FileUpload
        Accepts one image file.
    message : ipywidgets.HTML
        What happened to the latest upload: the top-1, or why the file was refused.
    picture : ipywidgets.Image
        The latest photo beside its top-k bars (PNG bytes; empty and hidden after a refusal).
    result : list of (str, float) or None
        The latest top-k; ``None`` before the first upload and after a file that is not an image.
    error : str or None
        Why the latest upload was refused, else ``None``.
    image : PIL.Image.Image or None
        The latest photo, decoded and upright.
    """

    def __init__(self, net, k=5, preprocess=None, classes=None):
        super().__init__()
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        self.net, self.k, self.preprocess, self.classes = net, k, preprocess, classes
        self.result = self.error = self.image = None
        self.upload = widgets.FileUpload(accept="image/*", multiple=False,
                                         description="Upload a photo")
        self.message = widgets.HTML()
        # an Image widget, not an Output: the picture is plain PNG bytes, so it shows the same
        # in every frontend and when the notebook runs without one (nbconvert, nbval)
        self.picture = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.children = [self.upload, self.message, self.picture]
        self._say(f"Choose a photo ({FORMATS}) to see the network's top-{k}.")
        self.upload.observe(self._on_upload, names="value")

    def __repr__(self):
        model = type(self.net).__name__
        state = ("no photo yet" if self.result is None and self.error is None
                 else f"latest: {self.result[0][0]}" if self.result else "latest: not an image")
        return f"UploadClassifier({model}, k={self.k}; {state})"

    def _say(self, text):
        self.message.value = html.escape(text, quote=False)

    def _on_upload(self, change):
        files = _uploaded_files(change["new"])
        if not files:  # the value was cleared (below)
            return
        name, content = files[-1]
        self.classify(content, name)
        self.upload.value = ()  # free the bytes; uploading the same file again fires again

    def classify(self, data, name="upload"):
        """Classify an image file's bytes as an upload would; returns ``.result``.

        A file that is not an image sets ``.result`` to ``None`` and explains why in
        ``.error`` and on the message line (nothing is raised: the widget stays usable).
        """
        try:
            image = decode_image(data, name)
        except (NotAnImageError, TypeError) as err:
            self.result, self.error, self.image = None, str(err), None
            self._say(self.error)
            self.picture.value = b""
            self.picture.layout.display = "none"
            return None
        self.image, self.error = image, None
        self.result = pretrained.predict_topk(self.net, image, k=self.k, classes=self.classes,
                                              preprocess=self.preprocess)
        label, prob = self.result[0]
        width, height = image.size
        self._say(f"{name} ({width}x{height}): most likely '{label}' (probability {prob:.2f})")
        self.picture.value = _png(topk_figure(image, self.result, name))
        self.picture.layout.display = None  # shown
        return self.result


def upload_classifier(net, k=5, preprocess=None, classes=None):
    """An :class:`UploadClassifier`: upload a photo, see the network's top-k with class names.

    Parameters
    ----------
    net : HybridBlock
        E.g. ``pretrained.efficientnet_lite0()``, or the ``net`` of ``load_pretrained``.
    k : int, default 5
    preprocess : callable, optional
        With ``load_pretrained``, pass ``info['preprocess']``.
    classes : list of str, optional
    """
    return UploadClassifier(net, k=k, preprocess=preprocess, classes=classes)
