"""course_utils.widgets.convolution and the pure functions it shows (``scratch.apply_kernel``,
``scratch.pool_preview``, ``scratch.pool_step``), and that moving a control updates ``.result``."""
import course_utils  # noqa: F401  (first, as in every test module)
import matplotlib

matplotlib.use("Agg")  # no window; must come before pyplot is imported

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from skimage import data  # noqa: E402

from course_utils import scratch, widgets  # noqa: E402


@pytest.fixture
def photo():
    """A real gray photo, shrunk so the tests stay fast: (64, 64) float64 in [0, 1]."""
    return data.camera()[::8, ::8] / 255.0


def step_edge(H=8, W=10, at=5):
    """Dark on the left of column ``at``, bright from it on: one vertical edge."""
    image = np.zeros((H, W))
    image[:, at:] = 1.0
    return image


# ----------------------------------------------------------------------------- apply_kernel

def test_presets_are_read_only_3x3():
    assert set(scratch.KERNELS) == {"identity", "laplacian", "sobel_x", "sobel_y", "sharpen", "box_blur"}
    for name, kernel in scratch.KERNELS.items():
        assert kernel.shape == (3, 3), name
        with pytest.raises(ValueError):
            kernel[0, 0] = 5.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_identity_kernel_returns_the_image(photo, dtype):
    image = photo.astype(dtype)
    out = scratch.apply_kernel(image, scratch.KERNELS["identity"])
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, image)


def test_sobel_x_responds_only_at_a_vertical_edge():
    out = scratch.apply_kernel(step_edge(at=5), scratch.KERNELS["sobel_x"])
    assert out.shape == (8, 10)
    columns = np.flatnonzero(np.abs(out).sum(axis=0))
    np.testing.assert_array_equal(columns, [4, 5])  # the two columns beside the edge
    assert (out[:, 4:6] == 4).all()  # dark -> bright from left to right is positive
    np.testing.assert_array_equal(scratch.apply_kernel(step_edge(), scratch.KERNELS["sobel_y"]), 0)


@pytest.mark.parametrize("name", ["laplacian", "sobel_x", "sobel_y"])
def test_edge_kernels_ignore_flat_regions_and_the_border(name):
    out = scratch.apply_kernel(np.full((6, 7), 0.7), scratch.KERNELS[name])
    np.testing.assert_allclose(out, 0, atol=1e-12)


@pytest.mark.parametrize("name", ["box_blur", "sharpen", "identity"])
def test_smoothing_kernels_keep_a_flat_image(name):
    out = scratch.apply_kernel(np.full((6, 7), 0.7), scratch.KERNELS[name])
    np.testing.assert_allclose(out, 0.7, rtol=1e-12)


def test_apply_kernel_is_a_padded_convolution_inside(photo):
    kernel = np.random.default_rng(0).standard_normal((3, 3))
    out = scratch.apply_kernel(photo, kernel)
    inside = scratch.conv2d(photo[None, None], kernel[None, None])[0, 0]
    np.testing.assert_allclose(out[1:-1, 1:-1], inside, rtol=1e-12)


def test_apply_kernel_turns_colour_and_uint8_into_gray():
    rgb = np.zeros((5, 6, 3), dtype=np.uint8)
    rgb[:, 3:] = 255
    out = scratch.apply_kernel(rgb, scratch.KERNELS["identity"])
    np.testing.assert_allclose(out, step_edge(5, 6, 3), rtol=1e-6)


@pytest.mark.parametrize("kernel, expected", [
    (np.ones((2, 2)), r"odd height and width.*\(2, 2\)"),
    (np.ones(9), r"\(9,\)"),
])
def test_apply_kernel_rejects_bad_kernels(kernel, expected):
    with pytest.raises(ValueError, match=expected):
        scratch.apply_kernel(np.zeros((5, 5)), kernel)


def test_apply_kernel_rejects_a_batch():
    with pytest.raises(ValueError, match=r"\(H, W\).*\(2, 5, 5\)"):
        scratch.apply_kernel(np.zeros((2, 5, 5)), scratch.KERNELS["identity"])


# ----------------------------------------------------------------------------- pool_preview

