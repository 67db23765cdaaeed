"""The training tricks of "Bag of Tricks for Image Classification" (He et al., arXiv:1812.01187).

Label smoothing, mix-up, knowledge distillation and learning-rate schedules, each written as a
small formula that the tests check against GluonCV's own implementation:

- :func:`smooth_labels` matches the ``smooth`` helper of GluonCV's classification scripts;
- :func:`mixup` pairs each sample with the batch reversed, as those scripts do, and
  :func:`linearity_gap` measures how far a network is from the linear behaviour mix-up trains for;
- :func:`distillation_loss` equals ``gluoncv.loss.DistillationSoftmaxCrossEntropyLoss``, and
  :func:`make_distillation_loss` wraps it with ``fit``'s loss signature
  ``loss(y_hat, target, teacher_logits)`` (class labels or soft targets, so it combines with
  label smoothing and mix-up);
- :func:`lr_at` equals ``gluoncv.utils.LRScheduler`` (and ``LRSequential`` for warm-up) at every
  iteration; :func:`make_lr_scheduler` builds that GluonCV object for a ``gluon.Trainer``;
  :func:`lr_curve` and :func:`schedule_preview` give a whole schedule as an array, to plot.

Array functions accept NumPy arrays or MXNet NDArrays and return the same kind: NumPy in, NumPy
out; NDArray in, NDArray out (so they work inside ``autograd.record()``).
"""
import math

import mxnet as mx
import numpy as np

from course_utils._util import positive_int

SCHEDULE_MODES = ("constant", "step", "linear", "poly", "cosine")

__all__ = [
    "SCHEDULE_MODES", "one_hot", "smooth_labels", "make_smoothing", "mixup", "sample_lam",
    "make_mixup", "linearity_gap", "soft_targets", "soft_cross_entropy", "distillation_loss", "make_distillation_loss", "lr_at", "lr_curve",
    "schedule_preview", "make_lr_scheduler",
]


# ----------------------------------------------------------------------------------------------
# Small private helpers
# ----------------------------------------------------------------------------------------------

def _is_nd(x):
    return isinstance(x, mx.nd.NDArray)


def _as_array(x):
    """NDArrays pass through; anything else (list, tuple, NumPy) becomes a NumPy array."""
    return x if _is_nd(x) else np.asarray(x)


def _like(x, ref, dtype=None):
    """``x`` as the same kind of array as ``ref``: NumPy, or an NDArray on ref's device."""
    if _is_nd(ref) and not _is_nd(x):
        x = mx.nd.array(np.asarray(x), ctx=ref.context)
    elif _is_nd(x) and not _is_nd(ref):
        x = x.asnumpy()
    x = _as_array(x)
    return x if dtype is None else x.astype(dtype)


def _check_same_batch(**arrays):
    """Raise ValueError unless every array has the same first dimension (the batch size N)."""
    sizes = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(sizes.values())) > 1:
        given = ", ".join(f"{name} with {n}" for name, n in sizes.items())
        raise ValueError(f"Every input must hold the same number of samples N along axis 0; "
                         f"you gave {given}. Pass matching batches.")


def _check_range(name, value, low, high, high_inclusive, hint):
    """Raise ValueError unless low <= value <= high (or < high when high is excluded)."""
    upper_ok = value <= high if high_inclusive else value < high
    if not (low <= value and upper_ok):
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must lie in [{low}, {high}{bracket}; you gave {value!r}. {hint}")


def _check_temperature(temperature):
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; you gave {temperature!r}. T = 1 is the plain "
                         "softmax; T > 1 softens it (distillation often uses 2 to 20).")


def _log_softmax(z):
    """log(softmax(z)) along the last axis, computed without overflow."""
    if _is_nd(z):
        return mx.nd.log_softmax(z, axis=-1)
    z = z - z.max(axis=-1, keepdims=True)  # shifting by the max keeps exp() from overflowing
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# ----------------------------------------------------------------------------------------------
# Label smoothing
# ----------------------------------------------------------------------------------------------

