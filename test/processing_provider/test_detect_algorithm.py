"""insardefo:detect through processing.run and qgis_process.bin in real QGIS."""
import os

import numpy as np
import pytest
from osgeo import gdal, osr
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.detection.areas import FIELDS
from insar_deformation_detector.core.learning.model_file import DEFAULT_MODEL_PATH
from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, write_scene_outputs

from helpers import area_rows, file_hash, read_raster, write_raster


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


def test_detect_writes_the_probability_map_and_areas_of_a_sparse_raster(run, source_scene, tmp_path):
    scene, paths = source_scene
    probability, areas = str(tmp_path / "p.tif"), str(tmp_path / "areas.gpkg")
    results = run("detect", INPUT=paths["sparse"], OUTPUT_PROBABILITY=probability, OUTPUT_AREAS=areas)
    values, info = read_raster(probability)
    assert info["dtype"] == gdal.GDT_Float32 and info["size"] == (448, 448)
    assert info["geotransform"] == gdal.Open(paths["sparse"]).GetGeoTransform()
    assert np.nanmin(values) >= 0.0 and np.nanmax(values) <= 1.0
    rows = area_rows(areas)
    assert results["AREAS"] == sum(row["level"] == 0.5 for row in rows)
    assert set(rows[0]) == {name for name, _ in FIELDS}
    for row in rows:
        assert row["class"] in ("point_source", "tunnel") and row["sense"] in ("subsidence", "uplift")
        assert row["max_probability"] >= row["level"] and row["measurements"] >= 0
        assert 0.0 <= row["confidence"] <= 1.0  # the bundled model's area calibration


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


@pytest.mark.parametrize("case", ["small", "tiny", "nodata", "thresholds", "model", "points_without_interpolation"])
def test_bad_detection_input_names_the_parameter(run, tiny_model, source_scene, tmp_path, case):
    _, paths = source_scene
    base = {"INPUT": paths["sparse"], "OUTPUT_PROBABILITY": str(tmp_path / "p.tif"),
            "OUTPUT_AREAS": str(tmp_path / "areas.gpkg")}
    parameters, words = {
        "small": ({"INPUT": write_raster(str(tmp_path / "small.tif"), np.zeros((100, 300))),
                   "MODEL": DEFAULT_MODEL_PATH}, "INPUT: is 300 x 100 pixels, smaller than one 224 x 224 window"),
        "tiny": ({"INPUT": write_raster(str(tmp_path / "tiny.tif"), np.zeros((12, 40)))},
                 "INPUT: is 40 x 12 pixels; the detector needs at least 16 pixels a side"),
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


def test_detect_from_points_and_threshold_through_qgis_process(qgis_process, source_scene, tmp_path):
    _, paths = source_scene
    probability, areas = str(tmp_path / "p.tif"), str(tmp_path / "areas.gpkg")
    completed, results = qgis_process.run("insardefo:detect", {
        "INPUT": paths["points"], "FIELD": "velocity", "PIXEL_SIZE": 10, "OUTPUT_PROBABILITY": probability,
        "OUTPUT_AREAS": areas})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT_PROBABILITY"] == probability and results["AREAS"] == sum(
        row["level"] == 0.5 for row in area_rows(areas))
    assert read_raster(probability)[1]["size"] == (448, 448)
    completed, results = qgis_process.run("insardefo:threshold", {
        "INPUT": paths["sparse"], "OUTPUT_AREAS": str(tmp_path / "threshold.gpkg")})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["AREAS"] == sum(row["level"] == 3.0 for row in area_rows(results["OUTPUT_AREAS"]))


def test_a_dense_model_detects_a_map_smaller_than_a_window(run, dense_model, tmp_path):
    velocity = np.random.default_rng(4).normal(0.0, 1.0, (80, 100)).astype(np.float32)
    velocity[30:40, 40:60] = np.nan
    path = write_raster(str(tmp_path / "small.tif"), velocity)
    probability, areas = str(tmp_path / "p.tif"), str(tmp_path / "areas.gpkg")
    results = run("detect", INPUT=path, MODEL=dense_model, THRESHOLDS="0.1", OUTPUT_PROBABILITY=probability,
                  OUTPUT_AREAS=areas)
    values, info = read_raster(probability)
    assert info["size"] == (80, 100) and np.isnan(values[30:40, 40:60]).all()
    assert np.isfinite(values).sum() == 80 * 100 - 200 and results["AREAS"] == len(area_rows(areas))


def test_min_peak_drops_the_areas_peaking_below_it(run, dense_model, tmp_path):
    velocity = np.random.default_rng(4).normal(0.0, 1.0, (80, 100)).astype(np.float32)
    path = write_raster(str(tmp_path / "small.tif"), velocity)
    counts = {}
    for name, floor in (("default", None), ("every", 0.0), ("none", 1.0)):
        extra = {} if floor is None else {"MIN_PEAK": floor}
        counts[name] = run("detect", INPUT=path, MODEL=dense_model, THRESHOLDS="0.1",
                           OUTPUT_PROBABILITY=str(tmp_path / f"p_{name}.tif"),
                           OUTPUT_AREAS=str(tmp_path / f"a_{name}.gpkg"), **extra)["AREAS"]
    assert counts["default"] == counts["every"] > 0 and counts["none"] == 0  # this model has no floor of its own


def test_the_model_floor_is_chosen_by_the_working_pixel_size(run, dense_model, tmp_path):
    from insar_deformation_detector.core.learning.model_file import load_model, save_model

    model = load_model(dense_model)
    floors = {"edges_m": [20.0, 40.0, 100.0], "min_peak": [1.0, 0.0]}  # nothing drawn at 20-40 m, everything above
    floored = str(tmp_path / "floored.pt")
    table = {"level": 0.5, "max_probability": [0.5, 1.0], "share_real": [0.5, 1.0], "min_peak": 0.5,
             "floor_by_pixel": floors}
    save_model(floored, model.network, {**model.metadata, "area_confidence": table})
    velocity = np.random.default_rng(4).normal(0.0, 1.0, (80, 100)).astype(np.float32)
    counts = {}
    for pixel_m in (20.0, 50.0):
        path = write_raster(str(tmp_path / f"map_{pixel_m:g}.tif"), velocity,
                            geotransform=(400000.0, pixel_m, 0.0, 300000.0, 0.0, -pixel_m))
        arguments = dict(INPUT=path, THRESHOLDS="0.1", OUTPUT_PROBABILITY=str(tmp_path / f"p_{pixel_m:g}.tif"))
        counts[pixel_m] = run("detect", MODEL=floored, OUTPUT_AREAS=str(tmp_path / f"a_{pixel_m:g}.gpkg"),
                              **arguments)["AREAS"]
        counts[f"{pixel_m:g} m, no floor"] = run("detect", MODEL=dense_model,
                                                 OUTPUT_AREAS=str(tmp_path / f"b_{pixel_m:g}.gpkg"),
                                                 **arguments)["AREAS"]
    assert counts[20.0] == 0 < counts["20 m, no floor"]
    assert counts[50.0] == counts["50 m, no floor"] > 0
