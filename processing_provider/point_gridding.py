"""Velocity points onto a raster grid: the parameters and the step every point-input algorithm shares.

PIXEL_SIZE, EXTENT and TARGET_CRS apply to point input only; the points
(in a projected working CRS) are averaged per cell into a sparse GeoTIFF,
NaN where no point lies, which the core algorithms then read.
"""
import math

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingParameterCrs,
    QgsProcessingParameterExtent,
    QgsProcessingParameterNumber,
)

from .inputs import declared_nodata, error, is_set, read_points, velocity_field_index, working_crs


def gridding_parameters():
    """Definitions of PIXEL_SIZE, EXTENT and TARGET_CRS (all for point input, all optional)."""
    return [
        QgsProcessingParameterNumber("PIXEL_SIZE", "Pixel size (map units of the working CRS; point input)",
                                     type=QgsProcessingParameterNumber.Double, optional=True),
        QgsProcessingParameterExtent("EXTENT", "Output extent (point input; default: the points' extent)",
                                     optional=True),
        QgsProcessingParameterCrs("TARGET_CRS", "Target CRS (projected; point input)", optional=True),
    ]


def grid_points(algorithm, layer, parameters, context, feedback, path):
    """Read the points of ``layer`` (INPUT), check them and write the sparse raster to ``path``.

    Returns the number of measured cells.
    """
    from ..core.interpolation.gridding import grid_for_points, write_point_raster

    target = algorithm.parameterAsCrs(parameters, "TARGET_CRS", context) if is_set(parameters, "TARGET_CRS") else None
    crs = working_crs(layer, target, "INPUT", "TARGET_CRS")
    field_name = algorithm.parameterAsString(parameters, "FIELD", context)
    index = velocity_field_index(layer, field_name, "INPUT", "FIELD")
    if not is_set(parameters, "PIXEL_SIZE"):
        raise error("PIXEL_SIZE", "is required for a point layer (map units of the working CRS)")
    pixel_size = algorithm.parameterAsDouble(parameters, "PIXEL_SIZE", context)
    if not (math.isfinite(pixel_size) and pixel_size > 0):
        raise error("PIXEL_SIZE", f"must be a positive number of map units, got {pixel_size}")
    x, y, v = read_points(layer, index, crs, context, feedback, "INPUT", "FIELD",
                          declared_nodata(algorithm, parameters, context), "NODATA")

    extent = None
    if is_set(parameters, "EXTENT"):
        rectangle = algorithm.parameterAsExtent(parameters, "EXTENT", context, crs)
        if rectangle.isNull() or rectangle.isEmpty():
            raise error("EXTENT", "is empty")
        extent = (rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(), rectangle.yMaximum())
    grid = grid_for_points(x, y, pixel_size, extent)
    feedback.pushInfo(f"Gridding {len(v)} measurements onto {grid.width} x {grid.height} cells "
                      f"of {pixel_size:g} map units in {crs.authid() or crs.description()}")
    cells = write_point_raster(x, y, v, grid, crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED_GDAL), path)
    feedback.pushInfo(f"{cells} measured cells")
    return cells
