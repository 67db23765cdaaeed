#!/usr/bin/env python3
"""Insert the predict-then-run questions, their answers and the exercise checks into the notebooks.

Usage: python tools/add_exercise_cells.py [notebooks_dir] [--check]

For every notebook NN_*.ipynb this inserts, anchored on headings (never on cell positions):

- after the cell holding "## Check your understanding": a markdown cell of 3-5 questions to
  answer *before* running anything (notebook 11 has its own and gets none); the notebook's own
  asserts stay where they are, after the questions;
- after the cell holding "## Exercises": a markdown cell saying how to check an answer
  (``exercises.check("NN.k", answer)``, ``exercises.hint("NN.k")``);
- at the end of the "## Solutions" section: the answers to the questions (markdown), then one
  code cell per exercise that runs the checker on the solution's answer. They come after the
  solutions, so the notebook still runs top to bottom (nbval executes them).

Every inserted cell carries ``metadata.course = {"inserted_by": "add_exercise_cells", "id": ...}``;
a run first removes the cells it inserted before, so running it twice changes nothing. When the
"## Exercises" cell also holds the "## Solutions" heading, the cell is split in two at that
heading (once: the second run finds two cells). A check cell's saved output is the line the
checker prints for a right answer, and execution counts are renumbered 1..N, so the notebook
stays valid for nbval and tools/check_notebooks.py; re-execute the notebook before committing
anyway (``make execute NB=...``) so that every output comes from one run.

The script fails, naming the notebook, when a heading is missing or when a check needs a name
that no code cell of the notebook assigns (a solution was renamed). ``--check`` changes nothing
and exits 1 when a notebook would change.
"""
import argparse
import ast
import builtins
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

MARK = "add_exercise_cells"
CHECK_HEADING, EXERCISES_HEADING, SOLUTIONS_HEADING = (
    "## Check your understanding", "## Exercises", "## Solutions")
NO_QUESTIONS = {"11"}  # notebook 11 already opens its questions: the model for the others

# ----------------------------------------------------------------------------------------------
# The content: per notebook, questions and answers (the same order) and the exercise checks
# (exercise id, the code that checks the solution's answer). Where notebooks are being reworked, a
# tuple of alternatives: the first whose names the notebook assigns is used.
# ----------------------------------------------------------------------------------------------

