"""Tests of core/detection/measurement_grid.py: the measurement channels on the model grid."""
import numpy as np
from osgeo import gdal

from insar_deformation_detector.core.detection.measurement_grid import MeasurementGrid

from helpers import write_raster


def test_measurements_are_averaged_onto_a_coarser_model_grid_with_their_share(tmp_path):
    sparse = np.full((4, 4), np.nan, np.float32)
    sparse[0, 0], sparse[0, 1], sparse[3, 3] = 2.0, 4.0, -1.0
    measured = gdal.Open(write_raster(str(tmp_path / "sparse.tif"), sparse))
    grid = MeasurementGrid(measured, (2, 2), str(tmp_path))
    mean, share = grid.window(0, 0, (2, 2))
    np.testing.assert_allclose(mean, [[3.0, np.nan], [np.nan, -1.0]])  # mm/yr, NaN where none
    np.testing.assert_allclose(share, [[0.5, 0.0], [0.0, 0.25]])
    mean, share = grid.window(-1, 1, (2, 2))  # outside the map: nothing measured
    assert np.isnan(mean[0]).all() and share[0].tolist() == [0.0, 0.0] and share[1, 0] == 0.0
    grid.close()

