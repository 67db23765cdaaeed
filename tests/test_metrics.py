import numpy as np
import pytest

import course_utils  # noqa: F401  (before mxnet)
from course_utils import data, metrics
import mxnet as mx
from mxnet import gluon


@pytest.fixture
def scores_labels():
    rs = np.random.RandomState(0)
    return rs.randn(200, 10).astype(np.float32), rs.randint(0, 10, 200)


def test_topk_accuracy_matches_mxnet(scores_labels):
    scores, labels = scores_labels
    for k in (1, 3, 5):
        metric = mx.metric.TopKAccuracy(top_k=k) if k > 1 else mx.metric.Accuracy()
        metric.update([mx.nd.array(labels)], [mx.nd.array(scores)])
        assert metrics.topk_accuracy(scores, labels, k) == pytest.approx(metric.get()[1], abs=1e-12)
    assert metrics.topk_accuracy(scores, labels, 10) == 1.0
    # NDArrays are accepted too
    assert metrics.topk_accuracy(mx.nd.array(scores), mx.nd.array(labels), 1) == \
        metrics.topk_accuracy(scores, labels, 1)


def test_topk_accuracy_small_example():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    labels = np.array([2, 0, 0])
    assert metrics.topk_accuracy(scores, labels, 1) == pytest.approx(1 / 3)
    assert metrics.topk_accuracy(scores, labels, 2) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="k must be"):
        metrics.topk_accuracy(scores, labels, 4)
    with pytest.raises(ValueError, match="must match"):
        metrics.topk_accuracy(scores, labels[:2], 1)


def test_confusion_matrix_counts_every_pair(scores_labels):
    scores, labels = scores_labels
    pred = scores.argmax(axis=1)
    m = metrics.confusion_matrix(labels, pred, 10)
    assert m.shape == (10, 10) and m.sum() == 200
    for i in range(10):
        for j in range(10):
            assert m[i, j] == np.sum((labels == i) & (pred == j))
    np.testing.assert_array_equal(m.sum(axis=1), np.bincount(labels, minlength=10))
    assert np.trace(m) / m.sum() == pytest.approx(metrics.topk_accuracy(scores, labels, 1))
    with pytest.raises(ValueError, match="must be in"):
        metrics.confusion_matrix([0, 3], [0, 1], 3)


def test_per_class_accuracy_and_most_confused():
    m = np.array([[5, 3, 0], [1, 4, 0], [0, 3, 0]])
    np.testing.assert_allclose(metrics.per_class_accuracy(m), [5 / 8, 4 / 5, 0.0])
    assert metrics.most_confused(m, n=2) == [(0, 1, 3), (2, 1, 3)]  # tie: by true class
    assert metrics.most_confused(m, ["a", "b", "c"], n=5) == [("a", "b", 3), ("c", "b", 3),
                                                             ("b", "a", 1)]


def test_collect_scores_runs_the_network_once_over_the_data():
    X = mx.nd.random.uniform(shape=(50, 4))
    y = mx.nd.array(np.arange(50) % 3)
    net = gluon.nn.Dense(3)
    net.initialize()
    scores, labels = metrics.collect_scores(net, data.ArrayLoader(X, y, batch_size=16))
    assert scores.shape == (50, 3) and labels.dtype == np.int64
    np.testing.assert_allclose(scores, net(X).asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, np.arange(50) % 3)
