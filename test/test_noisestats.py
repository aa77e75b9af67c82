"""insardefo:noisestats: semivariogram, covariance and the fit of equation 1 (section II-B)."""
import json
import os
import pathlib
import sys

import numpy as np
import pytest
from qgis.core import QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback
from scipy.spatial.distance import pdist

from helpers import read_raster, write_points, write_raster
from insar_deformation_detector.core import noise_statistics
from insar_deformation_detector.core.atmosphere import turbulent_atmosphere
from insar_deformation_detector.core.errors import Cancelled, InputError
from insar_deformation_detector.core.noise_statistics import (
    estimate, estimate_from_raster, load_noise_statistics, pair_sums, sample_raster)

A, B, NUGGET = 1.2, 1.2, 0.6  # mm^2/yr^2, 1/km, mm^2/yr^2: inside the paper's UK ranges (section II-B)
PIXEL_M = 50.0
ORIGIN = (400000.0, 300000.0)  # top-left corner in EPSG:27700 (British National Grid), metres
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOP_LEVEL_KEYS = {"format", "version", "nugget", "sill", "a", "b", "units", "sample_size", "pairs", "seed",
                  "source", "bins"}


def noisy_field(size, seed):
    """(size, size) velocities (mm/yr): covariance A exp(-B d) plus white noise of variance NUGGET."""
    rng = np.random.default_rng(seed)
    field = turbulent_atmosphere((size, size), PIXEL_M, A, B, rng)[0].astype(float)
    return field + rng.normal(0.0, np.sqrt(NUGGET), field.shape)


def sampled_pixels(values, count, seed):
    """x, y (metres, pixel centres east and north of ORIGIN) and values of ``count`` distinct pixels."""
    rows, cols = np.divmod(np.random.default_rng(seed).choice(values.size, count, replace=False), values.shape[1])
    return ORIGIN[0] + (cols + 0.5) * PIXEL_M, ORIGIN[1] - (rows + 0.5) * PIXEL_M, values[rows, cols]


def as_wgs84(x, y):
    """Rough longitude and latitude (degrees) near Leicester for metres east and north of ORIGIN."""
    return -1.5 + (x - ORIGIN[0]) / 68000.0, 52.0 + (y - ORIGIN[1]) / 111000.0


@pytest.fixture(scope="module")
def field():
    """A 300 x 300 pixel (15 km) noisy velocity field."""
    return noisy_field(300, seed=11)


@pytest.fixture(scope="module")
def points_file(field, tmp_path_factory):
    """GeoPackage of 2000 velocity points sampled from ``field``."""
    x, y, v = sampled_pixels(field, 2000, seed=12)
    return write_points(str(tmp_path_factory.mktemp("points") / "points.gpkg"), list(zip(x, y, v)))


@pytest.fixture(scope="module")
def raster_file(field, tmp_path_factory):
    """GeoTIFF of ``field`` with 90 % of its pixels unmeasured (NaN)."""
    sparse = field.copy()
    sparse[np.random.default_rng(13).random(field.shape) < 0.9] = np.nan
    geotransform = (ORIGIN[0], PIXEL_M, 0.0, ORIGIN[1], 0.0, -PIXEL_M)
    return write_raster(str(tmp_path_factory.mktemp("raster") / "velocity.tif"), sparse, geotransform)


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


# ---------------------------------------------------------------------------- core
def test_fit_recovers_a_b_and_the_nugget():
    # Six 20 km x 20 km fields, 4000 of their 160,000 pixels each: one field holds only about
    # (20 B)^2 ~ 600 independent patches, so a single fit scatters by ~15 %; the mean of six by ~6 %.
    # C(d) about the sample mean sits ~0.01 mm^2/yr^2 low at every d, which steepens the fit:
    # b comes out ~5-10 % high. The tolerances cover both.
    fits = []
    for seed in range(6):
        x, y, v = sampled_pixels(noisy_field(400, seed), 4000, seed)
        statistics = estimate(x, y, v, seed=seed)
        assert statistics.sample_size == 4000 and statistics.nugget == pytest.approx(statistics.sill - statistics.a)
        fits.append((statistics.a, statistics.b, statistics.nugget, statistics.sill))
    a, b, nugget, sill = np.mean(fits, axis=0)
    assert a == pytest.approx(A, rel=0.15)
    assert b == pytest.approx(B, rel=0.2)
    assert nugget == pytest.approx(NUGGET, abs=0.15)
    assert sill == pytest.approx(A + NUGGET, rel=0.1)


