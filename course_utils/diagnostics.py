"""Look inside a network while it learns: the gradient that reaches each layer.

Notebook 07 uses :func:`gradient_norms` to show vanishing and exploding gradients: by the chain
rule, the gradient of the loss with respect to an early layer is a product of one Jacobian per
layer after it, so its size can shrink or grow geometrically with depth, unless a shortcut
carries it past the layers (ResNet).
"""
from collections import OrderedDict

import numpy as np

import course_utils.config  # noqa: F401  (sets MXNET_HOME and threads before mxnet)
import mxnet as mx
from mxnet import autograd, gluon
from mxnet.gluon import nn


def weight_layers(net, kinds=(nn.Conv2D, nn.Dense)):
    """The layers of ``net`` that hold a ``weight`` (conv and dense by default), in forward order.

    Parameters
    ----------
    net : gluon.Block
    kinds : tuple of Block classes

    Returns
    -------
    list of ``(path, layer)``. The path names the layer by where it sits in ``net``, e.g.
    ``'features.2.0.body.1'`` is ``net.features[2][0].body[1]``; unlike Gluon's prefixes
    (``conv17_``) it does not depend on how many layers were built before.
    """
    layers = []

    def walk(block, path):
        if isinstance(block, kinds):
            layers.append((path, block))
        # children in the order they were added: the forward order of Sequential containers
        # and of the course's models (a shortcut's layers come after the body they bypass)
        for name, child in block._children.items():
            walk(child, f"{path}.{name}" if path else name)

    walk(net, "")
    return layers


def gradient_norms(net, X, y, loss=None, kinds=(nn.Conv2D, nn.Dense)):
    """L2 norm of the loss gradient with respect to each layer's weight, for one batch.

    Runs one forward and backward pass in training mode (so BatchNorm uses the batch's
    statistics and dropout is active) and changes no parameter.

    Parameters
    ----------
    net : gluon.Block, initialised
        Maps ``X (N, C, H, W)`` to logits ``(N, K)``.
    X : NDArray, (N, C, H, W) float32
    y : NDArray, (N,) class indices
    loss : callable, optional
        ``loss(y_hat, y) -> (N,)``; default softmax cross-entropy. The mean over the batch is
        differentiated.
    kinds : tuple of Block classes
        Which layers to report (conv and dense by default; biases and BatchNorm are left out).

    Returns
    -------
    OrderedDict ``{layer path: float}`` in forward order (first layer first); paths as in
    :func:`weight_layers`.
    """
    loss = loss or gluon.loss.SoftmaxCrossEntropyLoss()
    layers = weight_layers(net, kinds)
    if not layers:
        raise ValueError(f"net has no layer of the kinds {[k.__name__ for k in kinds]}; "
                         "pass kinds=(...) with the layer classes whose gradients you want")
    weights = [layer.weight for _, layer in layers]
    old_req = [w.grad_req for w in weights]
    for w in weights:
        if w.grad_req == "null":
            w.grad_req = "write"
    try:
        with autograd.record():
            value = loss(net(X), y).mean()
        value.backward()
        norms = OrderedDict((name, float(np.linalg.norm(w.grad().asnumpy())))
                            for (name, _), w in zip(layers, weights))
    finally:
        for w, req in zip(weights, old_req):
            w.grad_req = req
    return norms
