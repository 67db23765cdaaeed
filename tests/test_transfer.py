"""Tests of course_utils.transfer: Base -> New, frozen vs fine-tuned, cached features, the image
folder and its errors, export/import. Small inputs (32 px) keep them fast on a CPU."""
import warnings

import course_utils  # noqa: F401  (before mxnet)
from course_utils import config, data, pretrained, train, transfer
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

SIZE = 32


def snapshot(block):
    """Every parameter of ``block`` (BatchNorm running statistics included), as NumPy copies."""
    mx.nd.waitall()  # oneDNN rewrites conv weights in place after a first forward (test_faults)
    return {name: p.data().asnumpy().copy() for name, p in block.collect_params().items()}


def changed(before, block):
    return [name for name, p in block.collect_params().items()
            if not np.array_equal(before[name], p.data().asnumpy())]


@pytest.fixture()
def net():
    config.set_seed(0)
    return pretrained.efficientnet_lite0()


@pytest.fixture(scope="module")
def tiny_iter():
    """16 Fashion-MNIST garments as 32 px ImageNet inputs, 2 per class, in batches of 8."""
    garments = data.load_fashion_mnist(train=True)
    idx = np.concatenate([np.where(garments.labels == c)[0][:2] for c in range(8)])
    X = transfer.to_imagenet_input(garments.images[idx], SIZE)
    return data.ArrayLoader(X, mx.nd.array(garments.labels[idx] % 4), batch_size=8, shuffle=True)


# --- Base -> New --------------------------------------------------------------------------------
def test_new_output_layer_keeps_the_base_and_changes_only_the_head(net):
    base_before = snapshot(net.features)
    old_head = set(net.output.collect_params())
    layer = transfer.new_output_layer(net, 4)
    assert net.output is layer and layer.weight.shape == (4, 1280) and layer.bias.shape == (4,)
    assert changed(base_before, net.features) == []
    names = set(net.collect_params())
    assert not old_head & names, "the 1,000-class ImageNet layer must be gone"
    assert names == set(base_before) | set(layer.collect_params())
    # fresh, random weights (Xavier), zero bias, and a working forward pass
    w = layer.weight.data().asnumpy()
    assert w.std() > 0 and np.abs(w).max() <= np.sqrt(6 / (1280 + 4)) + 1e-6
    assert np.all(layer.bias.data().asnumpy() == 0)
    assert net(mx.nd.zeros((2, 3, SIZE, SIZE))).shape == (2, 4)
    assert transfer.count_params(net.output) == 4 * 1280 + 4


def test_new_output_layer_on_a_zoo_model_whose_output_is_not_a_dense():
    """GluonCV's MobileNetV2 ends in a 1x1 convolution: the new Dense replaces it all the same."""
    from gluoncv import model_zoo

    zoo_net = model_zoo.get_model("mobilenetv2_0.25", pretrained=False)
    zoo_net.initialize()
    zoo_net(mx.nd.zeros((1, 3, SIZE, SIZE)))
    base_before = snapshot(zoo_net.features)
    layer = transfer.new_output_layer(zoo_net, 3)
    assert zoo_net.output is layer and zoo_net(mx.nd.zeros((2, 3, SIZE, SIZE))).shape == (2, 3)
    assert layer.weight.shape == (3, 1280) and changed(base_before, zoo_net.features) == []


def test_new_output_layer_refuses_a_network_without_features_and_output():
    with pytest.raises(ValueError, match="features"):
        transfer.new_output_layer(gluon.nn.Dense(3), 2)


