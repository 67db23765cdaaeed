"""Bring your own image (notebook 10): upload a photo and see what an ImageNet network thinks it shows.

:func:`pretrained.classify_bytes <course_utils.pretrained.classify_bytes>` does all the work
(decode the file with :func:`course_utils.images.decode`, preprocess it the way the network was
trained, softmax, top-k); the tests call it directly. :class:`UploadClassifier` is a thin view
over the same two steps (``images.decode``, then ``pretrained.predict_topk``; it keeps the photo to
draw it): an upload button, a message line and a picture (the photo beside its top-k bars,
:func:`course_utils.plot.topk_figure`, drawn into ``.picture``, see
:mod:`course_utils.widgets._draw`). After each upload ``.result`` holds the top-k (``None`` after
a file that is not an image, whose reason is in ``.error`` and on the message line);
``.classify(data, name)`` does by hand what an upload does.

Example
-------
>>> from course_utils import data, images, pretrained, widgets
>>> net = pretrained.efficientnet_lite0()
>>> jpeg = images.encode(data.load_photo("coffee"))
>>> pretrained.classify_bytes(net, jpeg, k=1)       # doctest: +SKIP
[('espresso', 0.95...)]
>>> widgets.upload_classifier(net)                  # in a notebook: the widget
"""
import html

import ipywidgets as widgets

import course_utils.widgets._draw as _draw
from course_utils import images, pretrained

__all__ = ["UploadClassifier", "upload_classifier"]


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
        self.picture = _draw.picture(display="none")
        self.children = [self.upload, self.message, self.picture]
        self._say(f"Choose a photo ({images.FORMATS}) to see the network's top-{k}.")
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
        from course_utils import plot  # imports pyplot: only when drawing

        try:
            image = images.decode(data, name)
        except (images.NotAnImageError, TypeError) as err:
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
        _draw.show(self.picture, plot.topk_figure(image, self.result, name))
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