QUESTIONS = {
    "00": [
        ("The bundled MNIST subset holds 400 training and 100 test digits of each of the 10 classes. "
         "How many items does `data.load_mnist(train=True)` have?",
         "4,000 (400 x 10); the test split has 1,000."),
        ("What shape and dtype does one image of `digits` have, and which values can its pixels take?",
         "`(28, 28, 1)` `uint8`, as `mx.gluon.data.vision.MNIST` gives them: whole numbers from 0 "
         "(background) to 255."),
        ("On a machine whose only GPU is an H100, which context does `device.choose()` return, and why?",
         "`mx.cpu()`: MXNet 1.9.1's CUDA wheels carry kernels for compute capability 5.0 to 8.9 only, "
         "and the H100 is 9.0, so the course falls back to the CPU and says so."),
        ("Why must `import course_utils` come before `import mxnet`?",
         "MXNet reads its cache location (`MXNET_HOME`) and its thread count once, when it is "
         "imported; `course_utils` sets them first."),
    ],
    "01": [
        ("How many parameters does softmax regression, one `Dense(10)` on 28x28 digits, have?",
         "784 x 10 weights + 10 biases = 7,850."),
        ("What shapes do `X` and `y` of one batch from `data.loaders(..., batch_size=128)` have?",
         "`X` is `(128, 1, 28, 28)` float32 in [0, 1]; `y` is `(128,)`."),
        ("How many parameters would one dense layer of 1,000 units have on a 224x224x3 photo?",
         "(224 x 224 x 3) x 1,000 + 1,000 = 150,529,000."),
        ("Shuffle the pixels of every image by *one* fixed permutation and train the same MLP: does "
         "the test accuracy rise, fall a lot, or stay about the same?",
         "About the same (within 0.02 in the saved run): input *i* always carries the same pixel, and "
         "a dense layer has no notion of which inputs are neighbours."),
    ],
    "02": [
        ("A 28x28 image and a 5x5 kernel, stride 1: what size is the output without padding, and "
         "with padding 2?",
         "28 - 5 + 1 = 24 without padding; 28 + 4 - 5 + 1 = 28 with padding 2 ('same' padding)."),
        ("A 32x32 input goes through a 3x3 convolution with padding 1 and stride 2. What size comes out?",
         "floor((32 + 2 - 3) / 2) + 1 = 16: stride 2 halves it."),
        ("`scratch.conv2d` gets a batch `(5, 3, 32, 32)` and kernels `(8, 3, 3, 3)` with padding 1. "
         "What shape is the output?",
         "`(5, 8, 32, 32)`: one output channel per kernel; padding 1 keeps 32x32."),
        ("How many parameters does `nn.Conv2D(channels=64, kernel_size=3, in_channels=3)` have?",
         "64 x 3 x 3 x 3 weights + 64 biases = 1,792."),
    ],
    "03": [
        ("2x2 max pooling with stride 2 on a batch `(5, 3, 28, 28)`: what shape comes out?",
         "`(5, 3, 14, 14)`: each channel is pooled on its own, the size is halved."),
        ("For X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]], what do 2x2 max pooling and 2x2 average pooling "
         "give at stride 1?",
         "Max: [[4, 5], [7, 8]]; average: [[2, 3], [5, 6]]."),
        ("How many parameters does `nn.MaxPool2D(pool_size=2)` have?",
         "None (0): pooling has nothing to learn."),
        ("What are the derivatives of the sigmoid and of tanh at 0? At most how much of a gradient is "
         "left after passing back through five sigmoids?",
         "0.25 and 1; at most 0.25^5, about 0.001, which is why sigmoid gradients vanish in deep "
         "stacks while ReLU passes them through where it is active."),
    ],
    "04": [
        ("For one 28x28 digit, what shapes do LeNet's feature maps have after the first convolution "
         "(5x5, padding 2, 6 channels) and after the second (5x5, no padding, 16 channels, after a "
         "2x2 pooling)?",
         "`(1, 6, 28, 28)`, then 28 / 2 = 14 and 14 - 5 + 1 = 10: `(1, 16, 10, 10)`."),
        ("What shape is the first layer's weight?",
         "`(6, 1, 5, 5)`: 6 filters, 1 input channel, 5x5."),
        ("LeNet or the MLP 784 -> 256 -> 10: which has more parameters, and by about what factor?",
         "The MLP: 203,530 against LeNet's 61,706, more than 3 times as many."),
        ("Shuffle the pixels by notebook 01's permutation: which network loses more accuracy, and why?",
         "LeNet: its convolutions look at neighbouring pixels, which the permutation scatters; the "
         "MLP never used neighbourhoods."),
    ],
    "05": [
        ("Our AlexNet for 28x28 digits has 877,258 parameters. About how many has the original, "
         "for 224x224 photos and 1,000 classes?",
         "61,100,840, about 61 million: 70 times more, mostly in its 4,096-unit dense layers."),
        ("`nn.Dropout(0.5)` gets a vector of ones. Which values come out in training mode, and which "
         "when predicting?",
         "Training: 0 for about half of the units and 2 for the rest (mean still about 1); "
         "predicting: the ones unchanged."),
        ("Calling the trained network twice on the same 8 test images: same outputs or not?",
         "The same: Gluon switches dropout off when predicting."),
        ("From the chart: in which year did a convolutional network first win, and which winner was "
         "first below the human estimate of 5.1 %?",
         "2012 (AlexNet, 16.4 %); 2015 (ResNet, 3.57 %)."),
    ],
    "06": [
        ("A VGG block of two 3x3 convolutions (padding 1, 16 channels) and a 2x2 max pooling gets "
         "`(2, 1, 28, 28)`. What shape comes out?",
         "`(2, 16, 14, 14)`: the convolutions keep 28x28, the pooling halves it."),
        ("Two stacked 3x3 convolutions (C channels in and out) against one 5x5: which window does "
         "each see, and what share of the 5x5's weights do the two need?",
         "Both see 5x5; 2 x 9 C^2 against 25 C^2, 72 %, with one more ReLU."),
        ("With BatchNorm, each convolution loses its bias and each BatchNorm adds 4 numbers per "
         "channel. Does the parameter count go up or down, and by how much per channel?",
         "Up, by 3 per channel (4 - 1)."),
        ("In VGG-16, where are most of the parameters, and where most of the multiply-adds?",
         "The parameters in the dense layers (74 % in the first one alone); the multiply-adds in "
         "the convolutions."),
    ],
    "07": [
        ("`models.BasicBlock(in_channels=16, channels=32, strides=2)` gets `(2, 16, 28, 28)`. What "
         "shape comes out, and does the shortcut need a projection?",
         "`(2, 32, 14, 14)`; yes: the shape changes, so a 1x1 convolution with stride 2 (and "
         "BatchNorm) projects `x`."),
        ("And `models.BasicBlock(32, 32)`: projection or not?",
         "Not: `downsample` is None, the shortcut is `x` itself."),
        ("How many residual blocks does each of ResNet-20's three stages have, and where do the 20 "
         "layers come from?",
         "3, 3, 3 (`resnet_spec(20)`): 9 blocks x 2 convolutions + the first convolution + the "
         "dense output layer = 20."),
        ("In a 56-layer network, which gradient norms spread more from the first layers to the last: "
         "the plain net's or the residual net's?",
         "The plain net's (more than 100x in the saved run; the residual one's less than 50x): each "
         "residual block's Jacobian is the identity plus a correction."),
    ],
    "08": [
        ("How many multiply-adds does a standard k x k convolution from c_in to c_out channels need "
         "on an h x w output, and how many a depthwise separable one?",
         "c_in c_out k^2 h w; c_in k^2 h w (depthwise) + c_in c_out h w (pointwise), a ratio of "
         "1 / c_out + 1 / k^2."),
        ("What shape is the depthwise convolution's weight for c_in channels and a k x k kernel?",
         "`(c_in, 1, k, k)`: one filter per channel."),
        ("With width multiplier 0.5 (every layer half as many channels), about what share of the "
         "parameters is left?",
         "About a quarter (alpha^2 = 0.25): most weights sit in pointwise layers, which scale with "
         "c_in x c_out."),
        ("For 3x3 kernels and 256 output channels, about what fraction of a standard convolution's "
         "multiply-adds does a separable one need?",
         "1/256 + 1/9, about 0.115: close to 1/9."),
    ],
    "09": [
        ("The search space takes depth from (1, 2), width from (8, 16) and kernel from (3, 5). How "
         "many architectures is that?",
         "2 x 2 x 2 = 8; the search tries 6 distinct ones."),
        ("Why does the search pick its winner on a *validation* split, not on the test set?",
         "Choosing on the test set would make the test accuracy an optimistic estimate: the test "
         "set must stay unseen until the end."),
        ("In the zoo table, which model has the most parameters and the most multiply-adds?",
         "VGG16, on both."),
        ("Order MobileNetV2, MobileNet, ResNet-18 and ResNet-50 by parameters.",
         "MobileNetV2 < MobileNet < ResNet-18 < ResNet-50."),
    ],
    "10": [
        ("What shape and dtype does one preprocessed photo have, and what shape do the network's "
         "outputs have?",
         "`(1, 3, 224, 224)` float32 in; `(1, 1000)` out, one score per ImageNet class."),
        ("After the softmax, what do the 1,000 probabilities add up to, and in which order does "
         "`predict_topk` list its 5?",
         "1; from the most to the least probable."),
        ("ImageNet has no class named 'rocket'. What does the network answer for the rocket photo?",
         "'missile', the nearest class it knows."),
        ("Skip the normalisation (mean and standard deviation) and feed the raw pixels: is the cat "
         "still a cat?",
         "No: its top-1 is no longer a cat class. The network only works on inputs transformed as "
         "in its training."),
    ],
    "12": [
        ("With K = 5 classes and epsilon = 0.05, what target does `tricks.smooth_labels` give to "
         "class 1?",
         "(0.01, 0.96, 0.01, 0.01, 0.01): epsilon / K = 0.01 for every class, plus 1 - epsilon on "
         "the true one."),
        ("With a linear warm-up from 0, what is the learning rate at iteration 0, and at the last "
         "iteration of the cosine and poly schedules?",
         "0, and 0 again at the end (both fall to `target_lr` = 0)."),
        ("Mix-up with lambda = 1: what happens to the batch?",
         "Nothing: 1 x X + 0 x X[reversed] = X, and the targets are unchanged too."),
        ("Distillation with `hard_weight = 1`: what is the loss?",
         "The plain cross-entropy on the labels: the teacher's term has weight 0."),
    ],
    "13": [
        ("The new output layer for K classes sits on the base's 1,280 features. What shapes do its "
         "weight and bias have?",
         "`(K, 1280)` and `(K,)`: for the 10 garments, `(10, 1280)`."),
        ("Replacing the output layer: does the base's parameter count change?",
         "No: 3,371,008 before and after; only the head is new."),
        ("During feature extraction, which parameters change?",
         "Only the new output layer's: the base is frozen and its features are computed once."),
        ("What shape do the kept features of N images have?",
         "`(N, 1280)`: one vector per image, the base's output after global pooling."),
    ],
}

