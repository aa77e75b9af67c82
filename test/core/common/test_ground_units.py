"""Tests of core/common/ground_units.py: pixel sizes in metres in projected and geographic CRSs."""
import math

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from insar_deformation_detector.core.common.ground_units import ground_area_m2, pixel_size_m

from helpers import srs


def raster(geotransform, epsg):
    dataset = gdal.GetDriverByName("MEM").Create("", 100, 80, 1, gdal.GDT_Float32)
    dataset.SetGeoTransform(geotransform)
    if epsg:
        dataset.SetProjection(srs(epsg).ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(np.zeros((80, 100), np.float32))
    return dataset


def test_projected_pixels_are_their_size_in_metres():
    assert pixel_size_m(raster((400000.0, 10.0, 0.0, 300000.0, 0.0, -10.0), 27700)) == (10.0, 10.0)


def test_geographic_pixels_shrink_east_west_with_latitude():
    # 0.0004 degrees at 60 degrees north (centre row): ~44.5 m north-south, half that east-west
    width, height = pixel_size_m(raster((10.0, 0.0004, 0.0, 60.016, 0.0, -0.0004), 4326))
    assert height == pytest.approx(44.48, abs=0.05)
    assert width == pytest.approx(height * math.cos(math.radians(60.0)), rel=1e-3)


def test_a_raster_without_crs_is_taken_in_metres():
    assert pixel_size_m(raster((0.0, 25.0, 0.0, 0.0, 0.0, -25.0), None)) == (25.0, 25.0)


def test_areas_are_square_metres_on_the_ground_in_any_crs():
    square = ogr.CreateGeometryFromWkt("POLYGON ((10 60, 10.001 60, 10.001 60.001, 10 60.001, 10 60))")
    # on the WGS84 ellipsoid: meridional and prime-vertical radii of curvature at 60.0005 degrees north
    a, e2, latitude = 6378137.0, 0.00669437999014, math.radians(60.0005)
    meridional = a * (1 - e2) / (1 - e2 * math.sin(latitude) ** 2) ** 1.5
    prime_vertical = a / math.sqrt(1 - e2 * math.sin(latitude) ** 2)
    expected = math.radians(0.001) ** 2 * meridional * prime_vertical * math.cos(latitude)
    assert ground_area_m2(square, srs(4326)) == pytest.approx(expected, rel=1e-4)
    field = ogr.CreateGeometryFromWkt("POLYGON ((0 0, 100 0, 100 50, 0 50, 0 0))")
    assert ground_area_m2(field, srs(27700)) == 5000.0
    feet = osr.SpatialReference()
    feet.ImportFromEPSG(2227)  # California zone 3, US survey feet
    assert ground_area_m2(field, feet) == pytest.approx(5000.0 * 0.3048006096 ** 2)
    assert ground_area_m2(field, None) == 5000.0
