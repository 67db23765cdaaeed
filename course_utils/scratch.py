"""NumPy reference layers: convolution, pooling, activations, softmax, cross-entropy.

Notebooks 02 and 03 build these by hand; this module keeps the finished versions so later
notebooks can import them (``from course_utils import scratch``). Every layer here is checked
against MXNet's own operator in ``tests/test_scratch.py`` (to 1e-5), so you can trust it as a
reference -- and read it: each function is short on purpose.

The section after pooling works on one gray picture, for the playgrounds (:mod:`course_utils.widgets`):
:data:`KERNELS` (classic 3x3 filters), :func:`apply_kernel`, :func:`pool_preview` and
:func:`pool_step` (pooling frozen at one window position); ``tests/test_widgets.py`` checks them
against the layers.

Conventions (the same as MXNet's):

- images are ``(N, C, H, W)``: batch, channels, height, width;
- kernels are ``(F, C, kh, kw)``: output channels (filters), input channels, kernel height, width;
- "convolution" is really cross-correlation (the kernel is not flipped), as in every deep
  learning framework;
- float32 in, float32 out; float64 in, float64 out (integers are turned into float64).

This module is pure NumPy on purpose: it does not import MXNet.
"""
from typing import NamedTuple

import numpy as np

from course_utils._util import int_pair

__all__ = [
    "output_size",
    "corr2d",
    "conv2d",
    "conv2d_naive",
    "max_pool2d",
    "avg_pool2d",
    "relu",
    "sigmoid",
    "tanh",
    "relu_grad",
    "sigmoid_grad",
    "tanh_grad",
    "softmax",
    "cross_entropy",
    "numerical_gradient",
    "KERNELS",
    "to_gray",
    "apply_kernel",
    "pool_preview",
    "PoolStep",
    "pool_step",
]


# ----------------------------------------------------------------------------- small helpers

def _as_float(a):
    """``a`` as a NumPy array; float32/float64 kept, anything else becomes float64."""
    a = np.asarray(a)
    if a.dtype in (np.float32, np.float64):
        return a
    return a.astype(np.float64)


def _check_4d(X, who):
    if X.ndim != 4:
        hint = " For a single image, add a batch axis: X[None]." if X.ndim == 3 else ""
        raise ValueError(
            f"{who} expects X of shape (N, C, H, W) (4-D); got shape {X.shape} ({X.ndim}-D).{hint}"
        )


def _check_fits(who, kernel, size, padding, what="kernel"):
    """Raise if a (kh, kw) window does not fit the padded (H, W) input."""
    (kh, kw), (H, W), (ph, pw) = kernel, size, padding
    if kh > H + 2 * ph or kw > W + 2 * pw:
        raise ValueError(
            f"{who}: the {what} {kh}x{kw} is larger than the padded input "
            f"{H + 2 * ph}x{W + 2 * pw} (H x W = {H}x{W} plus padding {ph},{pw} on each side). "
            f"Expected {what} height <= H + 2*padding and width <= W + 2*padding: "
            f"use a smaller {what} or more padding."
        )


def output_size(n, k, padding=0, stride=1):
    """Output length of a convolution or pooling along one axis.

    ``floor((n + 2*padding - k) / stride) + 1``: the number of positions where a window of
    length ``k`` fits into the padded input, stepping by ``stride``.

    Parameters
    ----------
    n : int
        Input length (height or width).
    k : int
        Kernel (window) length.
    padding : int
        Zeros added on *each* side.
    stride : int
        Step between windows (>= 1).

    Returns
    -------
    int

    Examples
    --------
    >>> output_size(224, 7, padding=3, stride=2)
    112
    """
    if stride < 1:
        raise ValueError(f"stride must be at least 1; got {stride}")
    if padding < 0:
        raise ValueError(f"padding must not be negative; got {padding}")
    if k > n + 2 * padding:
        raise ValueError(
            f"a window of length {k} does not fit an input of length {n} with padding {padding} "
            f"(expected k <= n + 2*padding = {n + 2 * padding})"
        )
    return (n + 2 * padding - k) // stride + 1


# ----------------------------------------------------------------------------- convolution

