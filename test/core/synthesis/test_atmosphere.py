"""Tests of core/synthesis/atmosphere.py: the covariance of equation 1."""
import numpy as np

from insar_deformation_detector.core.synthesis.atmosphere import exponential_covariance, turbulent_atmosphere


def test_atmosphere_has_the_target_exponential_covariance():
    a, b, pixel = 1.2, 1.0, 100.0  # mm^2/yr^2, 1/km, metres
    fields = turbulent_atmosphere((32, 32), pixel, a, b, np.random.default_rng(1), count=4000)
    assert fields.shape == (4000, 32, 32)
    for lag in (0, 1, 4, 10):  # pixels along rows: 0, 0.1, 0.4, 1.0 km
        empirical = np.mean(fields[:, :, : 32 - lag] * fields[:, :, lag:])
        assert abs(empirical - exponential_covariance(lag * pixel / 1000, a, b)) < 0.04 * a
    diagonal = np.mean(fields[:, :-6, :-6] * fields[:, 6:, 6:])  # 6 px on both axes
    assert abs(diagonal - exponential_covariance(np.hypot(0.6, 0.6), a, b)) < 0.04 * a
