"""Course-sized image classifiers as Gluon ``HybridBlock``\\ s, a registry, and counting helpers.

Every model takes ``x: (N, C, H, W)`` float32 images (the course uses 28x28 grayscale, ``C = 1``;
any larger size works, and so does ``C = 3``: the first layer infers its input channels) and
returns ``(N, classes)`` logits (no softmax: the loss applies it). Models follow GluonCV's layout:
``features`` (everything up to the last hidden layer) and ``output`` (the classifier).

================  ==========================================================  =========
name              what it shows (notebook)                                    elements
================  ==========================================================  =========
``mlp``           fully connected; ``hidden=()`` is softmax regression (01)   203,530
``lenet``         LeNet-5: conv 5x5, pool, conv 5x5, pool, dense 120-84 (04)  61,706
``alexnet``       deeper, ReLU, dropout; five 3x3 convs (05)                  877,258
``vgg``           repeated VGG blocks from an ``arch`` table (06)             1,098,378
``resnet``        CIFAR-style basic-block ResNet-20, depth 6n+2 (07)          273,754
``plain_resnet``  the same net with the shortcuts removed (07)                270,810
``mobilenet``     depthwise separable blocks, width multiplier 1.0 (08)       139,146
``searchnet``     a tiny CNN with depth/width/kernel knobs for NAS (09)       24,282
================  ==========================================================  =========

(Parameter elements, BatchNorm running statistics included, for 1x28x28 input and default
settings: :func:`count_parameters`.)

Counting helpers teach the formulas and check them against the real layers:
:func:`conv_params`, :func:`dense_params`, :func:`depthwise_separable_params`,
:func:`conv_macs`, :func:`depthwise_separable_macs`, and the measured :func:`count_parameters`,
:func:`count_macs`.
"""
from functools import partial

import numpy as np

import course_utils.config  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
import mxnet as mx
from mxnet.gluon import nn

from course_utils._util import int_pair, positive_int

__all__ = [
    "MLP", "LeNet", "AlexNet", "vgg_block", "VGG", "BasicBlock", "resnet_spec", "ResNet",
    "DepthwiseSeparable", "MobileNet", "SearchNet",
    "get_model", "list_models",
    "count_parameters", "count_macs",
    "conv_params", "dense_params", "depthwise_separable_params",
    "conv_macs", "depthwise_separable_macs",
]


class _CheckedInput:
    """Mixin for the course's networks: refuse input they cannot be meant for, in words.

    MXNet's own errors for a float64, uint8, channels-last (N, H, W, C) or unbatched (C, H, W)
    array are shape-inference messages deep in the graph; this says what was expected. Only
    NDArray calls are checked (a hybridized net still runs its cached graph; a net used inside
    another one receives symbols and is not checked there).
    """

    #: the input rank the network needs; None accepts any (the MLP flattens)
    input_ndim = 4

    def forward(self, x, *args):
        if isinstance(x, mx.nd.NDArray):
            check_input(x, type(self).__name__, self.input_ndim)
        return super().forward(x, *args)


def check_input(x, name="the network", ndim=4):
    """Raise a ValueError that says what is wrong unless ``x`` is a float32 ``(N, C, H, W)`` batch."""
    shape = tuple(x.shape)
    expected = "expected a float32 batch (N, C, H, W), e.g. (N, 1, 28, 28) for Fashion-MNIST"
    if x.dtype not in (np.float32, np.float16):
        scale = " / 255" if x.dtype == np.uint8 else ""
        raise ValueError(f"{name} got {np.dtype(x.dtype).name} input of shape {shape}; {expected}. "
                         f"Convert it: X = X.astype('float32'){scale}")
    if ndim is None:
        return
    if len(shape) == ndim - 1:
        raise ValueError(f"{name} got one image of shape {shape}, without the batch axis; "
                         f"{expected}. Add it: X = X.expand_dims(axis=0)")
    if len(shape) != ndim:
        raise ValueError(f"{name} got input of shape {shape}; {expected}")
    if shape[3] in (1, 3) and shape[1] not in (1, 3):
        raise ValueError(f"{name} got input of shape {shape}, channels last (N, H, W, C); "
                         f"{expected}. Move the channels: X = X.transpose((0, 3, 1, 2))")


