"""Rasters and arrays resampled onto a coarser or finer grid over the same extent, through GDAL's warper.

Detection resamples a user's map to the dense model's pixel size and the probabilities back,
and the dense model's training maps are made the same way, so both go through here.
"""
import numpy as np
from osgeo import gdal

from .raster_io import checked, threaded
from .workers import thread_budget

METHODS = {"average": gdal.GRA_Average, "bilinear": gdal.GRA_Bilinear, "mode": gdal.GRA_Mode,
           "nearest": gdal.GRA_NearestNeighbour}


def velocity_method(source_rows, target_rows):
    """How velocities are resampled: averaged onto a coarser grid, bilinear onto a finer one."""
    return "average" if target_rows < source_rows else "bilinear"


def warped(source, shape, method, path="", driver="MEM", options=()):
    """GDAL dataset ``source`` resampled onto ``shape`` = (rows, cols) over its own extent.

    ``method``: a METHODS key; no-data cells of the source are ignored. Written to ``path`` with
    ``driver`` and creation ``options`` (default: in memory). The warper, and the compression of
    a GeoTIFF, compute on this process's thread budget (core.common.workers). Returns the new dataset.
    """
    transform = source.GetGeoTransform()
    bounds = (transform[0], transform[3] + transform[5] * source.RasterYSize,
              transform[0] + transform[1] * source.RasterXSize, transform[3])
    warp_options = gdal.WarpOptions(format=driver, outputBounds=bounds, width=shape[1], height=shape[0],
                                    resampleAlg=METHODS[method], creationOptions=threaded(options), multithread=True,
                                    warpOptions=[f"NUM_THREADS={thread_budget()}"])
    return checked(gdal.Warp(path, source, options=warp_options), f"resample to {path or 'memory'}")


def resampled(array, shape, method):
    """``array`` (H, W) resampled onto ``shape`` (h, w) over the same extent.

    ``method``: a METHODS key. Floating-point arrays are read as float32 with NaN as no data
    (an "average" ignores NaN cells; a cell with none is NaN); other arrays keep their type and
    have no no-data value. Returns an (h, w) array.
    """
    array = np.asarray(array)
    floating = np.issubdtype(array.dtype, np.floating)
    array = array.astype(np.float32) if floating else array.astype(np.uint8)
    if array.shape == tuple(shape):
        return array.copy()
    height, width = array.shape
    source = gdal.GetDriverByName("MEM").Create("", width, height, 1, gdal.GDT_Float32 if floating else gdal.GDT_Byte)
    source.SetGeoTransform((0.0, 1.0, 0.0, 0.0, 0.0, -1.0))
    band = source.GetRasterBand(1)
    if floating:
        band.SetNoDataValue(float("nan"))
    band.WriteArray(array)
    target = warped(source, shape, method)  # held: its band dies with it
    return target.GetRasterBand(1).ReadAsArray()


def measurement_maps(sparse, shape):
    """(2, h, w) float32 of sparse measurements on a grid of ``shape`` over the same extent.

    ``sparse``: (H, W) LOS velocity in mm/yr, NaN where nothing was measured, at least as fine
    as ``shape``. Band 0: the mean measurement in each cell (mm/yr, NaN where none); band 1: the
    share of the cell's pixels that were measured (0-1).
    """
    sparse = np.asarray(sparse, dtype=np.float32)
    measured = np.isfinite(sparse).astype(np.float32)
    return np.stack([resampled(sparse, shape, "average"), resampled(measured, shape, "average")])
