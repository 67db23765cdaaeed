"""course_utils.draw: MNIST-style preprocessing of a drawing, LeNet reading it, the pad.

The main check is the issue's: real MNIST test digits, scaled up to the canvas size and moved
off-centre, come back through ``read_digit`` with their labels (a LeNet trained here).
"""
import course_utils  # noqa: F401  (first, as in every test module)
import matplotlib

matplotlib.use("Agg")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from course_utils import config, data, draw, models, plot, train  # noqa: E402


@pytest.fixture(scope="module")
def mnist():
    return data.load_mnist(train=True), data.load_mnist(train=False)


@pytest.fixture(scope="module")
def lenet(mnist):
    """A ReLU/max LeNet trained on the 4,000 bundled training digits (about 0.97 on the test)."""
    train_set, test_set = mnist
    config.set_seed(0)
    train_iter, test_iter = data.loaders(train_set, test_set, batch_size=64)
    net = models.LeNet(activation="relu", pooling="max")
    net.hybridize()
    history = train.fit(net, train_iter, test_iter, num_epochs=6, optimizer="adam", lr=2e-3,
                        ctx=mx.cpu(), progress=False)
    assert history.last("test_acc") > 0.95, history
    return net


def on_canvas(digit, offset, rgba=False, size=draw.CANVAS_SIZE, scale=8):
    """A 28x28 uint8 digit scaled up ``scale`` times and pasted at ``offset`` on a black canvas."""
    big = np.asarray(Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.BILINEAR))
    canvas = np.zeros((size, size), np.uint8)
    top, left = offset
    canvas[top:top + big.shape[0], left:left + big.shape[1]] = big
    if rgba:  # as a browser canvas gives it: white strokes, opaque
        canvas = np.dstack([canvas, canvas, canvas, np.full_like(canvas, 255)])
    return canvas


def test_test_digits_scaled_up_and_moved_come_back_with_their_labels(lenet, mnist):
    _, test_set = mnist
    rng = np.random.default_rng(0)
    margin = draw.CANVAS_SIZE - 28 * 8  # 56 pixels of room around the scaled-up digit
    # the check: one test digit of each class, at least 9 of 10 recovered
    first = [int(np.flatnonzero(test_set.labels == c)[0]) for c in range(10)]
    # and beyond it: 20 per class, with the accuracy the net has on the untouched digits
    many = [int(i) for c in range(10) for i in np.flatnonzero(test_set.labels == c)[:20]]
    recovered = {}
    for name, indices in (("first", first), ("many", many)):
        hits = 0
        for k, i in enumerate(indices):
            offset = tuple(rng.integers(0, margin, size=2))
            reading = draw.read_digit(lenet, on_canvas(test_set.images[i, :, :, 0], offset,
                                                       rgba=k % 2 == 1))
            hits += reading.digit == test_set.labels[i]
        recovered[name] = hits / len(indices)
    X, y = data.to_arrays(test_set)
    plain = float((lenet(X[many]).argmax(axis=1) == y[many]).mean().asscalar())
    assert recovered["first"] >= 0.9, recovered
    assert recovered["many"] >= plain - 0.03, (recovered, plain)  # preprocessing costs little


def test_preprocessing_undoes_the_scaling_and_the_move(mnist):
    _, test_set = mnist
    for i in range(0, 1000, 10):
        digit = test_set.images[i, :, :, 0]
        back = draw.preprocess_digit(on_canvas(digit, (50, 7)))
        assert back.shape == (28, 28) and back.dtype == np.float32
        assert back.max() == 1.0 and back.min() >= 0
        # MNIST's own centring rounds too: the same picture, give or take one pixel
        r = max(np.corrcoef(np.roll(back, (dy, dx), axis=(0, 1)).ravel(), digit.ravel())[0, 1]
                for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        assert r > 0.9, (i, r)


def test_ink_fits_20x20_keeping_the_aspect_ratio_centred_by_mass():
    tall = np.zeros((300, 200), np.uint8)
    tall[20:220, 150:170] = 255  # a 200 x 20 bar, far from the centre
    out = draw.preprocess_digit(tall)
    rows, cols = np.flatnonzero(out.max(axis=1) > 0.5), np.flatnonzero(out.max(axis=0) > 0.5)
    assert len(rows) == 20 and len(cols) == 2
    ys, xs = np.mgrid[:28, :28]
    cy, cx = (out * ys).sum() / out.sum(), (out * xs).sum() / out.sum()
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5

    wedge = np.zeros((100, 100))  # lopsided ink: mass, not the box, goes to the centre
    wedge[10:90, 10:90] = np.tril(np.ones((80, 80)))
    out = draw.preprocess_digit(wedge)
    cy, cx = (out * ys).sum() / out.sum(), (out * xs).sum() / out.sum()
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_formats_agree_dark_on_light_is_inverted(mnist):
    _, test_set = mnist
    canvas = on_canvas(test_set.images[3, :, :, 0], (20, 30))
    expected = draw.preprocess_digit(canvas)
    rgba = np.dstack([canvas] * 3 + [np.full_like(canvas, 255)])
    np.testing.assert_allclose(draw.preprocess_digit(rgba), expected, atol=1e-3)
    np.testing.assert_allclose(draw.preprocess_digit(canvas / 255.0), expected, atol=1e-5)
    np.testing.assert_allclose(draw.preprocess_digit(255 - canvas), expected, atol=1e-5)
    transparent = np.dstack([np.full_like(canvas, 255)] * 3 + [canvas])  # white ink by alpha
    np.testing.assert_allclose(draw.preprocess_digit(transparent), expected, atol=1e-3)


def test_bad_drawings_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="empty"):
        draw.preprocess_digit(np.zeros((280, 280), np.uint8))
    with pytest.raises(ValueError, match="divide 0-255 values by 255"):
        draw.preprocess_digit(np.full((28, 28), 200.0))
    with pytest.raises(ValueError, match="shape"):
        draw.preprocess_digit(np.zeros((2, 28, 28, 3), np.uint8))
    assert not draw.has_ink(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="trained parameters"):
        draw.read_digit(models.LeNet(), np.eye(28))
    with pytest.raises(ValueError, match=".features and .output"):
        draw.read_digit(mx.gluon.nn.Dense(10), np.eye(28))


