"""Every exercise checker accepts the reference answer and rejects typical wrong ones, each with
its own message. Reference answers come from the package (course_utils.scratch, tricks, models,
...) or from the notebooks' Solutions; the wrong ones are the mistakes learners make."""
import functools

import numpy as np
import pytest
from PIL import Image

from course_utils import data, exercises, models, scratch, transfer, tricks  # before mxnet
import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def _raises(*args):
    raise ValueError("not written yet")


def _shuffle_each(dataset, seed):  # notebook 01, Solution 4
    rng = np.random.default_rng(seed)
    flat = dataset.images.reshape(len(dataset), -1)
    shuffled = np.stack([row[rng.permutation(row.size)] for row in flat])
    return data.CourseDataset(shuffled.reshape(dataset.images.shape), dataset.labels, dataset.classes, "shuffled")


def _naive_softmax(Z):
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _pool2d_loops(X, pool_size, mode="max"):
    """A right answer to notebook 03's pool2d (2-D X, stride 1), built from the package's pooling."""
    pool = scratch.max_pool2d if mode == "max" else scratch.avg_pool2d
    return pool(np.asarray(X, dtype=np.float64)[None, None], tuple(pool_size), stride=1)[0, 0]


@functools.lru_cache(maxsize=None)
def _split(name, train):
    return (data.load_mnist if name == "mnist" else data.load_fashion_mnist)(train=train)


def _names(train):
    garments = _split("fashion", train)
    return [garments.classes[y] for y in garments.labels[:8]]


def _digits():
    return data.load_mnist(train=False).images[:20, :, :, 0][:, None] / 255


def _shifted(X, rows=0, cols=0):
    out = np.zeros_like(X)
    out[..., rows:, cols:] = X[..., :X.shape[-2] - rows, :X.shape[-1] - cols]
    return out


def _maxpool_grad():  # notebook 03, Solution 4
    X = mx.nd.array(np.random.default_rng(0).permutation(16).reshape(1, 1, 4, 4))
    X.attach_grad()
    with autograd.record():
        total = mx.nd.Pooling(X, kernel=(2, 2), stride=(2, 2), pool_type="max").sum()
    total.backward()
    return X, X.grad


def _maps():
    maps = np.ones((1, 6, 28, 28))
    maps[0, 0] = 0.1      # weakest
    maps[0, 2, 0, 0] = 50  # one huge pixel, mean 1.06
    maps[0, 4] = 1.5      # strongest on average
    return maps


ERRORS = {2010: 28.2, 2011: 25.8, 2012: 16.4, 2013: 11.7, 2014: 6.7, 2015: 3.57, 2016: 2.99, 2017: 2.25}


def _dropout(train_mode, rescale=True):
    x = mx.nd.ones((1, 100_000))
    mx.random.seed(0)
    if not train_mode:
        return x, gluon.nn.Dropout(0.5)(x)
    with autograd.train_mode():
        out = gluon.nn.Dropout(0.5)(x)
    return x, out if rescale else out / 2


def _identity_block(which):
    block = models.BasicBlock(16, 16)
    block.initialize(mx.init.Xavier())
    if which == "last":
        block.body[2].gamma.set_data(mx.nd.zeros(16))
    return block


# 09.1: the one-step neighbours of (depth 2, width 16, kernel 5) in depth 1-3, width 4/8/16/32,
# kernel 3/5/7, written out (not computed like the notebook's solution, so a shared slip shows)
WINNER = (2, 16, 5)
MUTANTS = [(1, 16, 5), (3, 16, 5), (2, 8, 5), (2, 32, 5), (2, 16, 3), (2, 16, 7)]


def _dense_fraction(share):
    net = models.get_model("mobilenet")
    blocks = [b for b in net.features if isinstance(b, models.DepthwiseSeparable)]
    dw = sum(models.count_parameters(b.depthwise) for b in blocks)
    pw = sum(models.count_parameters(b.pointwise) for b in blocks)
    return share(dw / (dw + pw))


def _macs_ratio(net, big, small):
    net.initialize()
    return models.count_macs(net, small) / models.count_macs(net, big)


def _resnet18():
    from gluoncv import model_zoo
    return model_zoo.get_model("resnet18_v1", pretrained=False)