def one_hot(labels, num_classes):
    """Turn integer class labels into one-hot rows.

    Parameters
    ----------
    labels : NDArray or numpy.ndarray, shape (N,)
        Class indices, whole numbers in ``[0, num_classes)`` (float dtypes such as the float32
        labels of a Gluon DataLoader are fine).
    num_classes : int
        K, the number of classes.

    Returns
    -------
    NDArray or numpy.ndarray, shape (N, K), float32
        1 in column ``labels[i]`` of row i, 0 elsewhere; the same kind of array as ``labels``.
    """
    labels = _as_array(labels)
    positive_int(num_classes, "num_classes")
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,) (one class index per sample); you gave "
                         f"shape {labels.shape}. If these are already one-hot or soft targets, "
                         "use them directly.")
    values = labels.asnumpy() if _is_nd(labels) else labels
    if values.size and (values.min() < 0 or values.max() >= num_classes
                        or not np.array_equal(values, np.round(values))):
        raise ValueError(f"labels must be whole numbers in [0, {num_classes}); you gave values "
                         f"from {values.min()} to {values.max()}. Check num_classes.")
    if _is_nd(labels):
        return mx.nd.one_hot(labels, num_classes)
    return np.eye(num_classes, dtype=np.float32)[values.astype(np.int64)]


def smooth_labels(labels, num_classes, epsilon):
    """Label smoothing: targets that keep ``epsilon`` of the probability off the true class.

    The true class gets ``1 - epsilon + epsilon / K`` and every class (true one included) gets
    ``epsilon / K``: one-hot mixed with the uniform distribution, ``(1 - epsilon) * one_hot +
    epsilon / K``. This is GluonCV's convention (the ``smooth`` helper of its classification
    scripts). With K = 5 and epsilon = 0.05, class 1 becomes (0.01, 0.96, 0.01, 0.01, 0.01).

    Parameters
    ----------
    labels : NDArray or numpy.ndarray, shape (N,)
        Integer class indices in ``[0, num_classes)``.
    num_classes : int
        K, the number of classes.
    epsilon : float
        How much probability to spread over all classes, in ``[0, 1)``; 0 gives one-hot
        targets. The paper uses 0.1.

    Returns
    -------
    NDArray or numpy.ndarray, shape (N, K), float32
        Soft targets (each row sums to 1), the same kind of array as ``labels``.
    """
    _check_range("epsilon", epsilon, 0, 1, high_inclusive=False,
                 hint="0 gives one-hot targets; the paper uses 0.1.")
    on_value = 1 - epsilon + epsilon / num_classes
    off_value = epsilon / num_classes
    hot = one_hot(labels, num_classes)  # also checks labels and num_classes
    if _is_nd(hot):
        return mx.nd.one_hot(_as_array(labels), num_classes, on_value=on_value,
                             off_value=off_value)
    return np.where(hot == 1, np.float32(on_value), np.float32(off_value))


def make_smoothing(num_classes, epsilon):
    """A batch transform ``(X, y) -> (X, smooth_labels(y, num_classes, epsilon))`` for ``fit``.

    Parameters
    ----------
    num_classes : int
        K, the number of classes.
    epsilon : float
        Smoothing in ``[0, 1)``, see :func:`smooth_labels`.

    Returns
    -------
    callable
        ``transform(X, y)`` with ``X`` of shape (N, ...) and ``y`` of shape (N,), returning
        ``X`` unchanged and targets of shape (N, K).
    """
    _check_range("epsilon", epsilon, 0, 1, high_inclusive=False,
                 hint="0 gives one-hot targets; the paper uses 0.1.")

    def transform(X, y):
        return X, smooth_labels(y, num_classes, epsilon)

    return transform


# ----------------------------------------------------------------------------------------------
# Mix-up
# ----------------------------------------------------------------------------------------------

