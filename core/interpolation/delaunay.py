"""Linear interpolation on the Delaunay triangulation of the measured pixels.

Uses GDAL's linear gridder (its own Delaunay triangulation and facet walk, in
C), which stays fast on the clustered sampling of persistent scatterers where
scipy's point location degrades to brute force.
"""
import uuid

import numpy as np
from osgeo import gdal
from scipy.spatial import cKDTree

from ..common.errors import Cancelled
from ..common.raster_io import checked

_LAYER_VRT = ('<OGRVRTDataSource><OGRVRTLayer name="samples"><SrcDataSource>{csv}</SrcDataSource>'
              '<SrcLayer>{layer}</SrcLayer>'
              '<GeometryType>wkbPoint</GeometryType>'
              '<GeometryField encoding="PointFromColumns" x="x" y="y" z="z"/>'
              '</OGRVRTLayer></OGRVRTDataSource>')


def delaunay_interpolate(rows, cols, values, shape, is_cancelled=None):
    """Dense (H, W) float64 field interpolated linearly from pixel samples.

    ``rows``, ``cols`` index the measured pixels of a ``shape`` grid and
    ``values`` holds their velocities (mm/yr). Inside the samples' convex
    hull the field is linear on their Delaunay triangulation; beyond it each
    pixel takes its nearest sample's value. Samples on one straight line span
    no triangle: then every pixel takes its nearest sample's value.
    ``is_cancelled()`` is polled while GDAL grids; True raises Cancelled.
    """
    if _collinear(rows, cols):
        return _nearest(rows, cols, values, shape)
    height, width = shape
    table = np.column_stack([np.asarray(cols) + 0.5, height - (np.asarray(rows) + 0.5),
                             np.asarray(values, dtype=float)])
    layer = f"insardefo-delaunay-{uuid.uuid4().hex}"
    base = f"/vsimem/{layer}"
    text = "x,y,z\n" + "\n".join(f"{x:.1f},{y:.1f},{z:.9g}" for x, y, z in table)
    try:
        gdal.FileFromMemBuffer(f"{base}.csv", text.encode())
        gdal.FileFromMemBuffer(f"{base}.vrt", _LAYER_VRT.format(csv=f"{base}.csv", layer=layer).encode())
        grid = gdal.Grid(f"{base}.tif", f"{base}.vrt", format="MEM", outputType=gdal.GDT_Float64,
                         algorithm="linear:radius=-1", outputBounds=[0, 0, width, height],
                         width=width, height=height, callback=_abort_when(is_cancelled))
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        return checked(grid, "triangulate the measurements").ReadAsArray()
    finally:
        for suffix in (".csv", ".vrt"):
            gdal.Unlink(f"{base}{suffix}")


def _abort_when(is_cancelled):
    """A GDAL progress callback that stops the work once ``is_cancelled()`` is True."""
    if is_cancelled is None:
        return None
    return lambda complete, message, data: 0 if is_cancelled() else 1


def _collinear(rows, cols):
    """Whether the samples lie on one straight line (or are fewer than three)."""
    offsets = np.column_stack([rows, cols]).astype(float)
    return len(offsets) < 3 or np.linalg.matrix_rank(offsets - offsets.mean(axis=0)) < 2


def _nearest(rows, cols, values, shape):
    """(H, W) field where every pixel takes the value of its nearest sample."""
    grid = np.mgrid[0 : shape[0], 0 : shape[1]].reshape(2, -1).T
    nearest = cKDTree(np.column_stack([rows, cols])).query(grid)[1]
    return np.asarray(values, dtype=float)[nearest].reshape(shape)
