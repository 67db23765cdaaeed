"""Checkers for notebooks 05-09: AlexNet, VGG, ResNet, MobileNet, NAS and the model zoo."""
import functools

import mxnet as mx
import numpy as np

from .. import models
from .core import Mismatch, accuracies, as_array, call, compare, exercise, same_number, unpack


# ---------------------------------------------------------------- 05: AlexNet

@exercise("05.1", "reading the ImageNet chart",
          hint="the factor is errors[2011] / errors[2017]; a year's step is errors[year - 1] - errors[year].",
          done="the factor from 2011 to 2017 and the year of the largest fall in percentage points.")
def _(answer):
    errors, factor, year = unpack(answer, ["errors", "factor", "year"])
    if not isinstance(errors, dict) or not {2011, 2017} <= set(errors):
        raise Mismatch("errors should be the notebook's dict {year: top-5 error}")
    same_number(factor, errors[2011] / errors[2017], "your factor", mistakes=[
        ("the ratio is upside down: 2011's error divided by 2017's", errors[2017] / errors[2011]),
        ("that is the difference in percentage points, not a factor", errors[2011] - errors[2017])])
    steps = {y: errors[y - 1] - errors[y] for y in errors if y - 1 in errors}
    relative = {y: steps[y] / errors[y - 1] for y in steps}
    best = max(steps, key=steps.get)
    same_number(year, best, "your year", mistakes=[
        ("that year has the largest *relative* fall; the question asks for percentage points", max(relative, key=relative.get)),
        (f"name the year the step ends in: {best - 1} -> {best}", best - 1)])


@exercise("05.2", "dropout's scale",
          hint="call the Dropout layer inside `with autograd.train_mode():`; the kept units are x / (1 - p).",
          done="half the units zeroed, the rest doubled: the mean stays that of the input.")
def _(answer):
    x, out = unpack(answer, ["x", "training"])
    x, out = as_array(x, "x"), as_array(out, "training")
    if out.shape != x.shape:
        raise Mismatch(f"the output has shape {out.shape}, the input {x.shape}")
    dropped = out == 0
    if not dropped.any():
        raise Mismatch("nothing was dropped: dropout is off outside training; use `with autograd.train_mode():`")
    kept = ~dropped
    if np.allclose(out[kept], x[kept]):
        raise Mismatch("the kept units were not rescaled: Gluon's Dropout divides them by 1 - p")
    compare(out[kept], 2 * x[kept], "the kept units (expected 2 x input)")
    if abs(out.mean() - x.mean()) > 0.05 * abs(x.mean()) + 1e-9:
        raise Mismatch(f"the mean moved from {x.mean():.3f} to {out.mean():.3f}: use more units (x has {x.size})")


@exercise("05.3", "where AlexNet's parameters are",
          hint="models.dense_params(n_in, n_out) = n_in * n_out + n_out.",
          done="(64x7x7 -> 512, 576 -> 4,096) dense layers: 1,606,144 and 2,363,392 parameters.")
def _(answer):
    no_pool, wide = unpack(answer, ["params_without_last_pool", "params_with_4096_units"])
    same_number(no_pool, models.dense_params(64 * 7 * 7, 512), "64x7x7 inputs, 512 units", mistakes=[
        ("the 512 biases are missing", models.dense_params(64 * 7 * 7, 512, bias=False))])
    same_number(wide, models.dense_params(64 * 3 * 3, 4096), "576 inputs, 4,096 units", mistakes=[
        ("the 4,096 biases are missing", models.dense_params(576, 4096, bias=False)),
        ("that is 64x7x7 inputs and 4,096 units: keep the last pooling layer (576 inputs)", models.dense_params(3136, 4096))])


@exercise("05.4", "dropout left on when predicting",
          hint="train.evaluate_accuracy(net, test_iter, ctx) inside `with autograd.train_mode():`.",
          done="with dropout left on, predictions use a random half of the dense units and the accuracy changes.")
def _(answer):
    acc, acc_on = accuracies(answer, ["acc", "acc_dropout_on"])
    if acc_on == acc:
        raise Mismatch("the two accuracies are equal: was the evaluation inside `with autograd.train_mode():`?")


# ---------------------------------------------------------------- 06: VGG

