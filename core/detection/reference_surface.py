"""The velocity the dense detector measures each pixel against: a local median surface.

Every training crop (core.learning.dense_training.random_crop, the model's crop side) is
centred on its own median, so the network never saw the ramps, reference offsets and
long-wavelength atmosphere that span a whole national map. Detection therefore centres every
pixel alike: on the median of the window of the crop side around it (WINDOW_PX for a model that
does not record it), estimated on a grid of window centres every half window and interpolated
bilinearly between them (held at the outermost centres beyond them), as two small matrix products
since the grid is separable. The surface is computed once for the whole map, so tiles still join
without seams.
"""
import numpy as np
from scipy.ndimage import distance_transform_edt

from ..common.errors import Cancelled

WINDOW_PX = 128  # the training crops' side (DenseTrainingConfig.crop_px) of models that do not record it
SAMPLE_STEP = 4  # every 4th row and column of a window enters its median


class ReferenceSurface:
    """Local median velocity (mm/yr) of a model-grid band of ``shape`` (rows, cols); see the module.

    ``window_px``: the side of the windows (model pixels), the model's training crop side.
    """

    def __init__(self, band, shape, is_cancelled=None, window_px=WINDOW_PX):
        height, width = shape
        self.window_px, self.stride_px = window_px, window_px // 2
        self.rows, self.cols = -(-height // self.stride_px), -(-width // self.stride_px)
        self.medians = np.full((self.rows, self.cols), np.nan, dtype=np.float64)
        sampled_width = max(1, width // SAMPLE_STEP)
        for index in range(self.rows):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled()
            top, bottom = self._span(index, height)
            strip = band.ReadAsArray(0, top, width, bottom - top, buf_xsize=sampled_width,
                                     buf_ysize=max(1, (bottom - top) // SAMPLE_STEP)).astype(np.float64)
            scale = sampled_width / width
            for column in range(self.cols):
                left, right = self._span(column, width)
                values = strip[:, int(left * scale):max(int(left * scale) + 1, int(right * scale))]
                values = values[np.isfinite(values)]
                if values.size:
                    self.medians[index, column] = np.median(values)
        self._fill_gaps()

    def _span(self, index, length):
        """[start, stop) of the window around centre ``index`` along an axis of ``length`` pixels."""
        centre = index * self.stride_px + self.stride_px // 2
        return max(0, centre - self.window_px // 2), min(length, centre + self.window_px // 2)

    def _fill_gaps(self):
        """Windows without a measurement take the nearest window's median (0 if the map has none)."""
        missing = np.isnan(self.medians)
        if missing.all():
            self.medians[:] = 0.0
        elif missing.any():
            nearest = distance_transform_edt(missing, return_distances=False, return_indices=True)
            self.medians = self.medians[tuple(nearest)]

    @property
    def median_mm_yr(self):
        """The median of the window medians: the map's typical reference."""
        return float(np.median(self.medians))

    def window(self, row, col, rows, cols):
        """(rows, cols) float32 reference of the pixels from (row, col); may reach beyond the map."""
        along_rows = _linear_weights(self._on_grid(row, rows), self.rows)
        along_cols = _linear_weights(self._on_grid(col, cols), self.cols)
        return (along_rows @ self.medians @ along_cols.T).astype(np.float32)

    def _on_grid(self, start, count):
        """Positions of ``count`` pixel centres from ``start`` in units of the window-centre grid."""
        return (np.arange(start, start + count) + 0.5 - self.stride_px / 2) / self.stride_px


def _linear_weights(positions, length):
    """(len(positions), length) weights of linear interpolation at ``positions`` (grid units) on a
    grid of ``length`` nodes, positions beyond the ends held at the end nodes."""
    clamped = np.clip(positions, 0.0, length - 1)
    below = np.minimum(np.floor(clamped).astype(np.int64), max(length - 2, 0))
    above = np.minimum(below + 1, length - 1)
    fraction = clamped - below
    weights = np.zeros((positions.size, length))
    rows = np.arange(positions.size)
    weights[rows, below] = 1.0 - fraction
    weights[rows, above] += fraction
    return weights