CHECKS = {
    "00": [("00.1", 'exercises.check("00.1", np.bincount(test_digits.labels))'),
           ("00.2", 'test_garments = data.load_fashion_mnist(train=False)\n'
                    'exercises.check("00.2", [test_garments.classes[label] for label in test_garments.labels[:8]])'),
           ("00.3", 'try:\n'
                    '    full_path = data.find_full_file("fashion-mnist", "t10k-images-idx3-ubyte.gz", download=False)[0]\n'
                    'except data.DataError:\n'
                    '    full_path = None\n'
                    'exercises.check("00.3", full_path)')],
    "01": [("01.1", 'exercises.check("01.1", by_formula)'),
           ("01.2", 'exercises.check("01.2", units)'),
           ("01.3", 'exercises.check("01.3", restored)'),
           ("01.4", 'exercises.check("01.4", shuffle_each)')],
    "02": [("02.1", 'exercises.check("02.1", K_diag)'),
           ("02.2", 'exercises.check("02.2", (n1, n2))'),
           ("02.3", 'exercises.check("02.3", (K_raw, losses_raw))'),
           ("02.4", 'exercises.check("02.4", scratch.KERNELS["sobel_x"].T)'),
           ("02.corr2d", 'exercises.check("02.corr2d", corr2d_loops)')],
    "03": [("03.1", 'exercises.check("03.1", (X_maps, ours))'),
           ("03.2", 'exercises.check("03.2", (digits, shifted_down_2))'),
           ("03.3", 'exercises.check("03.3", lambda v: np.log1p(np.exp(v)))'),
           ("03.4", 'exercises.check("03.4", (X_small, X_small.grad))'),
           ("03.pool2d", 'exercises.check("03.pool2d", pool2d_loops)')],
    "04": [("04.1", 'exercises.check("04.1", big)'),
           ("04.2", 'exercises.check("04.2", original)'),
           ("04.3", 'exercises.check("04.3", (maps1, best))')],
    "05": [("05.1", 'exercises.check("05.1", (errors, errors[2011] / errors[2017], best))'),
           ("05.2", 'exercises.check("05.2", (x, training))'),
           ("05.3", 'exercises.check("05.3", (models.dense_params(64 * 7 * 7, 512), models.dense_params(64 * 3 * 3, 4096)))'),
           ("05.4", 'exercises.check("05.4", (acc, acc_dropout_on))')],
    "06": [("06.1", 'exercises.check("06.1", vgg19_total)'),
           ("06.2", 'exercises.check("06.2", int(reach3.sum(axis=0).max()))'),
           ("06.3", 'exercises.check("06.3", gap_head)'),
           ("06.4", 'exercises.check("06.4", (models.conv_params(128, 128, 3), models.conv_macs(128, 128, 3, 7, 7)))')],
    "07": [("07.1", 'g = plain_grads[56]\nexercises.check("07.1", (g, (g[0] / g[-1]) ** (1 / (len(g) - 1))))'),
           ("07.2", 'exercises.check("07.2", projections)'),
           ("07.3", 'exercises.check("07.3", identity_block)')],
    "08": [("08.1", 'exercises.check("08.1", counted_macs / models.conv_macs(256, 256, 5, 7, 7))'),
           ("08.2", 'exercises.check("08.2", depthwise / (depthwise + pointwise))'),
           ("08.3", 'exercises.check("08.3", macs_14 / macs_28)')],
    "09": [("09.1", 'exercises.check("09.1", (best["arch"], mutants))'),
           ("09.2", 'exercises.check("09.2", {name: dense_parameters(zoo[name]["net"]) for name in ("resnet50_v1", "vgg16")})'),
           ("09.3", 'exercises.check("09.3", macs_112 / zoo["resnet18_v1"]["macs"])')],
    "10": [("10.1", 'exercises.check("10.1", astronaut_top)'),
           ("10.2", 'exercises.check("10.2", {angle: pretrained.predict_topk(net, cat.rotate(angle, resample=Image.BILINEAR), k=1)[0][0]\n'
                    '                          for angle in (5, 90, 180)})'),
           ("10.3", 'exercises.check("10.3", tiny)'),
           ("10.4", 'exercises.check("10.4", nose)'),
           ("10.5", 'exercises.check("10.5", (everything, all_cats))')],
    "11": [("11.1", 'exercises.check("11.1", (w0, grads, w_momentum, w_adam))'),
           ("11.2", 'exercises.check("11.2", (matrix, precision))'),
           ("11.3", 'exercises.check("11.3", Xb.shape[0])')],
    "12": [("12.1", 'exercises.check("12.1", eps_prime)'),
           ("12.2", 'exercises.check("12.2", gap2)'),
           ("12.3", 'exercises.check("12.3", used)'),
           ("12.4", ('exercises.check("12.4", (cup_logits, 1 - p1_cup[order[0]], 1 - p4_cup[order[0]]))',
                     'exercises.check("12.distill_T20", tricks.make_distillation_loss(20.0, hard_weight))'))],
    "13": [("13.1", 'exercises.check("13.1", (stored_stats_acc, batch_stats_acc))'),
           ("13.2", 'exercises.check("13.2", (net.features, top, 0.0, transfer.count_params(top) / base_total))'),
           ("13.3", ('exercises.check("13.3", (garment_task["F"], tasks["garments"]["images"]))',
                     'exercises.check("13.3", (F32, pool_images[idx10]))')),
           ("13.4", 'try:\n'
                    '    transfer.image_folder(broken)\n'
                    '    folder_message = None\n'
                    'except transfer.FolderError as err:\n'
                    '    folder_message = str(err)\n'
                    'exercises.check("13.4", folder_message)')],
}


