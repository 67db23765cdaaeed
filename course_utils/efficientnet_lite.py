"""EfficientNet-Lite in Gluon: TensorFlow's mobile variant of EfficientNet (ReLU6, no
squeeze-excitation), laid out as GluonCV's networks are (``features`` and ``output``).

:class:`EfficientNetLite` is the network; :data:`LITE0_SPEC` its Lite0 stages; :func:`torch_names`
maps its parameters to the tensor names of the PyTorch checkpoint the ImageNet weights come from
(see :mod:`course_utils.pretrained`, which converts and loads them).
"""
from course_utils import config  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
from mxnet.gluon import HybridBlock, nn

__all__ = ["LITE0_SPEC", "ConvBN", "MBConv", "EfficientNetLite", "torch_names"]

#: EfficientNet-B0 / Lite0 stages: (expand_ratio, kernel, stride, out_channels, repeats)
LITE0_SPEC = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


class ConvBN(HybridBlock):
    """Convolution with TensorFlow "SAME" padding, then BatchNorm, then (optionally) ReLU6.

    "SAME" pads ``kernel - stride`` in total; with stride 2 that is odd, and TensorFlow puts the
    extra row and column at the bottom and right. The padding is fixed at construction for
    inputs of even height and width (true at every stride-2 layer when the image side is a
    multiple of 32, e.g. 224): other sizes run too, but the windows sit half a pixel off
    TensorFlow's.

    Parameters
    ----------
    in_channels, channels : int
        Input and output channels.
    kernel_size : int
        Square kernel side.
    stride : int, default 1
    groups : int, default 1
        ``groups == in_channels == channels`` makes a depthwise convolution.
    act : bool, default True
        Apply ReLU6 (``min(max(x, 0), 6)``) after BatchNorm.

    Shapes: ``x: (N, in_channels, H, W) -> (N, channels, H / stride, W / stride)`` (``H`` and
    ``W`` even when ``stride`` is 2).
    """

    def __init__(self, in_channels, channels, kernel_size, stride=1, groups=1, act=True,
                 **kwargs):
        super().__init__(**kwargs)
        total = max(kernel_size - stride, 0)
        self.pad_before, self.pad_after = total // 2, total - total // 2
        self.act = act
        symmetric = self.pad_before == self.pad_after
        with self.name_scope():
            self.conv = nn.Conv2D(channels, kernel_size, strides=stride,
                                  padding=self.pad_before if symmetric else 0, groups=groups,
                                  use_bias=False, in_channels=in_channels)
            self.bn = nn.BatchNorm(epsilon=1e-3, momentum=0.99, in_channels=channels)
        self._pad_width = None if symmetric else (
            0, 0, 0, 0, self.pad_before, self.pad_after, self.pad_before, self.pad_after)

    def hybrid_forward(self, F, x):
        if self._pad_width is not None:
            x = F.pad(x, mode="constant", constant_value=0, pad_width=self._pad_width)
        x = self.bn(self.conv(x))
        return F.clip(x, 0, 6) if self.act else x


class MBConv(HybridBlock):
    """Inverted residual block (MobileNetV2 / EfficientNet-Lite, no squeeze-excitation).

    ``body``: 1x1 expansion to ``in_channels * expand_ratio`` (skipped when the ratio is 1),
    depthwise ``kernel x kernel`` convolution with the stride, 1x1 linear projection. The input
    is added back (the shortcut) when the stride is 1 and the channels match.

    Parameters
    ----------
    in_channels, channels : int
    expand_ratio : int
    kernel_size : int
    stride : int

    Shapes: ``x: (N, in_channels, H, W) -> (N, channels, H / stride, W / stride)``.
    """

    def __init__(self, in_channels, channels, expand_ratio, kernel_size, stride, **kwargs):
        super().__init__(**kwargs)
        mid = in_channels * expand_ratio
        self.use_shortcut = stride == 1 and in_channels == channels
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            if expand_ratio != 1:
                self.body.add(ConvBN(in_channels, mid, 1))
            self.body.add(ConvBN(mid, mid, kernel_size, stride, groups=mid))
            self.body.add(ConvBN(mid, channels, 1, act=False))

    def hybrid_forward(self, F, x):
        out = self.body(x)
        return out + x if self.use_shortcut else out


