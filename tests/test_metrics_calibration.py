"""Tests of the calibration, label-noise and seed-noise helpers of course_utils.metrics."""
import numpy as np
import pytest

from course_utils import metrics


def test_ece_by_hand_and_perfect_calibration():
    # two bins used: 0.9-confident items (3 of 4 right) and 0.6-confident ones (1 of 2 right)
    p = np.array([[0.9, 0.1]] * 4 + [[0.4, 0.6]] * 2)
    y = np.array([0, 0, 0, 1, 1, 0])
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(0.5 - 0.6)
    assert metrics.expected_calibration_error(p, y, num_bins=10) == pytest.approx(expected)
    bins = metrics.reliability_bins(p, y, num_bins=10)
    assert bins["count"].sum() == 6 and bins["count"][8] == 4 and bins["count"][5] == 2
    assert np.isnan(bins["accuracy"][0])
    # confidence 0.8, right 8 times in 10: calibrated
    p2 = np.array([[0.8, 0.2]] * 10)
    y2 = np.array([0] * 8 + [1] * 2)
    assert metrics.expected_calibration_error(p2, y2) == pytest.approx(0.0, abs=1e-12)


def test_ece_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="labels"):
        metrics.expected_calibration_error(np.full((3, 2), 0.5), np.array([0, 1]))


def test_flip_labels_flips_exactly_the_fraction_to_other_classes():
    y = np.arange(1000) % 10
    noisy, flipped = metrics.flip_labels(y, 0.4, 10, seed=3)
    assert flipped.sum() == 400
    assert (noisy[flipped] != y[flipped]).all() and (noisy[~flipped] == y[~flipped]).all()
    assert noisy.min() >= 0 and noisy.max() <= 9
    again, _ = metrics.flip_labels(y, 0.4, 10, seed=3)
    assert (again == noisy).all()
    with pytest.raises(ValueError, match="fraction"):
        metrics.flip_labels(y, 1.5, 10)


def test_gain_beyond_noise_rule():
    r = metrics.gain_beyond_noise([0.70, 0.72, 0.74], [0.80, 0.81, 0.82])
    assert r["beyond_noise"] and r["gain"] == pytest.approx(0.09)
    assert r["pooled_sd"] == pytest.approx(np.sqrt((0.02 ** 2 + 0.01 ** 2) / 2))
    assert not metrics.gain_beyond_noise([0.70, 0.72, 0.74], [0.71, 0.73, 0.75])["beyond_noise"]
    # lower is better (e.g. calibration error)
    assert metrics.gain_beyond_noise([0.10, 0.09, 0.095], [0.05, 0.055, 0.06],
                                     higher_is_better=False)["beyond_noise"]
    with pytest.raises(ValueError, match="2 seeds"):
        metrics.gain_beyond_noise([0.7], [0.8, 0.9])
