"""Bad input: a QgsProcessingException naming the parameter, inputs untouched, no output left."""
import os

import numpy as np
import pytest
from osgeo import ogr
from qgis.core import QgsProcessingException

from conftest import tree_hashes
from helpers import write_points, write_raster

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