def _top5(order=None, names=True):
    classes = exercises.nb10_13._classes()
    top = [(classes[i], p) for i, p in zip((518, 450, 573, 621, 555), (0.16, 0.11, 0.06, 0.04, 0.03))]
    if order:
        top = [top[i] for i in order]
    return top if names else [(i, p) for i, (_, p) in enumerate(top)]


def _everything():
    classes = exercises.nb10_13._classes()
    probs = scratch.softmax(np.random.default_rng(1).standard_normal(1000) * 3)
    return dict(zip(classes, probs.tolist()))


def _cats(everything, which):
    cats = exercises.nb10_13._classes()[281:286]
    if which == "top5":
        return sum(sorted(everything.values(), reverse=True)[:5])
    return sum(everything[c] for c in (cats if which == "all" else cats[:4]))


def _optimizers(momentum=True, correct=True):  # notebook 11, Solution 1
    rs = np.random.RandomState(0)
    w0 = rs.randn(5).astype(np.float32)
    grads = [rs.randn(5).astype(np.float32) for _ in range(3)]
    lr, mu, beta1, beta2, eps = 0.1, 0.9, 0.9, 0.999, 1e-8
    w, v = w0.copy(), np.zeros(5, np.float32)
    for g in grads:
        v = (mu if momentum else 0.0) * v - lr * g
        w = w + v
    w_momentum = w
    w, m, s = w0.copy(), np.zeros(5, np.float32), np.zeros(5, np.float32)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g ** 2
        scale = np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t) if correct else 1.0
        w = w - lr * scale * m / (np.sqrt(s) + eps)
    return w0, grads, w_momentum, w


def _confusion():
    return np.random.default_rng(2).integers(0, 30, (10, 10)) + 50 * np.eye(10, dtype=int)


def _trainer_lrs():  # notebook 12, Solution 3
    sched = tricks.make_lr_scheduler("cosine", 0.1, 30, 10, warmup_epochs=5)
    w = gluon.Parameter("w", shape=(1,))
    w.initialize(ctx=mx.cpu())
    trainer = gluon.Trainer([w], "sgd", {"lr_scheduler": sched})
    used = []
    for _ in range(3):
        with autograd.record():
            loss = (w.data() ** 2).sum()
        loss.backward()
        trainer.step(1)
        used.append(trainer.learning_rate)
    return used


def _cup_logits():
    return np.random.default_rng(4).standard_normal((1, 1000)) * 4


def _paper_smoothing(labels, K, eps):
    q = np.full((len(labels), K), eps / (K - 1))
    q[np.arange(len(labels)), labels] = 1 - eps
    return q


def _base():
    base = gluon.nn.HybridSequential()
    base.add(gluon.nn.Dense(8, in_units=4), gluon.nn.Dense(8, in_units=8), gluon.nn.Dense(3, in_units=8))
    base.initialize()
    return base


def _folder_message(tmp_path):
    folder = tmp_path / "photos"
    for name in ("coffee", "chelsea"):
        (folder / name).mkdir(parents=True)
        Image.fromarray(data.load_photo(name)).resize((40, 30)).save(folder / name / "a.png")
    (folder / "coffee" / "notes.txt").write_text("a note, not a photo")
    with pytest.raises(transfer.FolderError) as err:
        transfer.image_folder(folder)
    return str(err.value)


