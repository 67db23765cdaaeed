"""course_utils.plot: what each figure contains, and LiveCurve's live and quiet modes."""
import course_utils  # noqa: F401  (first, as in every test module)
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import data, plot  # noqa: E402
from course_utils.train import History  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(course_utils.__file__)))


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


def test_importing_plot_leaves_matplotlib_settings_alone():
    # a fresh interpreter: rcParams after importing course_utils.plot == matplotlib's defaults
    code = ("import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt; "
            "before = dict(plt.rcParams); from course_utils import plot; "
            "changed = sorted(k for k, v in plt.rcParams.items() if before[k] != v); "
            "assert not changed, changed; print(plt.rcParams['figure.dpi'])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-1] == str(matplotlib.rcParamsDefault["figure.dpi"])


def test_figures_are_drawn_in_the_course_style_without_changing_the_global_one():
    before = dict(plt.rcParams)
    fig = plot.bar_chart(["x"], [1])
    assert fig.dpi == plot.DPI == 80 and fig.axes[0].xaxis.label.get_fontsize() == 9
    assert repr(fig).startswith("<Figure size 400x208")  # the notebooks' saved reprs
    assert dict(plt.rcParams) == before
    with plt.rc_context():
        plot.use_style()  # for figures a notebook draws itself
        assert repr(plt.figure(figsize=(5, 3))).startswith("<Figure size 400x240")
    assert plt.rcParams["figure.dpi"] == before["figure.dpi"]


def test_show_images_layout_and_bad_input():
    fig = plot.show_images([np.zeros((3, 4, 5)), np.ones((4, 5))], ncols=8)
    assert len(fig.axes) == 2  # ncols shrinks to the number of images
    assert fig.axes[0].images[0].get_array().shape == (4, 5, 3)  # (C, H, W) shown as (H, W, C)
    assert [ax.get_title() for ax in fig.axes] == ["", ""]
    with pytest.raises(ValueError, match="at least one image"):
        plot.show_images([])
    with pytest.raises(ValueError, match="ncols .* positive integer, got 0"):
        plot.show_images([np.zeros((2, 2))], ncols=0)
    fig = plot.show_images(iter([np.zeros((2, 2))] * 3), titles=(str(i) for i in range(3)))
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2"]  # generators are fine


def test_show_dataset_titles_are_class_names():
    test_set = data.load_fashion_mnist(train=False)
    fig = plot.show_dataset(test_set, n=10, ncols=4)
    assert len(fig.axes) == 12 and sum(len(ax.images) for ax in fig.axes) == 10
    expected = [test_set.classes[int(test_set[i][1])] for i in range(10)]
    assert [ax.get_title() for ax in fig.axes[:10]] == expected
    with pytest.raises(ValueError, match="n .* positive integer, got 0"):
        plot.show_dataset(test_set, n=0)


def test_plot_history_one_run_and_bad_metrics():
    fig = plot.plot_history(history(3), metrics=("train_loss", "train_acc", "test_acc"))
    assert len(fig.axes) == 3 and [len(ax.lines) for ax in fig.axes] == [1, 1, 1]
    assert all(ax.get_legend() is None for ax in fig.axes)  # one run: no legend
    np.testing.assert_allclose(fig.axes[2].lines[0].get_xdata(), [1, 2, 3])
    fig = plot.plot_history(history(3), metrics="test_acc")  # one name, not its letters
    assert [ax.get_title() for ax in fig.axes] == ["test acc"]
    no_test = History()
    no_test.append(epoch=1, train_loss=1.0, train_acc=0.5)
    fig = plot.plot_history({"with": history(1), "without": no_test})
    assert [len(ax.lines) for ax in fig.axes] == [2, 1]  # test_acc was not recorded
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["with", "without"]
    open_figures = len(plt.get_fignums())
    with pytest.raises(KeyError, match="unknown metric 'test_accuracy'.*'test_acc'"):
        plot.plot_history(history(2), metrics=("train_loss", "test_accuracy"))
    with pytest.raises(ValueError, match="at least one History"):
        plot.plot_history({})
    with pytest.raises(TypeError, match="train.History.*got a list"):
        plot.plot_history([0.5, 0.6])
    assert len(plt.get_fignums()) == open_figures  # no half-drawn figure left open


def test_bar_chart_vertical_and_mismatched_labels():
    fig = plot.bar_chart(["a", "b"], [0.2, 0.8], xlabel="probability", horizontal=False)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [0.2, 0.8] and ax.get_ylabel() == "probability"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="2 labels but 3 values"):
        plot.bar_chart(["a", "b"], [1, 2, 3])


