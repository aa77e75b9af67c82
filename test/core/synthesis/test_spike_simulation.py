"""Tests of core/synthesis/spike_simulation.py: spikes drawn from a real noise map's values."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.synthesis.spike_simulation import sample_noise_map

from helpers import write_raster


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
