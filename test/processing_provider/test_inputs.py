"""Tests of processing_provider/inputs.py.

Bad or misleading input gets a message naming its parameter, inputs untouched, no output left.
"""
import os
import shutil
import time

import numpy as np
import pytest
from osgeo import ogr
from qgis.core import QgsProcessingException

from algorithm_cases import algorithm_cases, assert_refused
from helpers import read_raster, tree_hashes, write_points, write_raster

GOOD_POINTS = [(1005.0, 2025.0, 1.0), (1025.0, 2025.0, 2.0), (1005.0, 2005.0, 3.0), (1045.0, 2045.0, 4.0)]


def make_case(case, folder, scene):
    """(parameters, parameter named in the error) for ``case``; input files written to ``folder``."""
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    points = lambda rows=GOOD_POINTS, **kw: write_points(path("points.gpkg"), rows, **kw)  # noqa: E731
    base = {"FIELD": "velocity", "PIXEL_SIZE": 10}
    if case == "empty layer":
        return dict(base, INPUT=points([])), "INPUT"
    if case == "non-numeric field":
        rows = [(x, y, str(v)) for x, y, v in GOOD_POINTS]
        return dict(base, INPUT=points(rows, field_type=ogr.OFTString)), "FIELD"
    if case == "all-null field":
        return dict(base, INPUT=points([(x, y, None) for x, y, _ in GOOD_POINTS])), "FIELD"
    if case == "missing field name":
        return dict(base, INPUT=points(), FIELD=None), "FIELD"
    if case == "unknown field":
        return dict(base, INPUT=points(), FIELD="speed"), "FIELD"
    if case == "fewer than 3 measurements":
        return dict(base, INPUT=points(GOOD_POINTS[:2])), "INPUT"
    if case == "3 points in 2 cells":
        rows = [(1001.0, 2021.0, 1.0), (1009.0, 2029.0, 2.0), (1045.0, 2045.0, 4.0)]
        return dict(base, INPUT=points(rows)), "INPUT"
    if case == "infinite value":
        return dict(base, INPUT=points(GOOD_POINTS + [(1065.0, 2045.0, float("inf"))])), "FIELD"
    if case == "missing pixel size":
        return dict(base, INPUT=points(), PIXEL_SIZE=None), "PIXEL_SIZE"
    if case == "negative pixel size":
        return dict(base, INPUT=points(), PIXEL_SIZE=-5), "PIXEL_SIZE"
    if case == "over 2 billion cells":
        return dict(base, INPUT=points(), PIXEL_SIZE=1e-5), "PIXEL_SIZE"
    if case == "extent without points":
        return dict(base, INPUT=points(), EXTENT="0,100,0,100 [EPSG:27700]"), "EXTENT"
    if case == "layer without CRS":
        return dict(base, INPUT=points(epsg=None)), "INPUT"
    if case == "geographic layer without target CRS":
        rows = [(-1.0 + 0.001 * i, 52.0 + 0.001 * (i % 2), float(i)) for i in range(4)]
        return dict(base, INPUT=points(rows, epsg=4326)), "TARGET_CRS"
    if case == "geographic target CRS":
        return dict(base, INPUT=points(), TARGET_CRS="EPSG:4326"), "TARGET_CRS"
    if case == "target CRS with raster":
        return {"INPUT": write_raster(path("sparse.tif"), scene.sparse), "TARGET_CRS": "EPSG:3857"}, "TARGET_CRS"
    if case == "raster without valid cell":
        return {"INPUT": write_raster(path("empty.tif"), np.full((20, 30), np.nan))}, "INPUT"
    if case == "raster with infinite values":
        sparse = scene.sparse.copy()
        sparse[5, 5] = np.inf
        return {"INPUT": write_raster(path("inf.tif"), sparse)}, "INPUT"
    if case == "raster without CRS":
        return {"INPUT": write_raster(path("nocrs.tif"), scene.sparse, epsg=None)}, "INPUT"
    if case == "bad band":
        return {"INPUT": write_raster(path("sparse.tif"), scene.sparse), "BAND": 3}, "BAND"
    if case == "p of zero":
        return {"INPUT": write_raster(path("sparse.tif"), scene.sparse), "P": 0.0}, "P"
    if case == "tile size too small":
        return {"INPUT": write_raster(path("sparse.tif"), scene.sparse), "TILE_SIZE": 16}, "TILE_SIZE"
    if case == "output not GeoTIFF":
        return {"INPUT": write_raster(path("sparse.tif"), scene.sparse), "OUTPUT": "OUT/dense.img"}, "OUTPUT"
    if case == "output over input":
        source = write_raster(path("sparse.tif"), scene.sparse)
        return {"INPUT": source, "OUTPUT": source}, "OUTPUT"
    raise AssertionError(case)


