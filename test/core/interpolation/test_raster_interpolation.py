"""Tests of core/interpolation/raster_interpolation.py.

A raster end to end without QGIS: no-data, tiling, atomic outputs, errors.
"""
import os

import numpy as np
import pytest
from osgeo import gdal

from insar_deformation_detector.core.common.errors import Cancelled, InputError
from insar_deformation_detector.core.interpolation.raster_interpolation import interpolate_raster, looks_sparse
from insar_deformation_detector.core.synthesis.synthetic_scene import make_sparse_scene, rmse, write_scene

from helpers import file_hash, read_raster, write_raster


@pytest.fixture(scope="module")
def tiling_scene(tmp_path_factory):
    """A 300 x 260 px scene written to GeoTIFF and GeoPackage."""
    return write_scene(make_sparse_scene(300, 260, seed=21), str(tmp_path_factory.mktemp("scene")))


def test_output_is_float32_tiled_compressed_on_the_input_grid(tiling_scene, tmp_path):
    output = str(tmp_path / "dense.tif")
    summary = interpolate_raster(tiling_scene["sparse"], output)
    dataset = gdal.Open(output)
    assert (dataset.RasterXSize, dataset.RasterYSize) == (260, 300)
    assert dataset.GetGeoTransform() == gdal.Open(tiling_scene["sparse"]).GetGeoTransform()
    assert dataset.GetRasterBand(1).DataType == gdal.GDT_Float32
    assert np.isnan(dataset.GetRasterBand(1).GetNoDataValue())
    structure = dataset.GetMetadata("IMAGE_STRUCTURE")
    assert structure["COMPRESSION"] == "DEFLATE"
    assert dataset.GetRasterBand(1).GetBlockSize() == [256, 256]
    assert summary["measured_cells"] == int(np.isfinite(read_raster(tiling_scene["sparse"])[0]).sum())
    assert rmse(output, tiling_scene["truth"]) < 0.7


def test_matrix_completion_beats_delaunay_through_files(tiling_scene, tmp_path):
    mc, dt = str(tmp_path / "mc.tif"), str(tmp_path / "dt.tif")
    interpolate_raster(tiling_scene["sparse"], mc)
    interpolate_raster(tiling_scene["sparse"], dt, method="delaunay")
    assert rmse(mc, tiling_scene["truth"]) < 0.8 * rmse(dt, tiling_scene["truth"])  # measured 0.70


def test_tiled_and_untiled_results_agree(tiling_scene, tmp_path):
    whole, tiled = str(tmp_path / "whole.tif"), str(tmp_path / "tiled.tif")
    assert interpolate_raster(tiling_scene["sparse"], whole)["tiles"] == 1
    assert interpolate_raster(tiling_scene["sparse"], tiled, tile_size=128)["tiles"] == 9
    a, b = read_raster(whole)[0], read_raster(tiled)[0]
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    difference = a - b
    assert np.sqrt(np.nanmean(difference ** 2)) < 0.03  # mm/yr
    assert np.nanmax(np.abs(difference)) < 0.25


def test_nodata_value_means_no_measurement_and_far_cells_stay_empty(tmp_path):
    array = np.full((80, 90), -9999.0, dtype=np.float32)
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 40, 300), rng.integers(0, 45, 300)  # only the top-left quarter
    array[rows, cols] = 2.0 + 0.05 * rows
    source = write_raster(str(tmp_path / "sparse.tif"), array, nodata=-9999.0)
    before = file_hash(source)
    output = str(tmp_path / "dense.tif")
    interpolate_raster(source, output, max_distance=10)
    dense = read_raster(output)[0]
    assert np.isnan(dense[60:, :]).all() and np.isnan(dense[:, 60:]).all()
    inside = dense[5:35, 5:40]
    assert np.isfinite(inside).all()
    assert 1.5 < np.nanmin(dense) and np.nanmax(dense) < 4.5  # no -9999 leaks into the result
    assert file_hash(source) == before


def test_noise_map_is_the_median_residual(tmp_path):
    array = np.full((40, 40), np.nan, dtype=np.float32)
    array[5:15, 5:15] = 1.0
    array[10, 10] = 21.0  # a spike among neighbours of 1 mm/yr
    array[30, 30] = 4.0  # alone: its own median
    source = write_raster(str(tmp_path / "sparse.tif"), array)
    noise_path = str(tmp_path / "noise.tif")
    interpolate_raster(source, str(tmp_path / "dense.tif"), noise_path=noise_path)
    noise = read_raster(noise_path)[0]
    assert noise[10, 10] == pytest.approx(20.0)
    assert noise[12, 12] == 0.0 and noise[30, 30] == 0.0
    assert np.isnan(noise[20, 20]) and np.isfinite(noise).sum() == 101


