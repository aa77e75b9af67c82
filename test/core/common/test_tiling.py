"""Tests of core/common/tiling.py: blended tiles."""
import numpy as np

from insar_deformation_detector.core.common.tiling import blend_weights, make_tiles


def test_blend_weights_sum_to_one_everywhere():
    height, width = 300, 260
    total = np.zeros((height, width))
    for tile in make_tiles(height, width, 128, 40):
        r0, c0, rows, cols = tile.window
        total[r0:r0 + rows, c0:c0 + cols] += blend_weights(tile, height, width, 32)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
