"""The shipped Processing model (resources/*.model3) runs through qgis_process.bin and matches its generator."""
import os

import numpy as np
from osgeo import osr

from insar_deformation_detector.core.common.grid import GridSpec
from insar_deformation_detector.core.synthesis.deformation_sources import WIDE_POINT_SOURCES
from insar_deformation_detector.core.synthesis.line_of_sight import ASCENDING, DESCENDING
from insar_deformation_detector.core.synthesis.synthetic_scene import make_scene, write_scene_outputs

from helpers import ROOT, read_raster

MODEL = os.path.join(ROOT, "resources", "detect_ascending_descending.model3")


def _points(folder, geometry, name):
    scene = make_scene(GridSpec(400000.0, 300000.0, 10.0, 320, 320), seed=4, point_sources=1, tunnels=0,
                       geometry=geometry, ranges=WIDE_POINT_SOURCES)
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(27700)
    path = str(folder / f"{name}.gpkg")
    write_scene_outputs(scene, {"points": path}, reference.ExportToWkt())
    return path


def test_model_chains_interpolate_detect_and_combine(qgis_process, tmp_path):
    ascending, descending = _points(tmp_path, ASCENDING, "ascending"), _points(tmp_path, DESCENDING, "descending")
    outputs = {name: str(tmp_path / file) for name, file in (
        ("combine:combined_probability", "combined.tif"), ("combine:combined_areas", "areas.gpkg"),
        ("detect_ascending:ascending_probability", "ascending.tif"),
        ("detect_descending:descending_probability", "descending.tif"))}
    completed, results = qgis_process.run(MODEL, {
        "ascending": ascending, "ascending_field": "velocity", "descending": descending,
        "descending_field": "velocity", "pixel_size": 10, **outputs})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    combined, info = read_raster(outputs["combine:combined_probability"])
    up = read_raster(outputs["detect_ascending:ascending_probability"])[0]
    down = read_raster(outputs["detect_descending:descending_probability"])[0]
    assert info["size"] == (320, 320)
    both = np.isfinite(up) & np.isfinite(down)
    np.testing.assert_allclose(combined[both], (up[both] + down[both]) / 2, atol=1e-6)  # two looks: the average
    assert os.path.exists(outputs["combine:combined_areas"])


def test_shipped_model_is_what_the_generator_builds(qgis_app, plugin, tmp_path):
    from qgis.core import QgsProcessingModelAlgorithm

    import build_model3

    built = str(tmp_path / "built.model3")
    assert build_model3.build_model().toFile(built)
    shipped, rebuilt = QgsProcessingModelAlgorithm(), QgsProcessingModelAlgorithm()
    assert shipped.fromFile(MODEL) and rebuilt.fromFile(built)
    assert shipped.toVariant() == rebuilt.toVariant()


def test_model_outputs_arrive_styled(qgis_processing, plugin, tmp_path):
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProcessingModelAlgorithm, QgsProject

    ascending, descending = _points(tmp_path, ASCENDING, "ascending"), _points(tmp_path, DESCENDING, "descending")
    model = QgsProcessingModelAlgorithm()
    assert model.fromFile(MODEL)
    QgsProject.instance().clear()
    try:
        processing.runAndLoadResults(model, {
            "ascending": ascending, "ascending_field": "velocity", "descending": descending,
            "descending_field": "velocity", "pixel_size": 10,
            "combine:combined_probability": str(tmp_path / "combined.tif"),
            "combine:combined_areas": str(tmp_path / "areas.gpkg"),
            "detect_ascending:ascending_probability": str(tmp_path / "ascending.tif"),
            "detect_descending:descending_probability": str(tmp_path / "descending.tif")},
            context=QgsProcessingContext(), feedback=QgsProcessingFeedback())
        layers = list(QgsProject.instance().mapLayers().values())
        assert len(layers) == 4
        for layer in layers:
            if layer.type() == layer.VectorLayer:
                assert layer.renderer().type() == "categorizedSymbol"
            else:
                assert layer.renderer().shader().rasterShaderFunction().colorRampItemList()[0].color.alpha() == 0
    finally:
        QgsProject.instance().clear()
