"""Tests of core/synthesis/tunnel.py: the settlement trough."""
import numpy as np
import pytest

from insar_deformation_detector.core.synthesis.training_examples import patch_coordinates
from insar_deformation_detector.core.synthesis.tunnel import (
    TroughParameters,
    TunnelPath,
    settlement,
    straight_or_curved_path,
    tunnel_displacement,
)


def test_trough_has_the_stated_depths_widths_and_zones():
    l_sag, l_hog, d_sag, d_hog = 40.0, 60.0, 6.0, 2.0
    x = np.linspace(0.0, 150.0, 15001)
    s = settlement(x, l_sag, l_hog, d_sag, d_hog)
    assert s[0] == pytest.approx(d_sag + d_hog)
    assert settlement(l_sag, l_sag, l_hog, d_sag, d_hog) == pytest.approx(d_hog)
    assert np.all(s[x >= l_sag + l_hog] == 0.0)
    curvature = np.gradient(np.gradient(s, x), x)
    assert np.all(curvature[(x > 1) & (x < l_sag - 1)] < 0)  # sagging: a bowl over the tunnel
    assert np.all(curvature[(x > l_sag + 1) & (x < l_sag + l_hog - 1)] > 0)  # hogging beyond
    assert np.abs(np.diff(s)).max() < 1e-2  # continuous, and so is the slope (C1):
    assert np.abs(np.diff(np.gradient(s, x))).max() < 1e-2


def test_tunnel_velocity_profile_across_a_straight_tunnel():
    east, north = patch_coordinates(100, 10.0)
    path = TunnelPath(straight_or_curved_path((500.0, -2000.0), (500.0, 3000.0), 0.0, 5.0), False, False)
    knot = TroughParameters(l_sag=40.0, l_hog=50.0, d_sag=6.0, d_hog=3.0)
    e, n, u = tunnel_displacement(east, north, path, [knot])
    row = u[50]
    offsets = east[50] - 500.0
    assert row.min() == pytest.approx(-(6.0 + 3.0), abs=0.1)  # pixel 5 m from the axis
    assert np.all(row[np.abs(offsets) >= 90.0] == 0.0)  # nothing beyond l_sag + l_hog
    assert np.allclose(n, 0.0, atol=1e-9)  # a north-south tunnel pulls ground east-west only
    assert np.all(e[50][offsets > 5] <= 0) and np.all(e[50][offsets < -5] >= 0)  # towards the axis