def test_pair_sums_match_all_pairs_computed_at_once(monkeypatch):
    monkeypatch.setattr(noise_statistics, "PAIR_BUDGET", 2000)  # 6 rows per chunk: many chunks
    rng = np.random.default_rng(3)
    x, y, z = rng.uniform(0, 4, 300), rng.uniform(0, 4, 300), rng.normal(0, 1, 300)
    sums = pair_sums(x, y, z, 2.0, 8)

    distance = pdist(np.column_stack([x, y]))
    first, second = np.triu_indices(300, k=1)
    near = distance <= 2.0
    index = np.minimum((distance[near] / 0.25).astype(int), 7)
    expected = [np.bincount(index, weights, minlength=8) for weights in (
        None, distance[near], 0.5 * (z[first] - z[second])[near] ** 2, (z[first] * z[second])[near])]
    np.testing.assert_allclose(sums, expected, rtol=1e-12, atol=1e-12)


def test_raster_sample_is_uniform_over_the_measured_pixels(monkeypatch, tmp_path):
    monkeypatch.setattr(noise_statistics, "BLOCK_PIXELS", 2000)  # 10 rows per block: 30 blocks
    values = np.arange(300 * 200, dtype=float).reshape(300, 200)
    values[np.random.default_rng(4).random(values.shape) < 0.5] = np.nan
    values[:, 100:][np.random.default_rng(5).random((300, 100)) < 0.8] = np.nan  # east half sparser
    path = write_raster(str(tmp_path / "velocity.tif"), values, (1000.0, 10.0, 0.0, 5000.0, 0.0, -10.0))

    x, y, v, measurements = sample_raster(path, 1, 3000, np.random.default_rng(0))
    assert measurements == np.isfinite(values).sum()
    assert len(v) == 3000 and len(np.unique(v)) == 3000
    rows, cols = np.divmod(v.astype(int), 200)  # each value is its pixel's index
    np.testing.assert_allclose(x, 1000.0 + (cols + 0.5) * 10.0)
    np.testing.assert_allclose(y, 5000.0 - (rows + 0.5) * 10.0)
    east_share = np.isfinite(values[:, 100:]).sum() / measurements  # 1/6 of the measured pixels
    assert (cols >= 100).mean() == pytest.approx(east_share, abs=0.03)
    assert (rows >= 150).mean() == pytest.approx(0.5, abs=0.04)


def test_same_seed_same_statistics_other_seed_other_sample():
    x, y, v = sampled_pixels(noisy_field(150, 21), 6000, 21)
    first, again, other = (estimate(x, y, v, seed=seed).to_json() for seed in (5, 5, 6))
    assert first == again
    assert other["bins"] != first["bins"]


def test_cancel_stops_in_the_pair_loop():
    x, y, v = sampled_pixels(noisy_field(150, 22), 4000, 22)
    polls = []
    with pytest.raises(Cancelled):
        estimate(x, y, v, is_cancelled=lambda: polls.append(1) or len(polls) > 2)
    assert len(polls) == 3


def test_cancel_stops_while_sampling_a_raster(raster_file, monkeypatch):
    monkeypatch.setattr(noise_statistics, "BLOCK_PIXELS", 3000)  # 10 rows per block
    polls = []
    with pytest.raises(Cancelled):
        estimate_from_raster(raster_file, is_cancelled=lambda: polls.append(1) or len(polls) > 3)
    assert len(polls) == 4


