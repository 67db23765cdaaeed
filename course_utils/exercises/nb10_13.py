"""Checkers for notebooks 10-13: pretrained models, training essentials, tricks, transfer."""
import functools

import mxnet as mx
import numpy as np

from .. import data, pretrained, transfer, tricks
from .core import Mismatch, accuracies, as_array, call, compare, exercise, same_number, unpack


@functools.lru_cache(maxsize=None)
def _classes():
    return pretrained.imagenet_classes()


def _check_topk(top, k, what):
    if not isinstance(top, (list, tuple)) or len(top) != k:
        raise Mismatch(f"{what} should be predict_topk's list of {k} (label, probability) pairs")
    for label, p in top:
        if not isinstance(label, str):
            raise Mismatch(f"{label!r} is not a class name: predict_topk gives names, classes[i] turns an index into one")
        if label not in _classes():
            raise Mismatch(f"{label!r} is not one of the 1,000 ImageNet classes")
        if not 0 <= p <= 1:
            raise Mismatch(f"{p:g} is not a probability: these look like logits; apply softmax")
    probs = [p for _, p in top]
    if probs != sorted(probs, reverse=True):
        raise Mismatch("the pairs are not sorted from most to least probable")
    if sum(probs) > 1 + 1e-5:
        raise Mismatch(f"the probabilities add up to {sum(probs):.3f} > 1")


# ---------------------------------------------------------------- 10: pretrained models

@exercise("10.1", "the astronaut",
          hint="pretrained.predict_topk(net, data.load_photo('astronaut'), k=5); look for 'person' in classes first.",
          done="five ImageNet classes, most probable first: none of them is a person, ImageNet has no such class.")
def _(answer):
    _check_topk(answer, 5, "your top-5")


@exercise("10.2", "a rotated cat",
          hint="for angle in (5, 90, 180): predict_topk(net, cat.rotate(angle), k=1)[0][0].",
          done="a top-1 class name for each of the three angles.")
def _(answer):
    if not isinstance(answer, dict) or set(answer) != {5, 90, 180}:
        raise Mismatch("pass a dict {angle: top-1 label} for the angles 5, 90 and 180")
    for angle, label in answer.items():
        if not isinstance(label, str) or label not in _classes():
            raise Mismatch(f"at {angle} degrees: {label!r} is not an ImageNet class name")


@exercise("10.3", "the coffee at 48 x 32",
          hint="Image.fromarray(photo).resize((48, 32)): PIL sizes are (width, height).",
          done="48 pixels wide and 32 high.")
def _(answer):
    shape = np.asarray(answer).shape
    if shape[:2] == (48, 32):
        raise Mismatch("the image is 48 high and 32 wide: PIL's resize takes (width, height)")
    if shape[:2] != (32, 48):
        raise Mismatch(f"the image is {shape[1]} wide and {shape[0]} high, expected 48 x 32")


@functools.lru_cache(maxsize=None)
def _photo(name):
    return data.load_photo(name)


@exercise("10.4", "the rocket's nose",
          hint="photo[120:240, 270:370]: rows first, then columns; a slice stops before its end.",
          done="rows 120-239 and columns 270-369 of the rocket photo.")
def _(answer):
    photo = _photo("rocket")
    compare(answer, photo[120:240, 270:370], "your crop", atol=0, mistakes=[
        ("rows and columns are swapped: photo[rows, columns]", photo[270:370, 120:240]),
        ("one row and column too many: a slice stops before its end", photo[120:241, 270:371])])


@exercise("10.5", "all the cats",
          hint="dict(predict_topk(net, photo, k=1000)) maps every class to its probability; add those of classes[281:286].",
          done="the five cat classes' probabilities added up.")