# What the Exercises section shows: the answer's form, in the names the exercise uses (not the
# Solutions' code, which would give the answer away).
SHOWN = {
    "00.1": "counts  # test digits per class, 10 numbers", "00.2": "names  # the 8 class names",
    "00.3": "path  # or None when it is not on this machine",
    "01.1": "count", "01.2": "units", "01.3": "restored", "01.4": "shuffle_each  # your function (dataset, seed)",
    "02.1": "K_diag", "02.2": "(n1, n2)", "02.3": "(K_raw, losses_raw)",
    "02.4": "K_horizontal  # the kernel that detects horizontal edges",
    "02.corr2d": "corr2d_loops  # or any corr2d(X, K) you write",
    "03.1": "(X_maps, pooled)", "03.2": "(digits, shifted_down_2)", "03.3": "softplus  # your function",
    "03.4": "(X_small, X_small.grad)", "03.pool2d": "pool2d_loops  # or any pool2d(X, pool_size, mode)",
    "04.1": "count_32  # LeNet's parameters at 32x32", "04.2": "original  # the network",
    "04.3": "(maps1, best)",
    "05.1": "(errors, factor, year)", "05.2": "(x, training)", "05.3": "(params_7x7, params_4096)",
    "05.4": "(acc, acc_dropout_on)",
    "06.1": "vgg19_total", "06.2": "window  # for n = 3, or a function receptive_field(n)",
    "06.3": "head_params", "06.4": "(params, macs)",
    "07.1": "(norms, factor)  # the plain net's gradient norms, first layer first", "07.2": "projections",
    "07.3": "identity_block",
    "08.1": "fraction", "08.2": "depthwise_share", "08.3": "macs_14 / macs_28",
    "09.1": '(best["arch"], mutants)', "09.2": '{"resnet50_v1": count, "vgg16": count}', "09.3": "ratio",
    "10.1": "astronaut_top", "10.2": "{5: label, 90: label, 180: label}", "10.3": "tiny", "10.4": "nose",
    "10.5": "(everything, all_cats)",
    "11.1": "(w0, grads, w_momentum, w_adam)", "11.2": "(matrix, precision)",
    "11.3": "batch_size  # what trainer.step gets",
    "12.1": "eps_prime", "12.2": "gap", "12.3": "used  # the three learning rates",
    "12.4": "(cup_logits, outside_T1, outside_T4)  # probability outside the top class",
    "13.1": "(stored_stats_acc, batch_stats_acc)", "13.2": "(net.features, top, feature_share, tuning_share)",
    "13.3": "(features, images)", "13.4": "message  # str() of the error",
}


