"""insardefo:interpolate through processing.run and qgis_process.bin in a real (headless) QGIS."""
import os

import numpy as np
import pytest
from osgeo import gdal

from helpers import RMSE_BOUND, read_raster, rmse, write_points, write_raster

METHOD_NAMES = {0: "matrix completion", 1: "delaunay"}


def check_dense_output(path, scene, scene_files, method):
    assert os.path.exists(path)
    result, info = read_raster(path)
    _, truth_info = read_raster(scene_files["truth"])
    assert info["dtype"] == gdal.GDT_Float32
    assert info["driver"] == "GTiff"
    assert info["size"] == scene.truth.shape
    assert np.allclose(info["geotransform"], truth_info["geotransform"])
    assert np.isnan(info["nodata"])
    assert "OSGB" in info["wkt"] or "27700" in info["wkt"]
    assert np.isfinite(result).mean() > 0.99  # 10 % measured everywhere: nothing is far from data
    error = rmse(result, scene.truth)
    assert error < RMSE_BOUND[method], f"{METHOD_NAMES[method]} RMSE {error:.3f} mm/yr"
    assert error < 0.6 * np.std(scene.truth)
    return error


@pytest.mark.parametrize("method", [0, 1])
def test_points_geopackage(run_algorithm, scene, scene_files, tmp_path, method):
    output = str(tmp_path / "dense.tif")
    results = run_algorithm(INPUT=scene_files["points"], FIELD="velocity", PIXEL_SIZE=10.0,
                            METHOD=method, OUTPUT=output)
    assert results["OUTPUT"] == output
    assert results["MEASURED_CELLS"] == int(np.isfinite(scene.sparse).sum())
    check_dense_output(output, scene, scene_files, method)
    assert os.listdir(tmp_path) == ["dense.tif"]  # no scratch files left


@pytest.mark.parametrize("method", [0, 1])
def test_sparse_raster(run_algorithm, scene, scene_files, tmp_path, method):
    output = str(tmp_path / "dense.tif")
    noise = str(tmp_path / "noise.tif")
    results = run_algorithm(INPUT=scene_files["sparse"], METHOD=method, OUTPUT=output, NOISE=noise)
    assert results["OUTPUT"] == output and results["NOISE"] == noise
    check_dense_output(output, scene, scene_files, method)
    spikes, info = read_raster(noise)
    assert info["size"] == scene.truth.shape and info["dtype"] == gdal.GDT_Float32
    measured = np.isfinite(scene.sparse)
    assert np.isfinite(spikes[measured]).all()
    assert sorted(os.listdir(tmp_path)) == ["dense.tif", "noise.tif"]


def test_points_and_raster_give_the_same_grid_and_values(run_algorithm, scene_files, tmp_path):
    from_points = str(tmp_path / "points.tif")
    from_raster = str(tmp_path / "raster.tif")
    run_algorithm(INPUT=scene_files["points"], FIELD="velocity", PIXEL_SIZE=10.0, METHOD=1, OUTPUT=from_points)
    run_algorithm(INPUT=scene_files["sparse"], METHOD=1, OUTPUT=from_raster)
    a, a_info = read_raster(from_points)
    b, b_info = read_raster(from_raster)
    assert a_info["geotransform"] == b_info["geotransform"]
    np.testing.assert_allclose(a, b, atol=1e-5, equal_nan=True)


def test_cells_far_from_data_are_nodata(run_algorithm, scene, tmp_path):
    sparse = scene.sparse.copy()
    sparse[:, 60:] = np.nan  # no measurement in the right half
    source = write_raster(str(tmp_path / "half.tif"), sparse)
    output = str(tmp_path / "dense.tif")
    run_algorithm(INPUT=source, METHOD=0, MAX_DISTANCE=10, OUTPUT=output)
    result, _ = read_raster(output)
    last_measured = np.nonzero(np.isfinite(sparse).any(axis=0))[0].max()
    assert np.isnan(result[:, last_measured + 11:]).all()
    assert np.isfinite(result[:, : last_measured - 5]).mean() > 0.99


def test_raster_nodata_value_means_no_measurement(run_algorithm, scene, tmp_path):
    sparse = np.where(np.isfinite(scene.sparse), scene.sparse, -9999.0)
    source = write_raster(str(tmp_path / "nodata.tif"), sparse, nodata=-9999.0)
    output = str(tmp_path / "dense.tif")
    run_algorithm(INPUT=source, METHOD=1, OUTPUT=output)
    result, _ = read_raster(output)
    assert rmse(result, scene.truth) < RMSE_BOUND[1]


