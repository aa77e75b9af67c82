"""Gridding of point measurements (persistent scatterers) onto a raster."""
import math

import numpy as np
from osgeo import gdal

from ..common.errors import InputError
from ..common.grid import GridSpec
from ..common.raster_io import OUTPUT_OPTIONS, checked, row_blocks

MAX_CELLS = 2_000_000_000  # refuse grids beyond this: a pixel size typed in the wrong unit
MAX_CELLS_PER_POINT = 10_000  # a grid this much emptier than its points (0.01% cover) is a unit slip


def _cell_span(low, high, pixel_size, closed):
    """(first, stop) cell indices along an axis whose cells are [k, k + 1) x pixel_size.

    The span covers [low, high]. ``closed``: the cell holding ``high`` is
    included (a point lying on the edge); otherwise the span ends at ``high``
    (an extent's edge). Rows count southwards, so pass them as -y.
    """
    first = math.floor(low / pixel_size)
    stop = math.floor(high / pixel_size) + 1 if closed else math.ceil(high / pixel_size)
    return first, max(stop, first + 1)


def grid_for_points(x, y, pixel_size, extent=None):
    """The grid of ``pixel_size`` cells over ``extent`` = (x_min, y_min, x_max, y_max) or the points.

    Cell edges fall on multiples of the pixel size, so grids made from
    different layers (ascending and descending passes) line up.
    """
    if not (math.isfinite(pixel_size) and pixel_size > 0):
        raise InputError("PIXEL_SIZE", f"must be a positive number of map units, got {pixel_size}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    closed = extent is None
    x_min, y_min, x_max, y_max = (x.min(), y.min(), x.max(), y.max()) if closed else extent
    if not x_min <= x_max or not y_min <= y_max:
        raise InputError("EXTENT", f"is empty: {extent}")
    first_col, stop_col = _cell_span(x_min, x_max, pixel_size, closed)
    first_row, stop_row = _cell_span(-y_max, -y_min, pixel_size, closed)
    width, height = stop_col - first_col, stop_row - first_row
    if width * height > MAX_CELLS:
        raise _too_many_cells(pixel_size, width, height, f"over {MAX_CELLS:,}")
    grid = GridSpec(first_col * pixel_size, -first_row * pixel_size, float(pixel_size), width, height)
    inside = int(grid.cells_of(x, y)[2].sum())
    if inside == 0:
        raise InputError("EXTENT", "contains none of the points")
    if width * height > MAX_CELLS_PER_POINT * inside:
        raise _too_many_cells(pixel_size, width, height,
                              f"for {inside:,} points, over {MAX_CELLS_PER_POINT:,} cells per point")
    return grid


def _too_many_cells(pixel_size, width, height, why):
    return InputError("PIXEL_SIZE", f"{pixel_size} map units gives a {width} x {height} grid "
                                    f"({width * height:,} cells, {why}); check the unit or choose a larger pixel")


def write_point_raster(x, y, values, grid, crs_wkt, path):
    """Average the point ``values`` (mm/yr) per cell into a float32 GeoTIFF, NaN elsewhere.

    Points outside the grid are dropped. Returns the number of measured cells.
    Streams the raster in row blocks, so memory follows the point count.
    """
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).all():
        raise InputError("FIELD", f"holds {int((~np.isfinite(values)).sum())} infinite or NaN value(s)")
    rows, cols, inside = grid.cells_of(x, y)
    rows, cols, values = rows[inside], cols[inside], values[inside]
    order = np.argsort(rows, kind="stable")
    rows, cols, values = rows[order], cols[order], values[order]
    cells = np.unique(rows * grid.width + cols).size
    if cells < 3:
        raise InputError("INPUT", f"gives {cells} measured cell(s) on the grid; interpolation needs at least 3")
    dataset = checked(gdal.GetDriverByName("GTiff").Create(path, grid.width, grid.height, 1, gdal.GDT_Float32,
                                                           OUTPUT_OPTIONS), f"create {path}")
    dataset.SetGeoTransform(grid.geotransform())
    dataset.SetProjection(crs_wkt)
    band = dataset.GetRasterBand(1)
    band.SetNoDataValue(float("nan"))
    for row, block_rows in row_blocks(grid.height):
        lo, hi = np.searchsorted(rows, [row, row + block_rows])
        index = (rows[lo:hi] - row) * grid.width + cols[lo:hi]
        size = block_rows * grid.width
        total = np.bincount(index, values[lo:hi], minlength=size)
        count = np.bincount(index, minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            band.WriteArray((total / count).reshape(block_rows, grid.width).astype(np.float32), 0, row)
    dataset = None
    return cells
