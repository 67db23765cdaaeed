"""Fault injection: the inputs a classroom actually gets wrong, one test per case (issue 15).

Each test feeds one bad or adverse input and asserts three things: the outcome (the right result,
or an error that names the input, what was expected and what to do), that nothing the learner
had was lost (weights, files), and that no file or process was left behind. The hostile
checkpoints and archives are covered in test_pretrained.py and test_classroom.py.
"""
import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import config, data, models, train
import mxnet as mx
from mxnet import gluon


# ---------------------------------------------------------------- train.fit refuses bad input

@pytest.fixture(scope="module")
def mnist():
    """512 real MNIST training images, all classes mixed, (N, 1, 28, 28) float32 in [0, 1]."""
    X, y = data.to_arrays(data.load_mnist(True))  # the bundled subset is sorted by class
    pick = mx.nd.array(np.random.RandomState(0).permutation(X.shape[0])[:512], dtype="int64")
    return X.take(pick), y.take(pick)


def _initialized_lenet():
    config.set_seed(0)
    net = models.LeNet()
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())
    net(mx.nd.zeros((1, 1, 28, 28)))
    return net


def _weights(net):
    return {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}


def _fit_refuses(net, loader, error, pattern, unchanged=True, **kwargs):
    """fit raises ``error`` matching ``pattern``; a fault in the first batch changes no weight."""
    before = _weights(net)
    with pytest.raises(error, match=pattern):
        train.fit(net, loader, num_epochs=1, ctx=mx.cpu(), progress=False, **kwargs)
    after = _weights(net)
    same = all(np.array_equal(before[k], after[k]) for k in before)
    assert same == unchanged, "weights changed" if unchanged else "the good batches did not train"


@pytest.mark.parametrize("shift, shown", [(0, None), (1, "label 10"), (-1, "found -1")])
def test_fit_refuses_labels_outside_0_to_k_minus_1(mnist, shift, shown):
    X, y = mnist
    y = y.copy()
    if shift == 0:  # the class count itself appears once, in the third batch
        y[300] = 10
        shown = "batch 3: found label 10"
    else:  # 1..K or -1..K-2: the whole labelling is off by one
        y = y + shift
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError, shown,
                 unchanged=shift != 0)


def test_fit_message_for_labels_says_what_to_do(mnist):
    X, y = mnist
    with pytest.raises(ValueError) as err:
        train.fit(_initialized_lenet(), data.ArrayLoader(X, y + 1, 128), num_epochs=1,
                  ctx=mx.cpu(), progress=False)
    assert "10 outputs" in str(err.value) and "0..9" in str(err.value) and "y - 1" in str(err.value)


def test_fit_refuses_fractional_labels(mnist):
    X, y = mnist
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y + 0.5, 128), ValueError,
                 "class indices")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_fit_refuses_one_non_finite_pixel(mnist, value):
    X, y = mnist
    X = X.copy()
    X[200, 0, 14, 14] = value  # one pixel among 512 images, in the second batch
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 r"epoch 1, batch 2: the inputs X hold 1 NaN or infinite", unchanged=False)
    X[200, 0, 14, 14] = 0
    X[5, 0, 3, 3] = value  # in the first batch: refused before any step
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 r"epoch 1, batch 1: the inputs X hold 1 NaN or infinite")


@pytest.mark.parametrize("lr", [-0.1, 0, float("nan"), float("inf"), "fast", None])
def test_fit_refuses_a_rate_that_is_not_positive_and_finite(mnist, lr):
    X, y = mnist
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 "lr must be a positive finite number", lr=lr)


def test_fit_refuses_a_bad_rate_given_in_optimizer_params(mnist):
    X, y = mnist
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 "positive finite", optimizer_params={"learning_rate": -1.0})


def test_fit_refuses_teacher_without_loss(mnist):
    X, y = mnist
    teacher = _initialized_lenet()
    _fit_refuses(_initialized_lenet(), data.ArrayLoader(X, y, 128), ValueError,
                 r"loss=tricks\.make_distillation_loss", teacher=teacher)


@pytest.mark.parametrize("loader", [[], iter([])], ids=["empty list", "used-up generator"])
def test_fit_refuses_an_empty_loader(loader):
    _fit_refuses(_initialized_lenet(), loader, ValueError, "yielded no batches in epoch 1")


def test_divergence_stops_at_the_batch_it_happens(mnist):
    X, y = mnist
    config.set_seed(0)
    net = models.MLP(hidden=(64,))
    with pytest.raises(FloatingPointError) as err:
        train.fit(net, data.ArrayLoader(X, y, 64), num_epochs=3, lr=1e30, ctx=mx.cpu(),
                  progress=False)
    message = str(err.value)
    assert "in epoch 1, batch " in message and "10x smaller" in message
    batch = int(message.split("batch ")[1].split(":")[0])
    assert 1 <= batch <= 8  # 512 images / 64: it stopped inside the first epoch


def test_valid_input_still_trains_the_same(mnist):
    """The checks change nothing for good data: two seeded runs agree bit for bit and learn."""
    X, y = mnist
    runs = []
    for _ in range(2):
        net = _initialized_lenet()
        config.set_seed(1)
        h = train.fit(net, data.ArrayLoader(X, y, 64, shuffle=True), num_epochs=2, lr=0.5,
                      ctx=mx.cpu(), progress=False)
        runs.append((h["train_loss"], _weights(net)))
    assert runs[0][0] == runs[1][0]
    assert runs[0][0][1] < runs[0][0][0]


# ---------------------------------------------------------------- student copies keep learners' work

def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _student_cli(*args):
    from course_utils.__main__ import main

    return main(["student", *map(str, args)])


def test_student_refuses_to_overwrite_an_edited_copy(tmp_path, capsys):
    src = sorted(config.NOTEBOOK_DIR.glob("00_*.ipynb"))[0]
    out = tmp_path / "class"
    assert _student_cli("--out", out, src) == 0
    copy = out / src.name
    edited = copy.read_text(encoding="utf-8").replace('"source": [', '"source": ["# my answer\\n", ', 1)
    copy.write_text(edited, encoding="utf-8")
    before = _listing(out)
    capsys.readouterr()
    assert _student_cli("--out", out, src) == 1
    message = capsys.readouterr().out
    assert "[FAIL]" in message and src.name in message and "--force" in message
    assert "[ok]" not in message
    assert copy.read_text(encoding="utf-8") == edited  # the learner's work is still there
    assert _listing(out) == before  # no temporary file left
    assert _student_cli("--out", out, "--force", src) == 0  # the instructor insists
    assert "# my answer" not in copy.read_text(encoding="utf-8")


def test_student_rewrites_an_unchanged_copy_and_writes_0644(tmp_path, monkeypatch):
    import os
    from course_utils import student

    src = sorted(config.NOTEBOOK_DIR.glob("00_*.ipynb"))[0]
    out = tmp_path / "class"
    old = os.umask(0o022)
    try:
        student.make_student_versions(out, [src])
        copy = out / src.name
        assert copy.stat().st_mode & 0o777 == 0o644
        # the instructor changes the original: an untouched copy is simply replaced
        changed = tmp_path / src.name
        changed.write_text(src.read_text(encoding="utf-8").replace("Learning goals", "Goals", 1),
                           encoding="utf-8")
        student.make_student_versions(out, [changed])
        assert "Goals" in copy.read_text(encoding="utf-8")
        os.umask(0o077)  # a private umask is respected
        (out / src.name).unlink()
        student.make_student_versions(out, [src])
        assert copy.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    assert _listing(out) == sorted([".student-copies.json", src.name])
