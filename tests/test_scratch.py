"""course_utils.scratch against MXNet's own operators, numerical gradients and the slide example.

Tolerance: our layer runs in float64 on the same float32 inputs MXNet gets, so the difference
is MXNet's float32 rounding; we require it below 1e-5 relative to the output's scale.
"""
import warnings

import course_utils  # noqa: F401  (before mxnet: sets MXNET_HOME and the thread count)
import mxnet as mx
import numpy as np
import pytest

from course_utils import _util, scratch

TOL = 1e-5


def assert_close(ours, theirs, tol=TOL):
    """max |ours - theirs| <= tol * max(1, max |theirs|), with the shapes equal."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"shape {ours.shape} != {theirs.shape}"
    scale = max(1.0, float(np.max(np.abs(theirs)))) if theirs.size else 1.0
    error = float(np.max(np.abs(ours.astype(np.float64) - theirs))) if theirs.size else 0.0
    assert error <= tol * scale, f"max error {error:.3g} > {tol} * {scale:.3g}"


def random32(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ----------------------------------------------------------------------------- corr2d

def test_corr2d_slide_example():
    Y = scratch.corr2d([[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(Y, [[19, 25], [37, 43]])
    assert Y[0, 0] == 0 * 0 + 1 * 1 + 3 * 2 + 4 * 3


@pytest.mark.parametrize("H, W, kh, kw", [(5, 5, 3, 3), (6, 9, 2, 4), (7, 4, 1, 1), (4, 4, 4, 4)])
def test_corr2d_matches_mxnet(H, W, kh, kw):
    rng = np.random.default_rng(H * 100 + W)
    X, K = random32(rng, H, W), random32(rng, kh, kw)
    theirs = mx.nd.Convolution(mx.nd.array(X[None, None]), mx.nd.array(K[None, None]),
                               kernel=(kh, kw), num_filter=1, no_bias=True).asnumpy()[0, 0]
    assert_close(scratch.corr2d(X.astype(np.float64), K.astype(np.float64)), theirs)


# ----------------------------------------------------------------------------- conv2d

CONV_CASES = [
    # N, C, H, W, F, kh, kw, stride, padding
    (2, 3, 7, 7, 4, 3, 3, 1, 0),
    (2, 3, 7, 7, 4, 3, 3, 1, 1),
    (1, 2, 8, 6, 3, 3, 3, 2, 1),
    (3, 1, 9, 9, 2, 5, 5, 2, 2),
    (2, 4, 6, 10, 5, 1, 1, 1, 0),          # 1x1 convolution
    (1, 3, 10, 7, 2, 3, 2, (2, 1), (1, 0)),  # different stride and padding per axis
    (2, 2, 5, 5, 3, 5, 5, 1, 0),           # kernel as large as the input
    (1, 2, 3, 3, 2, 5, 5, 1, 1),           # kernel as large as the padded input
    (2, 3, 11, 13, 4, 4, 3, 3, (2, 1)),    # even kernel height, stride 3
    (1, 1, 28, 28, 6, 5, 5, 1, 2),         # LeNet's first layer
]


def _mx_conv(X, W, b, stride, padding):
    kh, kw = W.shape[2:]
    stride, padding = _util.int_pair(stride, "stride"), _util.int_pair(padding, "padding")
    kwargs = dict(kernel=(kh, kw), num_filter=W.shape[0], stride=stride, pad=padding)
    if b is None:
        return mx.nd.Convolution(mx.nd.array(X), mx.nd.array(W), no_bias=True, **kwargs).asnumpy()
    return mx.nd.Convolution(mx.nd.array(X), mx.nd.array(W), mx.nd.array(b), **kwargs).asnumpy()


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("N, C, H, W, F, kh, kw, stride, padding", CONV_CASES)
def test_conv2d_matches_mxnet(N, C, H, W, F, kh, kw, stride, padding, with_bias):
    rng = np.random.default_rng(N + C * 10 + H * 100 + kh * 1000)
    X, K = random32(rng, N, C, H, W), random32(rng, F, C, kh, kw)
    b = random32(rng, F) if with_bias else None
    theirs = _mx_conv(X, K, b, stride, padding)
    ours = scratch.conv2d(X.astype(np.float64), K.astype(np.float64),
                          None if b is None else b.astype(np.float64),
                          stride=stride, padding=padding)
    assert_close(ours, theirs)
    sh, sw = _util.int_pair(stride, "stride")
    ph, pw = _util.int_pair(padding, "padding")
    assert ours.shape == (N, F, scratch.output_size(H, kh, ph, sh), scratch.output_size(W, kw, pw, sw))


@pytest.mark.parametrize("N, C, H, W, F, kh, kw, stride, padding", CONV_CASES[:7])
def test_conv2d_naive_equals_conv2d(N, C, H, W, F, kh, kw, stride, padding):
    rng = np.random.default_rng(7)
    X, K, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, kh, kw)), rng.standard_normal(F)
    np.testing.assert_allclose(scratch.conv2d_naive(X, K, b, stride, padding),
                               scratch.conv2d(X, K, b, stride, padding), rtol=1e-12, atol=1e-12)


def test_conv2d_single_channel_is_corr2d():
    rng = np.random.default_rng(3)
    X, K = rng.standard_normal((6, 8)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(scratch.conv2d(X[None, None], K[None, None])[0, 0],
                               scratch.corr2d(X, K), rtol=1e-12, atol=1e-12)


def test_conv2d_gradient_wrt_kernel_matches_mxnet_autograd():
    # What notebook 02 does to learn a kernel: the numerical gradient of a loss in W.
    rng = np.random.default_rng(5)
    X, K, G = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((2, 3, 5, 5))

    def loss(K_):
        return np.sum(scratch.conv2d(X, K_, padding=1) * G)

    ours = scratch.numerical_gradient(loss, K)
    K_mx = mx.nd.array(K, dtype="float64")
    K_mx.attach_grad()
    with mx.autograd.record():
        Y = mx.nd.Convolution(mx.nd.array(X, dtype="float64"), K_mx, kernel=(3, 3), num_filter=3,
                              pad=(1, 1), no_bias=True)
        total = (Y * mx.nd.array(G, dtype="float64")).sum()
    total.backward()
    assert_close(ours, K_mx.grad.asnumpy())


# ----------------------------------------------------------------------------- pooling

POOL_CASES = [
    # N, C, H, W, pool_size, stride, padding
    (2, 3, 8, 8, 2, None, 0),
    (1, 2, 7, 7, 3, 2, 1),
    (2, 1, 9, 6, 3, 1, 1),
    (1, 3, 10, 10, 2, 1, 0),
    (2, 2, 7, 9, (3, 2), (2, 1), (1, 0)),
    (1, 1, 5, 5, 3, 2, 2),        # windows that are mostly padding
    (1, 2, 6, 6, 6, None, 0),     # one window covers everything (global pooling)
    (3, 4, 12, 12, 4, 3, 2),
]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("N, C, H, W, pool_size, stride, padding", POOL_CASES)
def test_pooling_matches_mxnet(mode, N, C, H, W, pool_size, stride, padding):
    rng = np.random.default_rng(H * 10 + W)
    X = random32(rng, N, C, H, W)
    kernel = _util.int_pair(pool_size, "pool_size")
    theirs = mx.nd.Pooling(mx.nd.array(X), kernel=kernel,
                           stride=kernel if stride is None else _util.int_pair(stride, "stride"),
                           pad=_util.int_pair(padding, "padding"), pool_type=mode).asnumpy()
    pool = scratch.max_pool2d if mode == "max" else scratch.avg_pool2d
    assert_close(pool(X.astype(np.float64), pool_size, stride, padding), theirs)


def test_avg_pool_counts_padding():
    # A corner window of a 2x2 image of ones padded by 1 holds one real pixel out of 4.
    Y = scratch.avg_pool2d(np.ones((1, 1, 2, 2)), pool_size=2, stride=2, padding=1)
    np.testing.assert_array_equal(Y, np.full((1, 1, 2, 2), 0.25))


def test_max_pool_ignores_padding_even_for_negative_inputs():
    Y = scratch.max_pool2d(-np.ones((1, 1, 2, 2)), pool_size=2, stride=2, padding=1)
    np.testing.assert_array_equal(Y, -np.ones((1, 1, 2, 2)))


# ----------------------------------------------------------------------------- activations

ACTIVATIONS = [
    (scratch.relu, scratch.relu_grad, mx.nd.relu),
    (scratch.sigmoid, scratch.sigmoid_grad, mx.nd.sigmoid),
    (scratch.tanh, scratch.tanh_grad, mx.nd.tanh),
]
ACTIVATION_IDS = ["relu", "sigmoid", "tanh"]


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("ours, grad, theirs", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_matches_mxnet(ours, grad, theirs, shape):
    X = random32(np.random.default_rng(len(shape)), *shape, scale=3.0)
    assert_close(ours(X.astype(np.float64)), theirs(mx.nd.array(X)).asnumpy())


@pytest.mark.parametrize("ours, grad, theirs", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_grad_matches_mxnet_autograd(ours, grad, theirs):
    X = random32(np.random.default_rng(1), 4, 6, scale=3.0)
    X_mx = mx.nd.array(X)
    X_mx.attach_grad()
    with mx.autograd.record():
        Y = theirs(X_mx)
    Y.backward()
    assert_close(grad(X.astype(np.float64)), X_mx.grad.asnumpy())


@pytest.mark.parametrize("ours, grad, theirs", ACTIVATIONS, ids=ACTIVATION_IDS)
def test_activation_grad_matches_numerical_gradient(ours, grad, theirs):
    rng = np.random.default_rng(2)
    # Stay away from 0, where relu has a kink and no derivative.
    X = rng.uniform(0.1, 3.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    numeric = scratch.numerical_gradient(lambda x: np.sum(ours(x)), X)
    np.testing.assert_allclose(grad(X), numeric, rtol=1e-6, atol=1e-8)


def test_relu_grad_at_zero_is_zero_like_mxnet():
    assert scratch.relu_grad(np.array([0.0]))[0] == 0.0


def test_sigmoid_is_stable_and_grads_are_bounded():
    X = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings
        s = scratch.sigmoid(X)
    np.testing.assert_allclose(s, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)
    x = np.linspace(-10, 10, 1001)
    assert scratch.sigmoid_grad(x).max() == pytest.approx(0.25)
    assert scratch.tanh_grad(x).max() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- softmax, loss

@pytest.mark.parametrize("shape, axis", [((4, 10), -1), ((4, 10), 0), ((2, 3, 5), 1), ((6,), -1)])
def test_softmax_matches_mxnet(shape, axis):
    Z = random32(np.random.default_rng(4), *shape, scale=5.0)
    probs = scratch.softmax(Z.astype(np.float64), axis=axis)
    assert_close(probs, mx.nd.softmax(mx.nd.array(Z), axis=axis).asnumpy())
    np.testing.assert_allclose(probs.sum(axis=axis), 1.0, rtol=1e-12)


def test_softmax_is_stable():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probs = scratch.softmax(np.array([[1000.0, 1001.0], [-1000.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[1 / (1 + np.e), np.e / (1 + np.e)], [0.5, 0.5]])


@pytest.mark.parametrize("N, K", [(1, 2), (8, 10), (32, 5)])
def test_cross_entropy_matches_mxnet(N, K):
    rng = np.random.default_rng(N * K)
    logits, labels = random32(rng, N, K, scale=3.0), rng.integers(0, K, size=N)
    ours = scratch.cross_entropy(scratch.softmax(logits.astype(np.float64)), labels)
    # softmax_cross_entropy sums over the batch; Gluon's loss gives one value per example.
    summed = mx.nd.softmax_cross_entropy(mx.nd.array(logits), mx.nd.array(labels)).asscalar()
    per_example = mx.gluon.loss.SoftmaxCrossEntropyLoss()(mx.nd.array(logits), mx.nd.array(labels))
    assert_close(ours, summed / N)
    assert_close(ours, per_example.mean().asscalar())


def test_cross_entropy_of_a_certain_right_answer_is_zero():
    assert scratch.cross_entropy(np.eye(3), [0, 1, 2]) == 0.0
    assert np.isfinite(scratch.cross_entropy(np.eye(3), [1, 2, 0]))  # log(0) clipped


# ----------------------------------------------------------------------------- helpers

@pytest.mark.parametrize("n, k, padding, stride, expected", [
    (3, 2, 0, 1, 2), (224, 7, 3, 2, 112), (28, 5, 2, 1, 28), (56, 3, 1, 2, 28), (5, 3, 0, 3, 1),
])
def test_output_size(n, k, padding, stride, expected):
    assert scratch.output_size(n, k, padding, stride) == expected


def test_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    before = x.copy()
    grad = scratch.numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(grad, 3 * x.astype(np.float64) ** 2, rtol=1e-8)
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(x, before)  # the caller's array is not touched


# ----------------------------------------------------------------------------- dtypes

DTYPE_CALLS = {
    "corr2d": lambda a: scratch.corr2d(a[0, 0], a[0, 0, :2, :2]),
    "conv2d": lambda a: scratch.conv2d(a, a[:, :, :3, :3], a[0, :, 0, 0], stride=2, padding=1),
    "conv2d_naive": lambda a: scratch.conv2d_naive(a, a[:, :, :3, :3], padding=1),
    "max_pool2d": lambda a: scratch.max_pool2d(a, 3, 2, 1),
    "avg_pool2d": lambda a: scratch.avg_pool2d(a, 3, 2, 1),
    "relu": scratch.relu, "sigmoid": scratch.sigmoid, "tanh": scratch.tanh,
    "relu_grad": scratch.relu_grad, "sigmoid_grad": scratch.sigmoid_grad,
    "tanh_grad": scratch.tanh_grad, "softmax": scratch.softmax,
    "cross_entropy": lambda a: scratch.cross_entropy(scratch.softmax(a[0, 0]), [0, 1, 2, 3, 4]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(DTYPE_CALLS))
def test_dtype_is_preserved(name, dtype):
    X = np.random.default_rng(0).standard_normal((3, 3, 5, 5)).astype(dtype)
    assert DTYPE_CALLS[name](X).dtype == dtype


def test_float32_conv2d_agrees_with_float64():
    rng = np.random.default_rng(11)
    X, K = rng.standard_normal((2, 8, 10, 10)), rng.standard_normal((4, 8, 3, 3))
    assert_close(scratch.conv2d(X.astype(np.float32), K.astype(np.float32), padding=1),
                 scratch.conv2d(X, K, padding=1))


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, expected", [
    (lambda: scratch.conv2d(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3))), r"\(N, C, H, W\).*\(3, 5, 5\)"),
    (lambda: scratch.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((3, 3, 3))), r"\(F, C, kh, kw\).*\(3, 3, 3\)"),
    (lambda: scratch.conv2d(np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3))),
     r"C=3 .*\(F, 3, kh, kw\).*\(4, 2, 3, 3\)"),
    (lambda: scratch.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 5, 5))),
     r"5x5 is larger than the padded input 3x3"),
    (lambda: scratch.conv2d_naive(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 6, 3)), padding=1),
     r"6x3 is larger than the padded input 5x5"),
    (lambda: scratch.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((4, 2, 3, 3)), b=np.zeros(3)),
     r"b must have shape \(4,\).*\(3,\)"),
    (lambda: scratch.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0), r"stride"),
    (lambda: scratch.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding=(1, 2, 3)),
     r"padding must be an int or a pair"),
    (lambda: scratch.corr2d(np.zeros((1, 4, 4)), np.zeros((2, 2))), r"\(H, W\).*\(1, 4, 4\)"),
    (lambda: scratch.corr2d(np.zeros((2, 2)), np.zeros((3, 3))), r"3x3 is larger than the padded input 2x2"),
    (lambda: scratch.max_pool2d(np.zeros((4, 4))), r"\(N, C, H, W\).*\(4, 4\)"),
    (lambda: scratch.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), r"padding must be smaller"),
    (lambda: scratch.max_pool2d(np.zeros((1, 1, 2, 2)), 5, padding=1), r"larger than the padded input 4x4"),
    (lambda: scratch.cross_entropy(np.full((4, 3), 1 / 3), np.eye(3)[[0, 1, 2, 0]]), r"shape \(4,\)"),
    (lambda: scratch.cross_entropy(np.full((4, 3), 1 / 3), [0, 1, 2, 3]), r"0\.\.2"),
    (lambda: scratch.output_size(3, 5), r"k <= n \+ 2\*padding"),
    (lambda: scratch.numerical_gradient(scratch.relu, np.ones(3)), r"scalar.*shape \(3,\)"),
])
def test_bad_input_raises_a_helpful_value_error(call, expected):
    with pytest.raises(ValueError, match=expected):
        call()


def test_scratch_does_not_import_mxnet():
    source = open(scratch.__file__, encoding="utf-8").read()
    assert "import mxnet" not in source and "from mxnet" not in source


def test_max_abs_difference_finds_the_worst_entry_and_refuses_other_shapes():
    a = np.zeros((2, 3), dtype=np.float32)
    b = a.copy()
    b[1, 2] = -0.25
    assert scratch.max_abs_difference(a, b) == 0.25
    assert scratch.max_abs_difference(a, a) == 0.0
    assert scratch.max_abs_difference(mx.nd.array(b).asnumpy(), b) == 0.0
    with pytest.raises(ValueError, match=r"\(2, 3\) \(ours\) and \(3, 2\)"):
        scratch.max_abs_difference(a, a.T)
