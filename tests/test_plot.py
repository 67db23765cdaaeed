"""course_utils.plot: what each figure contains, and LiveCurve's live and quiet modes."""
import course_utils  # noqa: F401  (first, as in every test module)
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import data, plot  # noqa: E402
from course_utils.train import History  # noqa: E402


def history(n, offset=0.0):
    h = History()
    for e in range(1, n + 1):
        h.append(epoch=e, train_loss=1.0 / e + offset, train_acc=0.5 + 0.04 * e,
                 test_acc=0.45 + 0.04 * e, images_per_sec=1000.0, seconds=0.1)
    return h


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_images_one_axis_per_image_with_titles():
    test_set = data.load_mnist(train=False)
    images = [test_set.images[i] for i in range(5)]
    fig = plot.show_images(images, titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6  # a 2 x 3 grid, the last cell empty
    assert [len(ax.images) for ax in fig.axes] == [1, 1, 1, 1, 1, 0]
    assert [ax.get_title() for ax in fig.axes[:5]] == list("abcde")
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), test_set.images[0, :, :, 0])
    with pytest.raises(ValueError, match="one title per image"):
        plot.show_images(images, titles=["a"])


def test_plot_history_one_panel_per_metric_one_line_per_run():
    fig = plot.plot_history({"a": history(4), "b": history(4, 0.1)}, metrics=("train_loss", "test_acc"))
    assert [ax.get_title() for ax in fig.axes] == ["train loss", "test acc"]
    assert all(len(ax.lines) == 2 and ax.get_xlabel() == "epoch" for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), history(4, 0.1)["train_loss"])


def test_bar_chart_and_confusion_matrix():
    fig = plot.bar_chart(["x", "y", "z"], [3, 1, 2], title="t")
    assert len(fig.axes[0].patches) == 3 and fig.axes[0].get_title() == "t"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["x", "y", "z"]
    fig = plot.confusion_matrix_figure(np.array([[3, 0], [1, 2]]), ["cat", "dog"])
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["1", "2", "3"]  # zeros are left blank


def test_live_curve_quiet_draws_only_the_final_figure(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append((a, k)))
    curve = plot.LiveCurve(5, live=False)
    h = History()
    for e, record in enumerate(history(5).records, start=1):
        h.append(**record)
        curve(h)
        assert curve.draws == (1 if e == 5 else 0)
    assert len(shown) == 1 and shown[0][0][0] is curve.figure
    loss_ax, acc_ax = curve.figure.axes
    assert (loss_ax.get_title(), acc_ax.get_title()) == ("loss", "accuracy")
    assert [l.get_label() for l in acc_ax.lines] == ["train acc", "test acc"]
    assert len(loss_ax.lines[0].get_xdata()) == 5 and loss_ax.get_xlim() == (0.5, 5.5)


def test_live_curve_live_redraws_one_display_in_place(monkeypatch):
    calls = []

    class Handle:
        def update(self, fig):
            calls.append(("update", fig))

    def display(fig, display_id=False):
        calls.append(("display", fig))
        return Handle() if display_id else None

    monkeypatch.setattr("IPython.display.display", display)
    curve = plot.LiveCurve(3, metrics=("train_loss", "test_acc"), live=True)
    h = History()
    for record in history(3).records:
        h.append(**record)
        curve(h)
        assert len(curve.figure.axes[0].lines[0].get_xdata()) == len(h)  # drawn up to now
    assert [kind for kind, _ in calls] == ["display", "update", "update"]
    assert curve.draws == 3
    assert len(set(id(fig) for _, fig in calls)) == 3  # a fresh drawing each epoch, one place


def test_live_curve_follows_course_quiet(monkeypatch):
    monkeypatch.setenv("COURSE_QUIET", "1")
    assert not plot.LiveCurve(2).live
    monkeypatch.setenv("COURSE_QUIET", "0")
    assert plot.LiveCurve(2).live
    for bad in (0, 2.5, None, True):
        with pytest.raises(ValueError, match="number of epochs"):
            plot.LiveCurve(bad)


def test_importing_plot_keeps_the_figure_size():
    # notebooks' saved '<Figure size 400x240 ...>' reprs depend on these
    assert plt.rcParams["figure.dpi"] == plot.DPI == 80
    fig = plt.figure(figsize=(5, 3))
    assert repr(fig).startswith("<Figure size 400x240")
