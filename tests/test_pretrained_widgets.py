"""Bring your own image: decoding uploaded bytes (``images``), their top-k (``pretrained``), the
picture (``plot.topk_figure``), and that an upload (a FileUpload value set the way the browser
sets it) updates the widget's ``.result`` (``widgets.pretrained``)."""
import io

import course_utils  # noqa: F401  (before mxnet)
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from course_utils import data, images, plot, pretrained, widgets

CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}  # 281..285


@pytest.fixture(scope="module")
def net():
    return pretrained.efficientnet_lite0()


@pytest.fixture(scope="module")
def cat_jpeg():
    return images.encode(data.load_photo("chelsea"))


def _browser_uploads(upload, name, content, mime="image/jpeg"):
    """Do what JupyterLab does when a learner picks one file: send the FileUpload its new state
    (JSON, the bytes as a binary buffer), which ipywidgets deserializes and sets as ``value``."""
    upload.set_state({"value": [{"name": name, "type": mime, "size": len(content),
                                 "last_modified": 1700000000000, "content": memoryview(content)}]})


# ----------------------------------------------------------------------------- decoding

def test_jpeg_round_trip_keeps_size_and_content(cat_jpeg):
    photo = data.load_photo("chelsea")
    image = images.decode(cat_jpeg)
    assert image.mode == "RGB" and image.size == (photo.shape[1], photo.shape[0])
    # JPEG is lossy, but only slightly at quality 90
    assert np.abs(np.asarray(image, dtype=np.float32) - photo).mean() < 3


def test_png_is_lossless_and_accepts_memoryview_and_bytearray():
    photo = data.load_photo("coffee")
    png = images.encode(photo, format="PNG")
    for raw in (png, bytearray(png), memoryview(png)):
        np.testing.assert_array_equal(np.asarray(images.decode(raw)), photo)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK"])
def test_other_colour_modes_become_rgb(mode):
    photo = Image.fromarray(data.load_photo("chelsea")[:40, :60]).convert(mode)
    image = images.decode(images.encode(photo, format="TIFF" if mode == "CMYK" else "PNG"))
    assert image.mode == "RGB" and image.size == (60, 40)


def test_exif_orientation_is_applied():
    photo = Image.fromarray(data.load_photo("chelsea")[:40, :60])  # 60 wide, 40 high
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: "rotate 90 degrees clockwise to view", as phones write it
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", exif=exif)
    assert Image.open(io.BytesIO(buffer.getvalue())).size == (60, 40)  # stored sideways
    assert images.decode(buffer.getvalue()).size == (40, 60)  # shown upright