def test_cancel_leaves_no_output_and_no_scratch(tiling_scene, tmp_path):
    output = str(tmp_path / "dense.tif")
    calls = []
    with pytest.raises(Cancelled):
        interpolate_raster(tiling_scene["sparse"], output, noise_path=str(tmp_path / "noise.tif"),
                           is_cancelled=lambda: calls.append(1) or len(calls) > 20)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("array, message", [
    (np.full((20, 20), np.nan, dtype=np.float32), "no valid cell"),
    (np.where(np.eye(20) * np.arange(20) == 3, 1.0, np.nan).astype(np.float32), "at least 3"),
    (np.where(np.eye(20), np.inf, 1.0).astype(np.float32), "infinite"),
])
def test_bad_rasters_name_input(tmp_path, array, message):
    source = write_raster(str(tmp_path / "bad.tif"), array)
    output = str(tmp_path / "dense.tif")
    with pytest.raises(InputError) as error:
        interpolate_raster(source, output)
    assert error.value.parameter == "INPUT" and message in str(error.value)
    assert not os.path.exists(output)


def test_bad_band_and_same_output_name_their_parameters(tiling_scene, tmp_path):
    with pytest.raises(InputError) as error:
        interpolate_raster(tiling_scene["sparse"], str(tmp_path / "x.tif"), band=2)
    assert error.value.parameter == "BAND"
    with pytest.raises(InputError) as error:
        interpolate_raster(tiling_scene["sparse"], tiling_scene["sparse"])
    assert error.value.parameter == "OUTPUT"


def test_cancel_interrupts_delaunay_gridding(tiling_scene, tmp_path):
    polls = []
    with pytest.raises(Cancelled):
        interpolate_raster(tiling_scene["sparse"], str(tmp_path / "dt.tif"), method="delaunay",
                           is_cancelled=lambda: polls.append(1) or len(polls) > 1)
    # the first poll is the measurement count; GDAL calls back a varying number of times (its threads'
    # timing), so the second poll comes inside the first tile's gridding or right after it
    assert 1 < len(polls) < 10
    assert os.listdir(tmp_path) == []


def test_sparse_and_dense_rasters_are_told_apart(real_looking):
    assert looks_sparse(real_looking["sparse"]) and not looks_sparse(real_looking["dense"])


def test_tiles_of_scattered_measurements_leave_no_holes_along_their_edges(tmp_path):
    rng = np.random.default_rng(0)
    array = np.full((700, 700), np.nan, np.float32)
    measured = rng.random(array.shape) < 0.003  # scattered: many window edges lack a neighbour inside
    array[measured] = rng.normal(0.0, 2.0, measured.sum())
    source = write_raster(str(tmp_path / "sparse.tif"), array)
    whole, tiled = str(tmp_path / "whole.tif"), str(tmp_path / "tiled.tif")
    interpolate_raster(source, whole, method="delaunay", max_distance=20)
    assert interpolate_raster(source, tiled, method="delaunay", tile_size=300, max_distance=20)["tiles"] == 9
    np.testing.assert_array_equal(np.isnan(read_raster(whole)[0]), np.isnan(read_raster(tiled)[0]))


def test_a_tile_without_measurements_costs_only_its_reading(tmp_path, monkeypatch):
    from insar_deformation_detector.core.interpolation import raster_interpolation

    values = np.full((200, 900), np.nan)
    values[::7, :200:5] = 3.0  # measurements in the west only: the eastern tiles' windows hold none
    path = write_raster(str(tmp_path / "west.tif"), values)
    calls, interpolate = [], raster_interpolation.interpolate_array
    monkeypatch.setattr(raster_interpolation, "interpolate_array",
                        lambda sparse, *arguments: calls.append(sparse.shape) or interpolate(sparse, *arguments))
    summary = raster_interpolation.interpolate_raster(path, str(tmp_path / "dense.tif"), method="delaunay",
                                                      tile_size=128)
    dense = read_raster(str(tmp_path / "dense.tif"))[0]
    assert summary["tiles"] == 16 and len(calls) == 6
    assert np.isnan(dense[:, 240:]).all() and np.allclose(dense[:, :190], 3.0)
