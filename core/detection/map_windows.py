"""A model-grid tile's probabilities put back onto its own window of the map's grid.

``detect_dense_raster`` resamples the whole model-grid probability map back onto the map's grid
at the end (bilinear; the kinds by nearest neighbour) and blanks it where the map has no data.
A tile task can do the same for its own part, so no process has to resample the whole map: the
map pixels whose centres fall in the tile's core form its map window (the windows of all tiles
partition the map), and the tile's probabilities with a margin from its halo (beyond the reach of
the resampling kernel; no data beyond the model grid, as for the whole map) give the same values
there as the whole map's resampling does.
"""
import math

import numpy as np
from osgeo import gdal

from ..common.raster_io import checked, read_window, window_geotransform
from ..common.resampling import METHODS


def map_window(core, model_shape, map_shape):
    """(row, col, rows, cols) of the map pixels whose centres fall in the model-grid ``core`` = (row, col,
    rows, cols); the grids cover the same extent with ``model_shape`` and ``map_shape`` (rows, cols)."""
    starts = [_first_centre_at(core[axis], model_shape[axis], map_shape[axis]) for axis in (0, 1)]
    stops = [_first_centre_at(core[axis] + core[axis + 2], model_shape[axis], map_shape[axis]) for axis in (0, 1)]
    return starts[0], starts[1], stops[0] - starts[0], stops[1] - starts[1]


def _first_centre_at(model_index, model_length, map_length):
    """The first map pixel whose centre lies at or beyond model pixel edge ``model_index``."""
    return min(map_length, max(0, math.ceil(model_index * map_length / model_length - 0.5)))


def margin_px(model_shape, map_shape):
    """Model pixels around a core that resampling onto the map's window reads: the bilinear kernel's
    reach (one pixel, widened by the factor a coarser map shrinks the model grid by), plus one."""
    return 2 + math.ceil(max(1.0, model_shape[0] / map_shape[0]))


def on_map(probability, kinds, core, margin, model_shape, model_geotransform, map_dataset, map_band):
    """(map window, P on it, kinds on it) of a tile.

    ``probability``: (rows + 2 margin, cols + 2 margin) float32 P of the model-grid ``core`` and its
    margin (NaN beyond the model grid); ``kinds``: (K, ...) uint8 of the same window, or None.
    ``model_shape``, ``model_geotransform``: the model grid's. ``map_dataset``, ``map_band``: the map
    and its band (P is NaN where it has no data).
    Returns ((row, col, rows, cols), (rows, cols) float32, (K, rows, cols) uint8 or None).
    """
    map_shape = (map_dataset.RasterYSize, map_dataset.RasterXSize)
    window = map_window(core, model_shape, map_shape)
    row, col, rows, cols = window
    values = read_window(map_band, window)
    if model_shape == map_shape:
        placed = probability[margin:margin + rows, margin:margin + cols].copy()
        kinds_placed = None if kinds is None else kinds[:, margin:margin + rows, margin:margin + cols].copy()
    else:
        origin = (core[0] - margin, core[1] - margin)
        source = _in_memory(probability[None], window_geotransform(model_geotransform, *origin), np.nan)
        placed = _resampled(source, map_dataset, window, "bilinear")[0]
        kinds_placed = None if kinds is None else _resampled(
            _in_memory(kinds, window_geotransform(model_geotransform, *origin), None), map_dataset, window, "nearest")
    placed[~np.isfinite(values)] = np.nan
    return window, placed.astype(np.float32), kinds_placed


def _in_memory(layers, geotransform, nodata):
    """A MEM dataset of (bands, rows, cols) float32 or uint8 ``layers``; ``nodata`` set unless None."""
    kind = gdal.GDT_Float32 if layers.dtype == np.float32 else gdal.GDT_Byte
    dataset = checked(gdal.GetDriverByName("MEM").Create("", layers.shape[2], layers.shape[1], len(layers), kind),
                      "create an in-memory raster")
    dataset.SetGeoTransform(geotransform)
    for number, layer in enumerate(layers, start=1):
        band = dataset.GetRasterBand(number)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        band.WriteArray(layer)
    return dataset


def _resampled(source, map_dataset, window, method):
    """(bands, rows, cols) of ``source`` resampled onto ``window`` of the map's grid by ``method``."""
    row, col, rows, cols = window
    x0, dx, _, y0, _, dy = window_geotransform(map_dataset.GetGeoTransform(), row, col)
    options = gdal.WarpOptions(format="MEM", outputBounds=(x0, y0 + rows * dy, x0 + cols * dx, y0), width=cols,
                               height=rows, resampleAlg=METHODS[method])
    target = checked(gdal.Warp("", source, options=options), "resample a tile onto the map")
    return target.ReadAsArray().reshape(source.RasterCount, rows, cols)