def _check_activation(activation):
    allowed = ("relu", "sigmoid", "tanh", "softrelu", "softsign")
    if activation not in allowed:
        raise ValueError(f"activation must be one of {allowed}, got {activation!r}")


def _conv_bn_relu(channels, kernel_size=3, strides=1, in_channels=0):
    """Conv2D (no bias: BatchNorm's beta replaces it) + BatchNorm + ReLU, 'same' padding."""
    block = nn.HybridSequential()
    block.add(nn.Conv2D(channels, kernel_size, strides, kernel_size // 2, use_bias=False,
                        in_channels=in_channels),
              nn.BatchNorm(in_channels=channels),
              nn.Activation("relu"))
    return block


# ----------------------------------------------------------------------------------------------
# Fully connected and LeNet (notebooks 01 and 04)
# ----------------------------------------------------------------------------------------------

class MLP(_CheckedInput, nn.HybridBlock):
    """Multilayer perceptron: flatten, then ``Dense + activation`` per hidden layer.

    Parameters
    ----------
    hidden : tuple of int, default (256,)
        Units of each hidden layer. ``()`` gives softmax regression (one Dense layer).
    classes : int, default 10
    activation : str, default 'relu'
        'relu', 'sigmoid' or 'tanh' (any ``nn.Activation`` name listed in the error message).

    Shapes: ``x: (N, C, H, W)`` -> ``(N, classes)``.
    """

    input_ndim = None  # flattens whatever it gets: (N, 784) or (N, 1, 28, 28)

    def __init__(self, hidden=(256,), classes=10, activation="relu", **kwargs):
        super().__init__(**kwargs)
        _check_activation(activation)
        for units in hidden:
            positive_int(units, "each entry of hidden")
        self.features = nn.HybridSequential()
        self.features.add(nn.Flatten())
        for units in hidden:
            self.features.add(nn.Dense(units, activation=activation))
        self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class LeNet(_CheckedInput, nn.HybridBlock):
    """LeNet-5 (LeCun et al., 1998) for 28x28 digits, as in d2l.

    conv 5x5 6ch (padding 2), pool 2x2, conv 5x5 16ch, pool 2x2, dense 120, dense 84, dense
    ``classes``. On 28x28 input the feature maps are 6x28x28, 6x14x14, 16x10x10, 16x5x5, and the
    net has 61,706 parameters (156 + 2,416 + 48,120 + 10,164 + 850).

    Parameters
    ----------
    classes : int, default 10
    activation : str, default 'sigmoid'
        'sigmoid' is the 1998 original; 'relu' trains faster.
    pooling : str, default 'avg'
        'avg' (the original subsampling) or 'max'.

    Shapes: ``x: (N, C, H, W)`` with H, W >= 12 -> ``(N, classes)``.
    """

    def __init__(self, classes=10, activation="sigmoid", pooling="avg", **kwargs):
        super().__init__(**kwargs)
        _check_activation(activation)
        pools = {"avg": nn.AvgPool2D, "max": nn.MaxPool2D}
        if pooling not in pools:
            raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
        pool = pools[pooling]
        self.features = nn.HybridSequential()
        self.features.add(nn.Conv2D(6, kernel_size=5, padding=2, activation=activation),
                          pool(pool_size=2, strides=2),
                          nn.Conv2D(16, kernel_size=5, activation=activation, in_channels=6),
                          pool(pool_size=2, strides=2),
                          nn.Dense(120, activation=activation),
                          nn.Dense(84, activation=activation, in_units=120))
        self.output = nn.Dense(classes, in_units=84)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# ----------------------------------------------------------------------------------------------
# AlexNet and VGG (notebooks 05 and 06)
# ----------------------------------------------------------------------------------------------

def _classifier(hidden, dropout):
    """Dense + ReLU + Dropout per hidden size, then the output layer (AlexNet/VGG heads)."""
    head = nn.HybridSequential()
    for units in hidden:
        head.add(nn.Dense(units, activation="relu"))
        if dropout:
            head.add(nn.Dropout(dropout))
    return head


