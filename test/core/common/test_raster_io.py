"""Tests of core/common/raster_io.py's window reading."""
import numpy as np
from osgeo import gdal

from insar_deformation_detector.core.common.raster_io import padded_window

from helpers import write_raster


def test_a_window_beyond_the_raster_is_filled(tmp_path):
    band = gdal.Open(write_raster(str(tmp_path / "v.tif"), np.arange(6, dtype=np.float32).reshape(2, 3)))
    window = padded_window(band.GetRasterBand(1), 1, 2, (2, 2), (2, 3), fill=-9.0)
    assert window.tolist() == [[5.0, -9.0], [-9.0, -9.0]]