def _(answer):
    everything, all_cats = unpack(answer, ["everything", "all_cats"])
    if not isinstance(everything, dict) or len(everything) < 990:  # a few class names repeat
        raise Mismatch("everything should be a dict of all 1,000 classes: dict(predict_topk(..., k=1000))")
    cats = _classes()[281:286]
    probs = sorted(everything.values(), reverse=True)
    same_number(all_cats, sum(everything[c] for c in cats), "your sum", mistakes=[
        ("that is the sum of the top-5, not of the five cat classes", sum(probs[:5])),
        ("classes[281:285] holds 4 classes: the cats are classes[281:286]", sum(everything[c] for c in cats[:4]))])


# ---------------------------------------------------------------- 11: training essentials

def _mxnet_steps(w0, grads, name, **kwargs):
    opt = mx.optimizer.create(name, learning_rate=0.1, **kwargs)
    weight = mx.nd.array(w0)
    state = opt.create_state(0, weight)
    for g in grads:
        opt.update(0, weight, mx.nd.array(g), state)
    return weight.asnumpy()


@exercise("11.1", "SGD with momentum and Adam by hand",
          hint="lr 0.1, momentum 0.9; Adam beta1 0.9, beta2 0.999, eps 1e-8, with both bias corrections "
               "(1 - beta^t), t counting from 1.",
          done="both update rules agree with MXNet's optimizers after three steps.")
def _(answer):
    w0, grads, w_momentum, w_adam = unpack(answer, ["w0", "grads", "w_momentum", "w_adam"])
    w0, grads = as_array(w0, "w0"), [as_array(g, "a gradient") for g in grads]
    plain = w0 - 0.1 * sum(grads)
    compare(w_momentum, _mxnet_steps(w0, grads, "sgd", momentum=0.9), "your momentum weights", mistakes=[
        ("that is plain SGD: the velocity (momentum 0.9) is missing", plain)])
    m, s, w = np.zeros_like(w0), np.zeros_like(w0), w0.copy()
    for g in grads:                       # Adam without bias correction: the typical slip
        m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g ** 2
        w = w - 0.1 * m / (np.sqrt(s) + 1e-8)
    compare(w_adam, _mxnet_steps(w0, grads, "adam", beta1=0.9, beta2=0.999, epsilon=1e-8),
            "your Adam weights", mistakes=[("the bias corrections 1 - beta^t are missing", w)])


@exercise("11.2", "precision per class",
          hint="column j of the confusion matrix holds every image *predicted* as j: precision = diagonal / column sums.",
          done="each class's precision from the columns of the confusion matrix.")
def _(answer):
    matrix, precision = unpack(answer, ["matrix", "precision"])
    matrix = as_array(matrix, "matrix")
    compare(precision, np.diag(matrix) / np.maximum(matrix.sum(axis=0), 1), "your precision", mistakes=[
        ("that is the recall (rows): precision reads the columns", np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1))])


@exercise("11.3", "the distributed rescale",
          hint="the server adds 4 workers' summed gradients; divide by the number of images they came from.",
          done="trainer.step(128): the global batch, 4 workers x 32 images.")
def _(answer):
    same_number(answer, 128, "your batch_size", mistakes=[
        ("32 is one worker's batch: the summed gradient covers 128 images, so every step would be 4x too large", 32),
        ("4 is the number of workers, not of images", 4)])


# ---------------------------------------------------------------- 12: advanced tricks

@exercise("12.1", "the paper's label-smoothing convention",
          hint="smooth_labels gives eps'/K to every class; the paper gives eps/(K-1) to each wrong class.",
          done="eps' = eps * K / (K - 1) = 0.1111 gives the paper's targets.")
def _(answer):
    same_number(answer, 0.1 * 10 / 9, "your eps'", rel=1e-3, mistakes=[
        ("that is the paper's eps itself: GluonCV spreads eps over all K classes, the true one included", 0.1),
        ("the ratio is upside down: eps * K / (K - 1)", 0.1 * 9 / 10)])