# --- frozen vs fine-tuned ----------------------------------------------------------------------
def test_feature_extraction_training_leaves_every_base_number_unchanged(net, tiny_iter):
    transfer.new_output_layer(net, 4)
    frozen = transfer.freeze(net.features)
    assert frozen == transfer.count_params(net.features) > 3_000_000
    base_before, head_before = snapshot(net.features), snapshot(net.output)
    config.set_seed(0)
    train.fit(net, tiny_iter, None, num_epochs=2, lr=0.01, optimizer="adam", ctx=mx.cpu(),
              progress=False)
    # weights and BatchNorm running statistics alike: feature extraction changes nothing
    assert changed(base_before, net.features) == []
    assert len(changed(head_before, net.output)) == 2  # weight and bias of the new layer
    # unfreezing gives gradients back to the weights, never to the running statistics
    transfer.freeze(net.features, frozen=False)
    reqs = {name.rsplit("_", 1)[-1]: p.grad_req
            for name, p in net.features.collect_params().items()}
    assert reqs["weight"] == reqs["gamma"] == "write" and reqs["var"] == reqs["mean"] == "null"


def test_fine_tuning_changes_the_base(net, tiny_iter):
    transfer.new_output_layer(net, 4)
    transfer.set_lr_mult(net.features, 0.1)
    base_before = snapshot(net.features)
    config.set_seed(0)
    train.fit(net, tiny_iter, None, num_epochs=1, lr=0.01, optimizer="adam", ctx=mx.cpu(),
              progress=False)
    moved = changed(base_before, net.features)
    weights = [name for name in base_before if name.endswith("weight")]
    assert len([name for name in moved if name.endswith("weight")]) > 0.9 * len(weights)


def test_lr_mult_scales_the_base_update():
    """One SGD step from the same start on the same batch: lr_mult 0.1 moves the base 10x less."""
    X = mx.nd.random.uniform(-1, 1, (4, 3, SIZE, SIZE))
    y = mx.nd.array([0, 1, 2, 1])
    deltas = []
    for mult in (1.0, 0.1):
        config.set_seed(0)
        net = pretrained.efficientnet_lite0()
        transfer.new_output_layer(net, 3)
        transfer.freeze_batchnorm(net.features)
        transfer.set_lr_mult(net.features, mult)
        conv = net.features[-3].conv.weight  # the 1x1 head convolution of the base
        before = conv.data().asnumpy().copy()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        with autograd.record():
            loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(X), y)
        loss.backward()
        trainer.step(4)
        deltas.append(conv.data().asnumpy() - before)
    biggest = np.abs(deltas[0]).max()
    assert biggest > 0
    # float32 subtraction of nearly equal weights rounds: compare to the largest step's scale
    np.testing.assert_allclose(deltas[1], 0.1 * deltas[0], rtol=0, atol=1e-3 * biggest)


def test_freeze_batchnorm_uses_the_stored_statistics_while_training(net):
    x = mx.nd.random.uniform(-1, 1, (4, 3, SIZE, SIZE))
    with autograd.predict_mode():
        expected = net.features(x).asnumpy()
    assert transfer.freeze_batchnorm(net.features) == 49
    with autograd.train_mode():  # batch statistics would differ from the stored ones
        got = net.features(x).asnumpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        transfer.set_lr_mult(net.features, -1)


# --- inputs and cached features ------------------------------------------------------------------
def test_to_imagenet_input_shape_channels_and_scale():
    images = np.zeros((3, 28, 28, 1), np.uint8)
    images[1] = 255
    images[2] = 200
    x = transfer.to_imagenet_input(images, 64)
    assert x.shape == (3, 3, 64, 64) and x.dtype == np.float32
    x = x.asnumpy()
    assert np.allclose(x[0], -127 / 128) and np.allclose(x[1], 1.0) and np.allclose(x[2], 73 / 128)
    checker = np.indices((28, 28)).sum(0) % 2 * 255
    y = transfer.to_imagenet_input(checker[None].astype(np.uint8), 28, mean=(0, 0, 0),
                                   std=(255, 255, 255)).asnumpy()
    assert np.array_equal(y[0, 0], checker / 255) and np.array_equal(y[0, 0], y[0, 2])
    with pytest.raises(ValueError, match="uint8"):
        transfer.to_imagenet_input(np.zeros((1, 28, 28), np.float32), 32)


