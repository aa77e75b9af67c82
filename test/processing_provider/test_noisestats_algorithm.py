"""insardefo:noisestats through processing.run and qgis_process.bin."""
import json
import os
import pathlib
import sys

import numpy as np
import pytest
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback

from insar_deformation_detector.core.synthesis.noise_statistics import load_noise_statistics

from helpers import read_raster, write_points, write_raster
from noise_fields import ORIGIN, A, B, noisy_field, sampled_pixels

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOP_LEVEL_KEYS = {"format", "version", "nugget", "sill", "a", "b", "units", "sample_size", "pairs", "seed",
                  "source", "bins"}


def as_wgs84(x, y):
    """Rough longitude and latitude (degrees) near Leicester for metres east and north of ORIGIN."""
    return -1.5 + (x - ORIGIN[0]) / 68000.0, 52.0 + (y - ORIGIN[1]) / 111000.0


@pytest.fixture(scope="module")
def points_file(noise_field, tmp_path_factory):
    """GeoPackage of 2000 velocity points sampled from ``noise_field``."""
    x, y, v = sampled_pixels(noise_field, 2000, seed=12)
    return write_points(str(tmp_path_factory.mktemp("points") / "points.gpkg"), list(zip(x, y, v)))


def run_noisestats(feedback=None, **parameters):
    import processing

    return processing.run("insardefo:noisestats", parameters, context=QgsProcessingContext(),
                          feedback=feedback or QgsProcessingFeedback())


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def check_png(path):
    with open(path, "rb") as handle:
        content = handle.read()
    assert content.startswith(PNG_SIGNATURE)
    assert len(content) > 20000  # two panels of axes, points, curves and legends


# ---------------------------------------------------------------------------- processing.run
def check_results(results, json_path):
    document = read_json(json_path)
    assert TOP_LEVEL_KEYS <= set(document)
    assert document["format"] == "insardefo-noisestats" and document["version"] == 1
    assert document["units"] == {"nugget": "mm^2/yr^2", "sill": "mm^2/yr^2", "a": "mm^2/yr^2", "b": "1/km",
                                 "distance": "km"}
    for name in ("nugget", "sill", "a", "b"):
        assert results[name.upper()] == pytest.approx(document[name], rel=1e-12)
    assert results["SAMPLE_SIZE"] == document["sample_size"] and results["PAIRS"] == document["pairs"]
    assert document["nugget"] == pytest.approx(document["sill"] - document["a"])
    assert 0.5 * A < document["a"] < 2 * A and 0.5 * B < document["b"] < 2 * B  # one field: plausible only
    bins = document["bins"]
    assert sum(item["pairs"] for item in bins) == document["pairs"]
    assert all(set(item) == {"distance_km", "semivariance", "covariance", "pairs"} for item in bins)
    assert all(0 < item["distance_km"] <= 5.0 for item in bins)
    return document


def test_points_with_plot(plugin, qgis_processing, points_file, tmp_path):
    json_path, plot_path = str(tmp_path / "noise.json"), str(tmp_path / "noise.png")
    results = run_noisestats(INPUT=points_file, FIELD="velocity", OUTPUT_JSON=json_path, OUTPUT_PLOT=plot_path)
    assert results["OUTPUT_JSON"] == json_path and results["OUTPUT_PLOT"] == plot_path
    document = check_results(results, json_path)
    assert document["sample_size"] == 2000 and document["seed"] == 0 and len(document["bins"]) == 30
    assert document["source"].startswith(points_file)
    check_png(plot_path)
    assert sorted(os.listdir(tmp_path)) == ["noise.json", "noise.png"]  # no partial or scratch files


def test_raster(plugin, qgis_processing, noise_raster, noise_field, tmp_path):
    json_path = str(tmp_path / "noise.json")
    results = run_noisestats(INPUT=noise_raster, OUTPUT_JSON=json_path, MAX_DISTANCE_KM=3, BINS=20,
                             SAMPLE_SIZE=3000, SEED=4)
    document = check_results(results, json_path)
    assert document["sample_size"] == 3000 and document["seed"] == 4 and document["source"] == noise_raster
    assert document["measurements"] == int(np.isfinite(read_raster(noise_raster)[0]).sum())
    assert len(document["bins"]) == 20 and document["bins"][-1]["distance_km"] <= 3.0
    assert "OUTPUT_PLOT" not in results
    assert os.listdir(tmp_path) == ["noise.json"]


def test_same_seed_same_json(plugin, qgis_processing, noise_raster, tmp_path):
    paths = [str(tmp_path / name) for name in ("first.json", "again.json", "other.json")]
    for path, seed in zip(paths, (7, 7, 8)):
        run_noisestats(INPUT=noise_raster, OUTPUT_JSON=path, SAMPLE_SIZE=1500, SEED=seed)
    first, again, other = (pathlib.Path(path).read_bytes() for path in paths)
    assert first == again
    assert first != other


def test_geographic_points_with_a_target_crs(plugin, qgis_processing, tmp_path):
    x, y, v = sampled_pixels(noisy_field(150, 41), 1500, 41)
    source = write_points(str(tmp_path / "wgs84.gpkg"), list(zip(*as_wgs84(x, y), v)), epsg=4326)
    results = run_noisestats(INPUT=source, FIELD="velocity", TARGET_CRS="EPSG:27700",
                             OUTPUT_JSON=str(tmp_path / "noise.json"))
    document = check_results(results, str(tmp_path / "noise.json"))
    assert document["sample_size"] == 1500