class AlexNet(_CheckedInput, nn.HybridBlock):
    """AlexNet's ideas (Krizhevsky et al., 2012) at the size of 28x28 images.

    Like the original: five conv layers with max-pooling after the 1st, 2nd and 5th, ReLU
    everywhere, and two dropout-regularised dense layers. Unlike it: 3x3 kernels with padding 1
    (an 11x11 stride-4 kernel would erase a 28x28 image) and about 1/8 of the channels
    (32-64-128-128-64 instead of 96-256-384-384-256; dense 512 instead of 4096).

    Parameters
    ----------
    classes : int, default 10
    channels : tuple of 5 int, default (32, 64, 128, 128, 64)
    hidden : tuple of int, default (512, 512)
        Units of the dense layers before the output.
    dropout : float, default 0.5
        Dropout probability after each hidden dense layer (0 switches it off).

    Shapes: ``x: (N, C, H, W)`` with H, W >= 8 -> features ``(N, 64, H//8, W//8)`` before the
    dense layers -> ``(N, classes)``.
    """

    def __init__(self, classes=10, channels=(32, 64, 128, 128, 64), hidden=(512, 512),
                 dropout=0.5, **kwargs):
        super().__init__(**kwargs)
        if len(channels) != 5:
            raise ValueError(f"channels must list 5 conv widths, got {channels!r}")
        c1, c2, c3, c4, c5 = channels
        self.features = nn.HybridSequential()
        self.features.add(
            nn.Conv2D(c1, 3, padding=1, activation="relu"), nn.MaxPool2D(2, 2),
            nn.Conv2D(c2, 3, padding=1, activation="relu", in_channels=c1), nn.MaxPool2D(2, 2),
            nn.Conv2D(c3, 3, padding=1, activation="relu", in_channels=c2),
            nn.Conv2D(c4, 3, padding=1, activation="relu", in_channels=c3),
            nn.Conv2D(c5, 3, padding=1, activation="relu", in_channels=c4), nn.MaxPool2D(2, 2),
            _classifier(hidden, dropout))
        self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def vgg_block(num_convs, channels, batch_norm=False):
    """One VGG block: ``num_convs`` times (3x3 conv, padding 1, ReLU), then 2x2 max-pooling.

    Parameters
    ----------
    num_convs : int
    channels : int
        Output channels of every conv in the block.
    batch_norm : bool, default False
        Insert BatchNorm after each conv (VGG-BN).

    Returns
    -------
    nn.HybridSequential mapping ``(N, C, H, W)`` -> ``(N, channels, H//2, W//2)``.
    """
    positive_int(num_convs, "num_convs")
    positive_int(channels, "channels")
    block = nn.HybridSequential()
    for _ in range(num_convs):
        if batch_norm:
            block.add(_conv_bn_relu(channels))
        else:
            block.add(nn.Conv2D(channels, 3, padding=1, activation="relu"))
    block.add(nn.MaxPool2D(pool_size=2, strides=2))
    return block