def mixup(X, Y, lam):
    """Mix each sample with its partner in the reversed batch: ``lam*X + (1-lam)*X[rev]``.

    Sample i is paired with sample N-1-i, as GluonCV's training scripts do (``X[::-1]``), so no
    random permutation is needed; for odd N the middle sample is paired with itself.

    Parameters
    ----------
    X : NDArray or numpy.ndarray, shape (N, ...)
        A batch of inputs, e.g. images (N, C, H, W).
    Y : NDArray or numpy.ndarray, shape (N, K)
        Their targets as probabilities (one-hot or smoothed, see :func:`one_hot`,
        :func:`smooth_labels`), not integer labels.
    lam : float
        Weight of the original sample, in ``[0, 1]``; 1 leaves the batch unchanged.

    Returns
    -------
    X_mixed : same kind as X, shape (N, ...)
        ``lam * X + (1 - lam) * X[::-1]``.
    Y_mixed : same kind as Y, shape (N, K)
        ``lam * Y + (1 - lam) * Y[::-1]``.
    """
    _check_range("lam", lam, 0, 1, high_inclusive=True,
                 hint="lam is the weight of the original sample; draw it with sample_lam(alpha).")
    X, Y = _as_array(X), _as_array(Y)
    if Y.ndim != 2:
        raise ValueError(f"Y must be targets of shape (N, K); you gave shape {Y.shape}. Turn "
                         "integer labels into targets first: one_hot(y, K) or "
                         "smooth_labels(y, K, epsilon).")
    _check_same_batch(X=X, Y=Y)
    return lam * X + (1 - lam) * X[::-1], lam * Y + (1 - lam) * Y[::-1]


def sample_lam(alpha, rng=None):
    """Draw the mix-up weight ``lam`` from Beta(alpha, alpha).

    Parameters
    ----------
    alpha : float
        > 0. Small alpha (0.2, the paper's choice) gives ``lam`` near 0 or 1 (light mixing);
        alpha = 1 is uniform on [0, 1]; large alpha concentrates ``lam`` near 0.5.
    rng : numpy.random.Generator, optional
        Source of randomness; default: NumPy's global generator (``np.random.seed`` fixes it).

    Returns
    -------
    float
        A value in [0, 1].
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0; you gave {alpha!r}. The paper uses 0.2.")
    rng = np.random if rng is None else rng
    return float(rng.beta(alpha, alpha))


def make_mixup(alpha, num_classes, epsilon=0.0, rng=None):
    """A batch transform for ``fit``: smooth (optionally) the labels, then mix up the batch.

    Parameters
    ----------
    alpha : float
        Beta(alpha, alpha) parameter for ``lam``, > 0 (see :func:`sample_lam`).
    num_classes : int
        K, the number of classes.
    epsilon : float, default 0
        Label smoothing in ``[0, 1)`` applied before mixing; 0 mixes one-hot targets.
    rng : numpy.random.Generator, optional
        Source of randomness for ``lam``; default NumPy's global generator.

    Returns
    -------
    callable
        ``transform(X, y)`` with ``X`` (N, ...) and integer labels ``y`` (N,), returning the
        mixed batch (N, ...) and mixed targets (N, K), with a fresh ``lam`` for every batch.
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0; you gave {alpha!r}. The paper uses 0.2.")
    _check_range("epsilon", epsilon, 0, 1, high_inclusive=False,
                 hint="0 gives one-hot targets; the paper uses 0.1.")

    def transform(X, y):
        return mixup(X, smooth_labels(y, num_classes, epsilon), sample_lam(alpha, rng))

    return transform