def corr2d(X, K):
    """2-D cross-correlation of one channel (no padding, stride 1).

    ``Y[i, j] = sum over a, b of X[i + a, j + b] * K[a, b]``.

    Instead of a loop over the output pixels (see :func:`conv2d_naive`) this loops over the
    few kernel entries: each one multiplies a shifted copy of the whole image.

    Parameters
    ----------
    X : (H, W) array
        One channel of an image.
    K : (kh, kw) array
        The kernel.

    Returns
    -------
    Y : (H - kh + 1, W - kw + 1) array

    Examples
    --------
    >>> corr2d([[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[0, 1], [2, 3]])
    array([[19., 25.],
           [37., 43.]])
    """
    X, K = _as_float(X), _as_float(K)
    if X.ndim != 2 or K.ndim != 2:
        raise ValueError(
            f"corr2d expects X of shape (H, W) and K of shape (kh, kw) (both 2-D); got X "
            f"{X.shape} and K {K.shape}. For batches and channels use conv2d."
        )
    kh, kw = K.shape
    _check_fits("corr2d", K.shape, X.shape, (0, 0))
    H_out, W_out = X.shape[0] - kh + 1, X.shape[1] - kw + 1
    Y = np.zeros((H_out, W_out), dtype=np.result_type(X, K))
    for a in range(kh):
        for b in range(kw):
            Y += K[a, b] * X[a:a + H_out, b:b + W_out]
    return Y


def _prepare_conv(X, W, b, stride, padding, who):
    """Check the arguments of conv2d / conv2d_naive; return them cleaned up."""
    X, W = _as_float(X), _as_float(W)
    _check_4d(X, who)
    if W.ndim != 4:
        raise ValueError(f"{who} expects W of shape (F, C, kh, kw) (4-D); got shape {W.shape}")
    if W.shape[1] != X.shape[1]:
        raise ValueError(
            f"{who}: X has C={X.shape[1]} channels, so W must have shape "
            f"(F, {X.shape[1]}, kh, kw); got W of shape {W.shape}"
        )
    if b is not None:
        b = _as_float(b)
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"{who}: W has F={W.shape[0]} filters, so b must have shape ({W.shape[0]},); "
                f"got b of shape {b.shape}"
            )
    stride, padding = int_pair(stride, "stride"), int_pair(padding, "padding")
    if min(stride) < 1:
        raise ValueError(f"{who}: stride must be at least 1; got {stride}")
    _check_fits(who, W.shape[2:], X.shape[2:], padding)
    return X, W, b, stride, padding


