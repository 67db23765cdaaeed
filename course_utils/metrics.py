"""Classification metrics beyond accuracy: top-k accuracy, the confusion matrix, confused pairs.

Pure NumPy functions (NDArrays are accepted and converted), checked in the tests against
MXNet's own ``mx.metric.Accuracy`` and ``mx.metric.TopKAccuracy``. :func:`collect_scores` runs a
network over a data iterator once, so every metric can then be computed without the network.
"""
import numpy as np


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