def test_white_noise_is_refused_naming_input():
    rng = np.random.default_rng(8)
    with pytest.raises(InputError) as caught:
        estimate(rng.uniform(0, 20000, 4000), rng.uniform(0, 20000, 4000), rng.normal(0, 1, 4000), seed=1)
    assert caught.value.parameter == "INPUT"
    assert "white" in str(caught.value)


# ---------------------------------------------------------------------------- load_noise_statistics
def test_load_round_trip(field, tmp_path):
    x, y, v = sampled_pixels(field, 2000, 31)
    statistics = estimate(x, y, v)
    path = str(tmp_path / "noise.json")
    noise_statistics.write_outputs(statistics, path)
    assert os.listdir(tmp_path) == ["noise.json"]
    loaded = load_noise_statistics(path)
    assert loaded == {"a": statistics.a, "b": statistics.b, "nugget": statistics.nugget, "sill": statistics.sill}
    assert all(type(value) is float for value in loaded.values())


GOOD_DOCUMENT = {"format": "insardefo-noisestats", "version": 1, "nugget": 0.6, "sill": 1.8, "a": 1.2, "b": 1.2}
BROKEN_FILES = {
    "missing file": None,
    "not JSON": "a = 1.2\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\xff",
    "a list": "[1, 2]",
    "foreign format": json.dumps(dict(GOOD_DOCUMENT, format="geojson")),
    "no format": json.dumps({key: value for key, value in GOOD_DOCUMENT.items() if key != "format"}),
    "newer version": json.dumps(dict(GOOD_DOCUMENT, version=2)),
    "missing b": json.dumps({key: value for key, value in GOOD_DOCUMENT.items() if key != "b"}),
    "negative a": json.dumps(dict(GOOD_DOCUMENT, a=-1.0)),
    "zero b": json.dumps(dict(GOOD_DOCUMENT, b=0)),
    "NaN sill": json.dumps(dict(GOOD_DOCUMENT, sill=float("nan"))),
    "infinite a": json.dumps(dict(GOOD_DOCUMENT, a=float("inf"))),
    "negative nugget": json.dumps(dict(GOOD_DOCUMENT, nugget=-0.1)),
    "string b": json.dumps(dict(GOOD_DOCUMENT, b="1.2")),
    "boolean a": json.dumps(dict(GOOD_DOCUMENT, a=True)),
}


@pytest.mark.parametrize("case", sorted(BROKEN_FILES))
def test_load_refuses_a_broken_file_naming_noise_stats(tmp_path, case):
    path = tmp_path / "noise.json"
    content = BROKEN_FILES[case]
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_noise_statistics(str(path))
    assert caught.value.parameter == "NOISE_STATS"
    assert str(caught.value).startswith("NOISE_STATS: ")


def test_load_accepts_a_zero_nugget(tmp_path):
    path = tmp_path / "noise.json"
    path.write_text(json.dumps(dict(GOOD_DOCUMENT, nugget=0)), encoding="utf-8")
    assert load_noise_statistics(str(path))["nugget"] == 0.0


def test_load_needs_a_path():
    with pytest.raises(InputError, match="^NOISE_STATS: "):
        load_noise_statistics("")


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


def test_raster(plugin, qgis_processing, raster_file, field, tmp_path):
    json_path = str(tmp_path / "noise.json")
    results = run_noisestats(INPUT=raster_file, OUTPUT_JSON=json_path, MAX_DISTANCE_KM=3, BINS=20,
                             SAMPLE_SIZE=3000, SEED=4)
    document = check_results(results, json_path)
    assert document["sample_size"] == 3000 and document["seed"] == 4 and document["source"] == raster_file
    assert document["measurements"] == int(np.isfinite(read_raster(raster_file)[0]).sum())
    assert len(document["bins"]) == 20 and document["bins"][-1]["distance_km"] <= 3.0
    assert "OUTPUT_PLOT" not in results
    assert os.listdir(tmp_path) == ["noise.json"]