def linearity_gap(net, X_a, X_b, lam=0.5):
    """How far ``net`` is from mix-up's ideal of behaving linearly between two inputs.

    Mix-up trains on ``lam * x_a + (1 - lam) * x_b`` with the target ``lam * y_a + (1 - lam) *
    y_b``, so it asks the network's *probabilities* to mix as the inputs do. This measures the
    total-variation distance between the two sides of that equation, for each pair (a, b):

    ``0.5 * sum_k | softmax(f(lam x_a + (1-lam) x_b))_k - (lam softmax(f(x_a)) + (1-lam) softmax(f(x_b)))_k |``

    0 means perfectly linear between the pair; 1 is the largest possible distance.

    Parameters
    ----------
    net : callable
        Maps a batch ``(N, ...)`` to logits ``(N, K)`` (a Gluon block, or a function on NDArrays).
    X_a, X_b : NDArray, shape (N, ...)
        The two inputs of each pair, same shape (e.g. two halves of a test set).
    lam : float, default 0.5
        Weight of ``X_a``, in ``[0, 1]``; 0.5 is the midpoint, the farthest from both inputs.

    Returns
    -------
    numpy.ndarray, shape (N,), float
        The distance of each pair; ``.mean()`` summarises a network.
    """
    _check_range("lam", lam, 0, 1, high_inclusive=True,
                 hint="lam is the weight of X_a; 0.5 measures at the midpoint of each pair.")
    if not (_is_nd(X_a) and _is_nd(X_b)):
        raise ValueError("X_a and X_b must be MXNet NDArrays (the network's input); convert "
                         "NumPy arrays with mx.nd.array(x).")
    if X_a.shape != X_b.shape:
        raise ValueError(f"X_a and X_b must have the same shape (one pair per row); you gave "
                         f"{X_a.shape} and {X_b.shape}.")
    p_a = mx.nd.softmax(net(X_a), axis=-1)
    p_b = mx.nd.softmax(net(X_b), axis=-1)
    p_mixed = mx.nd.softmax(net(lam * X_a + (1 - lam) * X_b), axis=-1)
    return 0.5 * mx.nd.abs(p_mixed - (lam * p_a + (1 - lam) * p_b)).sum(axis=-1).asnumpy()


# ----------------------------------------------------------------------------------------------
# Knowledge distillation
# ----------------------------------------------------------------------------------------------

def soft_targets(teacher_logits, temperature):
    """The teacher's softened probabilities ``softmax(teacher_logits / T)``.

    Parameters
    ----------
    teacher_logits : NDArray or numpy.ndarray, shape (N, K)
        Raw scores (before softmax).
    temperature : float
        T > 0. T = 1 is the ordinary softmax; larger T flattens it and shows the "dark
        knowledge" in the small probabilities.

    Returns
    -------
    NDArray or numpy.ndarray, shape (N, K)
        Rows summing to 1, the same kind of array as ``teacher_logits``.
    """
    _check_temperature(temperature)
    z = _as_array(teacher_logits) / temperature
    return mx.nd.softmax(z, axis=-1) if _is_nd(z) else np.exp(_log_softmax(z))


def soft_cross_entropy(logits, targets):
    """Cross-entropy with probability targets: ``-sum_k targets[:, k] * log_softmax(logits)[:, k]``.

    With one-hot targets this is the ordinary softmax cross-entropy; it equals
    ``gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)``.

    Parameters
    ----------
    logits : NDArray or numpy.ndarray, shape (N, K)
        Raw scores.
    targets : NDArray or numpy.ndarray, shape (N, K)
        Probabilities (rows summing to 1), e.g. from :func:`smooth_labels` or :func:`mixup`.

    Returns
    -------
    NDArray or numpy.ndarray, shape (N,)
        The loss of each sample.
    """
    logits = _as_array(logits)
    targets = _like(targets, logits, dtype=logits.dtype)
    if logits.shape != targets.shape:
        raise ValueError(f"logits and targets must have the same shape (N, K); you gave "
                         f"{logits.shape} and {targets.shape}.")
    return -(targets * _log_softmax(logits)).sum(axis=-1)


