"""Checkers for notebooks 00-04: data, the MLP, convolution, pooling, LeNet."""
import functools
from pathlib import Path

import numpy as np

from .. import data, models, scratch
from .core import Mismatch, as_array, call, compare, exercise, same_number, unpack


@functools.lru_cache(maxsize=None)
def _split(name, train):
    loader = {"mnist": data.load_mnist, "fashion-mnist": data.load_fashion_mnist}[name]
    return loader(train=train)


def _rng():
    return np.random.default_rng(12)


# ---------------------------------------------------------------- 00: setup and tour

@exercise("00.1", "test digits per class",
          hint="data.load_mnist(train=False) is the test split; np.bincount counts each label.",
          done="the bundled MNIST test split's count per class, 0 to 9.")
def _(answer):
    counts = as_array(answer, "your counts")
    compare(counts, np.bincount(_split("mnist", False).labels, minlength=10), "your counts",
            mistakes=[("these are the training split's counts: pass train=False",
                       np.bincount(_split("mnist", True).labels, minlength=10))])


@exercise("00.2", "first 8 test garments",
          hint="data.load_fashion_mnist(train=False); its .classes turns a label into a name.",
          done="the names of the first 8 garments of the test split.")
def _(answer):
    test, train = _split("fashion-mnist", False), _split("fashion-mnist", True)
    if not isinstance(answer, (list, tuple)) or len(answer) != 8:
        raise Mismatch("pass a list of the 8 class names, e.g. ['Ankle boot', ...]")
    if not all(isinstance(a, str) for a in answer):
        raise Mismatch("pass the class names (strings), not the label numbers: test_set.classes[label]")
    names = [test.classes[label] for label in test.labels[:8]]
    if list(answer) == [train.classes[label] for label in train.labels[:8]] != names:
        raise Mismatch("these are the first garments of the training split: pass train=False")
    for i, (want, got) in enumerate(zip(names, answer)):
        if want != got:
            raise Mismatch(f"garment {i} is {want!r}, your list says {got!r}")


@exercise("00.3", "where full Fashion-MNIST comes from",
          hint="data.find_full_file('fashion-mnist', 't10k-images-idx3-ubyte.gz', download=False) "
               "returns (path, where) or raises data.DataError.",
          done="the place data.find_full_file finds on this machine (None when it is not here).")
def _(answer):
    try:
        expected, _ = data.find_full_file("fashion-mnist", "t10k-images-idx3-ubyte.gz", download=False)
    except data.DataError:
        expected = None
    if isinstance(answer, tuple):
        answer = answer[0]
    if expected is None:
        if answer is not None:
            raise Mismatch("the full data set is not on this machine: find_full_file raises data.DataError; answer None")
        return
    if answer is None:
        raise Mismatch(f"the full data set is on this machine: find_full_file found {expected}")
    if not Path(answer).exists():
        raise Mismatch(f"{answer} does not exist on this machine")
    if Path(answer).name != Path(expected).name:
        raise Mismatch(f"{Path(answer).name} is another file of the data set: the test images are {Path(expected).name}")
    if Path(answer).resolve() != Path(expected).resolve():
        raise Mismatch(f"find_full_file looks in the cache first and finds {expected}")


# ---------------------------------------------------------------- 01: MNIST, fully connected

@exercise("01.1", "parameters of 784 -> 512 -> 256 -> 10",
          hint="each dense layer has n_in * n_out weights plus n_out biases; add the three layers.",
          done="535,818 parameters, weights and biases of three dense layers.")
def _(answer):
    sizes = [784, 512, 256, 10]
    pairs = list(zip(sizes[:-1], sizes[1:]))
    expected = sum(models.dense_params(i, o) for i, o in pairs)
    same_number(answer, expected, "your count", mistakes=[
        ("the biases are missing (n_out per layer)", sum(models.dense_params(i, o, bias=False) for i, o in pairs)),
        ("the output layer 256 -> 10 is missing", sum(models.dense_params(i, o) for i, o in pairs[:2]))])


@exercise("01.2", "hidden units in 10 MB",
          hint="one unit on a 224x224x3 photo needs 150,528 weights and 1 bias, 4 bytes each; 10 MB = 10**7 bytes.",
          done="16 units: (150,528 + 1) x 16 x 4 bytes is 9.6 MB.")
