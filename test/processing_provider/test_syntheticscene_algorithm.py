"""insardefo:syntheticscene through processing.run and qgis_process.bin."""
import os

import numpy as np
import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsRasterLayer, QgsVectorLayer

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.synthesis.synthetic_scene import SOURCE_FIELDS

from helpers import rasterized_truth, read_raster, write_raster

GRID = GridSpec(x_min=400000.0, y_max=400000.0, pixel_size=10.0, width=300, height=300)
RUN = {"WIDTH": 300, "HEIGHT": 300, "PIXEL_SIZE": 10, "ORIGIN_X": 400000, "ORIGIN_Y": 400000,
       "POINT_SOURCES": 4, "TUNNELS": 1, "SEED": 3}
OUTPUTS = {"OUTPUT_SPARSE": "sparse.tif", "OUTPUT_POINTS": "points.gpkg", "OUTPUT_DEFORMATION": "deformation.tif",
           "OUTPUT_TRUTH": "truth.gpkg"}


class CancelAfterHalf(QgsProcessingFeedback):
    """Feedback that asks to cancel once the progress bar passes half way (while writing)."""

    def setProgress(self, progress):  # noqa: N802 (QGIS API)
        super().setProgress(progress)
        if progress > 50:
            self.cancel()


@pytest.fixture()
def run_scene(qgis_processing, plugin, tmp_path):
    """processing.run of insardefo:syntheticscene with RUN and outputs in tmp_path/out."""
    import processing
    from qgis.core import QgsProcessingContext

    folder = tmp_path / "out"
    folder.mkdir()

    def run(feedback=None, **changes):
        parameters = dict(RUN, **{name: str(folder / file) for name, file in OUTPUTS.items()})
        parameters.update(changes)
        return processing.run("insardefo:syntheticscene", parameters, context=QgsProcessingContext(),
                              feedback=feedback or QgsProcessingFeedback()), folder

    return run


def test_processing_outputs_open_in_qgis_on_the_grid(run_scene):
    results, folder = run_scene(PASS=1)
    assert sorted(os.listdir(folder)) == sorted(OUTPUTS.values())
    assert results["SOURCES"] == 5
    for name in ("OUTPUT_SPARSE", "OUTPUT_DEFORMATION"):
        layer = QgsRasterLayer(results[name], name)
        assert layer.isValid() and layer.crs().authid() == "EPSG:27700"
        assert (layer.width(), layer.height()) == (300, 300)
        extent = layer.extent()
        assert (extent.xMinimum(), extent.yMaximum(), extent.xMaximum(), extent.yMinimum()) == (
            400000, 400000, 403000, 397000)
        assert read_raster(results[name])[1]["geotransform"] == GRID.geotransform()
    sparse = read_raster(results["OUTPUT_SPARSE"])[0]
    assert results["MEASUREMENTS"] == np.isfinite(sparse).sum()

    points = QgsVectorLayer(results["OUTPUT_POINTS"], "points")
    assert points.isValid() and points.crs().authid() == "EPSG:27700"
    assert "velocity" in points.fields().names() and points.featureCount() == results["MEASUREMENTS"]

    truth = QgsVectorLayer(results["OUTPUT_TRUTH"], "truth")
    assert truth.isValid() and truth.crs().authid() == "EPSG:27700"
    assert set(name for name, _ in SOURCE_FIELDS) <= set(truth.fields().names())
    assert truth.featureCount() == results["SOURCES"]
    deformation = read_raster(results["OUTPUT_DEFORMATION"])[0]
    burnt = rasterized_truth(results["OUTPUT_TRUTH"], GRID)
    np.testing.assert_array_equal(burnt > 0, np.abs(deformation) > 1.0)
    for feature in truth.getFeatures():
        inside = deformation[burnt == feature["source_id"]]
        assert feature["peak_los_mm_yr"] == pytest.approx(inside[np.argmax(np.abs(inside))], rel=1e-6)


