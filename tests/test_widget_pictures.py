"""One drawing path: every widget shows its picture as PNG bytes in an ``ipywidgets.Image``,
drawn by ``course_utils.widgets._draw.show``, and no widget module draws through ``Output``."""
import course_utils  # noqa: F401  (first, as in every test module)
import matplotlib

matplotlib.use("Agg")  # no window; must come before pyplot is imported

import ast  # noqa: E402
import io  # noqa: E402
from pathlib import Path  # noqa: E402

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from course_utils import data, images, pretrained, widgets  # noqa: E402
from course_utils.widgets import _draw  # noqa: E402

PACKAGE = Path(course_utils.__file__).parent
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def net():
    return pretrained.efficientnet_lite0()


def _kernel(photo, net):
    return widgets.kernel_explorer(photo), lambda w: setattr(w.preset, "value", "box_blur")


def _pooling(photo, net):
    return widgets.pooling_explorer(photo), lambda w: setattr(w.mode, "value", "avg")


def _walk(photo, net):
    return widgets.pooling_walk(photo[:8, :8], size=2), lambda w: setattr(w.slider, "value", 5)


def _schedule(photo, net):
    return widgets.schedule_explorer("cosine", num_epochs=10), lambda w: setattr(w.mode, "value",
                                                                                  "step")


def _mixup(photo, net):
    batch = np.stack([photo, photo[::-1], photo[:, ::-1]])
    return widgets.mixup_explorer(batch, np.array([0, 1, 2]), 3), lambda w: setattr(w.lam, "value",
                                                                                     0.3)


def _temperature(photo, net):
    return (widgets.temperature_explorer(np.array([3.0, 1.0, 0.0, -1.0])),
            lambda w: setattr(w.temperature, "value", 8.0))


def _upload(photo, net):
    w = widgets.upload_classifier(net, k=3)
    w.classify(images.encode(data.load_photo("chelsea")), "chelsea.jpg")
    coffee = images.encode(data.load_photo("coffee"), format="PNG")
    return w, lambda w: w.classify(coffee, "coffee.png")


WIDGETS = [_kernel, _pooling, _walk, _schedule, _mixup, _temperature, _upload]


@pytest.fixture(scope="module")
def photo():
    """A real gray photo, small: (64, 64) float64 in [0, 1]."""
    return data.load_photo("camera")[::8, ::8, 0] / 255.0


@pytest.mark.parametrize("make", WIDGETS, ids=lambda make: make.__name__.strip("_"))
def test_every_widget_shows_png_bytes_in_an_image_and_redraws_them(make, photo, net):
    widget, move_a_control = make(photo, net)
    assert isinstance(widget.picture, ipywidgets.Image) and widget.picture.format == "png"
    assert widget.picture in widget.children  # drawn inside the widget, not beside it
    before = bytes(widget.picture.value)
    assert before.startswith(PNG)
    assert Image.open(io.BytesIO(before)).format == "PNG"
    move_a_control(widget)
    after = bytes(widget.picture.value)
    assert after.startswith(PNG) and after != before  # the picture follows the control
    assert not any(isinstance(child, ipywidgets.Output) for child in widget.children)
    assert plt.get_fignums() == [], "a redraw left its matplotlib figure open"


def test_the_convolution_pictures_keep_their_size(photo):
    # the same 6 x 3 inch figure at 80 dpi as when they were drawn through an Output area
    for widget in (widgets.kernel_explorer(photo), widgets.pooling_explorer(photo),
                   widgets.pooling_walk(photo[:8, :8])):
        assert Image.open(io.BytesIO(widget.picture.value)).size == (480, 240)
    assert plt.get_fignums() == []


def test_show_puts_png_bytes_in_the_image_and_closes_the_figure():
    picture = _draw.picture(display="none")
    fig, ax = _draw.figure(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    _draw.show(picture, fig)
    assert Image.open(io.BytesIO(picture.value)).size == (2 * _draw.DPI, 1 * _draw.DPI)
    assert picture.layout.display == "none"
    assert not plt.fignum_exists(fig.number)


def test_show_closes_the_figure_even_when_drawing_fails():
    picture = _draw.picture()
    fig, ax = _draw.figure()
    ax.text(0, 0, "$\\unknowncommand$")  # mathtext cannot parse it: savefig raises
    with pytest.raises(ValueError):
        _draw.show(picture, fig)
    assert not plt.fignum_exists(fig.number) and picture.value == b""


def _widget_modules():
    """The package's modules that build ipywidgets (course_utils/widgets/ and draw.py)."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "ipywidgets" in p.read_text())


@pytest.mark.parametrize("module", _widget_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_widget_module_draws_through_output_or_its_own_savefig(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "Output" not in names and "clear_output" not in names, module
    if module.name != "_draw.py":
        assert "savefig" not in names, f"{module} draws itself; use course_utils.widgets._draw.show"


def test_the_widget_modules_are_the_expected_ones():
    # guards the test above: it must see every playground, and draw.py's pad
    found = {str(p.relative_to(PACKAGE)) for p in _widget_modules()}
    assert found == {"widgets/__init__.py", "widgets/_draw.py", "widgets/convolution.py",
                     "widgets/tricks.py", "widgets/pretrained.py", "draw.py"}, found