def test_extract_features_matches_the_network_and_ignores_the_batch_size(net):
    net.hybridize()
    X = mx.nd.random.uniform(-1, 1, (7, 3, SIZE, SIZE))
    with autograd.predict_mode():
        direct = net.features(X).asnumpy()
    for batch_size in (3, 7):
        F = transfer.extract_features(net.features, X, batch_size=batch_size)
        assert F.shape == (7, 1280) and F.context == mx.cpu()
        np.testing.assert_allclose(F.asnumpy(), direct, rtol=1e-5, atol=1e-5)
    raw = np.full((2, 28, 28), 255, np.uint8)
    F = transfer.extract_features(net.features, raw, 2,
                                  lambda b: transfer.to_imagenet_input(b, SIZE))
    assert F.shape == (2, 1280)


# --- export / import -----------------------------------------------------------------------------
def test_export_then_import_gives_identical_predictions(net, tmp_path):
    transfer.new_output_layer(net, 5)
    X = mx.nd.random.uniform(-1, 1, (4, 3, SIZE, SIZE))
    symbol_file, params_file = transfer.export_model(net, tmp_path / "m", (1, 3, SIZE, SIZE))
    assert symbol_file.is_file() and params_file.is_file()
    fresh = transfer.import_model(tmp_path / "m")
    assert isinstance(fresh, gluon.SymbolBlock)
    with autograd.predict_mode():
        a, b = net(X).asnumpy(), fresh(X).asnumpy()
    assert a.shape == (4, 5)
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-6)
    assert np.array_equal(a.argmax(1), b.argmax(1))
    with pytest.raises(FileNotFoundError, match="export_model"):
        transfer.import_model(tmp_path / "nothing")


# --- your own images: the folder and its errors ---------------------------------------------------
@pytest.fixture()
def folder(tmp_path):
    return transfer.make_demo_folder(tmp_path / "photos", per_class=2, size=40)


def test_demo_folder_loads_as_a_labelled_data_set(folder):
    (folder / ".DS_Store").write_bytes(b"\0")  # system files are skipped
    (folder / "cat" / ".hidden.txt").write_text("x")
    ds = transfer.image_folder(folder, size=SIZE)
    assert isinstance(ds, gluon.data.vision.ImageFolderDataset)
    assert ds.classes == ["cat", "coffee", "rocket"]
    assert ds.counts() == {"cat": 2, "coffee": 2, "rocket": 2}
    x, label = ds[3]
    assert x.shape == (3, SIZE, SIZE) and x.dtype == np.float32 and label == 1
    assert -1.0 <= x.min().asscalar() and x.max().asscalar() <= 1.0
    X, y = ds.arrays()
    assert X.shape == (6, 3, SIZE, SIZE) and y.asnumpy().tolist() == [0, 0, 1, 1, 2, 2]
    assert "3 classes" in repr(ds)


def error_of(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may slip out instead of the error
        with pytest.raises(transfer.FolderError) as info:
            transfer.image_folder(path, size=SIZE)
    return str(info.value)


def test_empty_class_folder_is_a_clear_error(folder):
    (folder / "dog").mkdir()
    message = error_of(folder)
    assert "dog" in message and "empty" in message and "Add images" in message


def test_non_image_file_is_a_clear_error(folder):
    (folder / "coffee" / "notes.txt").write_text("not an image")
    message = error_of(folder)
    assert "notes.txt" in message and ".jpg" in message and "Convert it" in message


def test_file_that_only_looks_like_an_image_is_a_clear_error(folder):
    (folder / "rocket" / "broken.jpg").write_text("not an image either")
    message = error_of(folder)
    assert "broken.jpg" in message and "not a readable image" in message


def test_single_class_is_a_clear_error(folder):
    for name in ("coffee", "rocket"):
        for f in (folder / name).iterdir():
            f.unlink()
        (folder / name).rmdir()
    message = error_of(folder)
    assert "only one class folder (cat)" in message and "at least two classes" in message


def test_missing_folder_and_stray_files_are_clear_errors(folder, tmp_path):
    assert "is not a folder" in error_of(tmp_path / "no_such_folder")
    (folder / "photo.jpg").write_bytes(b"\0")
    message = error_of(folder)
    assert "photo.jpg" in message and "sub-folder of its class" in message