@exercise("12.2", "the logit gap at the optimum",
          hint="the optimum has softmax(z) = q, so z_y - z_k = log(q_y / q_k).",
          done="the gap is log(0.96 / 0.01) = log 96 = 4.564.")
def _(answer):
    same_number(answer, np.log(96), "your gap", rel=1e-3, mistakes=[
        ("that is the ratio q_y / q_k; the gap of the logits is its log", 96.0),
        ("that is the paper's convention (0.95, 0.0125); smooth_labels gives (0.96, 0.01)", np.log(0.95 / 0.0125))])


@exercise("12.3", "the schedule's first iterations",
          hint="a Trainer asks the schedule for iteration 1 at its first step(): compare with lr_at(i) for i = 1, 2, 3.",
          done="the Trainer used lr_at(1), lr_at(2), lr_at(3) of the warmed-up cosine schedule.")
def _(answer):
    lr = lambda i, warmup=50: tricks.lr_at("cosine", i, 300, 0.1, warmup_iters=warmup)
    compare(answer, [lr(i) for i in (1, 2, 3)], "your learning rates", mistakes=[
        ("off by one iteration: those are lr_at(0), lr_at(1), lr_at(2)", [lr(i) for i in (0, 1, 2)]),
        ("the warm-up is missing (5 epochs of 10 iterations)", [lr(i, 0) for i in (1, 2, 3)])])


@exercise("12.4", "dark knowledge of a cup",
          hint="p = tricks.soft_targets(logits, T)[0]; the probability outside the top class is 1 - p.max(), "
               "at T = 1 and at T = 4.",
          done="the probability outside the top class grows with the temperature.")
def _(answer):
    logits, outside_1, outside_4 = unpack(answer, ["cup_logits", "outside_T1", "outside_T4"])
    z = as_array(logits, "cup_logits").reshape(1, -1)
    top = {T: float(as_array(tricks.soft_targets(z, T)).max()) for T in (1, 4)}
    same_number(outside_1, 1 - top[1], "outside the top class at T = 1", rel=1e-3, mistakes=[
        ("that is the top class's own probability; the question asks for the rest, 1 - p_top", top[1]),
        ("that is the value at T = 4", 1 - top[4])])
    same_number(outside_4, 1 - top[4], "outside the top class at T = 4", rel=1e-3, mistakes=[
        ("that is the top class's own probability; the question asks for the rest, 1 - p_top", top[4]),
        ("that is the value at T = 1: divide the logits by T = 4 before the softmax", 1 - top[1])])


@exercise("12.distill_T20", "distilling at T = 20",
          hint="tricks.make_distillation_loss(20.0, hard_weight): the temperature is its first argument.",
          done="the distillation loss at T = 20.")
def _(answer):
    hard_weight = getattr(answer, "hard_weight", 0.5)
    rng = np.random.default_rng(3)
    z_s, z_t = mx.nd.array(rng.standard_normal((4, 10)) * 3), mx.nd.array(rng.standard_normal((4, 10)) * 3)
    y = mx.nd.array([1, 3, 5, 7])
    ref = lambda T: tricks.make_distillation_loss(T, hard_weight)(z_s, y, z_t)
    compare(call(answer, z_s, y, z_t, what="your loss(y_hat, target, teacher_logits)"), ref(20.0),
            "your loss", rtol=1e-4, mistakes=[("that is the T = 4 loss", ref(4.0))])


@exercise("12.smooth_labels", "label smoothing by hand",
          hint="(1 - eps) * one_hot + eps / K: every class, the true one included, gets eps / K.",
          done="your smoothing matches tricks.smooth_labels (GluonCV's convention).")
