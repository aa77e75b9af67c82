"""Tests of core/learning/real_negatives.py: stable patches of a real map."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.learning.real_negatives import cut_stable_patches

from helpers import write_raster


def test_real_negatives_avoid_the_given_areas_and_the_gaps(tmp_path):
    rows, cols = np.mgrid[0:200, 0:300]
    values = (rows * 1000 + cols).astype(np.float32)  # each pixel tells where it is
    values[:, 250:] = np.nan
    path = write_raster(str(tmp_path / "real.tif"), values)
    avoid = ["POLYGON((400000 298000, 401500 298000, 401500 300000, 400000 300000, 400000 298000))"]  # cols < 150
    patches = cut_stable_patches(path, 64, 50, pixel_size=10.0, avoid_wkts=avoid, seed=1)
    corners = sorted((int(patch[0, 0]) // 1000, int(patch[0, 0]) % 1000) for patch in patches)
    assert corners == [(row, col) for row in (0, 32, 64, 96, 128) for col in (160, 192)]  # >= 90 % measured
    assert patches.shape == (10, 64, 64)
    assert len(cut_stable_patches(path, 64, 3, pixel_size=10.0, seed=1)) == 3
    with pytest.raises(InputError, match="REAL_NEGATIVES: its pixels are 10 map units but the datasets' are 20"):
        cut_stable_patches(path, 64, 5, pixel_size=20.0)
