"""A tile's result as a GeoTIFF of its own window, and mosaics of such files.

A window file carries the georeferencing of its window of the whole map, so it opens in QGIS
where it belongs. It is written under a temporary name and renamed when complete.
"""
import os

import numpy as np
from osgeo import gdal

from ..common.errors import Cancelled
from ..common.raster_io import PACKED_SCRATCH_OPTIONS, checked, row_blocks, window_geotransform

GDAL_TYPES = {np.dtype(np.float32): gdal.GDT_Float32, np.dtype(np.uint8): gdal.GDT_Byte}


def write_window(path, values, template, window):
    """Write ``values`` of ``window`` = (row, col, rows, cols) of ``template``'s grid to the GeoTIFF
    ``path``, atomically: (rows, cols) or (bands, rows, cols), float32 (NaN as no data) or uint8."""
    values = np.asarray(values)
    layers = values[None] if values.ndim == 2 else values
    row, col, rows, cols = window
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{os.getpid()}.{name}")
    dataset = checked(gdal.GetDriverByName("GTiff").Create(temporary, cols, rows, len(layers),
                                                           GDAL_TYPES[values.dtype], PACKED_SCRATCH_OPTIONS),
                      f"create {temporary}")
    dataset.SetGeoTransform(window_geotransform(template.GetGeoTransform(), row, col))
    dataset.SetProjection(template.GetProjection())
    for number, layer in enumerate(layers, start=1):
        band = dataset.GetRasterBand(number)
        if values.dtype == np.float32:
            band.SetNoDataValue(float("nan"))
        band.WriteArray(layer)
    dataset = band = None
    os.replace(temporary, path)


def sum_mosaic(entries, output_band, height, width, is_cancelled=None):
    """Write into ``output_band`` (height x width) the sum of window files, added in the order of ``entries``.

    ``entries``: [(path, (row, col, rows, cols))]; cells no window covers are 0. Streamed in row blocks.
    """
    for row, rows in row_blocks(height):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        block = np.zeros((rows, width), np.float32)
        for path, (top, left, window_rows, window_cols) in entries:
            first, last = max(row, top), min(row + rows, top + window_rows)
            if first < last:
                block[first - row:last - row, left:left + window_cols] += _read_rows(path, first - top,
                                                                                     last - first)
        output_band.WriteArray(block, 0, row)


def place_windows(entries, output, is_cancelled=None):
    """Copy every band of window files that do not overlap (tile cores) into the dataset ``output`` at
    their windows. ``entries``: [(path, (row, col, rows, cols))]."""
    for path, (top, left, _, _) in entries:
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        window = checked(gdal.Open(path), f"open {path}")
        for number in range(1, window.RasterCount + 1):
            output.GetRasterBand(number).WriteArray(window.GetRasterBand(number).ReadAsArray(), left, top)


def _read_rows(path, first, count):
    """Rows [first, first + count) of band 1 of the window file ``path``."""
    dataset = checked(gdal.Open(path), f"open {path}")  # held while its band is read
    return dataset.GetRasterBand(1).ReadAsArray(0, first, dataset.RasterXSize, count)
