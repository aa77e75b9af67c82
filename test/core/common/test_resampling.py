"""Tests of core/common/resampling.py: arrays onto coarser and finer grids over the same extent."""
import numpy as np

from insar_deformation_detector.core.common.resampling import resampled


def test_averaging_ignores_no_data_and_keeps_the_extent():
    values = np.arange(16, dtype=np.float32).reshape(4, 4)
    values[0, 0] = np.nan
    coarse = resampled(values, (2, 2), "average")
    assert coarse.dtype == np.float32
    np.testing.assert_allclose(coarse, [[(1 + 4 + 5) / 3, 4.5], [10.5, 12.5]])


def test_labels_keep_their_type_and_classes():
    labels = np.array([[0, 0, 2, 2], [0, 1, 2, 2], [1, 1, 0, 0], [1, 1, 0, 0]], np.uint8)
    assert resampled(labels, (2, 2), "mode").tolist() == [[0, 2], [1, 0]]
    fine = resampled(labels, (8, 8), "nearest")
    assert fine.dtype == np.uint8 and fine[0].tolist() == [0, 0, 0, 0, 2, 2, 2, 2]


def test_the_same_shape_is_a_copy():
    values = np.ones((3, 5), np.float32)
    copy = resampled(values, (3, 5), "bilinear")
    copy[0, 0] = 7
    assert values[0, 0] == 1