class EfficientNetLite(HybridBlock):
    """EfficientNet-Lite (TensorFlow's variant for mobile: ReLU6, no squeeze-excitation).

    GluonCV's layout: ``features`` (stem, the MBConv blocks from ``spec``, the 1x1 head, global
    average pooling, flatten) and ``output`` (dropout, dense). For transfer learning replace
    ``net.output`` with any HybridBlock (e.g. ``net.output = nn.Dense(10)``, then
    ``net.output.initialize()``); ``net.features`` keeps its weights.

    Parameters
    ----------
    spec : sequence of (expand_ratio, kernel, stride, out_channels, repeats)
        One row per stage; the first block of a stage has the stride, the rest stride 1.
    stem_channels : int, default 32
    head_channels : int, default 1280
    classes : int, default 1000
    dropout : float, default 0.2

    Shapes: ``x: (N, 3, H, W)`` float32 -> ``(N, classes)`` logits; ``features(x)``:
    ``(N, head_channels)``. With the ImageNet weights, ``x`` is RGB scaled as
    ``(pixel - 127) / 128`` and ``H = W = 224`` (any multiple of 32 is exact).
    """

    def __init__(self, spec=LITE0_SPEC, stem_channels=32, head_channels=1280, classes=1000,
                 dropout=0.2, **kwargs):
        super().__init__(**kwargs)
        self.spec = tuple(tuple(row) for row in spec)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(ConvBN(3, stem_channels, 3, stride=2))
            channels = stem_channels
            for expand_ratio, kernel, stride, out_channels, repeats in self.spec:
                for i in range(repeats):
                    self.features.add(MBConv(channels, out_channels, expand_ratio, kernel,
                                             stride if i == 0 else 1))
                    channels = out_channels
            self.features.add(ConvBN(channels, head_channels, 1))
            self.features.add(nn.GlobalAvgPool2D(), nn.Flatten())
            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Dropout(dropout), nn.Dense(classes, in_units=head_channels))

    def __setattr__(self, name, value):
        # Gluon forbids changing a child's type; transfer learning wants `net.output =
        # nn.Dense(10)` (GluonCV's idiom) to work although `output` is a HybridSequential.
        if name == "output" and isinstance(value, HybridBlock) and "output" in self._children:
            self.register_child(value, name)  # replaces the old head in place
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def torch_names(net):
    """Pairs (checkpoint tensor name, Gluon Parameter) for an :class:`EfficientNetLite`.

    The checkpoint follows lukemelas/EfficientNet-PyTorch: ``_conv_stem``/``_bn0``,
    ``_blocks.{i}._expand_conv``/``_bn0``, ``._depthwise_conv``/``_bn1``,
    ``._project_conv``/``_bn2``, ``_conv_head``/``_bn1``, ``_fc``.
    """
    def conv_bn(block, conv, bn):
        return [(f"{conv}.weight", block.conv.weight), (f"{bn}.weight", block.bn.gamma),
                (f"{bn}.bias", block.bn.beta), (f"{bn}.running_mean", block.bn.running_mean),
                (f"{bn}.running_var", block.bn.running_var)]

    layers = list(net.features)
    pairs = conv_bn(layers[0], "_conv_stem", "_bn0")
    blocks = [layer for layer in layers if isinstance(layer, MBConv)]
    for i, block in enumerate(blocks):
        body = list(block.body)
        if len(body) == 3:
            pairs += conv_bn(body[0], f"_blocks.{i}._expand_conv", f"_blocks.{i}._bn0")
        pairs += conv_bn(body[-2], f"_blocks.{i}._depthwise_conv", f"_blocks.{i}._bn1")
        pairs += conv_bn(body[-1], f"_blocks.{i}._project_conv", f"_blocks.{i}._bn2")
    pairs += conv_bn(layers[len(blocks) + 1], "_conv_head", "_bn1")
    dense = net.output[-1]
    pairs += [("_fc.weight", dense.weight), ("_fc.bias", dense.bias)]
    return pairs