def test_second_band(run_algorithm, scene, tmp_path):
    stack = np.stack([np.full(scene.sparse.shape, np.nan, dtype=np.float32), scene.sparse])
    stack[0, :2, :2] = 1000.0  # band 1 is junk
    source = write_raster(str(tmp_path / "two_bands.tif"), stack)
    output = str(tmp_path / "dense.tif")
    run_algorithm(INPUT=source, BAND=2, METHOD=1, OUTPUT=output)
    assert rmse(read_raster(output)[0], scene.truth) < RMSE_BOUND[1]


def test_csv_points_through_delimited_text(run_algorithm, scene, tmp_path):
    rows, cols = np.nonzero(np.isfinite(scene.sparse))
    csv = tmp_path / "points.csv"
    with open(csv, "w") as handle:
        handle.write("id,easting,northing,vel_mm_yr\n")
        for index, (row, col) in enumerate(zip(rows, cols)):
            handle.write(f"{index},{400000 + (col + 0.5) * 10},{300000 - (row + 0.5) * 10},"
                         f"{scene.sparse[row, col]:.6f}\n")
    uri = f"file://{csv}?delimiter=,&xField=easting&yField=northing&crs=EPSG:27700"
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(uri, "points", "delimitedtext")
    assert layer.isValid() and layer.featureCount() == len(rows)
    output = str(tmp_path / "dense.tif")
    results = run_algorithm(INPUT=layer, FIELD="vel_mm_yr", PIXEL_SIZE=10, METHOD=1, OUTPUT=output)
    assert results["MEASURED_CELLS"] == len(rows)
    result, info = read_raster(output)
    assert info["size"] == scene.truth.shape
    assert rmse(result, scene.truth) < RMSE_BOUND[1]


def test_points_in_one_cell_are_averaged_exactly(run_algorithm, tmp_path):
    # 10 m cells aligned on multiples of 10: cell (0, 0) spans x 1000-1010, y 2020-2030.
    points = write_points(str(tmp_path / "tiny.gpkg"), [
        (1001.0, 2029.0, 1.0), (1009.0, 2021.0, 2.0), (1005.0, 2025.0, 6.0),  # one cell: mean 3
        (1025.0, 2025.0, 10.0),  # cell (0, 2)
        (1005.0, 2005.0, -4.0),  # cell (2, 0)
        (1025.0, 2005.0, None),  # null: skipped
    ])
    output = str(tmp_path / "dense.tif")
    results = run_algorithm(INPUT=points, FIELD="velocity", PIXEL_SIZE=10, METHOD=1, OUTPUT=output)
    assert results["MEASURED_CELLS"] == 3
    result, info = read_raster(output)
    assert info["geotransform"] == (1000.0, 10.0, 0.0, 2030.0, 0.0, -10.0)
    assert info["size"] == (3, 3)
    # Linear interpolation reproduces the measured cells exactly.
    assert result[0, 0] == pytest.approx(3.0, abs=1e-5)
    assert result[0, 2] == pytest.approx(10.0, abs=1e-5)
    assert result[2, 0] == pytest.approx(-4.0, abs=1e-5)


def test_multipoints_contribute_every_part(run_algorithm, tmp_path):
    points = write_points(str(tmp_path / "multi.gpkg"), [
        (((1005.0, 2025.0), (1025.0, 2025.0)), 5.0),
        (((1005.0, 2005.0),), -5.0),
    ], multipoint=True)
    output = str(tmp_path / "dense.tif")
    results = run_algorithm(INPUT=points, FIELD="velocity", PIXEL_SIZE=10, METHOD=1, OUTPUT=output)
    assert results["MEASURED_CELLS"] == 3
    result, _ = read_raster(output)
    assert result[0, 0] == pytest.approx(5.0) and result[0, 2] == pytest.approx(5.0)
    assert result[2, 0] == pytest.approx(-5.0)