def distillation_loss(student_logits, teacher_logits, labels, temperature, hard_weight):
    """Knowledge-distillation loss of each sample (Hinton et al., 2015).

    ``(1 - hard_weight) * T**2 * CE(student / T, softmax(teacher / T))
    + hard_weight * CE(student, labels)``; the ``T**2`` keeps the soft term's gradients the same
    size whatever T is. Equals ``gluoncv.loss.DistillationSoftmaxCrossEntropyLoss(temperature=T,
    hard_weight=hard_weight)(student_logits, labels, soft_targets(teacher_logits, T))``.

    Parameters
    ----------
    student_logits : NDArray or numpy.ndarray, shape (N, K)
        Raw scores of the model being trained.
    teacher_logits : NDArray or numpy.ndarray, shape (N, K)
        Raw scores of the trained teacher. No gradient flows into them.
    labels : NDArray or numpy.ndarray, shape (N,) or (N, K)
        True class indices in ``[0, K)``, or probability targets (smoothed or mixed up, rows
        summing to 1; GluonCV's ``sparse_label=False``).
    temperature : float
        T > 0, softens both softmaxes of the soft term.
    hard_weight : float
        In ``[0, 1]``: 1 is plain training on the labels, 0 learns from the teacher alone.

    Returns
    -------
    NDArray or numpy.ndarray, shape (N,)
        The loss of each sample, the same kind of array as ``student_logits``.
    """
    _check_temperature(temperature)
    _check_range("hard_weight", hard_weight, 0, 1, high_inclusive=True,
                 hint="It is the weight of the true-label loss; 0.5 weighs both terms equally.")
    student = _as_array(student_logits)
    teacher = _like(teacher_logits, student, dtype=student.dtype)
    labels = _like(labels, student)
    _check_same_batch(student_logits=student, teacher_logits=teacher, labels=labels)
    if student.shape != teacher.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape (N, K); "
                         f"you gave {student.shape} and {teacher.shape}.")
    if _is_nd(teacher):
        teacher = teacher.detach()  # the teacher is fixed: only the student learns
    T = temperature
    soft = soft_cross_entropy(student / T, soft_targets(teacher, T))
    hard_targets = labels if labels.ndim == 2 else one_hot(labels, student.shape[-1])
    hard = soft_cross_entropy(student, hard_targets)
    return (1 - hard_weight) * T ** 2 * soft + hard_weight * hard


def make_distillation_loss(temperature, hard_weight):
    """The distillation loss with ``fit``'s signature: ``loss(y_hat, target, teacher_logits)``.

    ``train.fit(net, ..., teacher=teacher, loss=make_distillation_loss(T, hard_weight))`` runs
    the teacher on each (transformed) training batch and calls this loss with the student's
    logits, the batch's target and the teacher's logits; it returns
    :func:`distillation_loss` ``(y_hat, teacher_logits, target, T, hard_weight)``. The target
    may be class indices (N,) or probability targets (N, K), so a ``batch_transform`` such as
    :func:`make_mixup` or :func:`make_smoothing` works with it: the teacher then sees the mixed
    images, and the true-label term takes the mixed targets, as in GluonCV's training scripts.

    Parameters
    ----------
    temperature : float
        T > 0 (see :func:`distillation_loss`).
    hard_weight : float
        In ``[0, 1]``; 0 learns from the teacher alone (the labels are then not used).

    Returns
    -------
    callable
        ``loss(y_hat, target, teacher_logits) -> (N,)``.
    """
    _check_temperature(temperature)
    _check_range("hard_weight", hard_weight, 0, 1, high_inclusive=True,
                 hint="It is the weight of the true-label loss; 0.5 weighs both terms equally.")

    def loss(y_hat, target, teacher_logits):
        return distillation_loss(y_hat, teacher_logits, target, temperature, hard_weight)

    loss.temperature, loss.hard_weight = temperature, hard_weight
    return loss


# ----------------------------------------------------------------------------------------------
# Learning-rate schedules
# ----------------------------------------------------------------------------------------------

def _check_schedule(mode, total_iters, warmup_iters):
    """Raise ValueError for an unknown mode or lengths GluonCV's schedulers cannot run."""
    if mode not in SCHEDULE_MODES:
        raise ValueError(f"mode must be one of {SCHEDULE_MODES}; you gave {mode!r}.")
    positive_int(total_iters, "total_iters", minimum=0)
    positive_int(warmup_iters, "warmup_iters", minimum=0)
    # GluonCV's linear, poly and cosine schedules divide by (their length - 1).
    if warmup_iters == 1:
        raise ValueError("A linear warm-up needs 0 or at least 2 iterations (a first and a last "
                         "one); you gave 1. Lengthen it or drop it.")
    if total_iters - warmup_iters < 2:
        raise ValueError(f"The schedule after warm-up needs at least 2 iterations; you gave "
                         f"{total_iters} in all with {warmup_iters} of warm-up. Train longer or "
                         "shorten the warm-up.")


