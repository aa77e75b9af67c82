"""The run folder's input identity: files by path and time, virtual rasters by content."""
import os

import numpy as np
from osgeo import gdal

from insar_deformation_detector.core.distributed.run_folder import input_identity

from helpers import write_raster


def _band_vrt(folder, source, band, nodata):
    """A VRT of ``band`` of ``source`` declaring ``nodata``, in ``folder`` (made for it)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "band.vrt")
    gdal.Translate(path, source, format="VRT", bandList=[band], noData=nodata)
    return path


def test_the_same_band_of_the_same_file_in_another_folder_is_the_same_input(tmp_path):
    source = write_raster(str(tmp_path / "two.tif"), np.zeros((2, 20, 30)), nodata=None)
    first = input_identity(_band_vrt(str(tmp_path / "a"), source, 2, -9999.0))
    assert input_identity(_band_vrt(str(tmp_path / "b" / "deeper"), source, 2, -9999.0)) == first
    assert input_identity(_band_vrt(str(tmp_path / "c"), source, 1, -9999.0)) != first
    assert input_identity(_band_vrt(str(tmp_path / "d"), source, 2, 0.0)) != first


def test_a_changed_source_under_a_virtual_raster_is_another_input(tmp_path):
    source = write_raster(str(tmp_path / "two.tif"), np.zeros((2, 20, 30)), nodata=None)
    vrt = _band_vrt(str(tmp_path / "a"), source, 2, -9999.0)
    before = input_identity(vrt)
    write_raster(source, np.ones((2, 20, 30)), nodata=None)
    os.utime(source, ns=(0, 1))
    assert input_identity(vrt) != before


def test_a_file_is_named_by_its_path_and_time(tmp_path):
    path = write_raster(str(tmp_path / "one.tif"), np.zeros((20, 30)))
    identity = input_identity(path)
    assert identity["path"] == os.path.abspath(path) and identity["width"] == 30 and identity["height"] == 20
    os.utime(path, ns=(0, 1))
    assert input_identity(path) != identity


def test_statistics_written_into_a_virtual_raster_leave_it_the_same_input(tmp_path):
    source = write_raster(str(tmp_path / "two.tif"), np.arange(1200.0).reshape(2, 20, 30), nodata=None)
    vrt = _band_vrt(str(tmp_path / "a"), source, 2, -9999.0)
    before = input_identity(vrt)
    dataset = gdal.Open(vrt)
    dataset.GetRasterBand(1).ComputeStatistics(False)
    dataset = None
    assert "STATISTICS_MEAN" in open(vrt, encoding="utf-8").read()
    assert input_identity(vrt) == before
