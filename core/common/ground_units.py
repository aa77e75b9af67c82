"""Pixel sizes in metres on the ground, in any CRS, geographic ones included.

LiCSAR, LiCSBAS and MintPy products come in EPSG:4326, whose pixels are fractions of a degree:
their size on the ground follows from the latitude. Projected CRSs give it through their linear
unit (metres, feet).
"""
import math

from osgeo import osr

EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG); the spherical approximation errs by under 0.5 %


def pixel_size_m(dataset):
    """(width, height) of a GDAL raster's pixels in metres, at the raster's centre for geographic CRSs.

    A raster without a CRS is taken to be in metres.
    """
    transform = dataset.GetGeoTransform()
    width, height = math.hypot(transform[1], transform[2]), math.hypot(transform[4], transform[5])
    reference = osr.SpatialReference()
    if not dataset.GetProjection() or reference.ImportFromWkt(dataset.GetProjection()) != 0:
        return width, height
    if reference.IsGeographic():
        latitude = transform[3] + transform[5] * dataset.RasterYSize / 2 + transform[4] * dataset.RasterXSize / 2
        metres_per_degree = math.radians(1.0) * EARTH_RADIUS_M
        return width * metres_per_degree * math.cos(math.radians(latitude)), height * metres_per_degree
    unit = reference.GetLinearUnits() or 1.0
    return width * unit, height * unit


def ground_area_m2(geometry, reference):
    """Area in square metres of an OGR ``geometry`` in the CRS ``reference`` (an osr.SpatialReference or None).

    Geographic geometries are projected onto a Lambert azimuthal equal-area plane centred on
    them; projected ones are scaled by their linear unit; without a CRS the units are metres.
    """
    if reference is None:
        return geometry.GetArea()
    if not reference.IsGeographic():
        return geometry.GetArea() * (reference.GetLinearUnits() or 1.0) ** 2
    centre = geometry.Centroid()
    equal_area = osr.SpatialReference()
    equal_area.SetLAEA(centre.GetY(), centre.GetX(), 0.0, 0.0)
    source = reference.Clone()
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    projected = geometry.Clone()
    projected.Transform(osr.CoordinateTransformation(source, equal_area))
    return projected.GetArea()