def _pad(X, padding, value=0.0):
    """Pad the last two axes of ``X (N, C, H, W)`` by ``padding = (ph, pw)`` on each side."""
    ph, pw = padding
    return np.pad(X, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _windows(X, window, stride):
    """All ``window = (kh, kw)`` patches of ``X (N, C, H, W)``, as a view (no copy).

    Returns an array of shape ``(N, C, H_out, W_out, kh, kw)``: ``patches[n, c, i, j]`` is the
    patch whose top-left corner is at ``(i * sh, j * sw)``.
    """
    sh, sw = stride
    patches = np.lib.stride_tricks.sliding_window_view(X, window, axis=(2, 3))
    return patches[:, :, ::sh, ::sw]


def conv2d(X, W, b=None, stride=1, padding=0):
    """Multi-channel 2-D convolution (cross-correlation), vectorised.

    ``Y[n, f, i, j] = b[f] + sum over c, a, d of X_pad[n, c, i*sh + a, j*sw + d] * W[f, c, a, d]``

    How ("im2col"): copy the input values under the kernel at each output position into the
    columns of a matrix, then multiply by the filters in one matrix product per image. The
    Python loops run over images and kernel entries, never over pixels.

    Parameters
    ----------
    X : (N, C, H, W) array
        A batch of images.
    W : (F, C, kh, kw) array
        F filters, each spanning all C input channels.
    b : (F,) array, optional
        One bias per filter.
    stride : int or (sh, sw)
    padding : int or (ph, pw)
        Zeros added on each side of the height and width.

    Returns
    -------
    Y : (N, F, H_out, W_out) array
        ``H_out = output_size(H, kh, ph, sh)``, ``W_out = output_size(W, kw, pw, sw)``.
    """
    X, W, b, (sh, sw), padding = _prepare_conv(X, W, b, stride, padding, "conv2d")
    dtype = np.result_type(X, W) if b is None else np.result_type(X, W, b)
    X_pad = _pad(X.astype(dtype, copy=False), padding)
    N, F = X.shape[0], W.shape[0]
    C, kh, kw = W.shape[1:]
    H_out = (X_pad.shape[2] - kh) // sh + 1
    W_out = (X_pad.shape[3] - kw) // sw + 1
    # "im2col": for one image, a matrix with one column per output pixel, holding the C*kh*kw
    # input values under the kernel there. Then ONE matrix product applies all F filters at
    # all pixels; NumPy hands it to BLAS, which multiplies matrices far faster than loops.
    W_mat = W.reshape(F, C * kh * kw).astype(dtype, copy=False)  # one row per filter
    cols = np.empty((C, kh, kw, H_out, W_out), dtype=dtype)
    Y = np.empty((N, F, H_out * W_out), dtype=dtype)
    for n in range(N):  # images one at a time: each one's columns fit in the CPU cache
        for a in range(kh):
            for d in range(kw):
                # What kernel entry (a, d) meets at every output position, at once.
                cols[:, a, d] = X_pad[n, :, a:a + sh * H_out:sh, d:d + sw * W_out:sw]
        np.matmul(W_mat, cols.reshape(C * kh * kw, H_out * W_out), out=Y[n])
    Y = Y.reshape(N, F, H_out, W_out)
    if b is not None:
        Y += b.reshape(1, F, 1, 1)
    return Y


def conv2d_naive(X, W, b=None, stride=1, padding=0):
    """Multi-channel 2-D convolution with explicit loops (slow; for teaching and timing).

    Same arguments, shapes and result as :func:`conv2d`: one loop per output pixel, exactly as
    the formula reads.

    Parameters
    ----------
    X : (N, C, H, W) array
    W : (F, C, kh, kw) array
    b : (F,) array, optional
    stride : int or (sh, sw)
    padding : int or (ph, pw)

    Returns
    -------
    Y : (N, F, H_out, W_out) array
    """
    X, W, b, (sh, sw), padding = _prepare_conv(X, W, b, stride, padding, "conv2d_naive")
    dtype = np.result_type(X, W) if b is None else np.result_type(X, W, b)
    X_pad = _pad(X, padding)
    N, F = X.shape[0], W.shape[0]
    kh, kw = W.shape[2:]
    H_out = (X_pad.shape[2] - kh) // sh + 1
    W_out = (X_pad.shape[3] - kw) // sw + 1
    Y = np.zeros((N, F, H_out, W_out), dtype=dtype)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    patch = X_pad[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]  # (C, kh, kw)
                    Y[n, f, i, j] = np.sum(patch * W[f])
            if b is not None:
                Y[n, f] += b[f]
    return Y


# ----------------------------------------------------------------------------- pooling

def _pool(X, pool_size, stride, padding, who, pad_value, reduce):
    X = _as_float(X)
    _check_4d(X, who)
    pool_size = int_pair(pool_size, "pool_size")
    stride = pool_size if stride is None else int_pair(stride, "stride")
    padding = int_pair(padding, "padding")
    if min(pool_size) < 1 or min(stride) < 1:
        raise ValueError(f"{who}: pool_size and stride must be at least 1; got {pool_size}, {stride}")
    if padding[0] >= pool_size[0] or padding[1] >= pool_size[1]:
        # Otherwise a window could see nothing but padding (MXNet refuses this too).
        raise ValueError(
            f"{who}: padding must be smaller than pool_size; got padding {padding} with "
            f"pool_size {pool_size}"
        )
    _check_fits(who, pool_size, X.shape[2:], padding, what="pool window")
    patches = _windows(_pad(X, padding, pad_value), pool_size, stride)
    return reduce(patches, axis=(-2, -1))


def max_pool2d(X, pool_size=2, stride=None, padding=0):
    """2-D max pooling: the largest value in each window, channel by channel.

    Padding is ``-inf``, so it never wins the max.

    Parameters
    ----------
    X : (N, C, H, W) array
    pool_size : int or (kh, kw)
    stride : int or (sh, sw), optional
        Defaults to ``pool_size`` (windows that touch but do not overlap).
    padding : int or (ph, pw)
        Must be smaller than ``pool_size``.

    Returns
    -------
    Y : (N, C, H_out, W_out) array
        ``H_out = output_size(H, kh, ph, sh)``, ``W_out = output_size(W, kw, pw, sw)``.
    """
    return _pool(X, pool_size, stride, padding, "max_pool2d", -np.inf, np.max)


def avg_pool2d(X, pool_size=2, stride=None, padding=0):
    """2-D average pooling: the mean of each window, channel by channel.

    Padding is zeros and *counts* in the mean (every window divides by ``kh * kw``), like
    MXNet's ``Pooling(pool_type='avg')`` default (``count_include_pad=True``).

    Parameters
    ----------
    X : (N, C, H, W) array
    pool_size : int or (kh, kw)
    stride : int or (sh, sw), optional
        Defaults to ``pool_size``.
    padding : int or (ph, pw)
        Must be smaller than ``pool_size``.

    Returns
    -------
    Y : (N, C, H_out, W_out) array
    """
    return _pool(X, pool_size, stride, padding, "avg_pool2d", 0.0, np.mean)


# ----------------------------------------------------------------------------- one gray picture
# (what the playgrounds of notebooks 02 and 03 show: course_utils.widgets.convolution)

def _kernel(rows, scale=1.0):
    kernel = np.array(rows, dtype=np.float64) * scale
    kernel.flags.writeable = False  # a preset cannot be changed by accident
    return kernel


#: Classic 3x3 kernels, by name. Applied with cross-correlation (as in deep learning), so
#: ``sobel_x`` is positive where the image gets brighter from left to right.
KERNELS = {
    "identity": _kernel([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "laplacian": _kernel([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sobel_x": _kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "sobel_y": _kernel([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "sharpen": _kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "box_blur": _kernel([[1, 1, 1], [1, 1, 1], [1, 1, 1]], scale=1 / 9),
}


def to_gray(image):
    """The picture as a 2-D float gray image: (H, W) kept; (H, W, 3) or (H, W, 4) colour turned to gray.

    Integer images (e.g. uint8 photos) are scaled to [0, 1].
    """
    image = np.asarray(image)
    if image.dtype.kind in "iub":
        image = image / (np.iinfo(image.dtype).max if image.dtype.kind != "b" else 1)
    elif image.dtype not in (np.float32, np.float64):
        image = image.astype(np.float64)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        # Luminance weights of ITU-R BT.709, as in skimage.color.rgb2gray.
        image = image[..., :3] @ np.array([0.2125, 0.7154, 0.0721], dtype=image.dtype)
    if image.ndim != 2:
        raise ValueError(
            f"expected a gray image of shape (H, W) or a colour one of shape (H, W, 3); got "
            f"shape {image.shape}"
        )
    return image


def apply_kernel(image, kernel):
    """Filter a gray image with a kernel; the output has the input's size.

    The border is padded by repeating the edge pixels (not zeros), so the photo's frame does
    not light up as an "edge"; then :func:`corr2d` does the work.

    Parameters
    ----------
    image : (H, W) array
        Gray image (an (H, W, 3) colour image is turned to gray first).
    kernel : (kh, kw) array
        Odd height and width, e.g. 3x3 (see :data:`KERNELS`).

    Returns
    -------
    filtered : (H, W) array, the image's float dtype
    """
    image = to_gray(image)
    kernel = np.asarray(kernel, dtype=image.dtype)
    if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise ValueError(
            f"expected a 2-D kernel with odd height and width such as (3, 3), so that the output "
            f"lines up with the input; got shape {kernel.shape}"
        )
    ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded = np.pad(image, ((ph, ph), (pw, pw)), mode="edge")
    return corr2d(padded, kernel)


def pool_preview(image, mode="max", pool_size=2, stride=None, padding=0):
    """Pool a gray image as one channel; return the pooled image and its shape.

    Parameters
    ----------
    image : (H, W) array
        Gray image (an (H, W, 3) colour image is turned to gray first).
    mode : {'max', 'avg'}
    pool_size, stride, padding : int or pair
        As in :func:`course_utils.max_pool2d` (``stride`` defaults to ``pool_size``).

    Returns
    -------
    pooled : (H_out, W_out) array
    shape : (H_out, W_out) tuple
        ``H_out = output_size(H, pool_size, padding, stride)``, the same for W.
    """
    pools = {"max": max_pool2d, "avg": avg_pool2d}
    if mode not in pools:
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}")
    X = to_gray(image)[None, None]  # (1, 1, H, W): a batch of one single-channel image
    pooled = pools[mode](X, pool_size=pool_size, stride=stride, padding=padding)[0, 0]
    return pooled, pooled.shape


class PoolStep(NamedTuple):
    """One position of the pooling window (see :func:`pool_step`)."""

    step: int            # 0, 1, ..., steps - 1 (row by row)
    steps: int           # H_out * W_out
    cell: tuple          # (i, j): the output cell this step fills
    window: tuple        # (top, left, bottom, right): rows top..bottom-1, columns left..right-1
    values: np.ndarray   # the input values under the window, (size, size)
    value: float         # their max or mean: output[i, j]
    output: np.ndarray   # (H_out, W_out) float64, cells after this step still NaN


def pool_step(x, size=2, stride=None, step=0, mode="max"):
    """Pooling frozen at one window position: what the window covers and the output so far.

    Parameters
    ----------
    x : (H, W) array
        A small single-channel input (e.g. 8x8).
    size : int
        Window height and width.
    stride : int, optional
        Defaults to ``size`` (windows that touch, as in :func:`course_utils.max_pool2d`).
    step : int
        Which window position, ``0 <= step < H_out * W_out``, row by row.
    mode : {'max', 'avg'}

    Returns
    -------
    PoolStep
        At the last step ``output`` equals ``max_pool2d`` (or ``avg_pool2d``) of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"pool_step walks over one channel: expected (H, W), got shape {x.shape}")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg'; got {mode!r}")
    stride = size if stride is None else stride
    for name, v in (("size", size), ("stride", stride)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if size > min(x.shape):
        raise ValueError(f"a {size}x{size} window does not fit in a {x.shape[0]}x{x.shape[1]} input")
    H_out, W_out = (output_size(n, size, 0, stride) for n in x.shape)
    steps = H_out * W_out
    if not isinstance(step, (int, np.integer)) or not 0 <= step < steps:
        raise ValueError(f"step must be an integer from 0 to {steps - 1} ({H_out}x{W_out} window "
                         f"positions); got {step!r}")
    output = np.full((H_out, W_out), np.nan)
    reduce = np.max if mode == "max" else np.mean
    for k in range(step + 1):
        i, j = divmod(k, W_out)
        window = x[i * stride:i * stride + size, j * stride:j * stride + size]
        output[i, j] = reduce(window)
    top, left = i * stride, j * stride
    return PoolStep(int(step), steps, (i, j), (top, left, top + size, left + size),
                    window.copy(), float(output[i, j]), output)


# ----------------------------------------------------------------------------- activations

def relu(X):
    """Rectified linear unit, ``max(x, 0)``, element-wise. Any shape in, same shape out."""
    X = _as_float(X)
    return np.maximum(X, 0).astype(X.dtype, copy=False)


def sigmoid(X):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``, element-wise. Any shape in, same shape out."""
    X = _as_float(X)
    # exp(-|x|) never overflows; the two branches are the same function rearranged.
    e = np.exp(-np.abs(X))
    return np.where(X >= 0, 1 / (1 + e), e / (1 + e)).astype(X.dtype, copy=False)


def tanh(X):
    """Hyperbolic tangent, element-wise. Any shape in, same shape out."""
    X = _as_float(X)
    return np.tanh(X)


def relu_grad(X):
    """Derivative of :func:`relu` at ``X``: 1 where ``x > 0``, else 0 (MXNet also uses 0 at 0)."""
    X = _as_float(X)
    return (X > 0).astype(X.dtype)


def sigmoid_grad(X):
    """Derivative of :func:`sigmoid` at ``X``: ``s * (1 - s)`` with ``s = sigmoid(x)``; at most 0.25."""
    s = sigmoid(X)
    return s * (1 - s)


def tanh_grad(X):
    """Derivative of :func:`tanh` at ``X``: ``1 - tanh(x)**2``; at most 1."""
    t = tanh(X)
    return 1 - t * t


# ----------------------------------------------------------------------------- softmax and loss

def softmax(Z, axis=-1):
    """Softmax along ``axis``: ``exp(z) / sum(exp(z))``, numerically stable.

    Subtracting the maximum first changes nothing mathematically but keeps ``exp`` from
    overflowing (``exp(1000)`` is ``inf``).

    Parameters
    ----------
    Z : (N, K) array (any shape works)
        Scores ("logits"), one row per example.
    axis : int
        The class axis.

    Returns
    -------
    probs : array, same shape as ``Z``
        Non-negative; sums to 1 along ``axis``.
    """
    Z = _as_float(Z)
    E = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def cross_entropy(probs, labels):
    """Mean cross-entropy loss: ``-mean(log(probs[n, labels[n]]))``.

    Parameters
    ----------
    probs : (N, K) array
        Predicted probabilities (e.g. the output of :func:`softmax`).
    labels : (N,) array of ints
        The true class of each example, in ``0 .. K-1``.

    Returns
    -------
    loss : scalar of the dtype of ``probs``
    """
    probs = _as_float(probs)
    labels = np.asarray(labels)
    if probs.ndim != 2:
        raise ValueError(f"cross_entropy expects probs of shape (N, K) (2-D); got {probs.shape}")
    N, K = probs.shape
    if labels.shape != (N,):
        raise ValueError(
            f"cross_entropy: probs has N={N} rows, so labels must have shape ({N},) (one class "
            f"index per example, not one-hot); got labels of shape {labels.shape}"
        )
    if labels.dtype.kind not in "iu" and not np.all(labels == np.round(labels)):
        raise ValueError(f"cross_entropy: labels must be class indices (integers); got {labels!r}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"cross_entropy: labels must be in 0..{K - 1}; got {labels.min()}..{labels.max()}")
    # The clip keeps a probability of exactly 0 from giving log(0) = -inf.
    picked = np.clip(probs[np.arange(N), labels], np.finfo(probs.dtype).tiny, None)
    return -np.mean(np.log(picked))


# ----------------------------------------------------------------------------- gradient check

def numerical_gradient(f, x, eps=1e-5):
    """Gradient of a scalar function by central differences, one entry at a time.

    ``grad[i] = (f(x + eps * e_i) - f(x - eps * e_i)) / (2 * eps)``: slow (two calls of ``f``
    per entry), but obviously right, so it checks hand-written derivatives.

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``x``, returns a scalar. To check an element-wise derivative
        ``g`` of ``h``, use ``f = lambda x: np.sum(h(x))``: its gradient is ``g(x)``.
    x : array, any shape
        Where to evaluate the gradient. Not modified.
    eps : float
        Step size.

    Returns
    -------
    grad : float64 array, same shape as ``x``
        Always float64: in float32 the difference of two nearby values of ``f`` is mostly
        rounding error.
    """
    def f_scalar(v):
        value = np.asarray(f(v))
        if value.size != 1:
            raise ValueError(
                f"numerical_gradient needs f to return a scalar; it returned shape {value.shape}. "
                "Wrap it in a sum, e.g. lambda x: np.sum(relu(x))"
            )
        return float(value.reshape(()))

    x = np.array(x, dtype=np.float64)  # a float64 copy: the caller's array is left alone
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f_scalar(x)
        x[i] = old - eps
        f_minus = f_scalar(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def max_abs_difference(ours, reference):
    """The largest ``|ours - reference|`` over all entries, after checking the shapes agree.

    How the notebooks compare a layer written by hand with MXNet's: float32 sums in another order
    differ by about 1e-6, a real mistake by far more.
    """
    ours, reference = np.asarray(ours), np.asarray(reference)
    if ours.shape != reference.shape:
        raise ValueError(f"the two results have different shapes: {ours.shape} (ours) and "
                         f"{reference.shape} (the reference); compare outputs of the same layer "
                         "on the same input (check stride, padding and the kernel size)")
    if ours.size == 0:
        return 0.0
    return float(np.abs(ours.astype(np.float64) - reference.astype(np.float64)).max())