class VGG(_CheckedInput, nn.HybridBlock):
    """VGG (Simonyan and Zisserman, 2014): VGG blocks from an ``arch`` table, then dense layers.

    ``arch=((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))`` with ``hidden=(4096, 4096)`` is
    VGG-11 (8 conv + 3 dense layers); the default keeps its first three blocks at half the
    channels (4 conv + 3 dense layers), sized for 28x28 images.

    Parameters
    ----------
    arch : tuple of (num_convs, channels), default ((1, 32), (1, 64), (2, 128))
        One entry per block; each block halves H and W.
    classes : int, default 10
    hidden : tuple of int, default (512, 512)
    dropout : float, default 0.5
    batch_norm : bool, default False

    Shapes: ``x: (N, C, H, W)`` with H, W >= 2**len(arch) -> ``(N, classes)``.
    """

    def __init__(self, arch=((1, 32), (1, 64), (2, 128)), classes=10, hidden=(512, 512),
                 dropout=0.5, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if not arch:
            raise ValueError("arch must list at least one (num_convs, channels) block")
        self.features = nn.HybridSequential()
        for num_convs, channels in arch:
            self.features.add(vgg_block(num_convs, channels, batch_norm))
        self.features.add(_classifier(hidden, dropout))
        self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# ----------------------------------------------------------------------------------------------
# ResNet (notebook 07)
# ----------------------------------------------------------------------------------------------

class BasicBlock(nn.HybridBlock):
    """ResNet basic block (He et al., 2016): ``relu(body(x) + shortcut(x))``.

    ``body`` is conv 3x3 (stride) - BN - ReLU - conv 3x3 - BN. The shortcut is ``x`` itself, or
    ``downsample(x)`` (1x1 conv with the same stride + BN) when the shape changes.
    With ``residual=False`` the shortcut is removed: ``relu(body(x))``, and there is no
    ``downsample`` (so no projection parameters).

    Parameters
    ----------
    in_channels : int
        Input channels (the block needs them to decide whether a projection is needed).
    channels : int
        Output channels.
    strides : int, default 1
        2 halves H and W.
    residual : bool, default True

    Shapes: ``x: (N, in_channels, H, W)`` -> ``(N, channels, ceil(H/strides), ceil(W/strides))``.
    """

    def __init__(self, in_channels, channels, strides=1, residual=True, **kwargs):
        super().__init__(**kwargs)
        positive_int(in_channels, "in_channels")
        positive_int(channels, "channels")
        self.residual = residual
        self.body = nn.HybridSequential()
        self.body.add(_conv_bn_relu(channels, 3, strides, in_channels),
                      nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=channels),
                      nn.BatchNorm(in_channels=channels))
        if residual and (strides != 1 or in_channels != channels):
            self.downsample = nn.HybridSequential()
            self.downsample.add(nn.Conv2D(channels, 1, strides, use_bias=False,
                                          in_channels=in_channels),
                                nn.BatchNorm(in_channels=channels))
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        out = self.body(x)
        if self.residual:
            out = out + (self.downsample(x) if self.downsample is not None else x)
        return F.Activation(out, act_type="relu")


def resnet_spec(depth, channels=(16, 32, 64)):
    """Stages of a CIFAR-style ResNet: ``[(num_blocks, channels, strides), ...]``.

    ``depth = 6n + 2``: a stem conv, three stages of ``n`` basic blocks (2 convs each), and the
    output layer. E.g. ``resnet_spec(20)`` -> ``[(3, 16, 1), (3, 32, 2), (3, 64, 2)]``.
    """
    if not isinstance(depth, (int, np.integer)) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"ResNet depth must be 6n+2 for n >= 1 (8, 14, 20, 26, 32, 44, 56, 110, ...), "
            f"got {depth!r}: each of the 3 stages has n blocks of 2 conv layers, plus the first "
            "conv and the output layer")
    if len(channels) != 3:
        raise ValueError(f"channels must give the width of the 3 stages, got {channels!r}")
    n = (depth - 2) // 6
    return [(n, channels[0], 1), (n, channels[1], 2), (n, channels[2], 2)]