def test_processing_wide_point_sources_are_deeper_than_the_papers(run_scene):
    from qgis.core import QgsVectorLayer

    results, _ = run_scene(SOURCE_SIZES=1, TUNNELS=0)
    truth = QgsVectorLayer(results["OUTPUT_TRUTH"], "truth")
    depths = [feature["depth_m"] for feature in truth.getFeatures()]
    assert len(depths) == results["SOURCES"] > 0
    assert all(50.0 <= depth <= 300.0 for depth in depths)


def test_processing_same_seed_same_rasters(run_scene, tmp_path):
    first, _ = run_scene()
    again = {name: str(tmp_path / f"again_{file}") for name, file in OUTPUTS.items()}
    second, _ = run_scene(**again)
    for name in ("OUTPUT_SPARSE", "OUTPUT_DEFORMATION"):
        np.testing.assert_array_equal(read_raster(first[name])[0], read_raster(second[name])[0])


def test_processing_cancel_returns_nothing_and_leaves_no_file(run_scene):
    feedback = CancelAfterHalf()
    results, folder = run_scene(feedback=feedback)
    assert feedback.isCanceled()
    assert not any(name in results for name in OUTPUTS)
    assert os.listdir(folder) == []


def bad_case(case, folder):
    """The parameters changed for ``case`` and the parameter its error must name."""
    if case == "geographic CRS":
        return {"CRS": "EPSG:4326"}, "CRS"
    if case == "CRS in feet":
        return {"CRS": "EPSG:2227"}, "CRS"
    if case == "unreadable noise map":
        path = os.path.join(folder, "noise.tif")
        with open(path, "w") as handle:
            handle.write("not a raster")
        return {"NOISE_MAP": path}, "NOISE_MAP"
    if case == "empty noise map":
        return {"NOISE_MAP": write_raster(os.path.join(folder, "empty.tif"), np.full((20, 20), np.nan))}, "NOISE_MAP"
    if case == "points not GeoPackage":
        return {"OUTPUT_POINTS": "OUT/points.shp"}, "OUTPUT_POINTS"
    if case == "two outputs on one file":
        return {"OUTPUT_DEFORMATION": "OUT/sparse.tif"}, "OUTPUT_DEFORMATION"
    name, value = case.split("=")
    return {name: float(value)}, name


BAD_CASES = ["WIDTH=0", "HEIGHT=20001", "PIXEL_SIZE=0", "PIXEL_SIZE=-10", "POINT_SOURCES=-2", "TUNNELS=-7",
             "THRESHOLD=0", "THRESHOLD=-1", "geographic CRS", "CRS in feet", "unreadable noise map",
             "empty noise map", "points not GeoPackage", "two outputs on one file"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_parameters_name_the_parameter_and_write_nothing(run_scene, tmp_path, case):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    changes, parameter = bad_case(case, str(inputs))
    output_folder = str(tmp_path / "out")
    changes = {name: value.replace("OUT", output_folder) if isinstance(value, str) else value
               for name, value in changes.items()}
    with pytest.raises(QgsProcessingException) as caught:
        run_scene(**changes)
    message = str(caught.value)
    assert message.startswith(f"{parameter}: "), message
    assert os.listdir(output_folder) == []


def test_qgis_process_run(qgis_process, tmp_path):
    outputs = {name: str(tmp_path / file) for name, file in OUTPUTS.items()}
    completed, results = qgis_process.run("insardefo:syntheticscene", dict(
        RUN, WIDTH=200, HEIGHT=160, POINT_SOURCES=2, TUNNELS=0, PASS=1, **outputs))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert results["SOURCES"] == 2 and results["MEASUREMENTS"] > 0
    assert sorted(os.listdir(tmp_path)) == sorted(OUTPUTS.values())
    assert read_raster(outputs["OUTPUT_SPARSE"])[1]["size"] == (160, 200)
