"""Tests of core/synthesis/scatterer_patterns.py: uneven sampling like real scatterers."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.synthesis.scatterer_patterns import MaskWindows, builtin_pattern

from helpers import write_raster

PIXEL = 10.0


def test_builtin_patterns_are_uneven_like_real_scatterers():
    rng = np.random.default_rng(3)
    fractions, clustered = [], []
    for _ in range(8):
        measured, record = builtin_pattern((224, 224), PIXEL, rng)
        fractions.append(measured.mean())
        blocks = measured.reshape(14, 16, 14, 16).mean(axis=(1, 3))  # 160 m blocks
        clustered.append(blocks.std() / max(blocks.mean(), 1e-9))
    assert min(fractions) >= 0.005 and max(fractions) > 2 * min(fractions)  # density varies by patch
    assert np.median(clustered) > 0.8  # far from uniform random sampling (about 0.3 here)


def test_mask_windows_reuse_a_real_pattern(tmp_path):
    pattern = np.full((300, 300), np.nan)
    pattern[::7, ::3] = 1.0
    source = MaskWindows(write_raster(str(tmp_path / "real.tif"), pattern))
    measured, record = source.draw(np.random.default_rng(0), 64)
    row, col = record["window_row"], record["window_col"]
    assert np.array_equal(measured, np.isfinite(pattern[row:row + 64, col:col + 64]))
    empty = MaskWindows(write_raster(str(tmp_path / "empty.tif"), np.full((100, 100), np.nan)))
    with pytest.raises(InputError, match="MASK_SOURCE: has no measurements"):
        empty.check(64)
    with pytest.raises(InputError, match="MASK_SOURCE: .*smaller than one 224"):
        MaskWindows(str(tmp_path / "empty.tif")).check(224)