@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("pool_size, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 2), (4, 3, 1), (5, 5, 0)])
def test_pool_preview_shape_is_the_output_size_formula(photo, mode, pool_size, stride, padding):
    pooled, shape = scratch.pool_preview(photo, mode, pool_size, stride, padding)
    H, W = photo.shape
    expected = (scratch.output_size(H, pool_size, padding, stride),
                scratch.output_size(W, pool_size, padding, stride))
    assert shape == expected == pooled.shape
    pool = scratch.max_pool2d if mode == "max" else scratch.avg_pool2d
    np.testing.assert_array_equal(pooled, pool(photo[None, None], pool_size, stride, padding)[0, 0])


def test_pool_preview_rejects_an_unknown_mode(photo):
    with pytest.raises(ValueError, match="'max' or 'avg'"):
        scratch.pool_preview(photo, "min")


# ----------------------------------------------------------------------------- the widgets

def test_kernel_explorer_updates_when_controls_change(photo):
    explorer = widgets.kernel_explorer(photo)
    np.testing.assert_array_equal(explorer.result, scratch.apply_kernel(photo, scratch.KERNELS["sobel_x"]))

    explorer.preset.value = "box_blur"
    np.testing.assert_allclose(explorer.kernel, scratch.KERNELS["box_blur"])
    np.testing.assert_allclose(explorer.result, scratch.apply_kernel(photo, scratch.KERNELS["box_blur"]))

    explorer.preset.value = "identity"
    explorer.entries[4].value = 2.0  # the centre weight: the image doubles
    assert explorer.preset.value == "custom"
    np.testing.assert_allclose(explorer.result, 2 * photo)
    assert plt.get_fignums() == []  # every redraw closed its figure


def test_pooling_explorer_updates_when_sliders_move(photo):
    explorer = widgets.pooling_explorer(photo)
    pooled, shape = explorer.result
    assert shape == (32, 32)
    assert "64x64 -> output 32x32" in explorer.shape_label.value

    explorer.pool_size.value = 3
    explorer.padding.value = 1
    assert explorer.result[1] == (scratch.output_size(64, 3, 1, 2),) * 2
    assert "floor((64 + 2*1 - 3) / 2) + 1 = 32" in explorer.shape_label.value

    explorer.mode.value = "avg"
    np.testing.assert_array_equal(explorer.result[0], scratch.pool_preview(photo, "avg", 3, 2, 1)[0])

    explorer.pool_size.value = 1  # padding must now be 0: the slider follows
    assert explorer.padding.value == 0 and explorer.padding.max == 0
    assert explorer.result[1] == (32, 32)
    assert plt.get_fignums() == []


@pytest.mark.parametrize("module", sorted(Path(widgets.__file__).parent.glob("*.py")),
                         ids=lambda path: path.name)
def test_widgets_leave_the_backend_to_the_notebook(module):
    source = module.read_text(encoding="utf-8")
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not any("matplotlib" in line for line in top_level), top_level  # pyplot imported lazily
    assert "matplotlib.use(" not in source


# ----------------------------------------------------------------------------- pool_step

@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 1), (3, 2), (2, None)])
def test_pool_step_walks_row_by_row_and_ends_at_scratch(mode, size, stride):
    x = np.random.default_rng(1).integers(0, 255, size=(7, 8)).astype(float)
    s = size if stride is None else stride
    H_out, W_out = scratch.output_size(7, size, 0, s), scratch.output_size(8, size, 0, s)
    first = scratch.pool_step(x, size, stride, 0, mode)
    assert first.steps == H_out * W_out and first.cell == (0, 0)
    assert first.window == (0, 0, size, size)
    assert np.isnan(first.output).sum() == first.steps - 1
    r = scratch.pool_step(x, size, stride, W_out + 1, mode)  # second row, second column
    assert r.cell == (1, 1) and r.window == (s, s, s + size, s + size)
    np.testing.assert_array_equal(r.values, x[s:s + size, s:s + size])
    assert r.value == (r.values.max() if mode == "max" else r.values.mean()) == r.output[1, 1]
    assert np.isnan(r.output).sum() == r.steps - (W_out + 2)  # filled so far: W_out + 2 cells
    last = scratch.pool_step(x, size, stride, first.steps - 1, mode)
    pool = scratch.max_pool2d if mode == "max" else scratch.avg_pool2d
    np.testing.assert_allclose(last.output, pool(x[None, None], size, stride=s)[0, 0])


def test_pool_step_says_what_is_wrong():
    x = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"from 0 to 3 \(2x2 window positions\); got 4"):
        scratch.pool_step(x, 2, 2, 4)
    with pytest.raises(ValueError, match="does not fit"):
        scratch.pool_step(x, 5)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        scratch.pool_step(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="'max' or 'avg'"):
        scratch.pool_step(x, mode="min")
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        scratch.pool_step(x, 2, 0)


def test_pooling_walk_follows_its_slider():
    x = np.arange(36, dtype=float).reshape(6, 6)
    walk = widgets.pooling_walk(x, size=2, mode="max")
    assert walk.slider.max == walk.play.max == 8
    assert walk.result.cell == (0, 0) and "max(0, 1, 6, 7) = 7" in walk.caption.value
    walk.slider.value = 5
    assert walk.result.cell == (1, 2) and walk.result.value == 23
    assert "step 6 of 9: rows 2-3, columns 4-5" in walk.caption.value
    assert plt.get_fignums() == []