@pytest.mark.parametrize("raw,expected", [
    (b"Dear learner, this is a text file.\n", "not an image Pillow can read"),
    (b"", "is empty"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not an image Pillow can read"),
])
def test_a_file_that_is_not_an_image_gets_a_clear_error(raw, expected):
    with pytest.raises(images.NotAnImageError, match=expected) as info:
        images.decode(raw, name="notes.txt")
    message = str(info.value)
    assert "notes.txt" in message and "choose a photo" in message and "JPEG" in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("pillow_accepts_truncated", [False, True])
def test_a_truncated_jpeg_is_reported_as_damaged(cat_jpeg, monkeypatch, pillow_accepts_truncated):
    # importing gluoncv.data sets ImageFile.LOAD_TRUNCATED_IMAGES = True for the whole process
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", pillow_accepts_truncated)
    with pytest.raises(images.NotAnImageError, match="truncated or damaged"):
        images.decode(cat_jpeg[: len(cat_jpeg) // 3], name="half.jpg")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is pillow_accepts_truncated  # the setting is restored


def test_too_many_pixels_is_refused(cat_jpeg, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # chelsea has 135,300 pixels
    with pytest.raises(images.NotAnImageError, match="too many pixels"):
        images.decode(cat_jpeg)


def test_bytes_or_a_path_are_required(tmp_path):
    with pytest.raises(TypeError, match="open\\(path, 'rb'\\)"):
        images.decode(12345)
    with pytest.raises(images.NotAnImageError, match="cannot read .*chelsea.jpg"):
        images.decode(tmp_path / "chelsea.jpg")  # no such file


# ----------------------------------------------------------------------------- classifying

def test_classify_bytes_is_predict_topk_on_the_decoded_photo(net, cat_jpeg):
    top = pretrained.classify_bytes(net, cat_jpeg)
    reference = pretrained.predict_topk(net, images.decode(cat_jpeg))
    assert [label for label, _ in top] == [label for label, _ in reference]
    np.testing.assert_allclose([p for _, p in top], [p for _, p in reference], rtol=1e-6)
    probs = [p for _, p in top]
    assert len(top) == 5 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert top[0][0] in CAT_CLASSES


def test_classify_bytes_of_a_lossless_png_equals_the_array(net):
    photo = data.load_photo("coffee")
    top = pretrained.classify_bytes(net, images.encode(photo, format="PNG"), k=3)
    assert top == pretrained.predict_topk(net, photo, k=3)
    assert top[0][0] in ("espresso", "cup")


def test_classify_bytes_refuses_text(net):
    with pytest.raises(images.NotAnImageError, match="not an image"):
        pretrained.classify_bytes(net, b"just words", name="words.txt")


def test_format_topk():
    text = pretrained.format_topk([("espresso", 0.95106), ("cup", 0.01499)])
    assert text == "1. espresso  0.951\n2. cup       0.015"
    assert pretrained.format_topk([("a", 0.5)], digits=2) == "1. a  0.50"


def test_topk_figure_shows_the_photo_and_one_bar_per_class():
    top = [("tiger cat", 0.39), ("Egyptian cat", 0.36), ("tabby", 0.17)]
    big = np.zeros((1200, 900, 3), np.uint8)  # drawn shrunk to DISPLAY_SIDE pixels
    fig = plot.topk_figure(big, top, title="cat")
    try:
        ax_img, ax_bar = fig.axes
        assert ax_img.get_title() == "cat"
        assert ax_img.images[0].get_array().shape[:2] == (plot.DISPLAY_SIDE, 300)
        assert [t.get_text() for t in ax_bar.get_yticklabels()] == [n for n, _ in top]
        assert [round(b.get_width(), 2) for b in ax_bar.patches] == [0.39, 0.36, 0.17]
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------- the widget

def test_an_upload_updates_result_message_and_clears_the_button(net, cat_jpeg):
    widget = widgets.upload_classifier(net)
    assert widget.result is None and widget.error is None and widget.picture.value == b""
    assert repr(widget) == "UploadClassifier(EfficientNetLite, k=5; no photo yet)"

    _browser_uploads(widget.upload, "chelsea.jpg", cat_jpeg)

    assert widget.result == pretrained.classify_bytes(net, cat_jpeg)
    assert widget.result[0][0] in CAT_CLASSES and widget.error is None
    assert widget.image.size == (451, 300)
    assert "chelsea.jpg (451x300): most likely" in widget.message.value
    assert widget.result[0][0] in widget.message.value
    assert widget.upload.value == ()  # freed, so the same file can be uploaded again
    picture = Image.open(io.BytesIO(widget.picture.value))  # the photo beside its bars
    assert picture.format == "PNG" and picture.size == (480, 192)
    assert widget.picture.layout.display is None  # shown
    assert repr(widget).endswith(f"latest: {widget.result[0][0]})")

    open_figures = plt.get_fignums()
    coffee = images.encode(data.load_photo("coffee"), format="PNG")
    _browser_uploads(widget.upload, "coffee.png", coffee, "image/png")
    assert widget.result[0][0] in ("espresso", "cup")
    assert len(widget.result) == 5
    assert plt.get_fignums() == open_figures  # each upload's figure is freed


def test_a_text_upload_gives_a_message_and_no_stale_result(net, cat_jpeg):
    widget = widgets.upload_classifier(net, k=3)
    widget.classify(cat_jpeg, "chelsea.jpg")
    assert len(widget.result) == 3

    _browser_uploads(widget.upload, "shopping list.txt", b"milk\neggs\n", "text/plain")

    assert widget.result is None and widget.image is None
    assert widget.picture.value == b"" and widget.picture.layout.display == "none"
    assert "shopping list.txt is not an image" in widget.error
    assert "shopping list.txt is not an image" in widget.message.value
    assert repr(widget).endswith("latest: not an image)")
    assert widget.classify(cat_jpeg, "again.jpg")[0][0] in CAT_CLASSES  # still usable


def test_message_is_html_escaped(net):
    widget = widgets.upload_classifier(net)
    widget.classify(b"<b>hi</b>", name="<script>.txt")
    assert "<script>" not in widget.message.value and "&lt;script&gt;" in widget.message.value


def test_the_widget_uses_the_given_preprocessing_and_k(net, cat_jpeg):
    calls = []

    def spy(image):
        calls.append(image.size)
        return pretrained.preprocess(image)

    widget = widgets.UploadClassifier(net, k=2, preprocess=spy)
    assert len(widget.classify(cat_jpeg, "chelsea.jpg")) == 2
    assert calls == [(451, 300)]
    with pytest.raises(ValueError, match="positive integer"):
        widgets.UploadClassifier(net, k=0)
