"""Draw a digit, and LeNet reads it (notebook 04): a canvas over one pure function.

- :func:`preprocess_digit` turns a drawing of any size into a 28x28 digit the way MNIST's
  digits were made: crop to the ink, fit it into a 20x20 box keeping its aspect ratio, paste the
  box into 28x28 so that its centre of mass sits at the centre, scale to [0, 1] with the
  strokes at 1. Without this a drawn digit does not look like the training data (too big, too
  thick, off-centre) and the net guesses.
- :func:`read_digit` runs a LeNet on it and returns a :class:`DigitReading`: the preprocessed
  image, the top-3 digits with probabilities and every layer's activations.
- :class:`DigitPad` (ipycanvas) is the thin view: a black square to draw on with the mouse or a
  finger, a Clear button, the prediction as text and the activations as a picture, updated when
  a stroke ends. :meth:`DigitPad.draw` draws strokes from code (the tests and the saved notebook
  use it).

The pad keeps its strokes in Python and rasterises them itself (:func:`render_strokes`), so
what the net reads does not depend on the browser sending the canvas back.
"""
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

__all__ = ["preprocess_digit", "read_digit", "render_strokes", "DigitReading", "DigitPad",
           "digit_pad", "CANVAS_SIZE", "LINE_WIDTH"]

#: side of the drawing square in screen pixels, and the pen's width: 280 / 22 draws strokes as
#: thick, relative to the digit, as MNIST's (about 2-3 pixels of 28)
CANVAS_SIZE = 280
LINE_WIDTH = 22
#: MNIST's layout: the ink fits a BOX x BOX square, centred by mass in SIZE x SIZE
SIZE, BOX = 28, 20
#: a pixel brighter than this (on a 0-1 scale) is ink
INK = 0.05


