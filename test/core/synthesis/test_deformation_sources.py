"""Tests of core/synthesis/deformation_sources.py: random sources within their ranges."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.synthesis.deformation_sources import SourceRanges, draw_point_source, draw_tunnel
from insar_deformation_detector.core.synthesis.line_of_sight import ASCENDING, DESCENDING
from insar_deformation_detector.core.synthesis.training_examples import patch_coordinates

PIXEL = 10.0
RANGES = SourceRanges()


def grid(size=224, pixel=PIXEL):
    return patch_coordinates(size, pixel)


@pytest.mark.parametrize("seed", range(6))
def test_drawn_tunnels_stay_in_the_stated_ranges(seed):
    east, north = grid()
    rng = np.random.default_rng(seed)
    los, record = draw_tunnel(rng, east, north, DESCENDING, RANGES, PIXEL)
    assert np.abs(los).max() == pytest.approx(record["peak_los_mm_yr"])
    assert RANGES.los_mm_yr[0] <= record["peak_los_mm_yr"] <= 15.0
    for name, (low, high) in (("l_sag_m", RANGES.l_sag_m), ("l_hog_m", RANGES.l_hog_m),
                              ("d_sag_mm_yr", RANGES.d_sag_mm), ("d_hog_mm_yr", RANGES.d_hog_mm)):
        assert low <= record[f"{name}_min"] <= record[f"{name}_max"] <= high
    moving = np.abs(los) > 0.05
    assert 0.01 < moving.mean() < 0.6  # a band along the tunnel, not the whole patch


@pytest.mark.parametrize("seed", range(6))
def test_drawn_point_sources_stay_in_the_stated_ranges(seed):
    east, north = grid()
    los, record = draw_point_source(np.random.default_rng(seed), east, north, ASCENDING, RANGES)
    assert 3.0 <= record["depth_m"] <= 80.0
    assert 10 ** 0.3 <= abs(record["volume_m3"]) <= 1000.0
    assert np.abs(los).max() == pytest.approx(record["peak_los_mm_yr"])
    assert 2.0 <= record["peak_los_mm_yr"] <= 15.0
    extreme = los.flat[np.abs(los).argmax()]
    assert np.sign(extreme) == (1 if record["sense"] == "uplift" else -1)


def test_impossible_source_ranges_are_refused():
    east, north = grid(64)
    tiny = SourceRanges(depth_m=(3.0, 4.0), volume_m3=(900.0, 1000.0))  # tens of metres per year
    with pytest.raises(InputError, match="DEPTH_RANGE"):
        draw_point_source(np.random.default_rng(0), east, north, ASCENDING, tiny)
    with pytest.raises(InputError, match="L_SAG_RANGE: is empty"):
        SourceRanges(l_sag_m=(80.0, 30.0)).validate()
