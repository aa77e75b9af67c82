"""Spike noise and its suppression by a 3 x 3 median (section III-A).

Its simulation for synthetic maps (section II-B) is core.synthesis.spike_simulation.
"""
import numpy as np


def median3x3_at(sparse, rows, cols):
    """Med3x3 of ``sparse`` (H, W; NaN = unmeasured) at the measured pixels (rows, cols).

    The median of each 3 x 3 neighbourhood ignores NaN cells and the raster
    edge; returns a (len(rows),) array in the units of ``sparse``.
    """
    padded = np.pad(sparse, 1, constant_values=np.nan)
    neighbourhood = np.stack([padded[rows + 1 + dr, cols + 1 + dc]
                              for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=1)
    return np.nanmedian(neighbourhood, axis=1)


def spike_noise_map(sparse):
    """The noise map N = y - Med3x3(y) (section III-A), NaN where unmeasured; (H, W)."""
    rows, cols = np.nonzero(np.isfinite(sparse))
    noise = np.full(sparse.shape, np.nan, dtype=np.float32)
    noise[rows, cols] = sparse[rows, cols] - median3x3_at(sparse, rows, cols)
    return noise