def _gray01(pixels):
    """Any drawing as a float64 (H, W) array in [0, 1], ink bright on a dark background.

    Accepts (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) arrays (RGBA from a canvas: transparent
    counts as background); integers are scaled by 255, floats must already be in [0, 1]. A
    drawing whose border is mostly light (dark ink on white paper) is inverted.
    """
    a = np.asarray(pixels)
    if a.dtype == bool:
        a = a.astype(np.float64)
    elif a.dtype.kind in "iu":
        if a.min() < 0 or a.max() > 255:
            raise ValueError(f"integer pixels must be 0-255, got values from {a.min()} to {a.max()}")
        a = a / 255.0
    elif a.dtype.kind == "f":
        a = a.astype(np.float64)
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise ValueError("float pixels must be in [0, 1] (got values from "
                             f"{np.nanmin(a):.3g} to {np.nanmax(a):.3g}); divide 0-255 values by 255")
    else:
        raise ValueError(f"pixels must be a numeric array, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        alpha = a[..., 3] if a.shape[2] == 4 else 1.0
        rgb = a[..., :3]
        gray = rgb[..., 0] if rgb.shape[2] == 1 else rgb @ np.array([0.2125, 0.7154, 0.0721])
        a = gray * alpha
    if a.ndim != 2 or min(a.shape) < 1:
        raise ValueError("expected a drawing of shape (H, W), (H, W, 3) or (H, W, 4) (RGBA, as a "
                         f"canvas gives); got shape {np.shape(pixels)}")
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    if min(a.shape) > 2 and np.median(border) > 0.5:  # dark ink on light paper: flip it
        a = 1.0 - a
    return a


def has_ink(pixels):
    """True when the drawing has at least one pixel of ink (see :data:`INK`)."""
    return bool((_gray01(pixels) > INK).any())


def preprocess_digit(pixels):
    """A drawing of any size -> a 28x28 digit laid out like MNIST's.

    Parameters
    ----------
    pixels : array (H, W), (H, W, 3) or (H, W, 4)
        The drawing: uint8 0-255 or float in [0, 1], ink bright on a dark background (dark ink on
        a light background is inverted first). RGBA canvas data is fine.

    Returns
    -------
    digit : (28, 28) float32 in [0, 1]
        The ink cropped, fitted into 20x20 keeping its aspect ratio, pasted so that its centre of
        mass is at pixel (14, 14), brightest pixel 1 (as ``data.to_arrays`` scales MNIST).

    Raises
    ------
    ValueError
        If the drawing has no ink (nothing to read), or the array is not an image.
    """
    from PIL import Image

    gray = _gray01(pixels)
    ink = gray > INK
    if not ink.any():
        raise ValueError(f"the drawing is empty (no pixel brighter than {INK} on a 0-1 scale): "
                         "draw a digit first, in a light colour on a dark background")
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = gray[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    # anti-aliased resampling in float ("F" mode), like MNIST's own; Lanczos may overshoot a bit
    box = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F")
                     .resize((new_w, new_h), Image.LANCZOS), dtype=np.float64)
    box = np.clip(box, 0.0, None)
    if box.max() <= 0:  # a speck that resampling erased: keep it as one bright pixel
        box = np.ones((1, 1))
    ys, xs = np.mgrid[:new_h, :new_w]
    mass = box.sum()
    cy, cx = (box * ys).sum() / mass, (box * xs).sum() / mass
    # put the centre of mass on (14, 14), keeping the whole box inside the 28x28 field
    top = int(np.clip(round(SIZE / 2 - cy), 0, SIZE - new_h))
    left = int(np.clip(round(SIZE / 2 - cx), 0, SIZE - new_w))
    digit = np.zeros((SIZE, SIZE))
    digit[top:top + new_h, left:left + new_w] = box
    return (digit / digit.max()).astype(np.float32)


@dataclass
class DigitReading:
    """What :func:`read_digit` saw and answered.

    Attributes
    ----------
    image : (28, 28) float32
        The preprocessed digit the net read.
    probabilities : (10,) float32
        Softmax of the net's output.
    top : list of (digit, probability)
        The three most probable digits, most probable first.
    activations : OrderedDict of name -> array
        Each layer's output for this digit, in order: ``'conv1' (6, 28, 28)``, ``'pool1'
        (6, 14, 14)``, ``'conv2' (16, 10, 10)``, ``'pool2' (16, 5, 5)``, ``'dense1' (120,)``,
        ``'dense2' (84,)``, ``'output' (10,)`` (logits) for :class:`course_utils.models.LeNet`.
    """

    image: np.ndarray
    probabilities: np.ndarray
    top: list
    activations: "OrderedDict[str, np.ndarray]" = field(default_factory=OrderedDict)

    @property
    def digit(self):
        """The most probable digit."""
        return self.top[0][0]

    def text(self):
        """The answer as one line, e.g. ``'LeNet reads 7 (98.1%); then 1 (1.2%), 9 (0.3%)'``."""
        (d, p), rest = self.top[0], self.top[1:]
        others = ", ".join(f"{d2} ({p2:.1%})" for d2, p2 in rest)
        return f"LeNet reads {d} ({p:.1%}); then {others}"

    def __repr__(self):
        top = ", ".join(f"{d}: {p:.3f}" for d, p in self.top)
        return f"DigitReading(top-3 {top}; layers {list(self.activations)})"


def _layer_name(layer, counts):
    kind = type(layer).__name__
    short = "conv" if kind.startswith("Conv") else "pool" if "Pool" in kind else \
        "dense" if kind == "Dense" else kind.lower()
    counts[short] = counts.get(short, 0) + 1
    return f"{short}{counts[short]}"


def _context(net):
    params = list(net.collect_params().values())
    if not params or params[0]._data is None:
        raise ValueError("the net has no trained parameters yet: train it (train.fit) or "
                         "initialise it before reading a digit")
    return params[0].list_ctx()[0]


def read_digit(net, pixels, top_k=3):
    """Preprocess a drawing like MNIST, run ``net`` on it, keep every layer's activations.

    Parameters
    ----------
    net : gluon.Block with ``.features`` (a sequence of layers) and ``.output``
        A trained :class:`course_utils.models.LeNet` (hybridized or not), 10 classes.
    pixels : array, see :func:`preprocess_digit`
    top_k : int

    Returns
    -------
    DigitReading
    """
    import mxnet as mx

    if not (hasattr(net, "features") and hasattr(net, "output")):
        raise ValueError(f"read_digit needs a net with .features and .output, such as "
                         f"models.LeNet; got {type(net).__name__}")
    image = preprocess_digit(pixels)
    x = mx.nd.array(image[None, None], ctx=_context(net))  # (1, 1, 28, 28)
    activations, counts = OrderedDict(), {}
    for layer in list(net.features) + [net.output]:
        x = layer(x)
        name = "output" if layer is net.output else _layer_name(layer, counts)
        activations[name] = x[0].asnumpy()
    logits = activations["output"]
    probabilities = np.exp(logits - logits.max())
    probabilities = (probabilities / probabilities.sum()).astype(np.float32)
    order = np.argsort(-probabilities, kind="stable")[:top_k]
    top = [(int(d), float(probabilities[d])) for d in order]
    return DigitReading(image, probabilities, top, activations)


def render_strokes(strokes, size=CANVAS_SIZE, line_width=LINE_WIDTH):
    """Rasterise pen strokes as the canvas shows them: white round-ended lines on black.

    Parameters
    ----------
    strokes : list of lists of (x, y)
        Each stroke is the points the pen passed through, in canvas pixels.
    size : int
        The canvas's width and height.

    Returns
    -------
    (size, size) uint8
    """
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    r = line_width / 2
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=255, width=line_width, joint="curve")
        for x, y in points:  # round caps and joins, as the canvas's line_cap = 'round'
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(image)