class ResNet(_CheckedInput, nn.HybridBlock):
    """CIFAR-style ResNet (He et al., 2016, section 4.2) with basic blocks, or its plain twin.

    Stem conv 3x3 (``channels[0]``) - BN - ReLU; three stages from :func:`resnet_spec` (the
    2nd and 3rd halve H and W); global average pooling; dense ``classes``.

    ``residual=False`` gives the "plain" net of the paper: the same layers with every shortcut
    removed. Its parameter count equals the residual net's minus the two 1x1 ``downsample``
    projections (conv + BN at the first block of stages 2 and 3: 2,944 elements with the
    default channels, 2,752 of them trainable).

    Parameters
    ----------
    depth : int, default 20
        6n + 2: 8, 14, 20, 32, 44, 56, 110, ...
    residual : bool, default True
    channels : tuple of 3 int, default (16, 32, 64)
        Widths of the three stages.
    classes : int, default 10

    Shapes: ``x: (N, C, H, W)`` -> ``(N, classes)``.
    """

    def __init__(self, depth=20, residual=True, channels=(16, 32, 64), classes=10, **kwargs):
        super().__init__(**kwargs)
        spec = resnet_spec(depth, channels)
        self.depth, self.residual = depth, residual
        self.features = nn.HybridSequential()
        self.features.add(_conv_bn_relu(channels[0], 3))
        in_channels = channels[0]
        for num_blocks, stage_channels, strides in spec:
            stage = nn.HybridSequential()
            for i in range(num_blocks):
                stage.add(BasicBlock(in_channels, stage_channels, strides if i == 0 else 1,
                                     residual))
                in_channels = stage_channels
            self.features.add(stage)
        self.features.add(nn.GlobalAvgPool2D())
        self.output = nn.Dense(classes, in_units=in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# ----------------------------------------------------------------------------------------------
# MobileNet (notebook 08)
# ----------------------------------------------------------------------------------------------

class DepthwiseSeparable(nn.HybridBlock):
    """Depthwise separable convolution (MobileNet, Howard et al., 2017).

    ``body``: depthwise k x k conv (``groups = in_channels``: one filter per channel) - BN - ReLU
    - pointwise 1x1 conv (mixes channels) - BN - ReLU. The convs have no bias (BN's beta
    replaces it), so their weights number ``in_channels * k * k + in_channels * channels``
    (:func:`depthwise_separable_params`) against ``in_channels * channels * k * k`` for a
    standard conv. (Gluon prints the depthwise layer as ``Conv2D(1 -> C, ..., groups=C)``: each
    of its C filters sees one input channel.)

    Parameters
    ----------
    in_channels : int
    channels : int
        Output channels.
    strides : int, default 1
        Stride of the depthwise conv.
    kernel_size : int, default 3

    Shapes: ``x: (N, in_channels, H, W)`` -> ``(N, channels, ceil(H/strides), ceil(W/strides))``.
    """

    def __init__(self, in_channels, channels, strides=1, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        positive_int(in_channels, "in_channels")
        positive_int(channels, "channels")
        self.body = nn.HybridSequential()
        self.body.add(nn.Conv2D(in_channels, kernel_size, strides, kernel_size // 2,
                                groups=in_channels, use_bias=False, in_channels=in_channels),
                      nn.BatchNorm(in_channels=in_channels),
                      nn.Activation("relu"),
                      nn.Conv2D(channels, 1, use_bias=False, in_channels=in_channels),
                      nn.BatchNorm(in_channels=channels),
                      nn.Activation("relu"))

    @property
    def depthwise(self):
        """The depthwise conv layer."""
        return self.body[0]

    @property
    def pointwise(self):
        """The pointwise (1x1) conv layer."""
        return self.body[3]

    def hybrid_forward(self, F, x):
        return self.body(x)


#: MobileNet for 28x28: (output channels, stride) of each depthwise separable block, after a
#: 32-channel stem. The ImageNet original has 13 blocks up to 1024 channels and stride 32.
MOBILENET_SPEC = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1))


