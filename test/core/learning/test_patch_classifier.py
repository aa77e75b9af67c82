"""Tests of core/learning/patch_classifier.py: combining looks."""
import numpy as np
import pytest

from insar_deformation_detector.core.learning.patch_classifier import combine_looks, predicted_classes


def test_combining_looks_takes_the_max_over_offsets_then_the_mean_over_intervals():
    pairs = [(14.0, 0.0), (14.0, 3.5), (7.0, 0.0), (7.0, 3.5)]
    deformation = np.array([[0.2, 0.9, 0.4, 0.1]]).T  # one patch, four looks
    looks = np.stack([1 - deformation, deformation], axis=-1)
    combined = combine_looks(looks, pairs)
    assert combined[0, 1] == pytest.approx((0.9 + 0.4) / 2)
    assert combined.sum() == pytest.approx(1.0)
    three = np.array([[[0.5, 0.1, 0.4]], [[0.2, 0.7, 0.1]]])  # two looks at one interval
    assert combine_looks(three, [(7.0, 0.0), (7.0, 3.5)])[0].tolist() == [0.2, 0.7, 0.1]
    assert predicted_classes(np.array([[0.6, 0.3, 0.1], [0.2, 0.1, 0.7], [0.5, 0.4, 0.1]])).tolist() == [0, 2, 1]
