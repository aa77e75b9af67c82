"""Atmosphere covariance and Mogi source against their closed forms."""
import numpy as np

from insar_deformation_detector.core.atmosphere import exponential_covariance, turbulent_atmosphere
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
