"""Noisy velocity fields of known covariance, shared by the tests of noise statistics (section II-B)."""
import numpy as np

from helpers import write_raster

A, B, NUGGET = 1.2, 1.2, 0.6  # mm^2/yr^2, 1/km, mm^2/yr^2: inside the paper's UK ranges (section II-B)
PIXEL_M = 50.0
ORIGIN = (400000.0, 300000.0)  # top-left corner in EPSG:27700 (British National Grid), metres


def noisy_field(size, seed):
    """(size, size) velocities (mm/yr): covariance A exp(-B d) plus white noise of variance NUGGET."""
    from insar_deformation_detector.core.synthesis.atmosphere import turbulent_atmosphere

    rng = np.random.default_rng(seed)
    field = turbulent_atmosphere((size, size), PIXEL_M, A, B, rng)[0].astype(float)
    return field + rng.normal(0.0, np.sqrt(NUGGET), field.shape)


def sampled_pixels(values, count, seed):
    """x, y (metres, pixel centres east and north of ORIGIN) and values of ``count`` distinct pixels."""
    rows, cols = np.divmod(np.random.default_rng(seed).choice(values.size, count, replace=False), values.shape[1])
    return ORIGIN[0] + (cols + 0.5) * PIXEL_M, ORIGIN[1] - (rows + 0.5) * PIXEL_M, values[rows, cols]


def write_sparse_field(path, field):
    """GeoTIFF of ``field`` with 90 % of its pixels unmeasured (NaN); returns ``path``."""
    sparse = field.copy()
    sparse[np.random.default_rng(13).random(field.shape) < 0.9] = np.nan
    return write_raster(path, sparse, (ORIGIN[0], PIXEL_M, 0.0, ORIGIN[1], 0.0, -PIXEL_M))
