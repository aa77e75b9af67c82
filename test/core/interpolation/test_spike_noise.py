"""Tests of core/interpolation/spike_noise.py: the 3 x 3 median and the noise map N = y - Med3x3(y)."""
import numpy as np

from insar_deformation_detector.core.interpolation.spike_noise import median3x3_at, spike_noise_map


def test_median_ignores_missing_cells():
    sparse = np.full((3, 3), np.nan)
    sparse[0, 0], sparse[1, 1], sparse[2, 2], sparse[0, 2] = 1.0, 100.0, 3.0, 2.0
    assert median3x3_at(sparse, np.array([1]), np.array([1]))[0] == 2.5
    noise = spike_noise_map(sparse)
    assert noise[1, 1] == 97.5 and np.isnan(noise[1, 0])
