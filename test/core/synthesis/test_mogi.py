"""Tests of core/synthesis/mogi.py against the closed form."""
import numpy as np

from insar_deformation_detector.core.synthesis.mogi import mogi_displacement


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
