"""Atmosphere covariance and Mogi source against their closed forms."""
import numpy as np

import pytest

from insar_deformation_detector.core.atmosphere import exponential_covariance, turbulent_atmosphere
from insar_deformation_detector.core.line_of_sight import ASCENDING, DESCENDING, to_line_of_sight
from insar_deformation_detector.core.mogi import mogi_displacement


def test_atmosphere_has_the_target_exponential_covariance():
    a, b, pixel = 1.2, 1.0, 100.0  # mm^2/yr^2, 1/km, metres
    fields = turbulent_atmosphere((32, 32), pixel, a, b, np.random.default_rng(1), count=4000)
    assert fields.shape == (4000, 32, 32)
    for lag in (0, 1, 4, 10):  # pixels along rows: 0, 0.1, 0.4, 1.0 km
        empirical = np.mean(fields[:, :, : 32 - lag] * fields[:, :, lag:])
        assert abs(empirical - exponential_covariance(lag * pixel / 1000, a, b)) < 0.04 * a
    diagonal = np.mean(fields[:, :-6, :-6] * fields[:, 6:, 6:])  # 6 px on both axes
    assert abs(diagonal - exponential_covariance(np.hypot(0.6, 0.6), a, b)) < 0.04 * a


def test_mogi_peak_uplift_and_radial_symmetry():
    depth, volume, nu = 50.0, 300.0, 0.25
    east, north, up = mogi_displacement(0.0, 0.0, depth, volume)
    assert up == np.float64((1 - nu) * volume / (np.pi * depth ** 2))
    assert east == 0.0 and north == 0.0
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    e, n, u = mogi_displacement(40 * np.cos(angles), 40 * np.sin(angles), depth, volume)
    np.testing.assert_allclose(u, u[0])
    np.testing.assert_allclose(np.hypot(e, n), np.hypot(e[0], n[0]))
    assert np.all(e * np.cos(angles) + n * np.sin(angles) > 0)  # inflation pushes outwards
    assert mogi_displacement(0.0, 0.0, depth, -volume)[2] < 0  # deflation subsides


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
    assert to_line_of_sight(0.0, 10.0, 0.0, ASCENDING) == pytest.approx(-10.0 * sin_incidence * np.sin(np.radians(12.0)))