class AnchorError(RuntimeError):
    """A heading or a name the inserted cells rely on is missing from a notebook."""


# ----------------------------------------------------------------------------------------------
# Building the cells
# ----------------------------------------------------------------------------------------------

def _meta(cell_id):
    return {"course": {"inserted_by": MARK, "id": cell_id}}


def _markdown(cell_id, text):
    cell = nbformat.v4.new_markdown_cell(text, metadata=_meta(cell_id))
    cell["id"] = cell_id
    return cell


def _code(cell_id, source, printed):
    cell = nbformat.v4.new_code_cell(source, metadata=_meta(cell_id))
    cell["id"] = cell_id
    cell["outputs"] = [nbformat.v4.new_output("stream", name="stdout", text=printed + "\n")]
    return cell


def _done_line(exercise_id):
    """The line exercises.check prints for a right answer (read from the package, not copied)."""
    from course_utils.exercises import core  # the package registers every checker on import
    exercise = core.REGISTRY[exercise_id]
    return f"Correct ({exercise.id}): {exercise.done}"


def questions_cell(nn):
    items = "\n".join(f"{i}. {q}" for i, (q, _) in enumerate(QUESTIONS[nn], 1))
    return _markdown(f"ex{nn}-questions",
                     "**Predict, then run.** Answer these on paper before you run anything; the "
                     "answers are in Solutions.\n\n" + items + "\n\nThe notebook's own checks:")