def test_extent_limits_the_grid(run_algorithm, scene_files, tmp_path):
    output = str(tmp_path / "dense.tif")
    run_algorithm(INPUT=scene_files["points"], FIELD="velocity", PIXEL_SIZE=10, METHOD=1,
                  EXTENT="400200,400700,299300,299800 [EPSG:27700]", OUTPUT=output)
    _, info = read_raster(output)
    x_min, size, _, y_max, _, _ = info["geotransform"]
    # Cells are aligned on multiples of the pixel size and cover the extent (core keeps
    # one extra row/column when an edge falls exactly on a cell boundary).
    assert (x_min, size) == (400200.0, 10.0) and y_max in (299800.0, 299810.0)
    assert info["size"][0] in (50, 51) and info["size"][1] in (50, 51)


def test_points_reprojected_to_target_crs(run_algorithm, tmp_path):
    # Points in WGS 84 around 1 deg W, 52 deg N, gridded in British National Grid.
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsProject

    to_wgs84 = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:27700"),
                                      QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance())
    rng = np.random.default_rng(3)
    xs, ys = 450000 + rng.uniform(0, 500, 200), 250000 + rng.uniform(0, 500, 200)
    rows = []
    for x, y in zip(xs, ys):
        point = to_wgs84.transform(QgsPointXY(x, y))
        rows.append((point.x(), point.y(), 0.01 * (x - 450000)))  # a plane: 0..5 mm/yr west to east
    points = write_points(str(tmp_path / "wgs84.gpkg"), rows, epsg=4326)
    output = str(tmp_path / "dense.tif")
    run_algorithm(INPUT=points, FIELD="velocity", PIXEL_SIZE=25, TARGET_CRS="EPSG:27700", METHOD=1,
                  OUTPUT=output)
    result, info = read_raster(output)
    assert "27700" in info["wkt"] or "OSGB" in info["wkt"]
    x_min, size, _, y_max, _, _ = info["geotransform"]
    assert size == 25 and 449950 <= x_min <= 450000 and 250500 <= y_max <= 250550
    centres = x_min + size * (np.arange(result.shape[1]) + 0.5)
    expected = np.broadcast_to(0.01 * (centres - 450000), result.shape)
    inner = np.isfinite(result)
    inner[:, [0, -1]] = False
    inner[[0, -1], :] = False
    np.testing.assert_allclose(result[inner], expected[inner], atol=0.3)


def test_temporary_output(run_algorithm, scene_files):
    results = run_algorithm(INPUT=scene_files["sparse"], METHOD=1, OUTPUT="TEMPORARY_OUTPUT")
    assert results["OUTPUT"].endswith(".tif") and os.path.exists(results["OUTPUT"])


def test_cancel_stops_cleanly(plugin, qgis_processing, scene_files, tmp_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda value: feedback.cancel() if value > 5 else None)
    output = str(tmp_path / "dense.tif")
    results = processing.run("insardefo:interpolate", {"INPUT": scene_files["points"], "FIELD": "velocity",
                                                       "PIXEL_SIZE": 10, "OUTPUT": output},
                             context=QgsProcessingContext(), feedback=feedback)
    assert feedback.isCanceled()
    assert "OUTPUT" not in results
    assert os.listdir(tmp_path) == []


def test_points_layer_through_qgis_process(qgis_process, scene, scene_files, tmp_path):
    output = str(tmp_path / "dense.tif")
    completed, results = qgis_process.run("insardefo:interpolate", {
        "INPUT": scene_files["points"], "FIELD": "velocity", "PIXEL_SIZE": 10, "METHOD": 0, "OUTPUT": output})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT"] == output
    assert results["MEASURED_CELLS"] == int(np.isfinite(scene.sparse).sum())
    result, info = read_raster(output)
    assert info["dtype"] == gdal.GDT_Float32 and info["size"] == scene.truth.shape
    assert rmse(result, scene.truth) < RMSE_BOUND[0]


def test_raster_with_noise_output_through_qgis_process(qgis_process, scene, scene_files, tmp_path):
    output, noise = str(tmp_path / "dense.tif"), str(tmp_path / "noise.tif")
    completed, results = qgis_process.run("insardefo:interpolate", {
        "INPUT": scene_files["sparse"], "METHOD": 1, "MAX_DISTANCE": 15, "OUTPUT": output, "NOISE": noise})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT"] == output and results["NOISE"] == noise
    result, info = read_raster(output)
    assert info["size"] == scene.truth.shape
    assert rmse(result, scene.truth) < RMSE_BOUND[1]
    assert os.path.exists(noise)