CASES = ["empty layer", "non-numeric field", "all-null field", "missing field name", "unknown field",
         "fewer than 3 measurements", "3 points in 2 cells", "infinite value", "missing pixel size",
         "negative pixel size", "over 2 billion cells", "extent without points", "layer without CRS",
         "geographic layer without target CRS", "geographic target CRS", "target CRS with raster",
         "raster without valid cell", "raster with infinite values", "raster without CRS", "bad band",
         "p of zero", "tile size too small", "output not GeoTIFF", "output over input"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_parameter(run_algorithm, scene, tmp_path, case):
    inputs = tmp_path / "inputs"
    outputs = tmp_path / "outputs"
    inputs.mkdir()
    outputs.mkdir()
    parameters, named = make_case(case, str(inputs), scene)
    parameters.setdefault("OUTPUT", "OUT/dense.tif")
    parameters["OUTPUT"] = parameters["OUTPUT"].replace("OUT", str(outputs))
    parameters["NOISE"] = str(outputs / "noise.tif")
    parameters = {name: value for name, value in parameters.items() if value is not None}
    before = tree_hashes(inputs)

    with pytest.raises(QgsProcessingException) as caught:
        run_algorithm(**parameters)

    message = str(caught.value)
    assert named in message, message
    assert "Traceback" not in message
    assert tree_hashes(inputs) == before  # inputs unchanged
    assert os.listdir(outputs) == []  # no output, partial file or scratch folder left


def sentinel_raster(path, files):
    """(The sparse test raster with -9999 in every unmeasured cell and no no-data declared, measured cells)."""
    values, _ = read_raster(files["sparse"])
    measured = int(np.isfinite(values).sum())
    return write_raster(path, np.where(np.isfinite(values), values, -9999.0), nodata=None), measured


@pytest.mark.parametrize("algorithm", ["interpolate", "noisestats", "threshold", "detect"])
def test_an_undeclared_nodata_value_is_refused_and_named(run, files, tmp_path, algorithm):
    path, _ = sentinel_raster(str(tmp_path / "sentinel.tif"), files)
    parameters, _, outputs = algorithm_cases(dict(files, sparse=path, dense=path),
                                             lambda name: str(tmp_path / "out" / name))[algorithm]
    with pytest.raises(QgsProcessingException) as caught:
        run(algorithm, **parameters)
    assert_refused(caught, "INPUT: holds -9999 in", "undeclared no-data value", "NODATA=-9999")
    assert not (tmp_path / "out").exists()


def test_a_declared_nodata_value_is_not_measured(run, files, tmp_path):
    path, measured = sentinel_raster(str(tmp_path / "sentinel.tif"), files)
    results = run("interpolate", INPUT=path, NODATA=-9999, OUTPUT=str(tmp_path / "dense.tif"))
    assert results["MEASURED_CELLS"] == measured
    rows = [(400005.0 + 10 * i, 299995.0 - 10 * (i % 7), -9999.0 if i % 3 else 0.2 * i) for i in range(60)]
    points = write_points(str(tmp_path / "points.gpkg"), rows)
    with pytest.raises(QgsProcessingException) as caught:
        run("threshold", INPUT=points, FIELD="velocity", PIXEL_SIZE=10, OUTPUT_AREAS=str(tmp_path / "a.gpkg"))
    assert_refused(caught, "FIELD: holds -9999 in 40 cell(s)", "NODATA=-9999")
    run("threshold", INPUT=points, FIELD="velocity", PIXEL_SIZE=10, NODATA=-9999, OUTPUT_AREAS=str(tmp_path / "a.gpkg"))


def test_combine_refuses_a_map_without_a_valid_cell(run, files, tmp_path):
    empty = write_raster(str(tmp_path / "empty.tif"), np.full((40, 40), np.nan))
    with pytest.raises(QgsProcessingException) as caught:
        run("combine", ASCENDING=[empty], DESCENDING=[files["probability"]], OUTPUT_PROBABILITY=str(tmp_path / "c.tif"),
            OUTPUT_AREAS=str(tmp_path / "c.gpkg"))
    assert_refused(caught, "ASCENDING:", "has no valid cell")


def truncated_copy(dataset, folder):
    """A copy of ``dataset`` whose first shard lost its second half."""
    shutil.copytree(dataset, folder)
    shard = os.path.join(folder, "patches_00000.npy")
    with open(shard, "r+b") as handle:
        handle.truncate(os.path.getsize(shard) // 2)
    return folder


@pytest.mark.parametrize("algorithm", ["train", "evaluate"])
def test_a_truncated_shard_is_named_with_its_parameter(run, files, tmp_path, algorithm):
    damaged = truncated_copy(files["dataset"], str(tmp_path / "damaged"))
    parameters, _, _ = algorithm_cases(files, lambda name: str(tmp_path / name))[algorithm]
    for name, value in (("DATASET", damaged), ("MORE_DATASETS", damaged)):
        with pytest.raises(QgsProcessingException) as caught:
            run(algorithm, **dict(parameters, **{name: value}))
        assert_refused(caught, f"{name}: {damaged} is damaged", "patches_00000.npy")


def test_sizes_that_cannot_fit_memory_are_refused_before_allocation(run, tmp_path):
    outputs = {name: str(tmp_path / file) for name, file in (("OUTPUT_SPARSE", "s.tif"), ("OUTPUT_POINTS", "p.gpkg"),
                                                              ("OUTPUT_DEFORMATION", "d.tif"),
                                                              ("OUTPUT_TRUTH", "t.gpkg"))}
    for changes, words in (({"POINT_SOURCES": 1_000_000_000}, "POINT_SOURCES: 1000000000 sources cannot fit"),
                           ({"PIXEL_SIZE": 1e-6}, "PIXEL_SIZE: a 2000 x 2000 scene of 1e-06 m pixels would need")):
        started = time.monotonic()
        with pytest.raises(QgsProcessingException) as caught:
            run("syntheticscene", **outputs, **changes)
        assert_refused(caught, words, "GiB" if "PIXEL_SIZE" in changes else "ask for fewer")
        assert time.monotonic() - started < 10
    with pytest.raises(QgsProcessingException) as caught:
        run("synthesize", COUNT=1, PIXEL_SIZE=1e-6, OUTPUT=str(tmp_path / "dataset"))
    assert_refused(caught, "PIXEL_SIZE:", "GiB of memory")
    assert os.listdir(tmp_path) == []


def test_inputs_that_are_not_what_they_seem_get_the_right_message(run, files, tmp_path):
    table = tmp_path / "table.csv"
    table.write_text("x,y,velocity\n400005,299995,1.5\n400015,299995,2.5\n", encoding="utf-8")
    with pytest.raises(QgsProcessingException) as caught:
        run("interpolate", INPUT=str(table), FIELD="velocity", PIXEL_SIZE=10, OUTPUT=str(tmp_path / "d.tif"))
    assert_refused(caught, "INPUT:", "has no geometry", "createpointslayerfromtable")

    text = tmp_path / "text.tif"
    text.write_text("not a raster", encoding="utf-8")
    with pytest.raises(QgsProcessingException) as caught:
        run("synthesize", COUNT=1, PATCH_SIZE=32, NOISE_MAP=str(text), OUTPUT=str(tmp_path / "dataset"))
    assert_refused(caught, f"NOISE_MAP: {text} exists but GDAL cannot read it as a raster")

    with pytest.raises(QgsProcessingException) as caught:
        run("noisestats", INPUT=files["sparse"], MAX_DISTANCE_KM=1_000_000, OUTPUT_JSON=str(tmp_path / "n.json"))
    assert_refused(caught, "MAX_DISTANCE_KM: 1e+06 km in 30 bins is too long for this map", "Choose at most")