def answers_cell(nn):
    items = " ".join(f"({i}) {a}" for i, (_, a) in enumerate(QUESTIONS[nn], 1))
    return _markdown(f"ex{nn}-answers", "**Answers to the questions of Check your understanding.** " + items)


def how_to_check_cell(nn):
    from course_utils.exercises import core
    lines = []
    for exercise_id, _ in CHECKS[nn]:
        answer, _, comment = SHOWN[exercise_id].partition("  # ")
        note = f" ({comment})" if comment else ""
        lines.append(f"- {core.REGISTRY[exercise_id].title}{note}: `exercises.check(\"{exercise_id}\", {answer})`")
    return _markdown(f"ex{nn}-how-to-check",
                     "**Check your answers.** Run `from course_utils import exercises` once; then pass "
                     "your answer to its exercise's checker, which says whether it is right or what to "
                     "look at; `exercises.hint(\"" + CHECKS[nn][0][0] + "\")` gives a nudge without "
                     "the answer.\n\n" + "\n".join(lines))


def check_cells(nn, sources):
    cells = [_markdown(f"ex{nn}-checks", "The checkers on the answers above (what you would run on yours):")]
    for k, ((exercise_id, _), source) in enumerate(zip(CHECKS[nn], sources)):
        header = "from course_utils import exercises\n\n" if k == 0 else ""
        used_id = re.search(r'exercises\.check\("([^"]+)"', source).group(1)
        cells.append(_code(f"ex{nn}-check-{exercise_id.split('.')[1]}", header + source, _done_line(used_id)))
    return cells


# ----------------------------------------------------------------------------------------------
# Anchors and insertion
# ----------------------------------------------------------------------------------------------

def _has_heading(cell, heading):
    return cell["cell_type"] == "markdown" and any(
        line.strip() == heading for line in cell["source"].splitlines())


def _find(cells, heading, name):
    found = [i for i, c in enumerate(cells) if _has_heading(c, heading)]
    if len(found) != 1:
        raise AnchorError(f"{name}: {'no' if not found else len(found)} markdown cell(s) with the heading "
                          f"{heading!r} (expected exactly one); the inserted cells are anchored on it")
    return found[0]


def _split_solutions_heading(cells, name):
    """Split a cell holding both "## Exercises" and "## Solutions" at the Solutions heading."""
    i = _find(cells, EXERCISES_HEADING, name)
    lines = cells[i]["source"].split("\n")
    at = [k for k, line in enumerate(lines) if line.strip() == SOLUTIONS_HEADING]
    if not at:
        return
    before, after = "\n".join(lines[:at[0]]).rstrip("\n"), "\n".join(lines[at[0]:])
    cells[i]["source"] = before
    solutions = nbformat.v4.new_markdown_cell(after)
    solutions["id"] = (cells[i].get("id", "cell") + "-solutions")[:64]
    cells.insert(i + 1, solutions)


