"""Tests of core/interpolation/spike_noise.py: the 3 x 3 median and the noise map sampler."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.interpolation.spike_noise import median3x3_at, sample_noise_map, spike_noise_map

from helpers import write_raster


def test_median_ignores_missing_cells():
    sparse = np.full((3, 3), np.nan)
    sparse[0, 0], sparse[1, 1], sparse[2, 2], sparse[0, 2] = 1.0, 100.0, 3.0, 2.0
    assert median3x3_at(sparse, np.array([1]), np.array([1]))[0] == 2.5
    noise = spike_noise_map(sparse)
    assert noise[1, 1] == 97.5 and np.isnan(noise[1, 0])


def test_noise_map_values_are_resampled(tmp_path):
    values = np.full((50, 40), np.nan)
    values[::2] = np.random.default_rng(1).standard_t(3, (25, 40))
    noise = sample_noise_map(write_raster(str(tmp_path / "noise.tif"), values), np.random.default_rng(0),
                             samples=300)
    assert len(noise.values) == 300
    assert np.isin(noise.values, values[::2].astype(np.float32)).all()
    drawn = noise.draw(np.random.default_rng(2), 1000)
    assert np.isin(drawn.astype(np.float32), noise.values).all()
    with pytest.raises(InputError, match="NOISE_MAP: cannot be read"):
        sample_noise_map(str(tmp_path / "missing.tif"), np.random.default_rng(0))