def lr_at(mode, iteration, total_iters, base_lr, target_lr=0.0, power=2, step_iters=(),
          step_factor=0.1, warmup_iters=0, warmup_start=0.0):
    """The learning rate at one iteration, by the formulas of ``gluoncv.utils.LRScheduler``.

    Iterations count from 0. A linear warm-up of ``W = warmup_iters`` iterations climbs from
    ``warmup_start`` (iteration 0) to ``base_lr`` (iteration W - 1); the main schedule then runs
    from iteration W to the last one, ``total_iters - 1``, with t = iteration - W and
    N = total_iters - W - 1:

    - ``constant``: ``base_lr``
    - ``step``: ``base_lr * step_factor ** (number of step_iters <= iteration)``
    - ``linear``: ``target_lr + (base_lr - target_lr) * (1 - t / N)``
    - ``poly``: ``target_lr + (base_lr - target_lr) * (1 - t / N) ** power``
    - ``cosine``: ``target_lr + (base_lr - target_lr) * (1 + cos(pi * t / N)) / 2``

    Iterations before 0 or after the end are clamped, as GluonCV does. Note that a
    ``gluon.Trainer`` asks its scheduler for iteration 1 on its first ``step()``, 2 on the
    second, and so on.

    Parameters
    ----------
    mode : {'constant', 'step', 'linear', 'poly', 'cosine'}
        The main schedule.
    iteration : int
        Which iteration (update) to report, counted from 0.
    total_iters : int
        Length of the whole schedule, warm-up included (``num_epochs * iters_per_epoch``).
    base_lr : float
        Learning rate at the start of the main schedule.
    target_lr : float, default 0
        Learning rate at its last iteration (linear, poly, cosine; ignored by step and constant).
    power : float, default 2
        Exponent of the poly schedule.
    step_iters : sequence of int, default ()
        Iterations (counted from 0, warm-up included) at which step mode multiplies the rate by
        ``step_factor``, e.g. ``[e * iters_per_epoch for e in (30, 60)]``.
    step_factor : float, default 0.1
        Step mode's decay factor.
    warmup_iters : int, default 0
        Length of the linear warm-up (0, or at least 2).
    warmup_start : float, default 0
        Learning rate at iteration 0 when warming up.

    Returns
    -------
    float
        The learning rate.
    """
    _check_schedule(mode, total_iters, warmup_iters)
    i = min(max(iteration, 0), total_iters - 1)
    if i < warmup_iters:
        return warmup_start + (base_lr - warmup_start) * i / (warmup_iters - 1)
    t, N = i - warmup_iters, total_iters - warmup_iters - 1
    if mode == "constant":
        return base_lr
    if mode == "step":
        return base_lr * step_factor ** sum(1 for s in step_iters if s <= i)
    if mode == "linear":
        factor = 1 - t / N
    elif mode == "poly":
        factor = (1 - t / N) ** power
    else:  # cosine
        factor = (1 + math.cos(math.pi * t / N)) / 2
    return target_lr + (base_lr - target_lr) * factor


def lr_curve(mode, total_iters, base_lr, **kwargs):
    """The learning rate at every iteration: ``[lr_at(mode, i, total_iters, base_lr, ...)]``.

    Parameters
    ----------
    mode, total_iters, base_lr, **kwargs
        As for :func:`lr_at`.

    Returns
    -------
    numpy.ndarray, shape (total_iters,), float64
        Learning rate of iterations 0 .. total_iters - 1, ready to plot.
    """
    return np.array([lr_at(mode, i, total_iters, base_lr, **kwargs) for i in range(total_iters)])