def _(answer):
    inputs = 224 * 224 * 3
    if isinstance(answer, float) and not answer.is_integer():
        raise Mismatch(f"{answer} is not a whole number of units: round down")
    same_number(answer, int(10e6 / 4 // (inputs + 1)), "your number of units", mistakes=[
        ("that counts numbers, not bytes: a float32 takes 4 bytes", int(10e6 // (inputs + 1))),
        ("10 MB is 10,000,000 bytes here, not 10 x 2**20 (and 17 units would not fit)",
         int(10 * 2**20 / 4 // (inputs + 1)))])


@exercise("01.3", "undo the permutation",
          hint="permuted pixel i came from position perm[i]; np.argsort(perm) tells where each pixel goes back.",
          done="the restored digit equals the original test digit exactly.")
def _(answer):
    original = _split("mnist", False).images[0]
    perm = data.pixel_permutation(784, seed=data.PERMUTATION_SEED)
    scrambled = original.reshape(784)[perm]
    got = as_array(answer, "your restored digit")
    if got.shape != original.shape and got.size == original.size:
        raise Mismatch(f"the values are all there but the shape is {got.shape}: reshape to {original.shape}")
    compare(got, original, "your restored digit", mistakes=[
        ("you permuted the digit a second time (perm) instead of undoing it (np.argsort(perm))",
         scrambled[perm].reshape(original.shape)),
        ("this is still the permuted digit", scrambled.reshape(original.shape))])


@exercise("01.4", "a permutation per image",
          hint="draw rng.permutation(784) inside the loop over images, so every image gets its own.",
          done="every image keeps its pixel values and labels, each in its own random order.")
def _(answer):
    digits = _split("mnist", False)
    copies = np.repeat(digits.images[:1], 6, axis=0)           # one digit, six times
    same = data.CourseDataset(copies, np.full(6, digits.labels[0]), digits.classes, "one digit six times")
    out = call(answer, same, 1, what="your shuffling function")
    images = as_array(getattr(out, "images", None) if hasattr(out, "images") else None, "its .images")
    if images.shape != copies.shape:
        raise Mismatch(f"the shuffled data set's images have shape {images.shape}, expected {copies.shape}")
    if not np.array_equal(as_array(out.labels), same.labels):
        raise Mismatch("the labels changed: keep each image's label")
    flat, original = images.reshape(6, -1), copies.reshape(6, -1)
    if not all(np.array_equal(np.sort(row), np.sort(original[0])) for row in flat):
        raise Mismatch("an image lost or gained pixel values: only the order of its pixels may change")
    if np.array_equal(flat[0], original[0]):
        raise Mismatch("the first image was not shuffled at all")
    if all(np.array_equal(row, flat[0]) for row in flat):
        raise Mismatch("six copies of one digit came out identical: that is one permutation for all "
                       "(data.permute_pixels); draw a new one for every image")


@exercise("01.softmax", "softmax by hand",
          hint="exp(z) / exp(z).sum(axis=1, keepdims=True), after subtracting each row's maximum.",
          done="your softmax matches scratch.softmax, also for scores around 1000.")
def _(answer):
    Z = _rng().standard_normal((4, 5)) * 3
    compare(call(answer, Z, what="your softmax"), scratch.softmax(Z), "softmax(Z)", mistakes=[
        ("normalised over the wrong axis: each row (one example) must sum to 1", scratch.softmax(Z, axis=0))])
    big = Z + 1000.0
    with np.errstate(all="ignore"):
        compare(call(answer, big, what="your softmax"), scratch.softmax(big),
                "softmax(Z + 1000) (it should equal softmax(Z))", mistakes=[
                    ("exp(1000) overflows to inf: subtract each row's maximum first", np.full(big.shape, np.nan))])


# ---------------------------------------------------------------- 02: convolution

def _edge_response(K, along_antidiagonal, n=12):
    i, j = np.indices((n, n))
    image = (i + j > n - 1) if along_antidiagonal else (j > i)
    return np.abs(scratch.corr2d(image.astype(np.float64), K)).max()


@exercise("02.1", "a diagonal-edge kernel",
          hint="Sobel x compares the column on the left with the one on the right; compare the top-left "
               "corner with the bottom-right one instead, and let the weights sum to 0.",
          done="your kernel responds to edges running from bottom-left to top-right, not to the other diagonal or to flat regions.")
def _(answer):
    K = as_array(answer, "your kernel")
    if K.shape != (3, 3):
        raise Mismatch(f"your kernel has shape {K.shape}, expected (3, 3)")
    if abs(K.sum()) > 1e-6 * max(1.0, np.abs(K).max()):
        raise Mismatch(f"its weights sum to {K.sum():g}, so it responds to flat regions too: make them sum to 0")
    wanted, other = _edge_response(K, True), _edge_response(K, False)
    if wanted < 1e-9:
        raise Mismatch("it gives 0 on an edge from bottom-left to top-right")
    if other > 0.5 * wanted:
        raise Mismatch("it responds as strongly to edges from top-left to bottom-right: it should prefer "
                       "one diagonal (mirror it?), unlike Sobel x which sees both")


@exercise("02.2", "shapes through two layers",
          hint="scratch.output_size(n, k, padding, stride) = floor((n + 2p - k) / s) + 1, applied twice.",
          done="28 -> 14 -> 12.")
def _(answer):
    n1 = scratch.output_size(28, 3, padding=1, stride=2)
    compare(unpack(answer, ["n1", "n2"]), [n1, scratch.output_size(n1, 3)], "your (n1, n2)", mistakes=[
        ("the padding of the first convolution was forgotten", [13, 11]),
        ("the stride 2 of the first convolution was forgotten", [28, 26]),
        ("the second convolution has no padding", [14, 14])])


@exercise("02.3", "learning a kernel on raw pixels",
          hint="pass the raw `small` (float32, in [0, 1]) to learn_kernel, with the targets made from it; keep lr and steps.",
          done="on raw pixels the loss falls but the kernel is still far from Sobel x after the same steps.")
def _(answer):
    K_raw, losses = unpack(answer, ["K_raw", "losses_raw"])
    K, losses = as_array(K_raw, "K_raw"), as_array(losses, "losses_raw").ravel()
    if K.shape != (3, 3):
        raise Mismatch(f"K_raw has shape {K.shape}, expected (3, 3)")
    if not (np.all(np.isfinite(K)) and np.all(np.isfinite(losses))):
        raise Mismatch("the run diverged (inf or nan): keep the learning rate of the standardised run")
    if len(losses) < 2 or not losses[-1] < losses[0]:
        raise Mismatch("the loss did not fall: was the kernel updated at every step?")
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    if np.abs(K - sobel_x).max() < 0.05:
        raise Mismatch("this kernel is as close to Sobel x as the standardised run: did you pass X_std instead of the raw pixels?")


@exercise("02.4", "transpose and horizontal edges",
          hint="corr2d(X.T, K.T) = corr2d(X, K).T: what Sobel x finds in X.T is what Sobel x transposed finds in X.",
          done="Sobel x transposed (= Sobel y) detects horizontal edges.")
def _(answer):
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    K = as_array(answer, "your kernel")
    if K.shape == (3, 3) and np.allclose(K, -sobel_x.T):
        return  # the opposite sign finds the same edges
    compare(K, sobel_x.T, "your kernel", mistakes=[
        ("this is Sobel x itself: it detects vertical edges", sobel_x),
        ("Sobel x turned by 180 degrees is -Sobel x: still vertical edges", -sobel_x)])


@exercise("02.corr2d", "cross-correlation by hand",
          hint="Y[i, j] = sum(X[i:i+kh, j:j+kw] * K): no padding, and the kernel is not flipped.",
          done="your corr2d matches scratch.corr2d on a 6x7 input and a 3x2 kernel.")
def _(answer):
    rng = _rng()
    X, K = rng.standard_normal((6, 7)), rng.standard_normal((3, 2))
    compare(call(answer, X, K, what="your corr2d"), scratch.corr2d(X, K), "corr2d(X, K)", mistakes=[
        ("the kernel is flipped: that is convolution, deep learning's 'convolution' is cross-correlation",
         scratch.corr2d(X, K[::-1, ::-1])),
        ("the output was padded to the input's size: without padding it is (H - kh + 1, W - kw + 1)",
         scratch.corr2d(np.pad(X, ((1, 1), (0, 1))), K))])


@exercise("02.conv2d", "multi-channel conv2d by hand",
          hint="pad X by `padding` zeros, slide with `stride`, sum over the input channels, add b[f] to map f.",
          done="your conv2d matches scratch.conv2d with channels, bias, padding 1 and stride 2.")
def _(answer):
    rng = _rng()
    X, W, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    got = call(answer, X, W, b, 2, 1, what="your conv2d(X, W, b, stride, padding)")
    compare(got, scratch.conv2d(X, W, b, stride=2, padding=1), "conv2d(X, W, b, stride=2, padding=1)", mistakes=[
        ("the kernels are flipped: that is convolution, not cross-correlation",
         scratch.conv2d(X, W[:, :, ::-1, ::-1], b, stride=2, padding=1)),
        ("the padding was forgotten", scratch.conv2d(X, W, b, stride=2, padding=0)),
        ("the stride was ignored", scratch.conv2d(X, W, b, stride=1, padding=1)),
        ("the bias was not added", scratch.conv2d(X, W, None, stride=2, padding=1))])


# ---------------------------------------------------------------- 03: pooling and activation

@exercise("03.1", "global average pooling",
          hint="a window as large as the map: scratch.avg_pool2d(X, X.shape[2]) (square maps). "
               "Pass (X_maps, pooled), or a function pool(X).",
          done="one average per image and channel, (N, C, 1, 1), as mx.nd.Pooling(global_pool=True).")
def _(answer):
    if isinstance(answer, tuple):                 # (X_maps, pooled): your input and your result
        X, pooled = unpack(answer, ["X_maps", "pooled"])
        X = as_array(X, "X_maps")
        if X.ndim != 4:
            raise Mismatch(f"X_maps should be a batch (N, C, H, W), received shape {X.shape}")
    else:                                         # a function: we choose the input
        X = _rng().standard_normal((4, 8, 7, 7))
        pooled = call(answer, X, what="your global pooling")
    means = X.mean(axis=(2, 3), keepdims=True)
    compare(pooled, means, f"pooled {X.shape}", mistakes=[
        ("that is global *max* pooling", X.max(axis=(2, 3), keepdims=True)),
        ("keep the two 1x1 axes: (N, C, 1, 1), as mx.nd.Pooling gives", means[:, :, 0, 0])])


@exercise("03.2", "shift by 2 pixels down",
          hint="moving down by 2: row i of the result is row i - 2 of the input, and the top 2 rows are 0 (nothing wraps around).",
          done="the images moved 2 pixels down, with zeros coming in at the top.")
def _(answer):
    X, moved = unpack(answer, ["digits", "shifted_down_2"])
    X = as_array(X, "digits")
    if X.ndim != 4:
        raise Mismatch(f"digits should be (N, 1, 28, 28), received shape {X.shape}")
    down = np.zeros_like(X)
    down[..., 2:, :] = X[..., :-2, :]
    right = np.zeros_like(X)
    right[..., 2:] = X[..., :-2]
    up = np.zeros_like(X)
    up[..., :-2, :] = X[..., 2:, :]
    compare(moved, down, "your shifted images", mistakes=[
        ("shifted right, not down", right), ("shifted up, not down", up),
        ("the bottom rows wrapped around to the top (np.roll): fill with zeros", np.roll(X, 2, axis=-2))])


@exercise("03.3", "softplus and the sigmoid",
          hint="write softplus(x) = log(1 + exp(x)) (np.log1p(np.exp(x))); its numerical gradient should be scratch.sigmoid(x).",
          done="softplus is right and its numerical derivative is the sigmoid.")
def _(answer):
    x = np.linspace(-6, 6, 25)
    with np.errstate(all="ignore"):
        values, log1p_x = call(answer, x, what="your softplus"), np.log1p(x)
    compare(values, np.logaddexp(0, x), "softplus(x)", mistakes=[
        ("that is log(1 + x), not log(1 + e^x)", log1p_x),
        ("that is ReLU, the function softplus smooths", scratch.relu(x))])
    derivative = scratch.numerical_gradient(lambda v: np.sum(call(answer, v, what="your softplus")), x)
    compare(derivative, scratch.sigmoid(x), "its numerical derivative")


@exercise("03.4", "the gradient of max pooling",
          hint="each 2x2 window sends its gradient (1, from the sum) to its largest input only.",
          done="1 at the largest input of each window, 0 elsewhere.")
def _(answer):
    X, grad = unpack(answer, ["X_small", "gradient"])
    X = as_array(X, "X_small")
    if X.shape[-2:] != (4, 4):
        raise Mismatch(f"pool a 4x4 input; X_small has shape {X.shape}")
    windows = X.reshape(X.shape[:-2] + (2, 2, 2, 2)).swapaxes(-3, -2)      # (..., 2, 2, 2, 2)
    flat = windows.reshape(windows.shape[:-2] + (4,))
    mask = lambda pick: (np.arange(4) == pick(flat, axis=-1)[..., None]).reshape(windows.shape).swapaxes(-3, -2).reshape(X.shape)
    compare(grad, mask(np.argmax).astype(float), "the input's gradient", mistakes=[
        ("that is average pooling's gradient (1/4 to every input)", np.full(X.shape, 0.25)),
        ("every input got 1: the pooling was left out of the recorded graph", np.ones(X.shape)),
        ("the gradient went to each window's smallest input", mask(np.argmin).astype(float))])


@exercise("03.pool2d", "pooling by hand",
          hint="slide a (ph, pw) window at stride 1; take window.max() or window.mean().",
          done="your pool2d matches scratch's max and average pooling at stride 1.")
def _(answer):
    X = _rng().standard_normal((4, 6))
    for mode, ref in (("max", scratch.max_pool2d), ("avg", scratch.avg_pool2d)):
        want = ref(X[None, None], (2, 3), stride=1)[0, 0]
        other = (scratch.avg_pool2d if mode == "max" else scratch.max_pool2d)(X[None, None], (2, 3), stride=1)[0, 0]
        compare(call(answer, X, (2, 3), mode, what=f"your pool2d(X, (2, 3), {mode!r})"), want,
                f"{mode} pooling with a 2x3 window", mistakes=[
                    (f"mode={mode!r} computed the other pooling", other),
                    ("the window was transposed (3x2)", ref(X[None, None], (3, 2), stride=1)[0, 0])])


# ---------------------------------------------------------------- 04: LeNet

@exercise("04.1", "LeNet on 32x32 inputs",
          hint="models.count_parameters(models.LeNet(), (1, 1, 32, 32)); only the first dense layer sees the image size.",
          done="82,826 parameters: the first dense layer gets (576 - 400) x 120 more weights.")
def _(answer):
    at_28 = models.count_parameters(models.LeNet(), (1, 1, 28, 28))
    expected = models.count_parameters(models.LeNet(), (1, 1, 32, 32))
    same_number(answer, expected, "your count", mistakes=[
        ("that is the count at 28x28", at_28),
        ("that is the difference; give the whole net's count at 32x32", expected - at_28)])


@exercise("04.2", "the 1998 LeNet",
          hint="models.LeNet() with its defaults is the original: activation='sigmoid', pooling='avg'.",
          done="a LeNet with sigmoid activations and average pooling.")
def _(answer):
    if not isinstance(answer, models.LeNet):
        raise Mismatch(f"pass the network (a models.LeNet), received {type(answer).__name__}")
    conv, pool = answer.features[0], answer.features[1]
    act = getattr(getattr(conv, "act", None), "_act_type", None)
    if act != "sigmoid":
        raise Mismatch(f"its activation is {act!r}: the 1998 net uses 'sigmoid'")
    if type(pool).__name__ != "AvgPool2D":
        raise Mismatch(f"it pools with {type(pool).__name__}: the 1998 net averages (pooling='avg')")


@exercise("04.3", "the strongest feature map",
          hint="average each of the 6 maps over its 28x28 positions (axis=(1, 2) of maps1[0]) and take the argmax.",
          done="the map with the largest mean activation.")
def _(answer):
    maps, best = unpack(answer, ["maps1", "best"])
    maps = as_array(maps, "maps1")
    if maps.ndim != 4 or maps.shape[0] != 1:
        raise Mismatch(f"maps1 should be (1, 6, 28, 28), received shape {maps.shape}")
    mean = maps[0].mean(axis=(1, 2))
    same_number(int(best) if np.ndim(best) == 0 else best, int(mean.argmax()), "your map index", mistakes=[
        ("that map has the largest *single* activation, not the largest mean", int(maps[0].max(axis=(1, 2)).argmax())),
        ("that map responds least (argmin)", int(mean.argmin()))])