def _section_end(cells, start):
    """Index of the first cell after ``start`` that opens another level-2 heading (or the end)."""
    for j in range(start + 1, len(cells)):
        c = cells[j]
        if c["cell_type"] == "markdown" and c["source"].lstrip().startswith("## "):
            return j
    return len(cells)


def _assigned_names(cells):
    names = set(dir(builtins))
    for c in cells:
        if c["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(c["source"])
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def _missing_names(source, known):
    own = _assigned_names([{"cell_type": "code", "source": source}])
    used = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return sorted(used - known - own - {"exercises"})


def _choose_sources(cells, nn, name):
    """For each exercise, the first check source whose names the notebook's code assigns."""
    known, chosen = _assigned_names(cells), []
    for exercise_id, sources in CHECKS[nn]:
        sources = (sources,) if isinstance(sources, str) else sources
        fits = [src for src in sources if not _missing_names(src, known)]
        if not fits:
            missing = _missing_names(sources[0], known)
            raise AnchorError(f"{name}: the check of exercise {exercise_id} needs {', '.join(missing)}, which no "
                              "code cell of the notebook assigns (was a solution renamed?); update CHECKS in "
                              "tools/add_exercise_cells.py")
        chosen.append(fits[0])
    return chosen


def insert(nb, nn, name):
    """Return a copy of notebook ``nb`` (number ``nn``) with the cells inserted."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.get("metadata", {}).get("course", {}).get("inserted_by") != MARK]
    for heading in (CHECK_HEADING, EXERCISES_HEADING):
        _find(cells, heading, name)
    _split_solutions_heading(cells, name)
    _find(cells, SOLUTIONS_HEADING, name)
    sources = _choose_sources(cells, nn, name)

    if nn not in NO_QUESTIONS:
        i = _find(cells, CHECK_HEADING, name)
        cells.insert(i + 1, questions_cell(nn))
    i = _find(cells, EXERCISES_HEADING, name)
    cells.insert(i + 1, how_to_check_cell(nn))
    end = _section_end(cells, _find(cells, SOLUTIONS_HEADING, name))
    tail = ([answers_cell(nn)] if nn not in NO_QUESTIONS else []) + check_cells(nn, sources)
    cells[end:end] = tail

    count = 0
    for c in cells:            # 1..N in order, as one top-to-bottom run numbers them
        if c["cell_type"] == "code" and c["source"].strip():
            count += 1
            c["execution_count"] = count
            for out in c.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count
        elif c["cell_type"] == "code":
            c["execution_count"] = None
    nb.cells = cells
    return nb


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default="notebooks")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook would change")
    args = parser.parse_args(argv)
    paths = sorted(Path(args.folder).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print(f"no notebooks NN_*.ipynb in {args.folder}")
        return 1
    problems, changed = [], []
    for path in paths:
        nn = path.name[:2]
        if nn not in CHECKS and nn not in QUESTIONS:
            print(f"{path.name}: no exercise cells defined, left as it is")
            continue
        text = path.read_text(encoding="utf-8")
        try:
            new = insert(nbformat.reads(text, as_version=4), nn, path.name)
        except AnchorError as err:
            problems.append(str(err))
            continue
        nbformat.validate(new)
        new_text = nbformat.writes(new)
        if not new_text.endswith("\n"):
            new_text += "\n"
        added = sum(1 for c in new.cells if c.get("metadata", {}).get("course", {}).get("inserted_by") == MARK)
        if new_text == text:
            print(f"{path.name}: unchanged ({added} inserted cells already in place)")
            continue
        changed.append(path.name)
        if args.check:
            print(f"{path.name}: would change")
        else:
            path.write_text(new_text, encoding="utf-8")
            print(f"{path.name}: {added} inserted cells written "
                  f"({len(QUESTIONS.get(nn, [])) if nn not in NO_QUESTIONS else 0} questions, {len(CHECKS[nn])} checks)")
    for problem in problems:
        print(f"ERROR {problem}")
    print(f"{len(paths)} notebooks, {len(changed)} {'would change' if args.check else 'changed'}, {len(problems)} errors")
    return 1 if problems or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