def test_same_seed_same_json(plugin, qgis_processing, raster_file, tmp_path):
    paths = [str(tmp_path / name) for name in ("first.json", "again.json", "other.json")]
    for path, seed in zip(paths, (7, 7, 8)):
        run_noisestats(INPUT=raster_file, OUTPUT_JSON=path, SAMPLE_SIZE=1500, SEED=seed)
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


def test_plot_without_matplotlib_names_the_package(plugin, qgis_processing, raster_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # find_spec reports it missing
    with pytest.raises(QgsProcessingException) as caught:
        run_noisestats(INPUT=raster_file, OUTPUT_JSON=str(tmp_path / "noise.json"),
                       OUTPUT_PLOT=str(tmp_path / "noise.png"))
    assert "matplotlib" in str(caught.value) and "pip install" in str(caught.value)
    assert os.listdir(tmp_path) == []


def bad_case(case, folder, raster_file):
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
        return {"INPUT": raster_file, "TARGET_CRS": "EPSG:3857"}, "TARGET_CRS"
    if case == "missing field":
        return {"INPUT": write_points(path("points.gpkg"), list(zip(x, y, v)))}, "FIELD"
    if case == "zero maximum distance":
        return {"INPUT": raster_file, "MAX_DISTANCE_KM": 0}, "MAX_DISTANCE_KM"
    if case == "negative maximum distance":
        return {"INPUT": raster_file, "MAX_DISTANCE_KM": -2.5}, "MAX_DISTANCE_KM"
    if case == "white noise":
        rng = np.random.default_rng(53)
        rows = list(zip(rng.uniform(0, 20000, 3000), rng.uniform(0, 20000, 3000), rng.normal(0, 1, 3000)))
        return {"INPUT": write_points(path("white.gpkg"), rows), "FIELD": "velocity"}, "INPUT"
    if case == "JSON output not .json":
        return {"INPUT": raster_file, "OUTPUT_JSON": "OUT/noise.txt"}, "OUTPUT_JSON"
    if case == "plot output not .png":
        return {"INPUT": raster_file, "OUTPUT_PLOT": "OUT/noise.jpg"}, "OUTPUT_PLOT"
    raise AssertionError(case)


BAD_CASES = ["too few points", "constant values", "geographic layer without target CRS", "geographic target CRS",
             "geographic raster", "raster without valid cell", "target CRS with raster", "missing field",
             "zero maximum distance", "negative maximum distance", "white noise", "JSON output not .json",
             "plot output not .png"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_names_the_parameter_and_leaves_no_output(plugin, qgis_processing, raster_file, tmp_path, case):
    inputs, outputs = tmp_path / "inputs", tmp_path / "outputs"
    inputs.mkdir()
    outputs.mkdir()
    parameters, named = bad_case(case, str(inputs), raster_file)
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
def test_qgis_process(qgis_process, raster_file, tmp_path):
    qgis_process.enable_plugin()
    help_text = qgis_process.call("help", "insardefo:noisestats")
    assert help_text.returncode == 0, help_text.stdout + help_text.stderr
    assert "Noise statistics (variogram and covariance)" in help_text.stdout
    assert "MAX_DISTANCE_KM" in help_text.stdout

    json_path, plot_path = str(tmp_path / "noise.json"), str(tmp_path / "noise.png")
    completed, results = qgis_process.run("insardefo:noisestats", {
        "INPUT": raster_file, "MAX_DISTANCE_KM": 4, "OUTPUT_JSON": json_path, "OUTPUT_PLOT": plot_path})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["OUTPUT_JSON"] == json_path and results["OUTPUT_PLOT"] == plot_path
    check_results(results, json_path)
    check_png(plot_path)
    assert load_noise_statistics(json_path)["b"] == pytest.approx(results["B"])