def test_cancel_leaves_no_output(plugin, qgis_processing, points_file, tmp_path):
    feedback = QgsProcessingFeedback()
    feedback.progressChanged.connect(lambda value: feedback.cancel() if value > 5 else None)
    results = run_noisestats(feedback, INPUT=points_file, FIELD="velocity",
                             OUTPUT_JSON=str(tmp_path / "noise.json"), OUTPUT_PLOT=str(tmp_path / "noise.png"))
    assert feedback.isCanceled()
    assert "OUTPUT_JSON" not in results
    assert os.listdir(tmp_path) == []


def test_plot_without_matplotlib_names_the_package(plugin, qgis_processing, noise_raster, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # find_spec reports it missing
    with pytest.raises(QgsProcessingException) as caught:
        run_noisestats(INPUT=noise_raster, OUTPUT_JSON=str(tmp_path / "noise.json"),
                       OUTPUT_PLOT=str(tmp_path / "noise.png"))
    assert "matplotlib" in str(caught.value) and "pip install" in str(caught.value)
    assert os.listdir(tmp_path) == []


def bad_case(case, folder, noise_raster):
    """(parameters, parameter named in the error) for ``case``; inputs written to ``folder``."""
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    x, y, v = sampled_pixels(noisy_field(100, 51), 200, 51)
    if case == "too few points":
        return {"INPUT": write_points(path("few.gpkg"), list(zip(x, y, v))[:29]), "FIELD": "velocity"}, "INPUT"
    if case == "constant values":
        return {"INPUT": write_points(path("flat.gpkg"), [(i, j, 2.5) for i, j in zip(x, y)]),
                "FIELD": "velocity"}, "INPUT"
    if case == "geographic layer without target CRS":
        return {"INPUT": write_points(path("wgs84.gpkg"), list(zip(*as_wgs84(x, y), v)), epsg=4326),
                "FIELD": "velocity"}, "TARGET_CRS"
    if case == "geographic target CRS":
        return {"INPUT": write_points(path("points.gpkg"), list(zip(x, y, v))), "FIELD": "velocity",
                "TARGET_CRS": "EPSG:4326"}, "TARGET_CRS"
    if case == "geographic raster":
        return {"INPUT": write_raster(path("wgs84.tif"), noisy_field(60, 52),
                                      (-1.5, 0.0005, 0.0, 52.0, 0.0, -0.0005), epsg=4326)}, "INPUT"
    if case == "raster without valid cell":
        return {"INPUT": write_raster(path("empty.tif"), np.full((20, 30), np.nan))}, "INPUT"
    if case == "target CRS with raster":
        return {"INPUT": noise_raster, "TARGET_CRS": "EPSG:3857"}, "TARGET_CRS"
    if case == "missing field":
        return {"INPUT": write_points(path("points.gpkg"), list(zip(x, y, v)))}, "FIELD"
    if case == "zero maximum distance":
        return {"INPUT": noise_raster, "MAX_DISTANCE_KM": 0}, "MAX_DISTANCE_KM"
    if case == "negative maximum distance":
        return {"INPUT": noise_raster, "MAX_DISTANCE_KM": -2.5}, "MAX_DISTANCE_KM"
    if case == "white noise":
        rng = np.random.default_rng(53)
        rows = list(zip(rng.uniform(0, 20000, 3000), rng.uniform(0, 20000, 3000), rng.normal(0, 1, 3000)))
        return {"INPUT": write_points(path("white.gpkg"), rows), "FIELD": "velocity"}, "INPUT"
    if case == "JSON output not .json":
        return {"INPUT": noise_raster, "OUTPUT_JSON": "OUT/noise.txt"}, "OUTPUT_JSON"
    if case == "plot output not .png":
        return {"INPUT": noise_raster, "OUTPUT_PLOT": "OUT/noise.jpg"}, "OUTPUT_PLOT"
    raise AssertionError(case)


BAD_CASES = ["too few points", "constant values", "geographic layer without target CRS", "geographic target CRS",
             "geographic raster", "raster without valid cell", "target CRS with raster", "missing field",
             "zero maximum distance", "negative maximum distance", "white noise", "JSON output not .json",
             "plot output not .png"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_names_the_parameter_and_leaves_no_output(plugin, qgis_processing, noise_raster, tmp_path, case):
    inputs, outputs = tmp_path / "inputs", tmp_path / "outputs"
    inputs.mkdir()
    outputs.mkdir()
    parameters, named = bad_case(case, str(inputs), noise_raster)
    parameters.setdefault("OUTPUT_JSON", "OUT/noise.json")
    parameters.setdefault("OUTPUT_PLOT", "OUT/noise.png")
    for name in ("OUTPUT_JSON", "OUTPUT_PLOT"):
        parameters[name] = parameters[name].replace("OUT", str(outputs))

    with pytest.raises(QgsProcessingException) as caught:
        run_noisestats(**parameters)

    message = str(caught.value)
    assert message.startswith(f"{named}: "), message
    assert "Traceback" not in message
    assert os.listdir(outputs) == []


# ---------------------------------------------------------------------------- qgis_process
def test_qgis_process(qgis_process, noise_raster, tmp_path):
    qgis_process.enable_plugin()
    help_text = qgis_process.call("help", "insardefo:noisestats")
    assert help_text.returncode == 0, help_text.stdout + help_text.stderr
    assert "Noise statistics (variogram and covariance)" in help_text.stdout
    assert "MAX_DISTANCE_KM" in help_text.stdout

    json_path, plot_path = str(tmp_path / "noise.json"), str(tmp_path / "noise.png")
    completed, results = qgis_process.run("insardefo:noisestats", {
        "INPUT": noise_raster, "MAX_DISTANCE_KM": 4, "OUTPUT_JSON": json_path, "OUTPUT_PLOT": plot_path})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT_JSON"] == json_path and results["OUTPUT_PLOT"] == plot_path
    check_results(results, json_path)
    check_png(plot_path)
    assert load_noise_statistics(json_path)["b"] == pytest.approx(results["B"])