def _(answer):
    labels, K, eps = np.array([1, 0, 4]), 5, 0.05
    paper = np.full((3, K), eps / (K - 1))
    paper[np.arange(3), labels] = 1 - eps
    compare(call(answer, labels, K, eps, what="your smooth_labels"), tricks.smooth_labels(labels, K, eps),
            "smooth_labels([1, 0, 4], 5, 0.05)", mistakes=[
                ("that is the paper's convention (1 - eps, eps / (K - 1)); the course and GluonCV use "
                 "(1 - eps) * one_hot + eps / K", paper),
                ("eps was not applied: that is one-hot", tricks.one_hot(labels, K))])


@exercise("12.mixup", "mix-up by hand",
          hint="pair sample i with sample N - 1 - i (X[::-1]); mix inputs and targets with the same lam.",
          done="your mix-up matches tricks.mixup, inputs and targets.")
def _(answer):
    rng = np.random.default_rng(5)
    X, Y, lam = rng.standard_normal((4, 3)), tricks.one_hot(np.array([0, 1, 2, 1]), 3), 0.7
    got = call(answer, X, Y, lam, what="your mixup")
    X_ref, Y_ref = tricks.mixup(X, Y, lam)
    X_got, Y_got = unpack(got, ["X_mixed", "Y_mixed"])
    compare(X_got, X_ref, "the mixed inputs", mistakes=[
        ("lam and 1 - lam are swapped", tricks.mixup(X, Y, 1 - lam)[0])])
    compare(Y_got, Y_ref, "the mixed targets", mistakes=[
        ("the targets were not mixed: mix them with the same lam as the inputs", Y),
        ("lam and 1 - lam are swapped", tricks.mixup(X, Y, 1 - lam)[1])])


# ---------------------------------------------------------------- 13: transfer learning

@exercise("13.1", "BatchNorm while fine-tuning",
          hint="fine_tuning(10, 0, freeze_bn=False) returns (accuracy, net); compare with results['(c) fine-tuning'][10][0].",
          done="the two BatchNorm modes give different accuracies.")
def _(answer):
    stored, batch = accuracies(answer, ["stored_stats_acc", "batch_stats_acc"])
    if stored == batch:
        raise Mismatch("the accuracies are equal: did you pass freeze_bn=False?")


@exercise("13.2", "how much of the base learns",
          hint="transfer.count_params(top) / transfer.count_params(net.features) for fine-tuning; feature extraction trains none of the base.",
          done="feature extraction updates 0 of the base, fine-tuning the share of its top part.")
def _(answer):
    base, top, feature_share, tuning_share = unpack(answer, ["net.features", "top", "feature_share", "tuning_share"])
    same_number(feature_share, 0.0, "feature extraction's share", mistakes=[])
    share = transfer.count_params(top) / transfer.count_params(base)
    same_number(tuning_share, share, "fine-tuning's share", rel=1e-3, mistakes=[
        ("that is the frozen bottom's share", 1 - share), ("give a fraction, not a percentage", 100 * share)])


@exercise("13.3", "features of smaller inputs",
          hint="transfer.extract_features(net.features, images, 64, to_small) gives one 1280-vector per image.",
          done="one 1280-vector per image: the features of the whole base.")
def _(answer):
    features, images = unpack(answer, ["features", "images"])
    shape = tuple(features.shape)
    if len(shape) != 2:
        raise Mismatch(f"the features have shape {shape}: extract the features of the whole base, (N, 1280), "
                       "not a part's activations")
    if shape[1] != 1280:
        raise Mismatch(f"the features have {shape[1]} numbers per image, the base gives 1280")
    if shape[0] != len(images):
        raise Mismatch(f"{shape[0]} feature rows for {len(images)} images: one row per image")


@exercise("13.4", "a broken folder",
          hint="catch transfer.FolderError and read str(err): it names the file and says what to do.",
          done="image_folder refuses the folder and names notes.txt.")
def _(answer):
    if answer is None:
        raise Mismatch("no error was caught: did notes.txt land inside a class folder (coffee)?")
    message = str(answer)
    if "notes.txt" not in message:
        raise Mismatch(f"this message does not name notes.txt: {message[:120]!r}")
