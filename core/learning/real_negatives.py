"""Stable-ground patches cut from a real velocity raster, as extra negatives (section II-A).

The paper retrains its network with negative patches of the real UK map.
Windows of the training patch size are taken on a half-overlapping grid in
a random order; a window is kept when most of it is measured and it does not
touch any area to avoid (known or suspected deformation).
"""
import numpy as np
from osgeo import ogr

from ..common.errors import Cancelled, InputError
from ..common.raster_io import open_band, read_window

MIN_COVERAGE = 0.9  # fraction of a window's pixels that must hold a velocity
PIXEL_SIZE_TOLERANCE = 0.02  # relative difference allowed between the raster's and the datasets' pixels


def _window_polygon(geotransform, row, col, size):
    x0, dx, _, y0, _, dy = geotransform
    xs = (x0 + col * dx, x0 + (col + size) * dx)
    ys = (y0 + row * dy, y0 + (row + size) * dy)
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in ((xs[0], ys[0]), (xs[1], ys[0]), (xs[1], ys[1]), (xs[0], ys[1]), (xs[0], ys[0])):
        ring.AddPoint_2D(x, y)
    polygon = ogr.Geometry(ogr.wkbPolygon)
    polygon.AddGeometry(ring)
    return polygon


def _avoid_geometry(avoid_wkts, parameter):
    union = ogr.Geometry(ogr.wkbGeometryCollection)
    for wkt in avoid_wkts:
        geometry = ogr.CreateGeometryFromWkt(wkt)
        if geometry is None:
            raise InputError(parameter, "an area to avoid has an unreadable geometry")
        union.AddGeometry(geometry)
    return union if avoid_wkts else None


def cut_stable_patches(path, patch_size, count, pixel_size=None, avoid_wkts=(), seed=0, band=1,
                       is_cancelled=None, parameter="REAL_NEGATIVES", avoid_parameter="AVOID"):
    """Up to ``count`` (P, P) float32 velocity patches (mm/yr, NaN unmeasured) from a raster.

    ``pixel_size``: the training data's pixel size in the raster's units; the
    raster's must agree within 2 %. ``avoid_wkts``: polygons (WKT in the
    raster's CRS) no patch may touch. Returns an (N, P, P) array, N <= count.
    """
    dataset, source = open_band(path, band, parameter)
    geotransform = dataset.GetGeoTransform()
    if pixel_size and abs(abs(geotransform[1]) - pixel_size) > PIXEL_SIZE_TOLERANCE * pixel_size:
        raise InputError(parameter, f"its pixels are {abs(geotransform[1]):g} map units but the datasets' are "
                                    f"{pixel_size:g}; interpolate it at {pixel_size:g} with insardefo:interpolate")
    height, width = dataset.RasterYSize, dataset.RasterXSize
    if height < patch_size or width < patch_size:
        raise InputError(parameter, f"{width} x {height} px is smaller than one {patch_size} px patch")
    avoid = _avoid_geometry(avoid_wkts, avoid_parameter)
    step = patch_size // 2
    corners = [(row, col) for row in range(0, height - patch_size + 1, step)
               for col in range(0, width - patch_size + 1, step)]
    patches = []
    for position in np.random.default_rng([seed, 3]).permutation(len(corners)):
        if len(patches) == count:
            break
        if is_cancelled and is_cancelled():
            raise Cancelled()
        row, col = corners[position]
        if avoid is not None and avoid.Intersects(_window_polygon(geotransform, row, col, patch_size)):
            continue
        values = read_window(source, (row, col, patch_size, patch_size))
        if np.mean(np.isfinite(values)) >= MIN_COVERAGE:
            patches.append(values.astype(np.float32))
    if not patches:
        raise InputError(parameter, f"no {patch_size} px window is {MIN_COVERAGE:.0%} measured and clear of the "
                                    "areas to avoid")
    return np.stack(patches)