# id: (the reference answer, [(a wrong answer, a phrase its message must contain), ...])
CASES = {
    "00.1": (lambda: np.bincount(_split("mnist", False).labels),
             [(lambda: np.bincount(_split("mnist", True).labels), "training split"),
              (lambda: np.ones(10), "differs first at index (0,)")]),
    "00.2": (lambda: _names(False),
             [(lambda: _split("fashion", False).labels[:8].tolist(), "not the label numbers"),
              (lambda: _names(True), "training split")]),
    "01.1": (lambda: sum(models.dense_params(i, o) for i, o in [(784, 512), (512, 256), (256, 10)]),
             [(lambda: 784 * 512 + 512 * 256 + 256 * 10, "biases are missing"),
              (lambda: 784 * 512 + 512 + 512 * 256 + 256, "output layer")]),
    "01.2": (lambda: int(10e6 / 4 // (224 * 224 * 3 + 1)),
             [(lambda: 66, "4 bytes"), (lambda: 17, "2**20"), (lambda: 16.5, "whole number")]),
    "01.3": (lambda: data.permute_pixels(_split("mnist", False)).images[0].reshape(784)[np.argsort(data.pixel_permutation(784))].reshape(28, 28, 1),
             [(lambda: data.permute_pixels(_split("mnist", False)).images[0].reshape(784)[data.pixel_permutation(784)].reshape(28, 28, 1),
               "a second time"),
              (lambda: _split("mnist", False).images[0].reshape(784), "reshape to (28, 28, 1)")]),
    "01.4": (lambda: _shuffle_each,
             [(lambda: (lambda ds, seed: data.permute_pixels(ds)), "one permutation for all"),
              (lambda: (lambda ds, seed: ds), "not shuffled"),
              (lambda: _raises, "raised ValueError: not written yet")]),
    "01.softmax": (lambda: scratch.softmax,
                   [(lambda: _naive_softmax, "subtract each row's maximum"),
                    (lambda: (lambda Z: scratch.softmax(Z, axis=0)), "wrong axis")]),
    "02.1": (lambda: np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]]),
             [(lambda: SOBEL_X, "as strongly"), (lambda: np.ones((3, 3)), "sum to 9"),
              (lambda: np.zeros((5, 5)), "shape (5, 5)")]),
    "02.2": (lambda: (scratch.output_size(28, 3, 1, 2), scratch.output_size(14, 3)),
             [(lambda: (13, 11), "padding"), (lambda: (28, 26), "stride"), (lambda: 14, "tuple of 2")]),
    "02.3": (lambda: (SOBEL_X + 0.3, [5.0, 2.0, 1.0]),
             [(lambda: (SOBEL_X + 0.01, [5.0, 1.0]), "X_std"), (lambda: (SOBEL_X + 0.3, [1.0, 2.0]), "did not fall"),
              (lambda: (np.full((3, 3), np.nan), [1.0, np.inf]), "diverged")]),
    "02.4": (lambda: SOBEL_X.T,
             [(lambda: SOBEL_X, "vertical edges"), (lambda: SOBEL_X[::-1, ::-1], "180 degrees"),
              (lambda: np.eye(2), "shape (2, 2)")]),
    "02.corr2d": (lambda: scratch.corr2d,
                  [(lambda: (lambda X, K: scratch.corr2d(X, K[::-1, ::-1])), "flipped"),
                   (lambda: (lambda X, K: scratch.corr2d(np.pad(X, ((1, 1), (0, 1))), K)), "padded"),
                   (lambda: 3, "expected a function")]),
    "02.conv2d": (lambda: scratch.conv2d,
                  [(lambda: (lambda X, W, b, s, p: scratch.conv2d(X, W[:, :, ::-1, ::-1], b, s, p)), "flipped"),
                   (lambda: (lambda X, W, b, s, p: scratch.conv2d(X, W, b, s)), "padding was forgotten"),
                   (lambda: (lambda X, W, b, s, p: scratch.conv2d(X, W, None, s, p)), "bias")]),
    "03.1": (lambda: (lambda X: scratch.avg_pool2d(X, X.shape[2])),
             [(lambda: (lambda X: scratch.max_pool2d(X, X.shape[2])), "*max*"),
              (lambda: (lambda X: X.mean(axis=(2, 3))), "1x1 axes"),
              (lambda: (np.ones((2, 3, 4, 4)), np.ones((2, 3, 2, 2))), "shape (2, 3, 2, 2), expected (2, 3, 1, 1)")]),
    "03.2": (lambda: (_digits(), _shifted(_digits(), rows=2)),
             [(lambda: (_digits(), _shifted(_digits(), cols=2)), "right, not down"),
              (lambda: (_digits(), _shifted(_digits(), rows=1)), "differs first")]),
    "03.3": (lambda: (lambda v: np.log1p(np.exp(v))),
             [(lambda: np.log1p, "log(1 + x)"), (lambda: scratch.relu, "ReLU")]),
    "03.4": (_maxpool_grad,
             [(lambda: (_maxpool_grad()[0], np.full((1, 1, 4, 4), 0.25)), "average"),
              (lambda: (_maxpool_grad()[0], np.ones((1, 1, 4, 4))), "every input got 1")]),
    "03.pool2d": (lambda: _pool2d_loops,
                  [(lambda: (lambda X, size, mode: _pool2d_loops(X, size, "avg" if mode == "max" else "max")), "other pooling"),
                   (lambda: (lambda X, size, mode: _pool2d_loops(X, size[::-1], mode)), "transposed")]),
    "04.1": (lambda: models.count_parameters(models.LeNet(), (1, 1, 32, 32)),
             [(lambda: 61_706, "count at 28x28"), (lambda: (576 - 400) * 120, "difference")]),
    "04.2": (lambda: models.LeNet(),
             [(lambda: models.LeNet(activation="relu"), "'relu'"), (lambda: models.LeNet(pooling="max"), "averages"),
              (lambda: models.MLP(), "received MLP")]),
    "04.3": (lambda: (_maps(), 4),
             [(lambda: (_maps(), 2), "*single*"), (lambda: (_maps(), 0), "least")]),
    "05.1": (lambda: (ERRORS, 25.8 / 2.25, 2012),
             [(lambda: (ERRORS, 2.25 / 25.8, 2012), "upside down"), (lambda: (ERRORS, 25.8 / 2.25, 2015), "relative"),
              (lambda: (ERRORS, 25.8 / 2.25, 2011), "step ends in")]),
    "05.2": (lambda: _dropout(True),
             [(lambda: _dropout(False), "nothing was dropped"), (lambda: _dropout(True, rescale=False), "not rescaled")]),
    "05.3": (lambda: (models.dense_params(64 * 7 * 7, 512), models.dense_params(576, 4096)),
             [(lambda: (64 * 7 * 7 * 512, 0), "512 biases"),
              (lambda: (models.dense_params(3136, 512), models.dense_params(3136, 4096)), "keep the last pooling")]),
    "05.4": (lambda: (0.86, 0.81),
             [(lambda: (0.86, 0.86), "equal"), (lambda: (86.0, 81.0), "between 0 and 1")]),
    "06.1": (lambda: 143_667_240,
             [(lambda: 138_357_544, "VGG-16's count"), (lambda: 5_309_696, "difference")]),
    "06.2": (lambda: (lambda n: 2 * n + 1),
             [(lambda: (lambda n: 3 * n), "adds 2 pixels"), (lambda: 27, "does not multiply"),
              (lambda: (lambda n: n + 2), "differs first at index (1,)")]),
    "06.3": (lambda: models.dense_params(128, 10),
             [(lambda: 1280, "10 biases"), (lambda: models.dense_params(128 * 9, 10), "128 numbers")]),
    "06.4": (lambda: (models.conv_params(128, 128, 3), models.conv_macs(128, 128, 3, 7, 7)),
             [(lambda: (147_456, 0), "128 biases"), (lambda: (147_584, 147_456), "one output position")]),
    "07.1": (lambda: (1.2 ** np.arange(20)[::-1], 1.2),
             [(lambda: (1.2 ** np.arange(20)[::-1], 1.2 ** (19 / 20)), "off by one"),
              (lambda: (1.2 ** np.arange(20)[::-1], 1.2 ** 19), "whole spread")]),
    "07.2": (lambda: sum(models.conv_params(i, o, 1, bias=False) + 4 * o for i, o in [(16, 32), (32, 64)]),
             [(lambda: 16 * 32 + 32 * 64, "BatchNorm's parameters are missing"), (lambda: 2752, "4 numbers per channel")]),
    "07.3": (lambda: _identity_block("last"),
             [(lambda: _identity_block("none"), "*last* BatchNorm"), (lambda: models.BasicBlock(16, 32), "projects")]),
    "08.1": (lambda: 1 / 256 + 1 / 25,
             [(lambda: 1 / 256, "pointwise part only"), (lambda: 1 / 256 + 1 / 9, "3x3")]),
    "08.2": (lambda: _dense_fraction(lambda s: s),
             [(lambda: _dense_fraction(lambda s: 1 - s), "pointwise fraction"),
              (lambda: _dense_fraction(lambda s: 100 * s), "percentage")]),
    "08.3": (lambda: _macs_ratio(models.get_model("mobilenet"), (1, 1, 28, 28), (1, 1, 14, 14)),
             [(lambda: 0.25, "estimate"), (lambda: 1 / _macs_ratio(models.get_model("mobilenet"), (1, 1, 28, 28), (1, 1, 14, 14)),
                                            "upside down")]),
    "09.1": (lambda: (WINNER, MUTANTS),
             [(lambda: (WINNER, [WINNER] + MUTANTS), "winner itself"),
              (lambda: (WINNER, MUTANTS[:-1]), "missing"),
              (lambda: (WINNER, MUTANTS + MUTANTS[:1]), "twice"),
              (lambda: (WINNER, [(1, 8, 5)]), "more than one step"),
              (lambda: (WINNER, [(2, 16, 9)]), "outside the space")]),
    "09.2": (lambda: {"resnet50_v1": 2_049_000, "vgg16": 123_642_856},
             [(lambda: {"resnet50_v1": 2_049_000, "vgg16": 4_097_000}, "two more Dense"),
              (lambda: {"resnet50_v1": 2_048_000, "vgg16": 123_642_856}, "1,000 biases")]),
    "09.3": (lambda: _macs_ratio(_resnet18(), (1, 3, 224, 224), (1, 3, 112, 112)),
             [(lambda: 0.5, "quarters the maps"), (lambda: 0.25, "estimate")]),
    "10.1": (lambda: _top5(),
             [(lambda: _top5(order=(1, 0, 2, 3, 4)), "not sorted"), (lambda: _top5(names=False), "not a class name"),
              (lambda: [(name, 10 * p) for name, p in _top5()], "logits")]),
    "10.2": (lambda: {5: "tabby", 90: "tabby", 180: "Egyptian cat"},
             [(lambda: {5: "tabby", 90: "tabby"}, "angles 5, 90 and 180"),
              (lambda: {5: "tabby", 90: "cat", 180: "tabby"}, "not an ImageNet class")]),
    "10.3": (lambda: Image.fromarray(data.load_photo("coffee")).resize((48, 32)),
             [(lambda: Image.fromarray(data.load_photo("coffee")).resize((32, 48)), "(width, height)"),
              (lambda: Image.fromarray(data.load_photo("coffee")).resize((64, 64)), "expected 48 x 32")]),
    "10.4": (lambda: data.load_photo("rocket")[120:240, 270:370],
             [(lambda: data.load_photo("rocket")[270:370, 120:240], "swapped"),
              (lambda: data.load_photo("rocket")[120:241, 270:371], "too many")]),
    "10.5": (lambda: (_everything(), _cats(_everything(), "all")),
             [(lambda: (_everything(), _cats(_everything(), "top5")), "top-5"),
              (lambda: (_everything(), _cats(_everything(), "four")), "281:285")]),
    "11.1": (lambda: _optimizers(),
             [(lambda: _optimizers(momentum=False), "plain SGD"), (lambda: _optimizers(correct=False), "bias corrections")]),
    "11.2": (lambda: (_confusion(), np.diag(_confusion()) / _confusion().sum(axis=0)),
             [(lambda: (_confusion(), np.diag(_confusion()) / _confusion().sum(axis=1)), "recall"),
              (lambda: (_confusion(), np.ones(10)), "differs first")]),
    "11.3": (lambda: 128, [(lambda: 32, "one worker's batch"), (lambda: 4, "number of workers")]),
    "12.1": (lambda: 0.1 * 10 / 9, [(lambda: 0.1, "GluonCV spreads"), (lambda: 0.09, "upside down")]),
    "12.2": (lambda: np.log(96), [(lambda: 96.0, "its log"), (lambda: np.log(76), "paper's convention")]),
    "12.3": (_trainer_lrs,
             [(lambda: [tricks.lr_at("cosine", i, 300, 0.1, warmup_iters=50) for i in (0, 1, 2)], "off by one"),
              (lambda: [tricks.lr_at("cosine", i, 300, 0.1) for i in (1, 2, 3)], "warm-up")]),
    "12.4": (lambda: (_cup_logits(), *(1 - tricks.soft_targets(_cup_logits(), T).max() for T in (1, 4))),
             [(lambda: (_cup_logits(), *(tricks.soft_targets(_cup_logits(), T).max() for T in (1, 4))), "top class's own"),
              (lambda: (_cup_logits(), *(1 - tricks.soft_targets(_cup_logits(), T).max() for T in (4, 1))), "value at T = 4")]),
    "12.distill_T20": (lambda: tricks.make_distillation_loss(20.0, 0.5),
                       [(lambda: tricks.make_distillation_loss(4.0, 0.5), "T = 4"),
                        (lambda: _raises, "raised ValueError")]),
    "12.smooth_labels": (lambda: tricks.smooth_labels,
                         [(lambda: _paper_smoothing, "paper's convention"),
                          (lambda: (lambda y, K, eps: tricks.one_hot(y, K)), "one-hot")]),
    "12.mixup": (lambda: tricks.mixup,
                 [(lambda: (lambda X, Y, lam: (tricks.mixup(X, Y, lam)[0], Y)), "not mixed"),
                  (lambda: (lambda X, Y, lam: tricks.mixup(X, Y, 1 - lam)), "swapped")]),
    "13.1": (lambda: (0.80, 0.74), [(lambda: (0.8, 0.8), "equal"), (lambda: (80.0, 74.0), "between 0 and 1")]),
    "13.2": (lambda: (_base(), _base()[1:], 0.0, (72 + 27) / (40 + 72 + 27)),
             [(lambda: (_base(), _base()[1:], 0.3, 99 / 139), "feature extraction's share"),
              (lambda: (_base(), _base()[1:], 0, 40 / 139), "frozen bottom")]),
    "13.3": (lambda: (np.zeros((100, 1280)), np.zeros((100, 28, 28, 1))),
             [(lambda: (np.zeros((100, 112, 4, 4)), np.zeros((100, 28, 28, 1))), "whole base"),
              (lambda: (np.zeros((50, 1280)), np.zeros((100, 28, 28, 1))), "one row per image"),
              (lambda: (np.zeros((100, 320)), np.zeros((100, 28, 28, 1))), "the base gives 1280")]),
}