def test_reading_has_every_layer_and_a_top3(lenet, mnist):
    _, test_set = mnist
    reading = draw.read_digit(lenet, test_set.images[0, :, :, 0])
    shapes = {name: a.shape for name, a in reading.activations.items()}
    assert shapes == {"conv1": (6, 28, 28), "pool1": (6, 14, 14), "conv2": (16, 10, 10),
                      "pool2": (16, 5, 5), "dense1": (120,), "dense2": (84,), "output": (10,)}
    assert abs(reading.probabilities.sum() - 1) < 1e-5
    digits, probs = zip(*reading.top)
    assert len(digits) == 3 and len(set(digits)) == 3 and list(probs) == sorted(probs, reverse=True)
    assert probs[0] == reading.probabilities.max()
    assert reading.text().startswith(f"LeNet reads {reading.digit} (")
    X = mx.nd.array(reading.image[None, None])
    np.testing.assert_allclose(reading.activations["output"], lenet(X)[0].asnumpy(), rtol=1e-5, atol=1e-5)
    fig = plot.digit_reading(reading, show=False)
    images = sum(len(ax.images) for ax in fig.axes)
    assert images == 1 + 6 + 6 + 16 + 16  # input + every map of both conv and pool layers
    assert len(fig.axes) == images + 1 + 2  # + probabilities + the two dense layers


def test_render_strokes_draws_thick_round_lines():
    pixels = draw.render_strokes([[(40, 100), (240, 100)]], size=280, line_width=22)
    assert pixels.shape == (280, 280) and pixels.dtype == np.uint8
    column = np.flatnonzero(pixels[:, 140] > 127)
    assert 20 <= len(column) <= 24 and column.min() >= 88
    row = np.flatnonzero(pixels[100] > 127)
    assert row.min() in range(28, 31) and row.max() in range(250, 253)  # round caps: +11 px
    dot = draw.render_strokes([[(50, 50)]])
    assert dot[50, 50] == 255 and dot[50, 80] == 0


def test_pad_reads_strokes_drawn_from_code_and_clears(lenet):
    pad = draw.DigitPad(lenet)
    assert pad.reading is None and "Draw a digit" in pad.prediction.value
    one = pad.draw([[(140, 40), (140, 240)]])  # a vertical bar
    assert one.digit == 1 and pad.reading is one
    assert "LeNet reads 1" in pad.prediction.value
    assert pad.picture.value[:8] == b"\x89PNG\r\n\x1a\n"
    pad.clear()
    assert pad.strokes == [] and pad.reading is None and pad.picture.value == b""
    t = np.linspace(0, 2 * np.pi, 40)
    ring = list(zip(140 + 70 * np.sin(t), 140 + 100 * np.cos(t)))
    assert pad.draw([ring]).digit == 0
    # the mouse path: down, moves, up (what the canvas calls), then a second stroke adds to it
    pad.clear()
    pad._down(90, 60)
    for x in np.linspace(90, 200, 12):
        pad._move(x, 60)  # the top bar of a 7 ...
    for s in np.linspace(0, 1, 12)[1:]:
        pad._move(200 - 90 * s, 60 + 190 * s)  # ... and its stem
    assert pad.reading is None  # nothing read until the pen is lifted
    pad._up(110, 250)
    assert pad.reading.digit == 7, pad.reading
    assert len(pad.strokes) == 1 and len(pad.strokes[0]) == 24
