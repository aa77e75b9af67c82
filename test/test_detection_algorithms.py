"""insardefo:detect, combine and threshold through processing.run and qgis_process.bin in real QGIS."""
import os

import numpy as np
import pytest
from osgeo import gdal, ogr, osr
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from conftest import file_hash
from helpers import read_raster, write_raster
from insar_deformation_detector.core.areas import FIELDS
from insar_deformation_detector.core.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.raster_grid import GridSpec
from insar_deformation_detector.core.synthetic_scene import make_scene, write_scene_outputs


def _scene(folder, seed, point_sources, size=448):
    """Sparse raster, points and truth of a synthetic scene at 10 m with wide point sources."""
    scene = make_scene(GridSpec(400000.0, 300000.0, 10.0, size, size), seed=seed, point_sources=point_sources,
                       tunnels=0, ranges=WIDE_POINT_SOURCES)
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    paths = {name: str(folder / f"{name}{extension}") for name, extension in
             (("sparse", ".tif"), ("points", ".gpkg"), ("truth", ".gpkg"))}
    write_scene_outputs(scene, paths, reference.ExportToWkt())
    return scene, paths


@pytest.fixture(scope="module")
def source_scene(tmp_path_factory):
    return _scene(tmp_path_factory.mktemp("source-scene"), seed=11, point_sources=1)


def _rows(path):
    source = ogr.Open(path)
    rows = [feature.items() for feature in source.GetLayerByName("areas")]
    return rows


def test_detect_writes_the_probability_map_and_areas_of_a_sparse_raster(run, source_scene, tmp_path):
    scene, paths = source_scene
    probability, areas = str(tmp_path / "p.tif"), str(tmp_path / "areas.gpkg")
    results = run("detect", INPUT=paths["sparse"], OUTPUT_PROBABILITY=probability, OUTPUT_AREAS=areas)
    values, info = read_raster(probability)
    assert info["dtype"] == gdal.GDT_Float32 and info["size"] == (448, 448)
    assert info["geotransform"] == gdal.Open(paths["sparse"]).GetGeoTransform()
    assert np.nanmin(values) >= 0.0 and np.nanmax(values) <= 1.0
    rows = _rows(areas)
    assert results["AREAS"] == sum(row["level"] == 0.5 for row in rows)
    assert set(rows[0]) == {name for name, _ in FIELDS}
    for row in rows:
        assert row["class"] in ("point_source", "tunnel") and row["sense"] in ("subsidence", "uplift")
        assert row["max_probability"] >= row["level"] and row["measurements"] >= 0


def test_a_synthetic_source_is_found_and_stable_noise_is_not(run, source_scene, tmp_path):
    scene, paths = source_scene
    source = scene.sources[0]
    stable_scene, stable_paths = _scene(tmp_path, seed=12, point_sources=0)
    found = {}
    for name, sparse in (("source", paths["sparse"]), ("stable", stable_paths["sparse"])):
        probability = str(tmp_path / f"{name}.tif")
        run("detect", INPUT=sparse, THRESHOLDS="0.9", OUTPUT_PROBABILITY=probability,
            OUTPUT_AREAS=str(tmp_path / f"{name}.gpkg"))
        found[name] = read_raster(probability)[0]
    column = int((source["centre_x"] - 400000.0) / 10.0)
    row = int((300000.0 - source["centre_y"]) / 10.0)
    assert found["source"][row, column] >= 0.9
    assert np.nanmax(found["stable"]) < 0.9


class CancelDuringDetection(QgsProcessingFeedback):
    """Presses Cancel once detection has started (past the interpolation's share of the bar)."""

    def setProgress(self, progress):  # noqa: N802 (QGIS API)
        super().setProgress(progress)
        if progress > 40:
            self.cancel()


def test_cancel_stops_detection_and_leaves_no_output(run, source_scene, tmp_path):
    _, paths = source_scene
    probability, areas = str(tmp_path / "p.tif"), str(tmp_path / "areas.gpkg")
    results = run("detect", feedback=CancelDuringDetection(), INPUT=paths["sparse"], OUTPUT_PROBABILITY=probability,
                  OUTPUT_AREAS=areas)
    assert results == {}
    assert os.listdir(tmp_path) == []