def test_every_exercise_has_a_case_and_a_hint(capsys):
    assert sorted([*CASES, "00.3", "13.4"]) == sorted(exercises.list_exercises())  # these two below
    for exercise_id in exercises.list_exercises():
        exercises.hint(exercise_id)
        out = capsys.readouterr().out
        assert out.startswith(f"Hint ({exercise_id}, ") and len(out) > 40


@pytest.mark.parametrize("exercise_id", sorted(CASES))
def test_checker_accepts_the_solution_and_names_the_mistakes(exercise_id, capsys):
    right, wrongs = CASES[exercise_id]
    verdict = exercises.check(exercise_id, right())
    assert verdict.ok, verdict.message
    assert capsys.readouterr().out == f"{verdict.message}\n" and verdict.message.startswith(f"Correct ({exercise_id}): ")
    messages = set()
    for wrong, phrase in wrongs:
        verdict = exercises.result(exercise_id, wrong())
        assert not verdict.ok and verdict.message.startswith(f"Not yet ({exercise_id}): ")
        assert phrase in verdict.message, (phrase, verdict.message)
        assert "Traceback" not in verdict.message
        messages.add(verdict.message)
    assert len(wrongs) >= 2 and len(messages) == len(wrongs), "each wrong answer gets its own message"


@pytest.mark.parametrize("answer", ["a string", None, {"a": 1}, [1, 2, 3]])
def test_an_answer_of_the_wrong_kind_gets_a_message_not_a_traceback(answer):
    for exercise_id in exercises.list_exercises():
        verdict = exercises.result(exercise_id, answer)
        if exercise_id != "00.3" or answer is not None:  # None is right for 00.3 without the full data
            assert not verdict.ok and verdict.message.startswith(f"Not yet ({exercise_id}): "), verdict.message


