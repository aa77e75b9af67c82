"""Point files (GeoPackage, shapefile, ...) of persistent scatterers gridded without QGIS, through OGR."""
import numpy as np
from osgeo import gdal, ogr

from ..common.errors import InputError
from .gridding import grid_for_points, write_point_raster


def is_point_file(path):
    """Whether ``path`` opens as a vector file (and not as a raster)."""
    return gdal.OpenEx(path, gdal.OF_VECTOR) is not None and gdal.OpenEx(path, gdal.OF_RASTER) is None


def grid_point_file(path, field, pixel_size, output_path, parameter="INPUT"):
    """Grid the first layer's points of the vector file ``path`` (``field`` in mm/yr) at ``pixel_size``
    CRS units into the GeoTIFF ``output_path`` (see core.interpolation.gridding); returns its path.

    InputError naming ``parameter`` for a file without points or in a geographic CRS, "--field" for
    a missing field.
    """
    source = gdal.OpenEx(path, gdal.OF_VECTOR)
    layer = source.GetLayer(0)
    reference = layer.GetSpatialRef()
    if reference is None or reference.IsGeographic():
        raise InputError(parameter, f"{path} must be in a projected CRS (metres); reproject it first")
    if layer.GetLayerDefn().GetFieldIndex(field) < 0:
        raise InputError("--field", f"{path} has no field '{field}'")
    x, y, values = [], [], []
    for feature in layer:
        geometry, value = feature.GetGeometryRef(), feature.GetField(field)
        if geometry is None or value is None:
            continue
        for point in _points(geometry):
            x.append(point[0])
            y.append(point[1])
            values.append(float(value))
    if not x:
        raise InputError(parameter, f"{path} holds no point with a '{field}' value")
    grid = grid_for_points(np.array(x), np.array(y), pixel_size)
    write_point_raster(x, y, values, grid, reference.ExportToWkt(), output_path)
    return output_path


def _points(geometry):
    """The (x, y) of a point or of each point of a multipoint."""
    if ogr.GT_Flatten(geometry.GetGeometryType()) == ogr.wkbMultiPoint:
        return [geometry.GetGeometryRef(index).GetPoint_2D() for index in range(geometry.GetGeometryCount())]
    return [geometry.GetPoint_2D()]