def schedule_preview(mode, num_epochs, warmup_epochs=0, power=2.0, iters_per_epoch=10,
                     base_lr=0.1):
    """The learning rate at every iteration of a schedule given in epochs.

    A thin adapter over :func:`lr_curve` (what the schedule explorer of notebook 12 draws):
    epochs become iterations, and ``'step'`` mode divides the rate by 10 at half and at three
    quarters of the epochs (the paper's 30/60/90-of-120 pattern, shortened).

    Parameters
    ----------
    mode : {'constant', 'step', 'linear', 'poly', 'cosine'}
    num_epochs : int
        Whole schedule, warm-up included.
    warmup_epochs : int
        Linear warm-up from 0 to ``base_lr``.
    power : float
        Exponent of the poly schedule (ignored by the other modes).
    iters_per_epoch : int
        Updates per epoch (at least 2, so that a one-epoch warm-up is possible).
    base_lr : float
        Learning rate when the warm-up ends.

    Returns
    -------
    numpy.ndarray, shape (num_epochs * iters_per_epoch,), float64
    """
    if not (isinstance(iters_per_epoch, (int, np.integer)) and iters_per_epoch >= 2):
        raise ValueError(f"iters_per_epoch must be a whole number >= 2; you gave "
                         f"{iters_per_epoch!r}.")
    if not (isinstance(num_epochs, (int, np.integer)) and num_epochs >= 1):
        raise ValueError(f"num_epochs must be a whole number >= 1; you gave {num_epochs!r}.")
    steps = [e * iters_per_epoch for e in (num_epochs // 2, 3 * num_epochs // 4)]
    return lr_curve(mode, num_epochs * iters_per_epoch, base_lr, power=power, step_iters=steps,
                    warmup_iters=warmup_epochs * iters_per_epoch)


def make_lr_scheduler(mode, base_lr, num_epochs, iters_per_epoch, warmup_epochs=0,
                      target_lr=0.0, power=2, step_epochs=(), step_factor=0.1, warmup_start=0.0):
    """A GluonCV scheduler for a ``gluon.Trainer``, equal to :func:`lr_at` at every iteration.

    Without warm-up: ``gluoncv.utils.LRScheduler(mode, ...)``. With warm-up: an
    ``LRSequential`` of a ``'linear'`` scheduler from ``warmup_start`` to ``base_lr`` over
    ``warmup_epochs``, then the main schedule over the remaining epochs, as in GluonCV's
    ImageNet training script.

    Use it as ``gluon.Trainer(params, 'sgd', {'lr_scheduler': sched, 'momentum': 0.9})``. A
    ``learning_rate`` given beside the scheduler replaces its ``base_lr`` (MXNet prints a
    warning); optimizers with a default learning rate of their own (Adam, RMSProp: 0.001) do
    this even when you leave it out, so for them pass ``'learning_rate': base_lr`` too.

    Parameters
    ----------
    mode : {'constant', 'step', 'linear', 'poly', 'cosine'}
        The main schedule (see :func:`lr_at`).
    base_lr : float
        Learning rate at the start of the main schedule.
    num_epochs : int
        Length of the whole schedule in epochs, warm-up included.
    iters_per_epoch : int
        Updates per epoch (batches per epoch, ``len(train_iter)``).
    warmup_epochs : int, default 0
        Epochs of linear warm-up.
    target_lr, power, step_factor, warmup_start
        As for :func:`lr_at`.
    step_epochs : sequence of int, default ()
        Epochs (counted from 0, warm-up included) at which step mode decays the rate.

    Returns
    -------
    gluoncv.utils.LRScheduler or gluoncv.utils.LRSequential
        Callable: ``sched(i)`` is the learning rate at iteration i.
    """
    positive_int(num_epochs, "num_epochs")
    positive_int(warmup_epochs, "warmup_epochs", minimum=0)
    positive_int(iters_per_epoch, "iters_per_epoch (use len(train_iter))")
    _check_schedule(mode, num_epochs * iters_per_epoch, warmup_epochs * iters_per_epoch)
    # Imported here: gluoncv takes a moment to import and only this helper needs it.
    from gluoncv.utils import LRScheduler, LRSequential

    main = LRScheduler(mode, base_lr=base_lr, target_lr=target_lr,
                       nepochs=num_epochs - warmup_epochs, iters_per_epoch=iters_per_epoch,
                       power=power, step_factor=step_factor,
                       # GluonCV counts these epochs from the start of this (post warm-up) part.
                       step_epoch=[e - warmup_epochs for e in step_epochs])
    if warmup_epochs == 0:
        return main
    warmup = LRScheduler("linear", base_lr=warmup_start, target_lr=base_lr,
                         nepochs=warmup_epochs, iters_per_epoch=iters_per_epoch)
    sched = LRSequential([warmup, main])
    # LRSequential ignores its own base_lr; setting it lets a Trainer given
    # learning_rate=base_lr see no conflict (and print no warning).
    sched.base_lr = base_lr
    return sched