def test_confusion_matrix_figure_axes_and_shape_check():
    fig = plot.confusion_matrix_figure(np.array([[3, 0], [1, 2]]), ["cat", "dog"])
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    np.testing.assert_array_equal(ax.images[0].get_array(), [[3, 0], [1, 2]])
    assert {(t.get_position(), t.get_text()) for t in ax.texts} == {((0, 0), "3"), ((0, 1), "1"),
                                                                   ((1, 1), "2")}
    with pytest.raises(ValueError, match=r"K = 3 classes; got shape \(2, 2\)"):
        plot.confusion_matrix_figure(np.eye(2), ["a", "b", "c"])


def test_digit_reading_rows_maps_and_bars():
    rng = np.random.default_rng(0)
    probabilities = np.full(10, 0.02)
    probabilities[7] = 0.82
    reading = SimpleNamespace(image=rng.random((28, 28)), probabilities=probabilities, digit=7,
                              activations={"conv1": rng.random((6, 28, 28)),
                                           "pool1": rng.random((20, 14, 14)),
                                           "dense1": rng.random(120), "output": probabilities})
    fig = plot.digit_reading(reading, show=False, max_maps=16)
    assert sum(len(ax.images) for ax in fig.axes) == 1 + 6 + 16  # pool1 cut to max_maps
    bars = fig.axes[1]
    assert bars.get_title() == "probabilities: 7" and len(bars.patches) == 10
    colors = [matplotlib.colors.to_hex(p.get_facecolor()) for p in bars.patches]
    assert colors.count(matplotlib.colors.to_hex("tab:orange")) == 1 and colors[7] != colors[0]
    assert fig.axes[-1].get_title(loc="left") == "dense1: 120 units" and len(fig.axes[-1].patches) == 120
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "conv1: 6 x 28x28" in titles and "pool1: 20 x 14x14" in titles
    with pytest.raises(ValueError, match="max_maps"):
        plot.digit_reading(reading, show=False, max_maps=0)


def test_live_curve_draw_has_one_point_per_epoch_so_far():
    curve = plot.LiveCurve(6, metrics=("train_loss", "test_acc"), title="run 1", live=False)
    fig = curve.draw(history(4))
    loss_ax, acc_ax = fig.axes
    assert [len(l.get_xdata()) for l in loss_ax.lines + acc_ax.lines] == [4, 4]
    assert loss_ax.get_xlim() == (0.5, 6.5) and fig._suptitle.get_text() == "run 1"
    assert fig.dpi == plot.DPI
    assert len(plot.LiveCurve(2, metrics=("test_acc",)).draw(history(1)).axes) == 1
    assert repr(curve) == "LiveCurve(6 epochs, quiet: final figure only, 0 drawn)"
    with pytest.raises(ValueError, match="metrics="):
        plot.LiveCurve(2, metrics="test_acc")


# without plot.use_style() in their setup cells, the figures notebooks draw themselves come out at
# matplotlib's 100 dpi and their saved '<Figure size ...>' differ
NOTEBOOKS = sorted(Path(ROOT, "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_that_draw_their_own_figures_use_the_course_style(path):
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    draws = [i for i, c in enumerate(cells) if re.search(r"\bplt\.(subplots|figure)\(", "".join(c["source"]))]
    setup = "".join(cells[0]["source"])
    assert not draws or re.search(r"^plot\.use_style\(\)", setup, re.M), (
        f"{path.name} draws with plt in code cells {draws} but its setup cell does not call "
        f"plot.use_style(): add it after config.set_seed(0)")