def test_where_full_fashion_mnist_comes_from(tmp_path):
    try:
        expected = data.find_full_file("fashion-mnist", "t10k-images-idx3-ubyte.gz", download=False)
    except data.DataError:
        expected = None
    if expected is None:
        assert exercises.result("00.3", None).ok
        assert "not on this machine" in exercises.result("00.3", str(tmp_path)).message
        assert "not on this machine" in exercises.result("00.3", ("/x", "cache")).message
    else:
        assert exercises.result("00.3", expected).ok and exercises.result("00.3", expected[0]).ok
        assert "does not exist" in exercises.result("00.3", str(tmp_path / "t10k-images-idx3-ubyte.gz")).message
        assert "on this machine" in exercises.result("00.3", None).message


def test_global_pooling_accepts_the_notebooks_pair():
    X_maps = np.random.default_rng(0).standard_normal((4, 8, 7, 7)).astype(np.float32)
    assert exercises.result("03.1", (X_maps, scratch.avg_pool2d(X_maps, 7))).ok
    assert "*max*" in exercises.result("03.1", (X_maps, scratch.max_pool2d(X_maps, 7))).message


def test_broken_folder_message(tmp_path):
    message = _folder_message(tmp_path)
    assert exercises.result("13.4", message).ok
    assert "no error was caught" in exercises.result("13.4", None).message
    assert "does not name notes.txt" in exercises.result("13.4", "something else went wrong").message


