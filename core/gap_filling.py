"""Smooth filling of the holes in a dense velocity map, for the classifier's eyes only.

The network learns from fully interpolated patches, so a hole in the map it
classifies (no measurement within interpolate's maximum distance: fields,
woods, water) would be structure it has never seen, and it calls such
windows deformed. Holes are filled with a Gaussian-weighted average of the
surrounding values at growing scales (normalised convolution), then with
the nearest value; the output keeps them as no data.
"""
import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter

FILL_SIGMAS_PX = (4, 8, 16, 32)  # pixels: scales of the normalised convolution, finest first
FILL_TRUNCATE = 2.0  # kernel radius in sigmas
FILL_REACH_PX = int(FILL_SIGMAS_PX[-1] * FILL_TRUNCATE)  # farthest a smooth fill looks for values
MIN_WEIGHT = 1e-3  # share of valid pixels under the kernel below which a scale leaves a pixel empty


def fill_gaps(values):
    """(H, W) float32 copy of ``values`` (mm/yr, NaN = no data) with every NaN filled; all-NaN stays NaN."""
    filled = np.array(values, dtype=np.float32)
    missing = ~np.isfinite(filled)
    if not missing.any() or missing.all():
        return filled
    data = np.where(missing, 0.0, filled).astype(np.float64)
    weight = (~missing).astype(np.float64)
    for sigma in FILL_SIGMAS_PX:
        total = gaussian_filter(data, sigma, mode="nearest", truncate=FILL_TRUNCATE)
        share = gaussian_filter(weight, sigma, mode="nearest", truncate=FILL_TRUNCATE)
        take = missing & (share > MIN_WEIGHT)
        filled[take] = total[take] / share[take]
        missing &= ~take
        if not missing.any():
            return filled
    nearest = distance_transform_edt(missing, return_distances=False, return_indices=True)
    filled[missing] = filled[tuple(index[missing] for index in nearest)]
    return filled
