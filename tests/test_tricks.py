"""Tests of course_utils.tricks: each trick against GluonCV/MXNet or its written formula."""
import ast
from pathlib import Path

import course_utils  # noqa: F401  (before mxnet: sets MXNET_HOME and threads)
import gluoncv
import mxnet as mx
import numpy as np
import pytest
from gluoncv.loss import DistillationSoftmaxCrossEntropyLoss
from gluoncv.utils import LRScheduler, LRSequential
from mxnet import autograd, gluon

from course_utils import tricks


def gluoncv_script_function(name):
    """One function of GluonCV's image-classification training utilities (``smooth``,
    ``mixup_transform``), compiled from its source file.

    ``import gluoncv.auto`` fails on Python 3.11 (its ``autocfg`` dependency calls isinstance on
    ``typing.Union``), so the function is read from the file instead of imported.
    """
    path = Path(gluoncv.__file__).parent / "auto/estimators/image_classification/utils.py"
    tree = ast.parse(path.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    namespace = {"nd": mx.nd}
    exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
    return namespace[name]


def random_logits(rng, n=8, k=10, scale=3.0):
    return (scale * rng.standard_normal((n, k))).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Label smoothing
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("to_array", [np.array, mx.nd.array], ids=["numpy", "ndarray"])
def test_smooth_labels_reproduces_the_lecture_example(to_array):
    targets = tricks.smooth_labels(to_array([1]), num_classes=5, epsilon=0.05)
    targets = targets.asnumpy() if isinstance(targets, mx.nd.NDArray) else targets
    np.testing.assert_allclose(targets, [[0.01, 0.96, 0.01, 0.01, 0.01]], rtol=0, atol=1e-7)


def test_smooth_labels_equals_gluoncv_smooth():
    smooth = gluoncv_script_function("smooth")
    labels = np.random.default_rng(0).integers(0, 10, size=16)
    expected = smooth(mx.nd.array(labels), 10, eta=0.1)[0].asnumpy()
    np.testing.assert_array_equal(tricks.smooth_labels(mx.nd.array(labels), 10, 0.1).asnumpy(),
                                  expected)
    np.testing.assert_array_equal(tricks.smooth_labels(labels, 10, 0.1), expected)


def test_smooth_labels_rows_sum_to_one_and_epsilon_zero_is_one_hot():
    labels = np.array([0, 3, 2, 3])
    np.testing.assert_allclose(tricks.smooth_labels(labels, 4, 0.3).sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(tricks.smooth_labels(labels, 4, 0.0), np.eye(4)[labels])


def test_one_hot_matches_numpy_and_mxnet():
    labels = np.array([2, 0, 1, 2])
    np.testing.assert_array_equal(tricks.one_hot(labels, 3), np.eye(3)[labels])
    # float32 labels, as a Gluon DataLoader gives them
    got = tricks.one_hot(mx.nd.array(labels, dtype="float32"), 3)
    np.testing.assert_array_equal(got.asnumpy(), mx.nd.one_hot(mx.nd.array(labels), 3).asnumpy())


# ----------------------------------------------------------------------------------------------
# Mix-up
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("to_array", [np.array, mx.nd.array], ids=["numpy", "ndarray"])
def test_mixup_equals_the_formula_with_the_reversed_batch(to_array):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 1, 4, 4)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=5)]
    lam = 0.3
    rev = np.arange(5)[::-1]
    X_mixed, Y_mixed = tricks.mixup(to_array(X), to_array(Y), lam)
    if isinstance(X_mixed, mx.nd.NDArray):
        X_mixed, Y_mixed = X_mixed.asnumpy(), Y_mixed.asnumpy()
    np.testing.assert_allclose(X_mixed, lam * X + (1 - lam) * X[rev], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(Y_mixed, lam * Y + (1 - lam) * Y[rev], rtol=1e-6, atol=1e-7)


def test_mixup_targets_equal_gluoncv_mixup_transform():
    mixup_transform = gluoncv_script_function("mixup_transform")
    labels = mx.nd.array(np.random.default_rng(2).integers(0, 10, size=8))
    lam, eta = 0.7, 0.1
    expected = mixup_transform(labels, 10, lam, eta)[0].asnumpy()
    X = mx.nd.zeros((8, 2))
    _, Y_mixed = tricks.mixup(X, tricks.smooth_labels(labels, 10, eta), lam)
    np.testing.assert_allclose(Y_mixed.asnumpy(), expected, rtol=1e-6, atol=1e-7)


def test_mixup_with_lam_one_leaves_the_batch_unchanged():
    X, Y = np.arange(6.0).reshape(3, 2), np.eye(3)
    X_mixed, Y_mixed = tricks.mixup(X, Y, 1.0)
    np.testing.assert_array_equal(X_mixed, X)
    np.testing.assert_array_equal(Y_mixed, Y)


def test_sample_lam_lies_in_unit_interval_with_mean_one_half():
    rng = np.random.default_rng(3)
    draws = np.array([tricks.sample_lam(0.4, rng) for _ in range(2000)])
    assert draws.min() >= 0 and draws.max() <= 1
    # Beta(0.4, 0.4): mean 0.5, standard deviation 0.37, so the mean of 2000 draws is 0.5 +- 0.01
    assert abs(draws.mean() - 0.5) < 0.03
    # small alpha pushes lam towards 0 or 1
    assert np.mean((draws < 0.1) | (draws > 0.9)) > 0.3


def test_make_mixup_uses_one_lam_per_batch():
    labels = np.array([0, 1, 2, 1])
    X = np.random.default_rng(4).standard_normal((4, 3)).astype(np.float32)
    transform = tricks.make_mixup(alpha=0.2, num_classes=3, epsilon=0.1,
                                  rng=np.random.default_rng(5))
    X_mixed, Y_mixed = transform(X, labels)
    lam = tricks.sample_lam(0.2, np.random.default_rng(5))
    X_expected, Y_expected = tricks.mixup(X, tricks.smooth_labels(labels, 3, 0.1), lam)
    np.testing.assert_allclose(X_mixed, X_expected, rtol=1e-6)
    np.testing.assert_allclose(Y_mixed, Y_expected, rtol=1e-6)
    np.testing.assert_allclose(Y_mixed.sum(axis=1), 1, rtol=1e-6)


def test_make_smoothing_keeps_X_and_smooths_y():
    X = np.ones((2, 3))
    X_out, target = tricks.make_smoothing(4, 0.2)(X, np.array([1, 3]))
    assert X_out is X
    np.testing.assert_array_equal(target, tricks.smooth_labels(np.array([1, 3]), 4, 0.2))


# ----------------------------------------------------------------------------------------------
# Knowledge distillation
# ----------------------------------------------------------------------------------------------

def test_soft_targets_are_the_softened_softmax():
    logits = random_logits(np.random.default_rng(6))
    for T in (1, 2, 8):
        got = tricks.soft_targets(logits, T)
        np.testing.assert_allclose(got, mx.nd.softmax(mx.nd.array(logits) / T).asnumpy(),
                                   rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(got.sum(axis=1), 1, rtol=1e-6)
    # a higher temperature flattens the distribution
    assert (tricks.soft_targets(logits, 8).max(axis=1) < tricks.soft_targets(logits, 1).max(axis=1)
            ).all()


def test_soft_cross_entropy_equals_gluon_loss():
    rng = np.random.default_rng(7)
    logits = random_logits(rng)
    targets = tricks.smooth_labels(rng.integers(0, 10, size=8), 10, 0.1)
    expected = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)(
        mx.nd.array(logits), mx.nd.array(targets)).asnumpy()
    np.testing.assert_allclose(tricks.soft_cross_entropy(logits, targets), expected, rtol=1e-5)


@pytest.mark.parametrize("hard_weight", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_distillation_loss_equals_gluoncv(temperature, hard_weight):
    rng = np.random.default_rng(8)
    student, teacher = mx.nd.array(random_logits(rng)), mx.nd.array(random_logits(rng))
    labels = mx.nd.array(rng.integers(0, 10, size=8))
    gluoncv_loss = DistillationSoftmaxCrossEntropyLoss(temperature=temperature,
                                                       hard_weight=hard_weight)
    expected = gluoncv_loss(student, labels, tricks.soft_targets(teacher, temperature)).asnumpy()
    got = tricks.distillation_loss(student, teacher, labels, temperature, hard_weight)
    np.testing.assert_allclose(got.asnumpy(), expected, rtol=1e-5, atol=1e-5)
    # NumPy in float64 gives the same numbers
    got_np = tricks.distillation_loss(student.asnumpy().astype(np.float64),
                                      teacher.asnumpy().astype(np.float64), labels.asnumpy(),
                                      temperature, hard_weight)
    np.testing.assert_allclose(got_np, expected, rtol=1e-5, atol=1e-5)


def test_distillation_gradient_reaches_the_student_only():
    rng = np.random.default_rng(9)
    student, teacher = mx.nd.array(random_logits(rng)), mx.nd.array(random_logits(rng))
    student.attach_grad()
    teacher.attach_grad()
    with autograd.record():
        loss = tricks.distillation_loss(student, teacher, mx.nd.array([1] * 8), 3.0, 0.5)
    loss.backward()
    assert np.abs(student.grad.asnumpy()).sum() > 0
    assert np.abs(teacher.grad.asnumpy()).sum() == 0


@pytest.mark.parametrize("hard_weight", [0.0, 0.5])
@pytest.mark.parametrize("sparse", [True, False], ids=["class labels", "soft targets"])
def test_make_distillation_loss_has_fits_signature_and_equals_gluoncv(sparse, hard_weight):
    rng = np.random.default_rng(10)
    student, teacher = mx.nd.array(random_logits(rng)), mx.nd.array(random_logits(rng))
    labels = mx.nd.array(rng.integers(0, 10, size=8))
    target = labels if sparse else tricks.mixup(mx.nd.zeros((8, 1)),
                                                tricks.smooth_labels(labels, 10, 0.1), 0.7)[1]
    T = 3.0
    expected = DistillationSoftmaxCrossEntropyLoss(temperature=T, hard_weight=hard_weight,
                                                   sparse_label=sparse)(
        student, target, tricks.soft_targets(teacher, T)).asnumpy()
    loss = tricks.make_distillation_loss(T, hard_weight)
    got = loss(student, target, teacher)   # fit calls loss(y_hat, target, teacher_logits)
    np.testing.assert_allclose(got.asnumpy(), expected, rtol=1e-5, atol=1e-5)
    assert (loss.temperature, loss.hard_weight) == (T, hard_weight)


def test_make_distillation_loss_rejects_bad_settings_when_built():
    with pytest.raises(ValueError, match="temperature"):
        tricks.make_distillation_loss(0, 0.5)
    with pytest.raises(ValueError, match="hard_weight"):
        tricks.make_distillation_loss(2.0, 1.5)


def test_distillation_with_mixup_trains_through_fit():
    """Distillation + mix-up through train.fit on real Fashion-MNIST: the loss falls and the
    student learns (the teacher: softmax regression trained briefly on the same images)."""
    from course_utils import config, data, models, train

    X, y = data.to_arrays(data.load_fashion_mnist(train=True))
    Xt, yt = data.to_arrays(data.load_fashion_mnist(train=False))
    config.set_seed(0)
    train_iter = data.ArrayLoader(X[:2000], y[:2000], 100, shuffle=True)
    test_iter = data.ArrayLoader(Xt[:1000], yt[:1000], 500)
    teacher = models.get_model("mlp", hidden=())
    train.fit(teacher, train_iter, num_epochs=4, lr=0.1, ctx=mx.cpu(), progress=False,
              optimizer_params={"momentum": 0.9})
    teacher_acc = train.evaluate_accuracy(teacher, test_iter, mx.cpu())
    student = models.get_model("mlp", hidden=(32,))
    history = train.fit(student, train_iter, test_iter, num_epochs=4, lr=0.2, ctx=mx.cpu(),
                        optimizer_params={"momentum": 0.9}, progress=False, teacher=teacher,
                        batch_transform=tricks.make_mixup(0.4, 10, epsilon=0.1),
                        loss=tricks.make_distillation_loss(2.0, 0.5))
    losses = history["train_loss"]
    assert all(np.isfinite(losses)) and losses[-1] < 0.8 * losses[0], losses
    # chance is 0.10; here the teacher reaches 0.77 and the student 0.73 (loss 4.70 -> 3.46)
    assert teacher_acc > 0.65 and history.last("test_acc") > 0.65, (teacher_acc, history)


# ----------------------------------------------------------------------------------------------
# Learning-rate schedules
# ----------------------------------------------------------------------------------------------

NUM_EPOCHS, ITERS_PER_EPOCH = 10, 7
TOTAL = NUM_EPOCHS * ITERS_PER_EPOCH
STEP_EPOCHS = (4, 7)


def gluoncv_schedule(mode, warmup_epochs, base_lr, target_lr, warmup_start):
    """Built the way GluonCV's train_imagenet.py builds it (independently of tricks.py)."""
    main = LRScheduler(mode, base_lr=base_lr, target_lr=target_lr,
                       nepochs=NUM_EPOCHS - warmup_epochs, iters_per_epoch=ITERS_PER_EPOCH,
                       step_epoch=[e - warmup_epochs for e in STEP_EPOCHS], step_factor=0.1,
                       power=2)
    if warmup_epochs == 0:
        return main
    return LRSequential([LRScheduler("linear", base_lr=warmup_start, target_lr=base_lr,
                                     nepochs=warmup_epochs, iters_per_epoch=ITERS_PER_EPOCH),
                         main])


@pytest.mark.parametrize("warmup_epochs,warmup_start", [(0, 0.0), (2, 0.0), (3, 0.01)])
@pytest.mark.parametrize("mode", ["step", "cosine", "poly", "linear", "constant"])
def test_lr_at_equals_gluoncv_at_every_iteration(mode, warmup_epochs, warmup_start):
    base_lr, target_lr = 0.4, 0.001
    reference = gluoncv_schedule(mode, warmup_epochs, base_lr, target_lr, warmup_start)
    ours = tricks.make_lr_scheduler(mode, base_lr, NUM_EPOCHS, ITERS_PER_EPOCH, warmup_epochs,
                                    target_lr=target_lr, step_epochs=STEP_EPOCHS,
                                    warmup_start=warmup_start)
    kwargs = dict(target_lr=target_lr, power=2, step_factor=0.1,
                  step_iters=[e * ITERS_PER_EPOCH for e in STEP_EPOCHS],
                  warmup_iters=warmup_epochs * ITERS_PER_EPOCH, warmup_start=warmup_start)
    for i in range(-2, TOTAL + 3):  # a little past both ends: both clamp
        formula = tricks.lr_at(mode, i, TOTAL, base_lr, **kwargs)
        assert formula == pytest.approx(reference(i), rel=1e-12, abs=1e-15), (mode, i)
        assert ours(i) == pytest.approx(reference(i), rel=1e-12, abs=1e-15), (mode, i)
    curve = tricks.lr_curve(mode, TOTAL, base_lr, **kwargs)
    assert curve.shape == (TOTAL,)
    np.testing.assert_allclose(curve, [reference(i) for i in range(TOTAL)], rtol=1e-12)


def test_schedule_shapes():
    kwargs = dict(warmup_iters=10, step_iters=[40, 60])
    cosine = tricks.lr_curve("cosine", 80, 0.1, **kwargs)
    step = tricks.lr_curve("step", 80, 0.1, **kwargs)
    assert cosine[0] == 0 and cosine[9] == pytest.approx(0.1) and cosine[10] == 0.1
    assert cosine[-1] == pytest.approx(0) and (np.diff(cosine[10:]) <= 0).all()
    np.testing.assert_allclose(step[[10, 39, 40, 59, 60, 79]],
                               [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-12)


def test_make_lr_scheduler_drives_a_trainer(capsys):
    net = gluon.nn.Dense(1, in_units=3)
    net.initialize()
    sched = tricks.make_lr_scheduler("cosine", 0.1, num_epochs=4, iters_per_epoch=5,
                                     warmup_epochs=1)
    # learning_rate equal to the schedule's base: no overwrite, no warning
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": sched,
                                                          "learning_rate": 0.1})
    assert "overwritten" not in capsys.readouterr().out
    used = []
    for _ in range(6):
        with autograd.record():
            loss = net(mx.nd.ones((2, 3))).sum()
        loss.backward()
        trainer.step(2)
        used.append(trainer.learning_rate)
    # a Trainer's first step is update 1
    expected = [tricks.lr_at("cosine", k, 20, 0.1, warmup_iters=5) for k in range(1, 7)]
    np.testing.assert_allclose(used, expected, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# Bad inputs and array kinds
# ----------------------------------------------------------------------------------------------

LOGITS = np.zeros((4, 3), dtype=np.float32)
LABELS = np.array([0, 1, 2, 0])

BAD_CALLS = {
    "epsilon negative": lambda: tricks.smooth_labels(LABELS, 3, -0.1),
    "epsilon one": lambda: tricks.smooth_labels(LABELS, 3, 1.0),
    "lam negative": lambda: tricks.mixup(LOGITS, LOGITS, -0.1),
    "lam above one": lambda: tricks.mixup(LOGITS, LOGITS, 1.5),
    "mixup batch sizes": lambda: tricks.mixup(LOGITS, LOGITS[:3], 0.5),
    "mixup integer labels": lambda: tricks.mixup(LOGITS, LABELS, 0.5),
    "alpha zero": lambda: tricks.sample_lam(0),
    "temperature zero": lambda: tricks.soft_targets(LOGITS, 0),
    "temperature negative": lambda: tricks.distillation_loss(LOGITS, LOGITS, LABELS, -1, 0.5),
    "hard_weight negative": lambda: tricks.distillation_loss(LOGITS, LOGITS, LABELS, 2, -0.1),
    "hard_weight above one": lambda: tricks.distillation_loss(LOGITS, LOGITS, LABELS, 2, 1.1),
    "distillation batch sizes": lambda: tricks.distillation_loss(LOGITS, LOGITS, LABELS[:3], 2,
                                                                 0.5),
    "label out of range": lambda: tricks.one_hot(np.array([0, 3]), 3),
    "labels not 1-D": lambda: tricks.one_hot(LOGITS, 3),
    "unknown schedule": lambda: tricks.lr_at("exponential", 0, 10, 0.1),
    "warm-up of one iteration": lambda: tricks.lr_at("cosine", 0, 10, 0.1, warmup_iters=1),
    "nothing after warm-up": lambda: tricks.make_lr_scheduler("cosine", 0.1, 2, 5,
                                                              warmup_epochs=2),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_bad_input_raises_value_error_that_says_what_was_given(call):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert "must" in message or "need" in message  # what was expected
    assert "gave" in message  # what was given


@pytest.mark.parametrize("to_array,kind", [(np.array, np.ndarray), (mx.nd.array, mx.nd.NDArray)],
                         ids=["numpy", "ndarray"])
def test_output_kind_follows_input_kind(to_array, kind):
    logits, labels = to_array(LOGITS + np.arange(3)), to_array(LABELS)
    outputs = {
        "one_hot": tricks.one_hot(labels, 3),
        "smooth_labels": tricks.smooth_labels(labels, 3, 0.1),
        "soft_targets": tricks.soft_targets(logits, 2.0),
        "soft_cross_entropy": tricks.soft_cross_entropy(logits, tricks.one_hot(labels, 3)),
        "distillation_loss": tricks.distillation_loss(logits, logits, labels, 2.0, 0.5),
    }
    outputs["mixup X"], outputs["mixup Y"] = tricks.mixup(logits, tricks.one_hot(labels, 3), 0.5)
    for name, out in outputs.items():
        assert isinstance(out, kind), (name, type(out))
    assert outputs["smooth_labels"].shape == (4, 3)
    # the student's kind decides when the inputs are mixed
    mixed = tricks.distillation_loss(logits, LOGITS, list(LABELS), 2.0, 0.5)
    assert isinstance(mixed, kind)
    assert outputs["distillation_loss"].shape == (4,)


# ----------------------------------------------------------------------------------------------
# Mix-up's linearity, measured
# ----------------------------------------------------------------------------------------------

def test_linearity_gap_by_hand():
    # net = identity on 2 logits: at the midpoint of (4, 0) and (0, 4) the logits are (2, 2)
    X_a, X_b = mx.nd.array([[4.0, 0.0]]), mx.nd.array([[0.0, 4.0]])
    gap = tricks.linearity_gap(lambda x: x, X_a, X_b, lam=0.5)
    p_a = np.exp([4.0, 0.0]) / np.exp([4.0, 0.0]).sum()
    expected = 0.5 * np.abs(np.array([0.5, 0.5]) - (0.5 * p_a + 0.5 * p_a[::-1])).sum()
    assert gap.shape == (1,)
    assert gap[0] == pytest.approx(expected, rel=1e-5)
    assert expected == pytest.approx(0.0, abs=1e-7)  # symmetric pair: linear at the midpoint
    # lam = 0.75: logits (3, 1), softmax (0.881, 0.119) vs the mix 0.75 p_a + 0.25 p_b
    p_m = np.exp([3.0, 1.0]) / np.exp([3.0, 1.0]).sum()
    expected = 0.5 * np.abs(p_m - (0.75 * p_a + 0.25 * p_a[::-1])).sum()
    assert expected > 0.05
    assert tricks.linearity_gap(lambda x: x, X_a, X_b, lam=0.75)[0] == pytest.approx(expected,
                                                                                    rel=1e-5)


def test_linearity_gap_is_zero_at_the_ends_and_for_a_constant_net():
    rng = np.random.default_rng(0)
    X_a, X_b = mx.nd.array(rng.standard_normal((5, 3))), mx.nd.array(rng.standard_normal((5, 3)))
    W = mx.nd.array(rng.standard_normal((3, 4)))
    net = lambda x: 3 * mx.nd.tanh(mx.nd.dot(x, W))  # noqa: E731  (a nonlinear net)
    for lam in (0.0, 1.0):
        assert np.allclose(tricks.linearity_gap(net, X_a, X_b, lam), 0, atol=1e-6)
    assert tricks.linearity_gap(net, X_a, X_b, 0.5).max() > 1e-3
    constant = lambda x: mx.nd.zeros((x.shape[0], 4))  # noqa: E731
    assert np.allclose(tricks.linearity_gap(constant, X_a, X_b, 0.3), 0, atol=1e-7)


def test_linearity_gap_rejects_bad_input():
    X = mx.nd.zeros((4, 2))
    with pytest.raises(ValueError, match="same shape"):
        tricks.linearity_gap(lambda x: x, X, mx.nd.zeros((3, 2)))
    with pytest.raises(ValueError, match="lam"):
        tricks.linearity_gap(lambda x: x, X, X, lam=1.5)
    with pytest.raises(ValueError, match="NDArray"):
        tricks.linearity_gap(lambda x: x, np.zeros((4, 2)), X)