def test_strict_mode_raises_the_message_and_unknown_ids_say_what_exists():
    with pytest.raises(AssertionError, match="padding of the first convolution"):
        exercises.check("02.2", (13, 11), strict=True)
    assert exercises.check("02.2", (14, 12), strict=True)
    with pytest.raises(KeyError, match="02.1, 02.2"):
        exercises.check("02.9", 1)


def test_a_result_shows_nothing_more_in_a_notebook(capsys):
    verdict = exercises.check("11.3", 128)
    assert verdict._ipython_display_() is None and capsys.readouterr().out == f"{verdict}\n"


# ---------------------------------------------------------------- tools/add_exercise_cells.py

def _insertion_tool():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "tools" / "add_exercise_cells.py"
    spec = importlib.util.spec_from_file_location("add_exercise_cells", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy_notebooks(tmp_path, *names):
    import shutil
    from pathlib import Path
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    for name in names:
        shutil.copy(next(folder.glob(f"{name}_*.ipynb")), tmp_path)
    return sorted(tmp_path.glob("*.ipynb"))


def test_every_exercise_has_a_check_cell_and_every_notebook_questions():
    tool = _insertion_tool()
    in_cells = {exercise_id for checks in tool.CHECKS.values() for exercise_id, _ in checks}
    numbered = {k for k in exercises.list_exercises() if k.split(".")[1].isdigit()}
    assert numbered <= in_cells <= set(exercises.list_exercises()) and set(tool.SHOWN) == in_cells
    assert sorted(tool.QUESTIONS) == [f"{n:02d}" for n in range(14) if n != 11]
    assert all(3 <= len(q) <= 5 for q in tool.QUESTIONS.values())


def test_insertion_is_anchored_on_headings_and_idempotent(tmp_path, capsys):
    import nbformat
    tool = _insertion_tool()
    paths = _copy_notebooks(tmp_path, "01", "07")   # 01: Exercises and Solutions share a cell
    before = {p: p.read_text() for p in paths}
    assert tool.main([str(tmp_path)]) == 0
    first = {p: p.read_text() for p in paths}
    assert all(first[p] != before[p] for p in paths)
    assert tool.main([str(tmp_path)]) == 0 and {p: p.read_text() for p in paths} == first
    assert "0 changed, 0 errors" in capsys.readouterr().out
    assert tool.main([str(tmp_path), "--check"]) == 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        sources = [c.source for c in nb.cells]
        check = next(i for i, s in enumerate(sources) if s.strip().endswith("## Check your understanding"))
        assert nb.cells[check + 1].metadata["course"]["inserted_by"] == "add_exercise_cells"
        assert nb.cells[check + 1].source.startswith("**Predict, then run.**")
        assert nb.cells[check + 2].cell_type == "code" and "assert" in nb.cells[check + 2].source
        checks = [c for c in nb.cells if c.get("metadata", {}).get("course", {}).get("id", "").count("-check-")]
        assert checks and all(c.outputs[0]["text"].startswith("Correct (") for c in checks)
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        assert counts == list(range(1, len(counts) + 1))
        solutions = next(i for i, s in enumerate(sources) if s.startswith("## Solutions"))
        assert all(sources.index(c.source) > solutions for c in checks)


def test_missing_heading_or_renamed_solution_fails_naming_the_notebook(tmp_path, capsys):
    tool = _insertion_tool()
    broken, renamed = _copy_notebooks(tmp_path, "02", "06")
    broken.write_text(broken.read_text().replace("## Exercises", "## Practice"))
    renamed.write_text(renamed.read_text().replace("gap_head", "head_params"))
    assert tool.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"ERROR {broken.name}: no markdown cell(s) with the heading '## Exercises'" in out
    assert f"ERROR {renamed.name}: the check of exercise 06.3 needs gap_head" in out
    assert "0 changed, 2 errors" in out
