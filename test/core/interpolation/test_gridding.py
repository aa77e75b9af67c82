"""Tests of core/interpolation/gridding.py: points onto a raster grid."""
import numpy as np
import pytest

from insar_deformation_detector.core.common.errors import InputError
from insar_deformation_detector.core.interpolation.gridding import grid_for_points, write_point_raster

from helpers import read_raster


def test_points_average_per_cell_on_an_aligned_grid(tmp_path):
    x = np.array([1005.0, 1007.0, 1033.0, 1051.0, 1099.0])
    y = np.array([2095.0, 2091.0, 2061.0, 2051.0, 2001.0])
    v = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    grid = grid_for_points(x, y, 10.0)
    assert (grid.x_min, grid.y_max, grid.width, grid.height) == (1000.0, 2100.0, 10, 10)
    path = str(tmp_path / "points.tif")
    assert write_point_raster(x, y, v, grid, "", path) == 4
    raster, _ = read_raster(path)
    assert raster[0, 0] == 2.0 and raster[3, 3] == 5.0 and raster[4, 5] == 7.0 and raster[9, 9] == 9.0
    assert np.isfinite(raster).sum() == 4


def test_absurd_grid_and_bad_values_name_their_parameters(tmp_path):
    x, y = np.array([0.0, 1e6, 5e5]), np.array([0.0, 1e6, 5e5])
    with pytest.raises(InputError) as error:
        grid_for_points(x, y, 0.01)
    assert error.value.parameter == "PIXEL_SIZE" and "2,000,000,000" in str(error.value)
    with pytest.raises(InputError) as error:
        grid_for_points(x, y, -5.0)
    assert error.value.parameter == "PIXEL_SIZE"
    with pytest.raises(InputError) as error:
        grid_for_points(x, y, 100.0, extent=(2e6, 2e6, 3e6, 3e6))
    assert error.value.parameter == "EXTENT"
    grid = grid_for_points(x, y, 1e5)
    with pytest.raises(InputError) as error:
        write_point_raster(x, y, np.array([1.0, np.inf, 2.0]), grid, "", str(tmp_path / "p.tif"))
    assert error.value.parameter == "FIELD"
    with pytest.raises(InputError) as error:
        write_point_raster(x[:2], y[:2], np.array([1.0, 2.0]), grid, "", str(tmp_path / "p.tif"))
    assert error.value.parameter == "INPUT"


def test_extent_edges_on_cell_boundaries_add_no_cell():
    x, y = np.array([400205.0, 400695.0, 400400.0]), np.array([299815.0, 300295.0, 300000.0])
    grid = grid_for_points(x, y, 10.0, extent=(400200.0, 299800.0, 400700.0, 300300.0))
    assert (grid.x_min, grid.y_max, grid.width, grid.height) == (400200.0, 300300.0, 50, 50)
    on_edge = grid_for_points(np.array([0.0, 100.0, 50.0]), np.array([0.0, 100.0, 20.0]), 10.0)
    assert (on_edge.width, on_edge.height) == (11, 11)  # the points on the far edges keep their cells
    assert on_edge.cells_of([100.0], [100.0])[2][0]


def test_a_grid_far_emptier_than_its_points_is_refused():
    x, y = np.array([0.0, 2e4, 1e4]), np.array([0.0, 2e4, 1e4])
    assert grid_for_points(x, y, 200.0).width == 101  # 10,201 cells for 3 points: allowed
    with pytest.raises(InputError) as error:
        grid_for_points(x, y, 100.0)  # 40,401 cells for 3 points
    assert error.value.parameter == "PIXEL_SIZE" and "cells per point" in str(error.value)
