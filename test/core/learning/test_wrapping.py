"""Tests of core/learning/wrapping.py: over-wrapped grey images (sections II-A, III-C)."""
import numpy as np
import pytest

from insar_deformation_detector.core.learning.wrapping import (
    DEFAULT_INTERVALS,
    DEFAULT_OFFSETS,
    network_input,
    wrap_pairs,
    wrap_to_gray,
)


def test_wrapping_scales_one_interval_to_the_gray_range():
    velocity = np.array([[0.0, 1.75, 3.5, -1.75], [6.0, np.nan, 13.9, 14.0]])
    gray = wrap_to_gray(velocity, 3.5, offset=0.0)
    np.testing.assert_allclose(gray[0], [0.0, 127.5, 0.0, 127.5], atol=1e-4)
    np.testing.assert_allclose(gray[1, [0, 2, 3]], [2.5 / 3.5 * 255, 3.4 / 3.5 * 255, 0.0], atol=1e-3)
    assert np.isnan(gray[1, 1])
    shifted = wrap_to_gray(velocity, 7.0, offset=3.5)
    assert shifted[0, 0] == pytest.approx(127.5)
    image = network_input(velocity, 7.0)
    assert image.shape == (3, 2, 4) and image.dtype == np.float32
    assert image[:, 1, 1].tolist() == [0.0, 0.0, 0.0]  # unmeasured adds nothing to the first convolution
    assert image[0, 0, 0] == pytest.approx(-0.485 / 0.229, rel=1e-5)


def test_the_paper_looks_are_eight_distinct_images():
    pairs = wrap_pairs(DEFAULT_INTERVALS, DEFAULT_OFFSETS)
    # 4 x 4 (mu, tau), but an offset that is a whole number of fringes changes nothing
    assert pairs == [(14.0, 0.0), (14.0, 3.5), (14.0, 7.0), (14.0, 10.5), (7.0, 0.0), (7.0, 3.5),
                     (3.5, 0.0), (1.75, 0.0)]
