"""Tests for course_utils.models: shapes, hybridize, parameter and multiply-add formulas."""
import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet: sets MXNET_HOME and threads)
from course_utils import models
import mxnet as mx
from mxnet.gluon import nn

#: small settings so the deep models stay fast; every registered name must appear here
FAST_KWARGS = {"resnet": {"depth": 8}, "plain_resnet": {"depth": 8}}


def _built(name, shape, seed=0, **kwargs):
    mx.random.seed(seed)
    net = models.get_model(name, **{**FAST_KWARGS.get(name, {}), **kwargs})
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=shape)
    return net, x


def test_registry_lists_the_course_models():
    assert set(models.list_models()) >= {"mlp", "lenet", "alexnet", "vgg", "resnet",
                                         "plain_resnet", "mobilenet", "searchnet"}
    assert models.list_models() == sorted(models.list_models())


def test_unknown_model_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown model 'resnet18'.*lenet.*mobilenet"):
        models.get_model("resnet18")


@pytest.mark.parametrize("name", models.list_models())
@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (2, 1, 64, 64)])
def test_output_shape(name, shape):
    net, x = _built(name, shape)
    assert net(x).shape == (2, 10)


@pytest.mark.parametrize("name", models.list_models())
def test_hybridized_equals_imperative(name):
    net, x = _built(name, (2, 1, 28, 28))
    # give BatchNorm non-trivial running statistics, so inference mode is really exercised
    for pname, p in net.collect_params().items():
        if pname.endswith("running_mean"):
            p.set_data(mx.nd.random.normal(0, 0.1, shape=p.shape))
        elif pname.endswith("running_var"):
            p.set_data(mx.nd.random.uniform(0.5, 1.5, shape=p.shape))
    imperative = net(x).asnumpy()
    net.hybridize()
    hybrid = net(x).asnumpy()
    assert np.abs(imperative).max() > 0
    np.testing.assert_allclose(hybrid, imperative, rtol=1e-5, atol=1e-5)


def test_classes_argument():
    net, x = _built("lenet", (3, 1, 28, 28), classes=7)
    assert net(x).shape == (3, 7)


def test_three_channel_input_works():
    net, x = _built("mobilenet", (2, 3, 32, 32))
    assert net(x).shape == (2, 10)


# ---------------------------------------------------------------- parameter formulas

def test_conv_and_dense_params_match_layers():
    conv = nn.Conv2D(16, kernel_size=5, in_channels=6)
    assert models.count_parameters(conv) == models.conv_params(6, 16, 5) == 2416
    conv = nn.Conv2D(8, kernel_size=(3, 5), in_channels=4, use_bias=False)
    assert models.count_parameters(conv) == models.conv_params(4, 8, (3, 5), bias=False) == 480
    dense = nn.Dense(84, in_units=120)
    assert models.count_parameters(dense) == models.dense_params(120, 84) == 10164


def test_lenet_parameters_by_hand():
    # conv1 1*6*25+6, conv2 6*16*25+16, dense 400*120+120, 120*84+84, 84*10+10
    by_hand = 156 + 2416 + 48120 + 10164 + 850
    assert by_hand == 61706
    net = models.LeNet()
    assert models.count_parameters(net, (1, 1, 28, 28)) == by_hand
    formulas = (models.conv_params(1, 6, 5) + models.conv_params(6, 16, 5)
                + models.dense_params(16 * 5 * 5, 120) + models.dense_params(120, 84)
                + models.dense_params(84, 10))
    assert formulas == by_hand


def test_count_parameters_does_not_initialise_the_net():
    net = models.LeNet()
    models.count_parameters(net, (1, 1, 28, 28))
    net.initialize(mx.init.Xavier())  # would warn "already initialized" if counting had done it
    assert net(mx.nd.zeros((1, 1, 28, 28))).shape == (1, 10)


def test_count_parameters_needs_input_shape_while_shapes_are_unknown():
    with pytest.raises(ValueError, match="input_shape"):
        models.count_parameters(models.LeNet())


def test_depthwise_separable_params():
    block = models.DepthwiseSeparable(32, 64)
    convs = models.count_parameters(block.depthwise) + models.count_parameters(block.pointwise)
    assert convs == models.depthwise_separable_params(32, 64, 3) == 32 * 9 + 32 * 64
    # each BatchNorm adds gamma and beta (trainable) and a running mean and variance
    assert models.count_parameters(block, trainable_only=True) == convs + 2 * (32 + 64)
    assert models.count_parameters(block) == convs + 4 * (32 + 64)
    # against a standard 3x3 conv: 1/c_out + 1/k**2 of the weights
    ratio = models.depthwise_separable_params(32, 64, 3) / models.conv_params(32, 64, 3, False)
    assert ratio == pytest.approx(1 / 64 + 1 / 9)


def test_width_multiplier_scales_pointwise_params_by_its_square():
    def pointwise(width):
        net = models.MobileNet(width)
        return sum(models.count_parameters(b.pointwise) for b in net.features
                   if isinstance(b, models.DepthwiseSeparable))

    assert pointwise(0.5) / pointwise(1.0) == pytest.approx(0.25, rel=0.02)
    assert pointwise(0.25) / pointwise(1.0) == pytest.approx(1 / 16, rel=0.05)


def test_bad_width_multiplier():
    with pytest.raises(ValueError, match="width_multiplier"):
        models.MobileNet(0)


# ---------------------------------------------------------------- multiply-adds

