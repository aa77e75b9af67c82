"""Tests of core/synthesis/line_of_sight.py: Sentinel-1 projections."""
import numpy as np
import pytest

from insar_deformation_detector.core.synthesis.line_of_sight import ASCENDING, DESCENDING, to_line_of_sight


@pytest.mark.parametrize("geometry", [ASCENDING, DESCENDING])
def test_vertical_motion_projects_by_the_cosine_of_incidence(geometry):
    assert to_line_of_sight(0.0, 0.0, 10.0, geometry) == pytest.approx(10.0 * np.cos(np.radians(39.0)))
    assert np.linalg.norm(geometry.unit_vector()) == pytest.approx(1.0)


def test_east_motion_leaves_the_ascending_and_approaches_the_descending_satellite():
    sin_incidence = np.sin(np.radians(39.0))
    east_ascending = to_line_of_sight(10.0, 0.0, 0.0, ASCENDING)
    east_descending = to_line_of_sight(10.0, 0.0, 0.0, DESCENDING)
    assert east_ascending == pytest.approx(-10.0 * sin_incidence * np.cos(np.radians(12.0)))
    assert east_descending == pytest.approx(10.0 * sin_incidence * np.cos(np.radians(12.0)))
    # Near-polar orbit: north motion is seen only through the 12 degree heading offset.
    north_ascending = to_line_of_sight(0.0, 10.0, 0.0, ASCENDING)
    assert north_ascending == pytest.approx(-10.0 * sin_incidence * np.sin(np.radians(12.0)))