class DigitPad:
    """Draw a digit with the mouse (or a finger); LeNet answers when each stroke ends.

    Display it as the last line of a cell (or with ``display(pad.widget)``).

    Attributes
    ----------
    canvas : ipycanvas.Canvas
    clear_button : ipywidgets.Button
    prediction : ipywidgets.HTML
        The answer as text (``DigitReading.text()``), or what to do when the pad is empty.
    picture : ipywidgets.Image
        The preprocessed digit and each layer's activations (``plot.digit_reading``).
    strokes : list of lists of (x, y)
    reading : DigitReading or None
        The latest answer (None while the pad is empty).
    """

    EMPTY = "Draw a digit (0-9) in the black square; LeNet answers when you lift the pen."

    def __init__(self, net, size=CANVAS_SIZE, line_width=LINE_WIDTH):
        import ipywidgets as widgets
        from ipycanvas import Canvas

        _context(net)  # fail now, not on the first stroke, if the net is not trained
        self.net, self.size, self.line_width = net, size, line_width
        self.strokes, self.reading, self._pen = [], None, None
        self.canvas = Canvas(width=size, height=size,
                             layout=widgets.Layout(width=f"{size}px", height=f"{size}px"))
        self.canvas.stroke_style = "white"
        self.canvas.fill_style = "white"
        self.canvas.line_width = line_width
        self.canvas.line_cap = "round"
        self.canvas.line_join = "round"
        self.clear_button = widgets.Button(description="Clear", icon="eraser")
        self.prediction = widgets.HTML(self.EMPTY)
        # hidden while empty (an empty image shows as a broken picture)
        self.picture = widgets.Image(format="png", layout=widgets.Layout(max_width="560px",
                                                                          display="none"))
        self._blank()
        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._up)
        self.canvas.on_mouse_out(self._up)
        self.canvas.on_touch_start(lambda touches: self._down(*touches[0]))
        self.canvas.on_touch_move(lambda touches: self._move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self._up())
        self.canvas.on_touch_cancel(lambda touches: self._up())
        self.canvas.on_client_ready(self._replay)  # a reopened page gets the strokes again
        self.clear_button.on_click(lambda _: self.clear())
        self.widget = widgets.HBox([
            widgets.VBox([self.canvas, self.clear_button]),
            widgets.VBox([self.prediction, self.picture])])

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def __repr__(self):
        return f"DigitPad({len(self.strokes)} strokes; {self.reading!r})"

    # ------------------------------------------------------------------ the pen

    def _blank(self):
        self.canvas.fill_style = "black"
        self.canvas.fill_rect(0, 0, self.size, self.size)
        self.canvas.fill_style = "white"

    def _down(self, x, y):
        self._pen = [(x, y)]
        self.strokes.append(self._pen)
        r = self.line_width / 2
        self.canvas.fill_circle(x, y, r)

    def _move(self, x, y):
        if self._pen is None:
            return
        x0, y0 = self._pen[-1]
        self._pen.append((x, y))
        self.canvas.stroke_line(x0, y0, x, y)

    def _up(self, *_):
        if self._pen is None:
            return
        self._pen = None
        self.update()

    def _replay(self):
        from ipycanvas import hold_canvas

        with hold_canvas():
            self._blank()
            for stroke in self.strokes:
                self.canvas.fill_circle(*stroke[0], self.line_width / 2)
                if len(stroke) > 1:
                    self.canvas.stroke_lines(stroke)

    # ------------------------------------------------------------------ what code calls

    def draw(self, strokes):
        """Draw strokes (lists of (x, y) canvas points) as if by hand; returns the reading."""
        for stroke in strokes:
            stroke = [(float(x), float(y)) for x, y in stroke]
            if not stroke:
                continue
            self._down(*stroke[0])
            for point in stroke[1:]:
                self._move(*point)
            self._pen = None
        return self.update()

    def clear(self):
        """Wipe the drawing and the answer."""
        self.strokes, self.reading, self._pen = [], None, None
        self._blank()
        self.prediction.value = self.EMPTY
        self.picture.layout.display = "none"
        self.picture.value = b""

    def pixels(self):
        """The drawing as the net's input starts: (size, size) uint8, white ink on black."""
        return render_strokes(self.strokes, self.size, self.line_width)

    def update(self):
        """Read the drawing again; store the :class:`DigitReading` in ``.reading``, show it."""
        import course_utils.widgets._draw as _draw  # the playgrounds' one drawing path
        from course_utils import plot

        pixels = self.pixels()
        if not has_ink(pixels):
            self.clear()
            return None
        self.reading = read_digit(self.net, pixels)
        self.prediction.value = f"<b>{self.reading.text()}</b>"
        _draw.show(self.picture, plot.digit_reading(self.reading, show=False))
        self.picture.layout.display = ""
        return self.reading


def digit_pad(net, size=CANVAS_SIZE, line_width=LINE_WIDTH):
    """A :class:`DigitPad` for a trained LeNet: draw, and watch it read."""
    return DigitPad(net, size=size, line_width=line_width)