def test_count_macs_matches_conv_formula():
    conv = nn.Conv2D(16, kernel_size=3, strides=2, padding=1, in_channels=8)
    conv.initialize()
    # 32x32 input, stride 2, padding 1 -> 16x16 output
    assert models.count_macs(conv, (2, 8, 32, 32)) == models.conv_macs(8, 16, 3, 16, 16)


def test_count_macs_matches_depthwise_separable_formula():
    block = models.DepthwiseSeparable(16, 32, strides=2)
    block.initialize()
    expected = models.depthwise_separable_macs(16, 32, 3, 14, 14)
    assert expected == 16 * 9 * 196 + 16 * 32 * 196
    assert models.count_macs(block, (1, 16, 28, 28)) == expected


def test_count_macs_of_lenet_and_hybridize_state_restored():
    net = models.LeNet()
    net.initialize()
    net.hybridize()
    expected = (models.conv_macs(1, 6, 5, 28, 28) + models.conv_macs(6, 16, 5, 10, 10)
                + 400 * 120 + 120 * 84 + 84 * 10)
    assert models.count_macs(net, (4, 1, 28, 28)) == expected
    assert net._active  # still hybridized afterwards


# ---------------------------------------------------------------- ResNet

def test_resnet_spec_and_bad_depth():
    assert models.resnet_spec(20) == [(3, 16, 1), (3, 32, 2), (3, 64, 2)]
    with pytest.raises(ValueError, match=r"6n\+2.*8, 14, 20.*got 10"):
        models.ResNet(depth=10)
    with pytest.raises(ValueError, match="got 10"):
        models.get_model("plain_resnet", depth=10)


def test_resnet_depth_counts_weight_layers():
    net = models.ResNet(depth=14)
    layers = []
    net.apply(lambda b: layers.append(b) if isinstance(b, (nn.Conv2D, nn.Dense)) else None)
    projections = 2  # the 1x1 downsample convs are not counted in the depth
    assert len(layers) - projections == 14


def test_plain_resnet_differs_only_by_projections():
    shape = (1, 1, 28, 28)
    residual, plain = models.ResNet(depth=8), models.ResNet(depth=8, residual=False)
    blocks = [block for stage in residual.features[1:4] for block in stage]
    projections = sum(models.count_parameters(b.downsample) for b in blocks
                      if b.downsample is not None)
    assert projections == (16 * 32 + 4 * 32) + (32 * 64 + 4 * 64)
    assert models.count_parameters(residual, shape) - models.count_parameters(plain, shape) \
        == projections


@pytest.mark.parametrize("residual", [True, False])
def test_basic_block_with_zeroed_body_is_identity_or_zero(residual):
    block = models.BasicBlock(8, 8, residual=residual)
    block.initialize(mx.init.Xavier())
    block.body[-1].gamma.set_data(mx.nd.zeros(8))  # the body now outputs beta = 0
    x = mx.nd.random.uniform(-1, 1, shape=(2, 8, 6, 6))
    out = block(x).asnumpy()
    expected = np.maximum(x.asnumpy(), 0) if residual else np.zeros_like(out)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    # and with the body intact, the shortcut makes a difference
    block.body[-1].gamma.set_data(mx.nd.ones(8))
    assert np.abs(block(x).asnumpy()).max() > 0


def test_basic_block_downsample_shapes():
    block = models.BasicBlock(16, 32, strides=2)
    block.initialize()
    assert block.downsample is not None
    assert block(mx.nd.ones((2, 16, 28, 28))).shape == (2, 32, 14, 14)
    assert models.BasicBlock(16, 32, strides=2, residual=False).downsample is None


# ---------------------------------------------------------------- other knobs

def test_searchnet_choices_change_the_net():
    shape = (1, 1, 28, 28)
    small = models.count_parameters(models.SearchNet(1, 8, 3), shape)
    assert models.count_parameters(models.SearchNet(2, 8, 3), shape) > small
    assert models.count_parameters(models.SearchNet(1, 16, 3), shape) > small
    # kernel 5 instead of 3: each conv (1->8, 8->16, 16->32 channels) gains (25 - 9) weights
    # per input-output channel pair; nothing else changes
    gained = (25 - 9) * (1 * 8 + 8 * 16 + 16 * 32)
    assert models.count_parameters(models.SearchNet(1, 8, 5), shape) - small == gained
    with pytest.raises(ValueError, match="odd"):
        models.SearchNet(kernel=4)


def test_mlp_without_hidden_layers_is_softmax_regression():
    net = models.MLP(hidden=())
    assert models.count_parameters(net, (1, 1, 28, 28)) == models.dense_params(784, 10)


def test_lenet_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        models.LeNet(activation="gelu")


def test_dropout_is_active_only_while_training():
    net, x = _built("alexnet", (4, 1, 28, 28))
    assert np.array_equal(net(x).asnumpy(), net(x).asnumpy())
    with mx.autograd.record():
        a, b = net(x).asnumpy(), net(x).asnumpy()
    assert not np.array_equal(a, b)


def test_module_docstring_table_is_up_to_date():
    rows = [line.split() for line in models.__doc__.splitlines()
            if line.startswith("``") and line.split()[-1].replace(",", "").isdigit()]
    table = {row[0].strip("`"): int(row[-1].replace(",", "")) for row in rows}
    assert set(table) == set(models.list_models())
    for name, elements in table.items():
        assert models.count_parameters(models.get_model(name), (1, 1, 28, 28)) == elements, name