def _vgg_params(arch, in_channels=3, size=224, hidden=(4096, 4096), classes=1000):
    total, c = 0, in_channels
    for num_convs, channels in arch:
        for _ in range(num_convs):
            total, c = total + models.conv_params(c, channels, 3), channels
        size //= 2
    units = [c * size * size, *hidden, classes]
    return total + sum(models.dense_params(i, o) for i, o in zip(units[:-1], units[1:]))


VGG16 = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
VGG19 = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))


@exercise("06.1", "VGG-19's parameters",
          hint="add models.conv_params for each 3x3 conv of the table, then the three dense layers (512x7x7 -> 4096 -> 4096 -> 1000).",
          done="VGG-19 has 143,667,240 parameters, 5,309,696 more than VGG-16.")
def _(answer):
    expected = _vgg_params(VGG19)
    same_number(answer, expected, "your count", mistakes=[
        ("that is VGG-16's count", _vgg_params(VGG16)),
        ("that is the difference from VGG-16; give VGG-19's total", expected - _vgg_params(VGG16))])


@exercise("06.2", "receptive field of stacked 3x3 convolutions",
          hint="one 3x3 conv sees 3x3; each further one widens the window by one pixel on each side.",
          done="n stacked 3x3 convolutions see (2n + 1) x (2n + 1) pixels.")
def _(answer):
    if not callable(answer):
        same_number(answer, 7, "the window of 3 convolutions", mistakes=[
            ("the windows overlap: each extra conv adds 2 pixels, not 3", 9),
            ("stride 1 does not multiply the window: 3 + 2 + 2", 27)])
        return
    n = np.arange(1, 7)
    compare([call(answer, int(k), what="your receptive_field(n)") for k in n], 2 * n + 1, "receptive_field(1..6)",
            mistakes=[("the windows overlap: each extra conv adds 2 pixels, not 3", 3 * n),
                      ("stride 1 does not multiply the window", 3 ** n)])


@exercise("06.3", "a global-average-pooling head",
          hint="global average pooling leaves one number per channel (128); then models.dense_params(128, 10).",
          done="the head has 1,290 parameters.")
def _(answer):
    same_number(answer, models.dense_params(128, 10), "your head's parameters", mistakes=[
        ("the 10 biases are missing", models.dense_params(128, 10, bias=False)),
        ("global pooling leaves 128 numbers, not 128 x 3 x 3", models.dense_params(128 * 9, 10))])


@exercise("06.4", "one more 3x3 conv",
          hint="models.conv_params(128, 128, 3) and models.conv_macs(128, 128, 3, 7, 7).",
          done="147,584 parameters and 7,225,344 multiply-adds per image.")
def _(answer):
    params, macs = unpack(answer, ["params", "macs"])
    same_number(params, models.conv_params(128, 128, 3), "your parameters", mistakes=[
        ("the 128 biases are missing", models.conv_params(128, 128, 3, bias=False)),
        ("that is the multiply-adds: (params, macs) is the order", models.conv_macs(128, 128, 3, 7, 7))])
    same_number(macs, models.conv_macs(128, 128, 3, 7, 7), "your multiply-adds", mistakes=[
        ("that is for 14x14 maps; the third block's are 7x7", models.conv_macs(128, 128, 3, 14, 14)),
        ("that is for one output position; multiply by the 7 x 7 positions", models.conv_macs(128, 128, 3, 1, 1))])


# ---------------------------------------------------------------- 07: ResNet

@exercise("07.1", "the factor per layer",
          hint="over L layers the spread g[0] / g[-1] is the product of L - 1 factors: take the (L - 1)-th root.",
          done="the average factor per layer is the (L - 1)-th root of first / last gradient norm.")
def _(answer):
    norms, factor = unpack(answer, ["norms", "factor"])
    g = as_array(norms, "norms").ravel()
    if g.size < 2 or np.any(g <= 0):
        raise Mismatch("norms should be the positive gradient norms of the layers, first layer first")
    same_number(factor, (g[0] / g[-1]) ** (1 / (g.size - 1)), "your factor", mistakes=[
        ("off by one: L layers have L - 1 steps between them, take the (L - 1)-th root", (g[0] / g[-1]) ** (1 / g.size)),
        ("that is the whole spread, not the factor per layer", g[0] / g[-1]),
        ("the ratio is upside down (last / first)", (g[-1] / g[0]) ** (1 / (g.size - 1)))])


