"""Mogi point pressure source (Mogi 1958), the paper's coal-mining model (section III-B)."""
import numpy as np

POISSON_RATIO = 0.25  # section III-B / issue: elastic half-space, nu = 0.25


def mogi_displacement(east_m, north_m, depth_m, volume_change_m3, poisson_ratio=POISSON_RATIO):
    """Surface displacement (east, north, up) in metres of a point source.

    ``east_m`` and ``north_m`` are horizontal offsets from the source (metres,
    any broadcastable shape); ``depth_m`` > 0; a positive ``volume_change_m3``
    inflates (uplift), a negative one deflates (subsidence). Per unit time the
    result is a velocity (m/yr for m^3/yr). Peak uplift above the source is
    (1 - nu) dV / (pi d^2).
    """
    east = np.asarray(east_m, dtype=float)
    north = np.asarray(north_m, dtype=float)
    scale = (1.0 - poisson_ratio) * volume_change_m3 / np.pi
    cube = (east ** 2 + north ** 2 + depth_m ** 2) ** 1.5
    return scale * east / cube, scale * north / cube, scale * depth_m / cube
