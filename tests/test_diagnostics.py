"""Tests for course_utils.diagnostics: per-layer gradient norms against hand-derived gradients."""
import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet: sets MXNET_HOME and threads)
from course_utils import diagnostics, models
import mxnet as mx
from mxnet.gluon import nn


def _softmax_regression(seed=0):
    mx.random.seed(seed)
    net = models.MLP(hidden=())  # flatten + one Dense layer: its gradient has a closed form
    net.initialize(mx.init.Normal(0.1))
    return net


def test_softmax_regression_gradient_matches_the_formula():
    # mean cross-entropy of softmax(X W^T + b): dL/dW = (softmax - onehot)^T X / N
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(6, 1, 4, 4)).astype(np.float32)
    y = np.array([0, 3, 9, 3, 1, 7])
    net = _softmax_regression()
    norms = diagnostics.gradient_norms(net, mx.nd.array(X), mx.nd.array(y))
    assert list(norms) == ["output"]

    flat = X.reshape(6, -1)
    W = net.output.weight.data().asnumpy()
    b = net.output.bias.data().asnumpy()
    logits = flat @ W.T + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(10)[y]
    grad_W = (p - onehot).T @ flat / len(y)
    assert norms["output"] == pytest.approx(np.linalg.norm(grad_W), rel=1e-5)


def test_matches_a_numerical_gradient():
    # central differences on one conv weight element agree with the autograd gradient whose
    # norm is reported (checked through the stored gradient, which gradient_norms leaves there)
    mx.random.seed(1)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(2, 3, activation="tanh"), nn.Dense(3))
    net.initialize(mx.init.Normal(0.5))
    X = mx.nd.random.uniform(shape=(4, 1, 5, 5))
    y = mx.nd.array([0, 1, 2, 1])
    norms = diagnostics.gradient_norms(net, X, y)
    conv = net[0]
    grad = conv.weight.grad().asnumpy()
    assert norms["0"] == pytest.approx(np.linalg.norm(grad), rel=1e-6)

    loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    w = conv.weight.data().copy()  # data() is the live storage that set_data overwrites
    eps = 1e-2
    index = (1, 0, 1, 2)
    values = []
    for sign in (1, -1):
        w2 = w.copy()
        w2[index] += sign * eps
        conv.weight.set_data(w2)
        values.append(loss(net(X), y).mean().asscalar())
    conv.weight.set_data(w)
    numerical = (values[0] - values[1]) / (2 * eps)
    assert numerical == pytest.approx(grad[index], rel=1e-2, abs=1e-4)


def test_paths_in_forward_order_and_parameters_unchanged():
    mx.random.seed(0)
    net = models.ResNet(depth=8)
    net.initialize(mx.init.Xavier())
    X = mx.nd.random.uniform(shape=(4, 1, 28, 28))
    y = mx.nd.array([0, 1, 2, 3])
    net(X)
    mx.nd.waitall()  # oneDNN rewrites conv weights in place after a first forward (test_faults)
    before = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()
              if p.grad_req != "null"}
    norms = diagnostics.gradient_norms(net, X, y)
    assert list(norms) == [
        "features.0.0",
        "features.1.0.body.0.0", "features.1.0.body.1",
        "features.2.0.body.0.0", "features.2.0.body.1", "features.2.0.downsample.0",
        "features.3.0.body.0.0", "features.3.0.body.1", "features.3.0.downsample.0",
        "output",
    ]
    assert all(v > 0 and np.isfinite(v) for v in norms.values())
    for k, p in net.collect_params().items():
        if k in before:
            np.testing.assert_array_equal(p.data().asnumpy(), before[k])
    # a plain net has the same main path, without the projections
    plain = models.ResNet(depth=8, residual=False)
    assert [path for path, _ in diagnostics.weight_layers(plain)] == [
        p for p in norms if "downsample" not in p]


def test_frozen_weights_are_measured_and_stay_frozen():
    net = _softmax_regression()
    net.output.weight.grad_req = "null"
    X = mx.nd.ones((2, 1, 2, 2))
    norms = diagnostics.gradient_norms(net, X, mx.nd.array([1, 2]))
    assert norms["output"] > 0
    assert net.output.weight.grad_req == "null"


def test_net_without_weight_layers_is_refused():
    net = nn.HybridSequential()
    net.add(nn.Flatten())
    net.initialize()
    with pytest.raises(ValueError, match="no layer of the kinds"):
        diagnostics.gradient_norms(net, mx.nd.ones((1, 1, 2, 2)), mx.nd.array([0]))