@exercise("07.2", "what the shortcuts cost",
          hint="each projection: a 1x1 conv without bias (c_in x c_out) plus BatchNorm's 4 numbers per output channel.",
          done="2,944 parameters: the two projections are all the residual net adds.")
def _(answer):
    pairs = [(16, 32), (32, 64)]
    conv = sum(models.conv_params(i, o, 1, bias=False) for i, o in pairs)
    bn = sum(o for _, o in pairs)
    same_number(answer, conv + 4 * bn, "your count", mistakes=[
        ("BatchNorm's parameters are missing", conv),
        ("BatchNorm keeps 4 numbers per channel: gamma, beta, running mean and running variance", conv + 2 * bn),
        ("the 1x1 convolutions have no bias (BatchNorm's beta replaces it)", conv + 5 * bn)])


@exercise("07.3", "a block that starts as the identity",
          hint="block.body[2] is the body's last BatchNorm: set its gamma to zeros; the block is then relu(x + 0).",
          done="the block returns its non-negative input unchanged.")
def _(answer):
    if not isinstance(answer, models.BasicBlock):
        raise Mismatch(f"pass the block (a models.BasicBlock), received {type(answer).__name__}")
    if answer.downsample is not None:
        raise Mismatch("this block projects its shortcut (channels or stride change): use BasicBlock(16, 16)")
    channels = answer.body[1].weight.shape[0]
    x = mx.nd.array(np.random.default_rng(7).uniform(size=(2, channels, 6, 6)))
    out = call(answer, x, what="your block")
    if not np.allclose(out.asnumpy(), x.asnumpy(), atol=1e-6):
        gamma = answer.body[2].gamma.data().asnumpy()
        if np.any(gamma != 0):
            raise Mismatch("the output differs from x: the gamma of the body's *last* BatchNorm (block.body[2]) is not 0")
        raise Mismatch("the output differs from x")


# ---------------------------------------------------------------- 08: MobileNet

@exercise("08.1", "separable cost with 5x5 kernels",
          hint="the ratio is 1/c_out + 1/k^2: pointwise over standard plus depthwise over standard.",
          done="1/256 + 1/25 = 0.0439 of the standard convolution's multiply-adds.")
def _(answer):
    same_number(answer, 1 / 256 + 1 / 25, "your fraction", rel=1e-3, mistakes=[
        ("that is the pointwise part only; add the depthwise 1/k^2", 1 / 256),
        ("that is the 3x3 kernel's fraction; here k = 5", 1 / 256 + 1 / 9),
        ("the depthwise part is 1/k^2, not 1/k", 1 / 256 + 1 / 5)])


@functools.lru_cache(maxsize=None)
def _mobilenet_weights():
    net = models.get_model("mobilenet")
    blocks = [b for b in net.features if isinstance(b, models.DepthwiseSeparable)]
    return (sum(models.count_parameters(b.depthwise) for b in blocks),
            sum(models.count_parameters(b.pointwise) for b in blocks))


@exercise("08.2", "where MobileNet's weights live",
          hint="sum models.count_parameters(b.depthwise) and (b.pointwise) over the DepthwiseSeparable blocks of net.features.",
          done="about 4 % of the separable blocks' weights are depthwise, 96 % pointwise.")
def _(answer):
    depthwise, pointwise = _mobilenet_weights()
    share = depthwise / (depthwise + pointwise)
    same_number(answer, share, "your depthwise fraction", rel=1e-3, mistakes=[
        ("that is the pointwise fraction", 1 - share),
        ("give a fraction between 0 and 1, not a percentage", 100 * share)])


@functools.lru_cache(maxsize=None)
def _macs_ratio(which):
    if which == "mobilenet":
        net, big, small = models.get_model("mobilenet"), (1, 1, 28, 28), (1, 1, 14, 14)
    else:
        from gluoncv import model_zoo
        net, big, small = model_zoo.get_model("resnet18_v1", pretrained=False), (1, 3, 224, 224), (1, 3, 112, 112)
    net.initialize()
    return models.count_macs(net, small) / models.count_macs(net, big)


