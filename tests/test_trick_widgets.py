"""course_utils.widgets.tricks: each widget shows its pure function, and moving a control updates
``.result`` with that function's answer."""
import course_utils  # noqa: F401  (first, as in every test module)
import matplotlib

matplotlib.use("Agg")  # no window; must come before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import data, tricks, widgets  # noqa: E402


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    assert plt.get_fignums() == [], "a widget left a matplotlib figure open"


@pytest.fixture(scope="module")
def garments():
    """Four real Fashion-MNIST images (N, 28, 28, 1) uint8 and their labels (N,)."""
    ds = data.load_bundled("fashion-mnist", train=False)
    return ds.images[:4], ds.labels[:4]


# ----------------------------------------------------------------------------- schedule

def test_schedule_preview_is_lr_curve_in_epochs():
    lrs = tricks.schedule_preview("cosine", 12, warmup_epochs=2, iters_per_epoch=5,
                                         base_lr=0.4)
    np.testing.assert_array_equal(lrs, tricks.lr_curve("cosine", 60, 0.4, warmup_iters=10))
    assert lrs[0] == 0 and lrs[9] == pytest.approx(0.4) and lrs[-1] == pytest.approx(0)


def test_schedule_preview_steps_at_half_and_three_quarters():
    lrs = tricks.schedule_preview("step", 8, iters_per_epoch=2, base_lr=1.0)
    np.testing.assert_allclose(lrs, [1.0] * 8 + [0.1] * 4 + [0.01] * 4)


@pytest.mark.parametrize("kwargs", [dict(iters_per_epoch=1), dict(num_epochs=0),
                                    dict(warmup_epochs=10)])
def test_schedule_preview_rejects_bad_settings(kwargs):
    args = dict(mode="poly", num_epochs=10, warmup_epochs=2, iters_per_epoch=4)
    args.update(kwargs)
    with pytest.raises(ValueError):
        tricks.schedule_preview(**args)


def test_schedule_explorer_follows_its_controls():
    w = widgets.schedule_explorer("cosine", num_epochs=10, warmup_epochs=2, iters_per_epoch=4)
    np.testing.assert_array_equal(w.result, tricks.schedule_preview("cosine", 10, 2, 2.0, 4))
    w.mode.value = "poly"
    w.power.value = 3.0
    np.testing.assert_array_equal(w.result, tricks.schedule_preview("poly", 10, 2, 3.0, 4))
    w.warmup_epochs.value = 0
    assert w.result[0] == pytest.approx(0.1)  # no warm-up: starts at base_lr
    before = bytes(w.picture.value)
    w.num_epochs.value = 20
    assert w.result.shape == (80,)
    png = bytes(w.picture.value)
    assert png[:4] == b"\x89PNG" and png != before  # redrawn
    assert "80 iterations" in w.message.value
    assert repr(w) == "ScheduleExplorer(mode='poly', num_epochs=20, warmup_epochs=0, power=3.0)"


def test_schedule_explorer_reports_invalid_settings_and_recovers():
    w = widgets.schedule_explorer("cosine", num_epochs=10, warmup_epochs=2)
    w.warmup_epochs.value = 10  # nothing left after the warm-up
    assert w.result is None
    assert "at least 2 iterations" in w.message.value
    w.warmup_epochs.value = 3
    assert w.result is not None and len(w.result) == 100


# ----------------------------------------------------------------------------- mix-up

def test_mixup_explorer_shows_tricks_mixup(garments):
    images, labels = garments
    w = widgets.mixup_explorer(images, labels, 10, data.FASHION_MNIST_CLASSES, lam=0.7)
    X = images[..., 0].astype(np.float32) / 255
    expected_X, expected_Y = tricks.mixup(X, tricks.one_hot(labels, 10), 0.7)
    np.testing.assert_allclose(w.result[0], expected_X, rtol=1e-6)
    np.testing.assert_allclose(w.result[1], expected_Y, rtol=1e-6)
    assert w.result[0].shape == (4, 28, 28) and w.result[1].shape == (4, 10)
    np.testing.assert_allclose(w.result[1].sum(axis=1), 1, rtol=1e-6)


def test_mixup_explorer_follows_the_slider(garments):
    images, labels = garments
    w = widgets.mixup_explorer(mx.nd.array(images.transpose(0, 3, 1, 2)) / 255, labels, 10)
    w.lam.value = 1.0  # lambda = 1 keeps every image as it is
    np.testing.assert_allclose(w.result[0], images[..., 0] / 255, rtol=1e-6)
    before = bytes(w.picture.value)
    w.lam.value = 0.5  # image i and image N-1-i become the same picture
    png = bytes(w.picture.value)
    assert png[:4] == b"\x89PNG" and png != before  # redrawn
    np.testing.assert_allclose(w.result[0], w.result[0][::-1], rtol=1e-6)
    first = w.result[1][0]
    assert first[labels[0]] + first[labels[-1]] == pytest.approx(1.0)
    assert repr(w) == "MixupExplorer(4 images, lam=0.5)"


def test_mixup_explorer_titles_name_both_classes():
    w = widgets.mixup_explorer(np.zeros((2, 4, 4)), np.array([1, 3]), 4,
                                     ["a", "b", "c", "d"], lam=0.75)
    assert w._title(w.result[1][0]) == "0.75 b\n+ 0.25 d"


def test_mixup_explorer_rejects_bad_inputs(garments):
    images, labels = garments
    with pytest.raises(ValueError, match="one per image"):
        widgets.mixup_explorer(images, labels[:3], 10)
    with pytest.raises(ValueError, match="gray images"):
        widgets.mixup_explorer(np.zeros((4, 3, 8, 8)), labels, 10)
    with pytest.raises(ValueError, match="name all 10"):
        widgets.mixup_explorer(images, labels, 10, classes=["a", "b"])
    with pytest.raises(ValueError):
        widgets.mixup_explorer(images, labels, 3)  # labels up to 9 do not fit 3 classes


# ----------------------------------------------------------------------------- temperature

def test_temperature_explorer_shows_soft_targets():
    logits = np.array([4.0, 1.0, 0.5, -2.0])
    w = widgets.temperature_explorer(logits, temperature=1.0)
    np.testing.assert_allclose(w.result, np.exp(logits) / np.exp(logits).sum(), rtol=1e-12)
    before = bytes(w.picture.value)
    w.temperature.value = 5.0
    np.testing.assert_allclose(w.result, tricks.soft_targets(logits, 5.0), rtol=1e-12)
    png = bytes(w.picture.value)
    assert png[:4] == b"\x89PNG" and png != before  # redrawn
    assert "T = 5" in w.message.value
    assert repr(w) == "TemperatureExplorer(4 classes, temperature=5.0)"


def test_higher_temperature_is_flatter_but_keeps_the_ranking():
    logits = mx.nd.array([[3.0, 2.0, 0.0, -1.0, 1.0]])
    w = widgets.temperature_explorer(logits)
    entropies, tops = [], []
    for T in (0.5, 1.0, 4.0, 20.0):
        w.temperature.value = T
        p = w.result
        entropies.append(-(p * np.log(p)).sum())
        tops.append(p.max())
        np.testing.assert_array_equal(np.argsort(p), np.argsort(logits.asnumpy()[0]))
    assert entropies == sorted(entropies) and tops == sorted(tops, reverse=True)
    assert entropies[-1] > 0.98 * np.log(5)  # T = 20: close to uniform


def test_temperature_explorer_rejects_a_batch():
    with pytest.raises(ValueError, match="one sample"):
        widgets.temperature_explorer(np.zeros((3, 10)))
