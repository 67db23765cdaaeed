"""Classification metrics beyond accuracy: top-k accuracy, the confusion matrix, confused pairs.

Pure NumPy functions (NDArrays are accepted and converted), checked in the tests against
MXNet's own ``mx.metric.Accuracy`` and ``mx.metric.TopKAccuracy``. :func:`collect_scores` runs a
network over a data iterator once, so every metric can then be computed without the network.
"""
import numpy as np

from course_utils._util import positive_int


def _numpy(a):
    return a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)


def _check_scores(scores, labels):
    scores, labels = _numpy(scores), _numpy(labels).astype(np.int64).ravel()
    if scores.ndim != 2:
        raise ValueError(f"scores must be (N, K) class scores, got shape {scores.shape}")
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f"{scores.shape[0]} rows of scores but {labels.shape[0]} labels; "
                         "they must match")
    return scores, labels


def topk_accuracy(scores, labels, k=1):
    """Fraction of items whose true class is among the ``k`` highest scores.

    Parameters
    ----------
    scores : array (N, K), logits or probabilities
    labels : array (N,), integer class indices
    k : int, 1 <= k <= K (k=1 is plain accuracy)

    Returns
    -------
    float
    """
    scores, labels = _check_scores(scores, labels)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k must be an integer from 1 to {scores.shape[1]}, got {k!r}")
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def confusion_matrix(labels, predictions, num_classes):
    """Counts ``(K, K)``: row ``i``, column ``j`` = items of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    labels, predictions : arrays (N,), integer class indices in ``0..num_classes-1``
    num_classes : int

    Returns
    -------
    numpy.ndarray (num_classes, num_classes), int64; rows sum to the class sizes
    """
    labels = _numpy(labels).astype(np.int64).ravel()
    predictions = _numpy(predictions).astype(np.int64).ravel()
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.shape[0]} labels but {predictions.shape[0]} predictions")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must be in 0..{num_classes - 1}, got values from "
                             f"{values.min()} to {values.max()}")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def per_class_accuracy(matrix):
    """Recall of each class: the diagonal of a confusion matrix over its row sums, ``(K,)``."""
    matrix = np.asarray(matrix)
    totals = matrix.sum(axis=1)
    return np.divide(np.diag(matrix), totals, out=np.zeros(len(totals)), where=totals > 0)


def most_confused(matrix, classes=None, n=3):
    """The ``n`` largest off-diagonal counts, as ``[(true, predicted, count), ...]``.

    ``true`` and ``predicted`` are class names when ``classes`` is given, else indices. Ties
    are broken by (true, predicted) index, so the answer does not depend on sorting details.
    """
    matrix = np.asarray(matrix)
    pairs = [(int(matrix[i, j]), i, j) for i in range(matrix.shape[0])
             for j in range(matrix.shape[1]) if i != j and matrix[i, j] > 0]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    name = (lambda i: classes[i]) if classes is not None else (lambda i: i)
    return [(name(i), name(j), count) for count, i, j in pairs[:n]]


def collect_scores(net, data_iter, ctx=None):
    """Run ``net`` over ``data_iter`` once: ``(scores (N, K) float32, labels (N,) int64)``.

    ``ctx`` is the device the batches are moved to (default: the CPU).
    """
    import mxnet as mx

    ctx = ctx or mx.cpu()
    scores, labels = [], []
    for X, y in data_iter:
        scores.append(net(X.as_in_context(ctx)).asnumpy())
        labels.append(_numpy(y).astype(np.int64).ravel())
    if not scores:
        raise ValueError("data_iter yielded no batches; is the data set empty?")
    return np.concatenate(scores), np.concatenate(labels)


# ----------------------------------------------------------------------------------------------
# Calibration, label noise and "is the gain beyond seed noise?" (notebook 12)
# ----------------------------------------------------------------------------------------------

def reliability_bins(probabilities, labels, num_bins=15):
    """Confidence (top probability) against accuracy in ``num_bins`` equal-width bins of (0, 1].

    Parameters
    ----------
    probabilities : array (N, K), rows summing to 1 (softmax outputs)
    labels : array (N,), integer class indices
    num_bins : int >= 1

    Returns
    -------
    dict of numpy arrays, each ``(num_bins,)``: ``count`` (items per bin), ``confidence``
    (mean top probability) and ``accuracy`` (fraction right), NaN for empty bins; ``edges``
    ``(num_bins + 1,)``. A calibrated model has accuracy == confidence in every bin.
    """
    probabilities, labels = _check_scores(probabilities, labels)
    positive_int(num_bins, "num_bins", example="num_bins=10")
    conf = probabilities.max(axis=1)
    right = (probabilities.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, num_bins - 1)
    count = np.bincount(which, minlength=num_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, conf, minlength=num_bins) / count
        accuracy = np.bincount(which, right, minlength=num_bins) / count
    return {"edges": edges, "count": count, "confidence": confidence, "accuracy": accuracy}


def expected_calibration_error(probabilities, labels, num_bins=15):
    """ECE (Guo et al., 2017): ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over the bins of
    :func:`reliability_bins`; 0 is perfectly calibrated. Returns a float in [0, 1]."""
    bins = reliability_bins(probabilities, labels, num_bins)
    full = bins["count"] > 0
    weights = bins["count"][full] / bins["count"].sum()
    return float((weights * np.abs(bins["accuracy"][full] - bins["confidence"][full])).sum())


def flip_labels(labels, fraction, num_classes, seed=0):
    """A copy of ``labels`` with exactly ``round(fraction * N)`` of them changed to a different
    class, drawn uniformly among the other ``num_classes - 1`` (label noise for experiments).

    Returns ``(noisy_labels, flipped)``: int64 ``(N,)`` and a boolean mask of the changed items.
    """
    labels = _numpy(labels).astype(np.int64).ravel()
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction!r} (0.4 flips 40 %)")
    if num_classes < 2 or (labels.size and (labels.min() < 0 or labels.max() >= num_classes)):
        raise ValueError(f"labels must be in 0..{num_classes - 1} with num_classes >= 2")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(labels.size, int(round(fraction * labels.size)), replace=False)
    noisy = labels.copy()
    noisy[chosen] = (labels[chosen] + rng.integers(1, num_classes, chosen.size)) % num_classes
    flipped = np.zeros(labels.size, dtype=bool)
    flipped[chosen] = True
    return noisy, flipped


def gain_beyond_noise(baseline, treated, higher_is_better=True, factor=2.0):
    """The rule of notebook 12: a gain counts when the mean difference exceeds ``factor`` times
    the pooled standard deviation of the seeds, ``sqrt((sd_a**2 + sd_b**2) / 2)`` (ddof=1).

    Parameters
    ----------
    baseline, treated : sequences of one metric per seed (at least 2 each)
    higher_is_better : bool (False for errors, calibration error, distances)
    factor : float, default 2

    Returns
    -------
    dict: ``gain`` (mean improvement, signed so that > 0 is better), ``pooled_sd``,
    ``threshold`` (factor * pooled_sd) and ``beyond_noise`` (bool).
    """
    a, b = np.asarray(baseline, dtype=np.float64), np.asarray(treated, dtype=np.float64)
    if a.size < 2 or b.size < 2:
        raise ValueError(f"need at least 2 seeds per arm to measure their spread; got "
                         f"{a.size} and {b.size}")
    gain = (b.mean() - a.mean()) * (1 if higher_is_better else -1)
    pooled = float(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2))
    return {"gain": float(gain), "pooled_sd": pooled, "threshold": factor * pooled,
            "beyond_noise": bool(gain > factor * pooled)}