def _resolution_mistakes(ratio):
    return [("the ratio is upside down: small input over large input", 1 / ratio),
            ("a quarter is the estimate; count with models.count_macs (odd map sizes round up)", 0.25),
            ("halving height *and* width quarters the maps, not halves them", 0.5)]


def _half_resolution_exercise(exercise_id, title, which, hint, done):
    """08.3 and 09.3 ask the same of two networks: the multiply-adds at half the input size."""
    @exercise(exercise_id, title, hint=hint, done=done)
    def _(answer):
        ratio = _macs_ratio(which)
        same_number(answer, ratio, "your ratio", rel=2e-3, mistakes=_resolution_mistakes(ratio))


_half_resolution_exercise(
    "08.3", "MobileNet at half the resolution", "mobilenet",
    hint="models.count_macs(net, (1, 1, 14, 14)) / models.count_macs(net, (1, 1, 28, 28)).",
    done="the multiply-adds fall to about a quarter (0.281); the parameters do not change.")


# ---------------------------------------------------------------- 09: NAS and the model zoo

WIDER = {"depth": (1, 2, 3), "width": (4, 8, 16, 32), "kernel": (3, 5, 7)}


@exercise("09.1", "mutants of the winner",
          hint="for each of the three choices in turn, move to the next value up or down in the wider space; keep the other two.",
          done="every one-step neighbour of the winner in the wider space, each once.")
def _(answer):
    arch, mutants = unpack(answer, ["arch", "mutants"])
    arch = tuple(arch)
    expected = set()
    for i, values in enumerate(WIDER.values()):
        j = values.index(arch[i])
        for nj in (j - 1, j + 1):
            if 0 <= nj < len(values):
                expected.add(arch[:i] + (values[nj],) + arch[i + 1:])
    got = [tuple(m) for m in mutants]
    if arch in got:
        raise Mismatch(f"{arch} is the winner itself, not a mutant")
    if len(set(got)) != len(got):
        raise Mismatch("some mutants appear twice")
    outside = [m for m in got if any(v not in values for v, values in zip(m, WIDER.values()))]
    if outside:
        raise Mismatch(f"{outside[0]} is outside the space depth 1-3, width 4/8/16/32, kernel 3/5/7")
    far = [m for m in got if m not in expected]
    if far:
        raise Mismatch(f"{far[0]} is more than one step from {arch}: change one choice, to a neighbouring value")
    if set(got) != expected:
        raise Mismatch(f"{len(expected)} mutants expected, you have {len(got)}; missing e.g. {sorted(expected - set(got))[0]}")


@exercise("09.2", "parameters in dense layers",
          hint="collect every nn.Dense with net.apply(...); VGG16 has three, two of them inside net.features.",
          done="ResNet-50's one dense layer holds 2,049,000 parameters, VGG16's three hold 123,642,856.")
def _(answer):
    if not isinstance(answer, dict) or set(answer) != {"resnet50_v1", "vgg16"}:
        raise Mismatch("pass a dict {'resnet50_v1': count, 'vgg16': count} of the parameters in dense layers")
    same_number(answer["resnet50_v1"], models.dense_params(2048, 1000), "ResNet-50's dense parameters", mistakes=[
        ("the 1,000 biases are missing", models.dense_params(2048, 1000, bias=False))])
    units = [512 * 7 * 7, 4096, 4096, 1000]
    same_number(answer["vgg16"], sum(models.dense_params(i, o) for i, o in zip(units[:-1], units[1:])),
                "VGG16's dense parameters", mistakes=[
                    ("only the output layer: VGG16 has two more Dense layers inside net.features", models.dense_params(4096, 1000)),
                    ("the biases are missing", sum(models.dense_params(i, o, bias=False) for i, o in zip(units[:-1], units[1:])))])


_half_resolution_exercise(
    "09.3", "ResNet-18 at 112x112", "resnet18_v1",
    hint="models.count_macs(net, (1, 3, 112, 112)) divided by the 224x224 count.",
    done="about a quarter of the multiply-adds (a little more: odd map sizes round up); the same parameters.")
