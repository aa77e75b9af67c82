"""From window probabilities to a probability map on the pixel grid (section II-A).

Windows sit on a lattice: window k along an axis covers pixels
``k * stride .. k * stride + window - 1``. Each pixel takes the
probabilities of the window whose centre is nearest, and the blocks this
makes are merged with the paper's rotationally symmetric Gaussian low-pass.
"""
import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from ..common.errors import InputError

MERGE_SIGMA = 5.0  # pixels, section II-A: standard deviation of the merging Gaussian
MERGE_RADIUS = 10  # pixels, section II-A: a 20-pixel filter (21 taps, centred on the pixel)


@dataclass(frozen=True)
class Lattice:
    """Window positions along one axis of ``length`` pixels.

    ``count`` windows of ``window`` pixels every ``stride`` pixels; the last
    may run past the end by up to ``stride - 1`` pixels (``padded_length``
    covers it; those pixels count as no data).
    """

    length: int
    window: int
    stride: int

    @property
    def count(self):
        return max(1, math.ceil((self.length - self.window) / self.stride) + 1)

    @property
    def padded_length(self):
        return self.window + self.stride * (self.count - 1)

    def nearest(self, pixels):
        """Index of the window whose centre is nearest to each pixel (centres at half-pixels)."""
        position = (np.asarray(pixels, dtype=np.float64) + 0.5 - self.window / 2.0) / self.stride
        return np.clip(np.floor(position + 0.5).astype(np.int64), 0, self.count - 1)


def check_size(height, width, window):
    """InputError unless a (height, width) raster holds at least one window."""
    if height < window or width < window:
        raise InputError("INPUT", f"is {width} x {height} pixels, smaller than one {window} x {window} window "
                                  "of the model; use a larger area or a finer grid")


def merged_map(window_values, first_window, rows, cols, row_lattice, col_lattice):
    """Pixel map (len(rows), len(cols), K) of window values (n_rows, n_cols, K), Gaussian-merged.

    ``window_values[i, j]`` belongs to lattice window (first_window[0] + i,
    first_window[1] + j); ``rows``, ``cols`` are consecutive pixel indices
    whose nearest windows are all among them. The filter extends the edge
    values beyond the given pixels, so a tile grown by MERGE_RADIUS pixels
    on each inner side gives the untiled values in its core.
    """
    row_index = row_lattice.nearest(rows) - first_window[0]
    col_index = col_lattice.nearest(cols) - first_window[1]
    blocks = window_values[row_index][:, col_index]
    return np.stack([gaussian_filter(blocks[..., k], MERGE_SIGMA, mode="nearest", radius=MERGE_RADIUS)
                     for k in range(blocks.shape[-1])], axis=-1)