def test_combine_averages_a_pair_and_takes_the_best_of_four_pairs(run, tmp_path):
    up1, up2, down1, down2 = (np.full((30, 40), value) for value in (0.2, 0.9, 0.4, 0.6))
    up1[0, 0] = np.nan  # one map of a pair without data: the other's value stands
    paths = [write_raster(str(tmp_path / f"{name}.tif"), array)
             for name, array in (("a1", up1), ("a2", up2), ("d1", down1), ("d2", down2))]
    two, four = str(tmp_path / "two.tif"), str(tmp_path / "four.tif")
    run("combine", ASCENDING=[paths[0]], DESCENDING=[paths[2]], OUTPUT_PROBABILITY=two,
        OUTPUT_AREAS=str(tmp_path / "two.gpkg"))
    combined = read_raster(two)[0]
    assert combined[0, 0] == pytest.approx(0.4) and combined[5, 5] == pytest.approx(0.3)
    results = run("combine", ASCENDING=paths[:2], DESCENDING=paths[2:], OUTPUT_PROBABILITY=four,
                  OUTPUT_AREAS=str(tmp_path / "four.gpkg"))
    assert read_raster(four)[0][5, 5] == pytest.approx((0.9 + 0.6) / 2)
    rows = _rows(results["OUTPUT_AREAS"])
    assert [row["level"] for row in rows] == [0.5, 0.75]  # the whole map, one area per level reached
    assert rows[0]["area_m2"] == pytest.approx(30 * 40 * 100.0) and rows[0]["mean_velocity_mm_yr"] is None


def test_combine_resamples_onto_the_first_ascending_grid(run, tmp_path):
    fine = write_raster(str(tmp_path / "fine.tif"), np.full((40, 40), 0.8))
    coarse = write_raster(str(tmp_path / "coarse.tif"), np.full((10, 10), 0.4),
                          geotransform=(400000.0, 40.0, 0.0, 300000.0, 0.0, -40.0))
    output = str(tmp_path / "combined.tif")
    run("combine", ASCENDING=[fine], DESCENDING=[coarse], OUTPUT_PROBABILITY=output,
        OUTPUT_AREAS=str(tmp_path / "areas.gpkg"))
    combined, info = read_raster(output)
    assert info["size"] == (40, 40) and info["geotransform"][1] == 10.0
    assert combined[20, 20] == pytest.approx(0.6)


def test_threshold_finds_a_cluster_and_drops_a_lone_spike(run, tmp_path):
    velocity = np.full((120, 120), np.nan)
    velocity[::3, ::3] = 0.5  # stable measurements every third pixel
    velocity[30:42:3, 30:42:3] = -6.0  # a cluster of 16 subsiding measurements
    velocity[90, 90] = 8.0  # one spike
    source = write_raster(str(tmp_path / "velocity.tif"), velocity)
    results = run("threshold", INPUT=source, OUTPUT_AREAS=str(tmp_path / "areas.gpkg"),
                  OUTPUT_LEVELS=str(tmp_path / "levels.tif"))
    rows = _rows(results["OUTPUT_AREAS"])
    assert [row["level"] for row in rows] == [3.0, 4.5, 5.0] and results["AREAS"] == 1
    cluster = rows[0]
    assert cluster["sense"] == "subsidence" and cluster["extreme_velocity_mm_yr"] == pytest.approx(-6.0)
    # the cluster spans pixels 30..39, the 18 px square dilation adds 9 before and 8 after, and the
    # 3 x 3 median takes off the square's four corner pixels (4 of their 9 neighbours are inside)
    assert cluster["area_m2"] == pytest.approx(((10 + 17) ** 2 - 4) * 100.0)
    assert cluster["max_probability"] is None and cluster["measurements"] > 16
    levels = read_raster(results["OUTPUT_LEVELS"])[0]
    assert levels[35, 35] == 5.0 and levels[90, 90] == 5.0 and levels[60, 60] == 0.0