class MobileNet(_CheckedInput, nn.HybridBlock):
    """MobileNet (v1) sized for 28x28: a conv stem, depthwise separable blocks, global pooling.

    The width multiplier alpha scales every layer's channels (``round(alpha * c)``), so the
    pointwise convs, which hold most parameters and multiply-adds, shrink by about alpha**2.

    Parameters
    ----------
    width_multiplier : float, default 1.0
        E.g. 0.25, 0.5, 1.0.
    classes : int, default 10
    spec : tuple of (channels, strides), default :data:`MOBILENET_SPEC`
    stem_channels : int, default 32

    Shapes: ``x: (N, C, H, W)`` -> ``(N, classes)``.
    """

    def __init__(self, width_multiplier=1.0, classes=10, spec=MOBILENET_SPEC, stem_channels=32,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(width_multiplier, (int, float)) or width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be a positive number such as 0.25, 0.5 or "
                             f"1.0, got {width_multiplier!r}")
        self.width_multiplier = width_multiplier

        def scale(c):
            return max(1, int(round(c * width_multiplier)))

        in_channels = scale(stem_channels)
        self.features = nn.HybridSequential()
        self.features.add(_conv_bn_relu(in_channels, 3))
        for channels, strides in spec:
            self.features.add(DepthwiseSeparable(in_channels, scale(channels), strides))
            in_channels = scale(channels)
        self.features.add(nn.GlobalAvgPool2D())
        self.output = nn.Dense(classes, in_units=in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# ----------------------------------------------------------------------------------------------
# A search space for NAS (notebook 09)
# ----------------------------------------------------------------------------------------------

class SearchNet(_CheckedInput, nn.HybridBlock):
    """A tiny CNN whose shape is set by three searchable choices.

    Three stages of ``depth`` (conv ``kernel`` x ``kernel`` - BN - ReLU) layers with ``width``,
    ``2 * width`` and ``4 * width`` channels; 2x2 max-pooling between stages; global average
    pooling; dense ``classes``. A search space is then e.g. depth in {1, 2, 3}, width in
    {8, 16, 32}, kernel in {3, 5}: 18 candidates.

    Parameters
    ----------
    depth : int, default 1
        Conv layers per stage.
    width : int, default 16
        Channels of the first stage.
    kernel : int, default 3
        Odd kernel size (padding keeps H and W within a stage).
    classes : int, default 10

    Shapes: ``x: (N, C, H, W)`` with H, W >= 4 -> ``(N, classes)``.
    """

    def __init__(self, depth=1, width=16, kernel=3, classes=10, **kwargs):
        super().__init__(**kwargs)
        positive_int(depth, "depth")
        positive_int(width, "width")
        positive_int(kernel, "kernel")
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (1, 3, 5, 7) so padding keeps the size, "
                             f"got {kernel}")
        self.depth, self.width, self.kernel = depth, width, kernel
        self.features = nn.HybridSequential()
        in_channels = 0
        for stage in range(3):
            if stage:
                self.features.add(nn.MaxPool2D(2, 2))
            for _ in range(depth):
                self.features.add(_conv_bn_relu(width * 2 ** stage, kernel,
                                                in_channels=in_channels))
                in_channels = width * 2 ** stage
        self.features.add(nn.GlobalAvgPool2D())
        self.output = nn.Dense(classes, in_units=in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# ----------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------

_MODELS = {
    "mlp": MLP,
    "lenet": LeNet,
    "alexnet": AlexNet,
    "vgg": VGG,
    "resnet": ResNet,
    "plain_resnet": partial(ResNet, residual=False),
    "mobilenet": MobileNet,
    "searchnet": SearchNet,
}


def list_models():
    """Names accepted by :func:`get_model`, sorted."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Build a course model by name, e.g. ``get_model('resnet', depth=8)``.

    Parameters
    ----------
    name : str
        One of :func:`list_models` (case-insensitive).
    **kwargs
        Passed to the model's class (e.g. ``classes``, ``depth``, ``width_multiplier``).

    Returns
    -------
    An uninitialised ``HybridBlock``: call ``net.initialize()`` before use.
    """
    key = str(name).lower()
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _MODELS[key](**kwargs)


# ----------------------------------------------------------------------------------------------
# Counting: formulas and measurements
# ----------------------------------------------------------------------------------------------

def conv_params(c_in, c_out, k, bias=True):
    """Parameters of a standard conv layer: ``c_in * c_out * kh * kw (+ c_out biases)``."""
    kh, kw = int_pair(k, "k (the kernel size)")
    return c_in * c_out * kh * kw + (c_out if bias else 0)


def dense_params(n_in, n_out, bias=True):
    """Parameters of a dense layer: ``n_in * n_out (+ n_out biases)``."""
    return n_in * n_out + (n_out if bias else 0)


def depthwise_separable_params(c_in, c_out, k):
    """Conv weights of a depthwise separable conv (no biases): ``c_in * k * k + c_in * c_out``.

    The first term is the depthwise conv, the second the pointwise 1x1 conv. BatchNorm layers,
    if any, add ``2 * (c_in + c_out)`` trainable parameters (gamma, beta) and as many running
    statistics.
    """
    kh, kw = int_pair(k, "k (the kernel size)")
    return c_in * kh * kw + c_in * c_out


def conv_macs(c_in, c_out, k, h_out, w_out):
    """Multiply-adds of a standard conv for one image: ``c_in * kh * kw`` per output value."""
    kh, kw = int_pair(k, "k (the kernel size)")
    return c_in * kh * kw * c_out * h_out * w_out


def depthwise_separable_macs(c_in, c_out, k, h_out, w_out):
    """Multiply-adds of a depthwise separable conv for one image.

    ``c_in * k * k * h_out * w_out`` (depthwise) ``+ c_in * c_out * h_out * w_out`` (pointwise);
    the ratio to :func:`conv_macs` is ``1 / c_out + 1 / k**2``.
    """
    kh, kw = int_pair(k, "k (the kernel size)")
    return c_in * kh * kw * h_out * w_out + c_in * c_out * h_out * w_out


def _all_initialized(params):
    try:
        for p in params.values():
            p.list_ctx()  # raises RuntimeError if never initialized (deferred counts as done)
    except RuntimeError:
        return False
    return True


def count_parameters(net, input_shape=None, trainable_only=False):
    """Total number of parameter elements of ``net``.

    Shapes left unknown by deferred initialisation (``in_channels=0``, ``in_units=0``) are
    inferred from ``input_shape`` symbolically, without initialising or changing the net.

    Parameters
    ----------
    net : Block
    input_shape : tuple, optional
        E.g. ``(1, 1, 28, 28)``; needed only while some shape is unknown.
    trainable_only : bool, default False
        Count only parameters with gradients (leaves out BatchNorm's running mean and variance).

    Returns
    -------
    int
    """
    params = net.collect_params()
    shapes = {name: p.shape for name, p in params.items()}
    if any(not s or 0 in s for s in shapes.values()):
        if input_shape is None:
            raise ValueError("some parameter shapes are not known yet (deferred initialisation): "
                             "pass input_shape, e.g. count_parameters(net, (1, 1, 28, 28))")
        shapes.update(_infer_shapes(net, input_shape))
    return int(sum(np.prod(shapes[name]) for name, p in params.items()
                   if not trainable_only or p.grad_req != "null"))


def _infer_shapes(net, input_shape):
    """Parameter name -> shape for ``input_shape``, by symbolic shape inference (or a forward)."""
    if isinstance(net, nn.HybridBlock):
        sym = net(mx.sym.var("data"))
        arg_shapes, _, aux_shapes = sym.infer_shape(data=tuple(input_shape))
        names = sym.list_arguments() + sym.list_auxiliary_states()
        return dict(zip(names, arg_shapes + aux_shapes))
    if not _all_initialized(net.collect_params()):
        raise ValueError("this net is a plain Block whose shapes are not known yet: call "
                         "net.initialize() first, then count_parameters(net, input_shape)")
    net(mx.nd.zeros(input_shape, ctx=_context(net)))
    return {name: p.shape for name, p in net.collect_params().items()}


def _context(net):
    for p in net.collect_params().values():
        return p.list_ctx()[0]
    return mx.cpu()


def count_macs(net, input_shape):
    """Multiply-adds per image of every Conv2D and Dense layer, measured by forward hooks.

    Runs one forward pass on zeros of ``input_shape`` and, for each layer, counts
    ``(output values per image) * (weight elements per output value)``: ``c_in/groups * kh * kw``
    for a conv, ``n_in`` for a dense layer. Pooling, BatchNorm, activations and bias additions
    are not counted. A hybridized net is run imperatively for the count (hooks do not fire
    inside a cached graph) and hybridized again afterwards.

    Parameters
    ----------
    net : Block, initialised (``net.initialize()``)
    input_shape : tuple
        ``(N, C, H, W)``; the result is divided by N.

    Returns
    -------
    int
        Multiply-adds for one image.
    """
    if not _all_initialized(net.collect_params()):
        raise ValueError("count_macs runs a forward pass: call net.initialize() first")
    counts = []

    def hook(layer, inputs, output):
        weight = layer.weight.shape
        counts.append(output.size // output.shape[0] * int(np.prod(weight[1:])))

    handles = []

    def attach(block):
        if isinstance(block, (nn.Conv2D, nn.Dense)):
            handles.append(block.register_forward_hook(hook))

    net.apply(attach)
    # Gluon keeps the hybridize state in private attributes; remember it to restore it.
    was_hybridized = getattr(net, "_active", False)
    flags = dict(getattr(net, "_flags", []))
    try:
        if was_hybridized:
            net.hybridize(False)
        net(mx.nd.zeros(input_shape, ctx=_context(net)))
    finally:
        for handle in handles:
            handle.detach()
        if was_hybridized:
            net.hybridize(True, **flags)
    return int(sum(counts))
