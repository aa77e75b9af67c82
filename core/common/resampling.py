"""Arrays resampled onto a coarser or finer grid over the same extent, through GDAL's warper.

Detection resamples a user's map to the dense model's pixel size and the probabilities back,
and the dense model's training maps are made the same way, so both go through here.
"""
import numpy as np
from osgeo import gdal

from .raster_io import checked

METHODS = {"average": gdal.GRA_Average, "bilinear": gdal.GRA_Bilinear, "mode": gdal.GRA_Mode,
           "nearest": gdal.GRA_NearestNeighbour}


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
    data_type = gdal.GDT_Float32 if floating else gdal.GDT_Byte
    height, width = array.shape
    source = gdal.GetDriverByName("MEM").Create("", width, height, 1, data_type)
    source.SetGeoTransform((0.0, 1.0, 0.0, 0.0, 0.0, -1.0))
    band = source.GetRasterBand(1)
    if floating:
        band.SetNoDataValue(float("nan"))
    band.WriteArray(array)
    options = gdal.WarpOptions(format="MEM", outputBounds=(0.0, -height, width, 0.0), width=shape[1],
                               height=shape[0], resampleAlg=METHODS[method],
                               srcNodata=float("nan") if floating else None,
                               dstNodata=float("nan") if floating else None)
    target = checked(gdal.Warp("", source, options=options), "resample an array")
    return target.GetRasterBand(1).ReadAsArray()