@pytest.mark.parametrize("case", ["small", "nodata", "thresholds", "model", "points_without_interpolation"])
def test_bad_detection_input_names_the_parameter(run, tiny_model, source_scene, tmp_path, case):
    _, paths = source_scene
    base = {"INPUT": paths["sparse"], "OUTPUT_PROBABILITY": str(tmp_path / "p.tif"),
            "OUTPUT_AREAS": str(tmp_path / "areas.gpkg")}
    parameters, words = {
        "small": ({"INPUT": write_raster(str(tmp_path / "small.tif"), np.zeros((100, 300)))},
                  "INPUT: is 300 x 100 pixels, smaller than one 224 x 224 window"),
        "nodata": ({"INPUT": write_raster(str(tmp_path / "empty.tif"), np.full((230, 230), np.nan)),
                    "INTERPOLATION": 3}, "INPUT: has no valid cell"),
        "thresholds": ({"THRESHOLDS": "0.5,1.2"}, "THRESHOLDS: values must lie in (0, 1]"),
        "model": ({"MODEL": tiny_model[0]}, "64-pixel inputs"),
        "points_without_interpolation": ({"INPUT": paths["points"], "FIELD": "velocity", "PIXEL_SIZE": 10,
                                          "INTERPOLATION": 3}, "INTERPOLATION: a point layer must be interpolated"),
    }[case]
    with pytest.raises(QgsProcessingException) as error:
        run("detect", **dict(base, **parameters))
    assert words in str(error.value)
    assert not os.path.exists(base["OUTPUT_PROBABILITY"]) and not os.path.exists(base["OUTPUT_AREAS"])


def test_detect_never_writes_over_its_input(run, source_scene, tmp_path):
    _, paths = source_scene
    before = file_hash(paths["sparse"])
    with pytest.raises(QgsProcessingException) as error:
        run("detect", INPUT=paths["sparse"], OUTPUT_PROBABILITY=paths["sparse"],
            OUTPUT_AREAS=str(tmp_path / "areas.gpkg"))
    assert "OUTPUT_PROBABILITY: is the same file as INPUT" in str(error.value)
    assert file_hash(paths["sparse"]) == before and os.listdir(tmp_path) == []


def test_combine_refuses_maps_that_do_not_fit(run, tmp_path):
    inside = write_raster(str(tmp_path / "inside.tif"), np.full((20, 20), 0.5))
    far = write_raster(str(tmp_path / "far.tif"), np.full((20, 20), 0.5),
                       geotransform=(900000.0, 10.0, 0.0, 900000.0, 0.0, -10.0))
    velocity = write_raster(str(tmp_path / "velocity.tif"), np.full((20, 20), 7.0))
    for descending, words in ((far, "DESCENDING: " + far + " does not overlap"),
                              (velocity, "DESCENDING: holds 400 value(s) from 7 to 7, outside what a probability")):
        with pytest.raises(QgsProcessingException) as error:
            run("combine", ASCENDING=[inside], DESCENDING=[descending], OUTPUT_PROBABILITY=str(tmp_path / "c.tif"),
                OUTPUT_AREAS=str(tmp_path / "c.gpkg"))
        assert words in str(error.value)
        assert not os.path.exists(tmp_path / "c.tif")


def test_detect_from_points_and_threshold_through_qgis_process(qgis_process, source_scene, tmp_path):
    _, paths = source_scene
    probability, areas = str(tmp_path / "p.tif"), str(tmp_path / "areas.gpkg")
    completed, results = qgis_process.run("insardefo:detect", {
        "INPUT": paths["points"], "FIELD": "velocity", "PIXEL_SIZE": 10, "OUTPUT_PROBABILITY": probability,
        "OUTPUT_AREAS": areas})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT_PROBABILITY"] == probability and results["AREAS"] == sum(
        row["level"] == 0.5 for row in _rows(areas))
    assert read_raster(probability)[1]["size"] == (448, 448)
    completed, results = qgis_process.run("insardefo:threshold", {
        "INPUT": paths["sparse"], "OUTPUT_AREAS": str(tmp_path / "threshold.gpkg")})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["AREAS"] == sum(row["level"] == 3.0 for row in _rows(results["OUTPUT_AREAS"]))
