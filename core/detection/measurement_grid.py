"""What a velocity map was interpolated from, on the dense model's grid (its measurement channels).

Beside the interpolated velocity, the dense network reads the mean measurement in each of its
pixels and the share of the pixel's ground that was measured
(core.learning.dense_network.network_input); core.common.resampling.measurement_maps makes
the same two from training scenes. Here they come from a measurements raster on the velocity
map's grid, averaged onto the model grid when it is coarser (taken from the nearest cell when
finer), and are read a tile and its halo at a time.
"""
import os

import numpy as np
from osgeo import gdal

from ..common.errors import Cancelled
from ..common.raster_io import SCRATCH_OPTIONS, checked, create_like, padded_window, read_window, row_blocks
from ..common.resampling import warped


class MeasurementGrid:
    """The mean measurement and measured share of a model grid, read window by window."""

    def __init__(self, measured, shape, scratch, is_cancelled=None):
        """``measured``: a single-band float32 GDAL dataset of the measurements (mm/yr, NaN where none)
        on the velocity map's grid; ``shape``: (rows, cols) of the model grid; ``scratch``: a folder."""
        share = create_like(os.path.join(scratch, "measured_share.tif"), measured, SCRATCH_OPTIONS, nodata=None)
        values_band = measured.GetRasterBand(1)
        for row, rows in row_blocks(measured.RasterYSize):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled()
            values = read_window(values_band, (row, 0, rows, measured.RasterXSize))
            share.GetRasterBand(1).WriteArray(np.isfinite(values).astype(np.float32), 0, row)
        share.FlushCache()
        if shape == (measured.RasterYSize, measured.RasterXSize):
            self._datasets = (measured, share)
        else:
            method = "average" if shape[0] < measured.RasterYSize else "nearest"
            self._datasets = tuple(warped(dataset, shape, method, os.path.join(scratch, f"{name}_model_grid.tif"),
                                          "GTiff", SCRATCH_OPTIONS)
                                   for dataset, name in ((measured, "measurement"), (share, "share")))
        self.shape = shape

    @classmethod
    def opened(cls, paths, shape):
        """The MeasurementGrid of the (mean measurement, measured share) rasters at ``paths``, made before."""
        grid = cls.__new__(cls)
        grid._datasets = tuple(checked(gdal.Open(path), f"open {path}") for path in paths)
        grid.shape = shape
        return grid

    @property
    def paths(self):
        """(mean measurement, measured share) raster paths on the model grid."""
        return tuple(dataset.GetDescription() for dataset in self._datasets)

    def window(self, top, left, side):
        """(2, side[0], side[1]) mean measurement (mm/yr, NaN where none) and measured share from (top, left)."""
        mean, share = (dataset.GetRasterBand(1) for dataset in self._datasets)
        return np.stack([padded_window(mean, top, left, side, self.shape),
                         padded_window(share, top, left, side, self.shape, fill=0.0)])

    def close(self):
        """Drop the GDAL datasets (so the scratch folder can be removed)."""
        self._datasets = ()
