"""Tests of core/common/raster_io.py's window reading."""
import numpy as np
from osgeo import gdal

from insar_deformation_detector.core.common.raster_io import (
    OUTPUT_OPTIONS,
    SCRATCH_OPTIONS,
    create_like,
    padded_window,
    threaded,
)

from helpers import write_raster


def test_a_window_beyond_the_raster_is_filled(tmp_path):
    band = gdal.Open(write_raster(str(tmp_path / "v.tif"), np.arange(6, dtype=np.float32).reshape(2, 3)))
    window = padded_window(band.GetRasterBand(1), 1, 2, (2, 2), (2, 3), fill=-9.0)
    assert window.tolist() == [[5.0, -9.0], [-9.0, -9.0]]


def test_compressing_options_gain_the_thread_budget_and_a_compressed_output_reads_back_the_same(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threaded(OUTPUT_OPTIONS)[-1] == "NUM_THREADS=3"
    assert threaded(SCRATCH_OPTIONS) == SCRATCH_OPTIONS
    values = np.random.default_rng(0).normal(size=(300, 520)).astype(np.float32)
    template = gdal.Open(write_raster(str(tmp_path / "v.tif"), values))
    written = create_like(str(tmp_path / "out.tif"), template)
    written.GetRasterBand(1).WriteArray(values)
    written = None
    assert np.array_equal(gdal.Open(str(tmp_path / "out.tif")).ReadAsArray(), values)
